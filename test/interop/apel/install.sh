#!/usr/bin/env bash
# The APEL interop test tools, idempotently, on a fresh Debian machine:
#   - Debian's python3-dirq (dirq 1.8, the library ssmsend reads the outgoing queue with), which
#     serves Debian's own /usr/bin/python3, not a pyenv python3 that may come first on PATH;
#   - cASO from PyPI (its SSM messenger writes the queue `tally apel-queue` reads) in a venv.
# The tests find the venv at $TALLY_CASO_VENV, default .tally/cache/caso-venv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="${TALLY_CASO_VENV:-$root/.tally/cache/caso-venv}"
caso_version="5.2.2"
say() { printf 'install (apel interop): %s\n' "$*" >&2; }

sudo=""
if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
apt_install() {
  if [[ -n "$sudo" ]] && ! command -v sudo >/dev/null 2>&1; then say "need Debian packages ($*) and not root: install them and run again"; exit 1; fi
  say "installing Debian packages: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! /usr/bin/python3 -c 'import dirq.QueueSimple' >/dev/null 2>&1; then apt_install python3-dirq; fi

python="$(command -v python3 || true)"
[[ -n "$python" ]] || { apt_install python3; python=/usr/bin/python3; }
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import caso, caso.messenger.ssm, sys; sys.exit(caso.__version__ != '$caso_version')" >/dev/null 2>&1; then
  exit 0
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3-venv
  python=/usr/bin/python3
fi
say "installing cASO $caso_version from PyPI into $venv"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "caso==$caso_version" >&2
"$venv/bin/python" -c 'import caso.messenger.ssm' >/dev/null
say "ready"
