#!/usr/bin/env bash
# Installs the benchmark's ceiling and peers from Debian's packages, idempotently:
#   kcat                                   the file → Kafka ceiling (librdkafka's CLI)
#   rsyslog, rsyslog-kafka, -elasticsearch imfile → omkafka and imkafka → omelasticsearch peers
#   syslog-ng-core, syslog-ng-mod-rdkafka  file → kafka-c peer
#   Filebeat 7.17.28                       file → Kafka and beats-client peer, built from the Go module
#                                          proxy by test/interop/filebeat/install.sh (cached in .tally/cache)
# rsyslog and syslog-ng conflict as packages (both provide system-log-daemon), so syslog-ng is
# downloaded with apt-get and unpacked under .tally/cache/bench-peers/syslog-ng (its libraries are
# installed normally). The benchmark runs each peer as an unprivileged foreground process with its
# own config; nothing here enables or starts a system service.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
syslog_ng_dir="$root/.tally/cache/bench-peers/syslog-ng"

installed=(kcat rsyslog rsyslog-kafka rsyslog-elasticsearch librdkafka1 libivykis0 libnet1 libpcre3 libwrap0 libjson-c5 libglib2.0-0 libcap2 libsystemd0)
unpacked=(syslog-ng-core syslog-ng-mod-rdkafka)

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi

missing=()
for package in "${installed[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
need_unpack=0
[[ -x $syslog_ng_dir/usr/sbin/syslog-ng && -e $syslog_ng_dir/usr/lib/syslog-ng/3.38/libkafka.so ]] || need_unpack=1

# Filebeat: minutes to build the first time; a machine without the Go proxy reports it as not installed
bash "$root/test/interop/filebeat/install.sh" v7.17.28 >/dev/null || echo "bench peers: Filebeat could not be built (see above); its rows say not installed"

if [[ ${#missing[@]} -eq 0 && $need_unpack -eq 0 ]]; then
  echo "bench peers: already installed"
  exit 0
fi

"${sudo[@]}" apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bench peers: installing ${missing[*]}"
  # maintainer scripts must not start system daemons: invoke-rc.d asks policy-rc.d, so a temporary
  # one answers "not allowed" (101) for the duration of the install only
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [[ $own_policy -eq 1 ]] && "${sudo[@]}" rm -f "$policy"
fi
if [[ $need_unpack -eq 1 ]]; then
  echo "bench peers: unpacking ${unpacked[*]} into $syslog_ng_dir"
  scratch="$(mktemp -d)"
  chmod 755 "$scratch" # apt-get download drops privileges to _apt
  (cd "$scratch" && apt-get download -qq "${unpacked[@]}")
  mkdir -p "$syslog_ng_dir"
  for deb in "$scratch"/*.deb; do dpkg-deb -x "$deb" "$syslog_ng_dir"; done
  rm -rf "$scratch"
fi
echo "bench peers: kcat $(kcat -V 2>/dev/null | awk '/^Version/{print $2; exit}'), $(rsyslogd -v 2>/dev/null | awk 'NR==1{print $1, $2}'), $(LD_LIBRARY_PATH="$syslog_ng_dir/usr/lib/syslog-ng" "$syslog_ng_dir/usr/sbin/syslog-ng" --version 2>/dev/null | head -1)"
