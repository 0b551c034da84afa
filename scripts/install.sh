#!/usr/bin/env bash
# Installs everything Tally needs on a fresh Debian machine, idempotently:
# Debian packages (JDK 17, Maven, unzip, a C++ toolchain for node-rdkafka), npm packages,
# the TypeScript build, and the Kafka/Elasticsearch/Apicurio Registry artifacts from Maven Central.
# The Schema Registry (Apicurio) needs Java 21+: installed where Debian packages it, otherwise said.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf 'install: %s\n' "$*" >&2; }

need_debs=()
command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])' || need_debs+=(openjdk-17-jdk-headless)
# javac and jar: the secured-Elasticsearch tests compile a test-only plugin
command -v javac >/dev/null 2>&1 || need_debs+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need_debs+=(maven)
# the security tests make their CA and certificates with openssl
command -v openssl >/dev/null 2>&1 || need_debs+=(openssl)
command -v unzip >/dev/null 2>&1 || need_debs+=(unzip)
command -v make >/dev/null 2>&1 || need_debs+=(make)
command -v g++ >/dev/null 2>&1 || need_debs+=(g++)
command -v python3 >/dev/null 2>&1 || need_debs+=(python3)
command -v runuser >/dev/null 2>&1 || need_debs+=(util-linux)

# Java 21+ for the Schema Registry, wherever pipeline/services/java.ts looks for one
java21=""
for home in "${TALLY_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /usr/local/lib/jvm/* "${HOME:-/nonexistent}"/.sdkman/candidates/java/*; do
  [[ -n "$home" && -x "$home/bin/java" ]] || continue
  major="$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  if [[ -n "$major" && "$major" -ge 21 ]]; then java21="$home"; break; fi
done
if [[ -z "$java21" ]]; then
  if apt-cache show openjdk-21-jdk-headless >/dev/null 2>&1; then need_debs+=(openjdk-21-jdk-headless)
  else say "no Java 21+ found and this Debian has no openjdk-21 package: the Schema Registry (tally services start registry) will not start until you install one, e.g. Eclipse Temurin (temurin-21-jdk from https://packages.adoptium.net/artifactory/deb, or a tarball from https://adoptium.net under /opt/java), or set TALLY_JAVA_HOME"
  fi
fi
if ((${#need_debs[@]})); then
  sudo=""
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { say "missing Debian packages (${need_debs[*]}) and not root: install them and run again"; exit 1; }
    sudo="sudo"
  fi
  say "installing Debian packages: ${need_debs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
fi

# node-gyp builds node-rdkafka against the local Node headers instead of downloading them
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [[ -f "$node_prefix/include/node/node.h" ]]; then export npm_config_nodedir="$node_prefix"; fi

stamp="node_modules/.package-lock.json"
# a changed patch (patches/, applied by patch-package after install) needs the pristine package again
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" || -n "$(find patches -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
  say "installing npm packages (node-rdkafka compiles librdkafka: a few minutes the first time)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

say "building TypeScript"
./node_modules/.bin/tsc -p tsconfig.json

say "fetching Kafka, Elasticsearch and Apicurio Registry from Maven Central (once; cached in .tally/cache)"
node dist/app/cli/main.js services fetch --log-level warn >&2
say "ready"
