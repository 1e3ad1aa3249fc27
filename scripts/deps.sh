#!/bin/bash
# Installs every Debian package Prism needs to build, test, bench and demo.
# Safe to re-run: does nothing when everything is already there.
set -euo pipefail
PKGS=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libssl-dev
      pkg-config iproute2 iputils-ping ethtool nginx-light haproxy wrk curl tcpdump
      python3 libclang-rt-14-dev gnuplot-nox clang-tidy clang-format cppcheck
      procps psmisc iperf3 nghttp2-client chromium openssl)
if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts nginx on install where an init system runs; the testbed runs
# its own instances inside namespaces, so stop the host one.
if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
	systemctl stop nginx || true
	systemctl disable nginx 2>/dev/null || true
fi
echo "deps: done"
