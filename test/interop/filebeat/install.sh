#!/usr/bin/env bash
# The real Filebeat, built from the Go module proxy once per version and cached in the checkout's
# .tally/cache/filebeat-<version>/filebeat; prints the binary's path. Idempotent.
#   test/interop/filebeat/install.sh [VERSION]     (default 7.17.28; a module version of
#   github.com/elastic/beats/v7 with or without its leading v. The proxy serves the 7.x tags but no
#   8.x/9.x tag under this module path: 9.x is a main-branch pseudo-version such as
#   v7.0.0-alpha2.0.20251031181001-be9871f5dab9, libbeat 9.3.0)
# `go install` refuses beats (its go.mod has replace directives), so this downloads the module,
# copies it somewhere writable and runs `go build ./filebeat` inside it. With empty Go caches on 2
# cores at load 2-9: 7.17.28 in 3 min (26 s download, 161 s build), 9.3 in 5.5 min (31 s, 299 s);
# a machine at load 40 takes several times that. From Go's module and build caches: 15 s.
# Exit 3, with the reason on stderr, when the Go toolchain is missing or the module proxy cannot be
# reached (an environment limit the tests skip on); any other failure exits 1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
version="${1:-7.17.28}"
version="v${version#v}"
cache="$root/.tally/cache/filebeat-$version"
binary="$cache/filebeat"
say() { printf 'install (filebeat %s): %s\n' "$version" "$*" >&2; }

if [[ -x "$binary" ]] && "$binary" version >/dev/null 2>&1; then echo "$binary"; exit 0; fi
command -v go >/dev/null 2>&1 || { say "the go toolchain is not installed (Debian: golang-go)"; exit 3; }

module="github.com/elastic/beats/v7@$version"
unreachable='dial tcp|no such host|i/o timeout|connection refused|network is unreachable|TLS handshake timeout|connection reset'
# a busy machine sees the proxy time out now and then: three tries before calling it unreachable
fetch() {
  local what="$1" output
  shift
  for try in 1 2 3; do
    if output="$("$@" 2>&1)"; then printf '%s' "$output"; return 0; fi
    if ! grep -Eq "$unreachable" <<<"$output"; then say "$what failed: $output"; exit 1; fi
    say "$what: the Go module proxy did not answer (try $try of 3): $(grep -Em1 "$unreachable" <<<"$output")"
    sleep $((try * 5))
  done
  say "the Go module proxy cannot be reached: skipping"
  exit 3
}

say "downloading $module from the Go module proxy"
info="$(fetch "go mod download $module" go mod download -json "$module")"
dir="$(node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!j.Dir) { console.error(j.Error ?? "no Dir"); process.exit(1) } console.log(j.Dir)' <<<"$info")"

# a toolchain older than the module's `go` line builds only if it may fetch the newer one (Go ≥ 1.21, GOTOOLCHAIN not local)
needed="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$dir/go.mod" | head -1)"
have="$(go env GOVERSION)"
have="${have#go}"
older() { [[ "$1" != "$2" && "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" == "$1" ]]; }
if [[ -n "$needed" ]] && older "$have" "$needed" && { older "$have" 1.21 || [[ "$(go env GOTOOLCHAIN)" == local* ]]; }; then
  say "the go toolchain $have is older than the $needed this Filebeat's go.mod needs, and cannot fetch it (Go 1.21+ with GOTOOLCHAIN=auto does): skipping"
  exit 3
fi

work="$cache/src"
rm -rf "$work"
mkdir -p "$cache"
cp -a "$dir" "$work"
chmod -R u+w "$work"
cd "$work"
# the copy sits inside this git checkout: no VCS stamping
export GOFLAGS=-buildvcs=false
say "downloading the modules ./filebeat imports"
# only filebeat's import graph (half of what `go mod download` would fetch for all the beats)
fetch "go list -deps ./filebeat" go list -deps ./filebeat >/dev/null
say "building (minutes the first time; Go's build cache makes later builds fast)"
started=$SECONDS
if ! go build -o "$binary.tmp" ./filebeat >&2; then say "go build failed"; exit 1; fi
cd "$root"
mv "$binary.tmp" "$binary"
rm -rf "$work"
say "built in $((SECONDS - started)) s: $("$binary" version)"
echo "$binary"
