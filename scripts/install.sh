#!/usr/bin/env bash
# Installs everything Tally needs on a fresh Debian machine, idempotently:
# Debian packages (JDK 17, Maven, unzip, a C++ toolchain for node-rdkafka), npm packages,
# the TypeScript build, and the Kafka/Elasticsearch artifacts from Maven Central.
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
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
  say "installing npm packages (node-rdkafka compiles librdkafka: a few minutes the first time)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

say "building TypeScript"
./node_modules/.bin/tsc -p tsconfig.json

say "fetching Kafka and Elasticsearch from Maven Central (once; cached in .tally/cache)"
node dist/app/cli/main.js services fetch --log-level warn >&2
say "ready"
