#!/usr/bin/env bash
# A Python virtual environment with confluent-kafka[avro] from PyPI (a consumer nobody here wrote),
# in the checkout's cache; prints the path of its python. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="$root/.tally/cache/confluent-python-2.16.1"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import confluent_kafka.schema_registry.avro' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'confluent-kafka[avro]==2.16.1' >&2
fi
echo "$venv/bin/python"
