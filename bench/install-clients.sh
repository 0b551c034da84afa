#!/usr/bin/env bash
# Installs the Kafka clients the `clients` bench case compares and Tally does not depend on, each at an
# exact version in its own folder under .tally/cache/bench-clients/ (never into the project's node_modules):
#   platformatic   @platformatic/kafka 1.35.0 (pure TypeScript; the newest 1.x: 2.x needs Node 22)
#   confluent      @confluentinc/kafka-javascript 1.10.1 (librdkafka-based). Its install downloads a prebuilt
#                  binary from GitHub and, failing that, builds from source; the static build downloads
#                  zlib, OpenSSL, zstd and curl sources too, so this builds the bundled librdkafka linked
#                  to the system's libraries instead (CKJS_LINKING=dynamic), under nice, with Node's own headers.
# Usage: bash bench/install-clients.sh [platformatic] [confluent]   (both when none is named)
# A folder holds `installed` once its client loads; a failed install leaves its output in install.log.
set -uo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cache="$root/.tally/cache/bench-clients"
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"

declare -A packages=([platformatic]='@platformatic/kafka@1.35.0' [confluent]='@confluentinc/kafka-javascript@1.10.1')
wanted=("$@")
[[ ${#wanted[@]} -eq 0 ]] && wanted=(platformatic confluent)

status=0
for name in "${wanted[@]}"; do
  spec="${packages[$name]:-}"
  if [[ -z $spec ]]; then echo "bench clients: unknown client $name (known: ${!packages[*]})" >&2; status=1; continue; fi
  dir="$cache/$name-${spec##*@}"
  [[ -e $dir/installed ]] && continue
  rm -rf "$dir" && mkdir -p "$dir"
  printf '{ "name": "bench-client-%s", "private": true }\n' "$name" >"$dir/package.json"
  echo "bench clients: installing $spec into ${dir#"$root"/} (log: install.log)"
  started=$(date +%s)
  (cd "$dir" && CKJS_LINKING=dynamic nice -n 19 npm install --no-audit --no-fund --save-exact --nodedir="$node_prefix" "$spec") >"$dir/install.log" 2>&1
  rc=$?
  seconds=$(($(date +%s) - started))
  package="${spec%@*}"
  if [[ $rc -eq 0 ]] && (cd "$dir" && node -e "import('$package').then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })" >>"$dir/install.log" 2>&1); then
    printf '%s\n' "$seconds" >"$dir/installed"
    echo "bench clients: $spec installed in $seconds s"
  else
    echo "bench clients: $spec FAILED after $seconds s; see ${dir#"$root"/}/install.log" >&2
    status=1
  fi
done
exit $status
