#!/usr/bin/env bash
# Installs the Debian 12 packages ImageGate needs and that are missing, and nothing else.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   plus the real clients the test suite drives
#   scripts/install-deps.sh --bench  plus nginx, wrk, hyperfine, OpenSSH sshd + sftp-server, lftp, vsftpd, valgrind for bench/
set -euo pipefail

build=(pkg-config libssl-dev libsqlite3-dev libssh-dev libxlsxwriter-dev libcurl4-openssl-dev libpq-dev
       binutils)  # readelf and strip for scripts/package-deb.sh
test=(curl wget aria2 lftp openssl openssh-client python3 python3-pip python3-venv qemu-utils xorriso nginx python3-pyftpdlib
      chromium chromium-driver  # the web console tests drive headless Chromium (Tests/integration/test_console.py)
      postgresql haproxy        # scripts/pg-cluster.sh and scripts/haproxy.sh start their own, never the services
      prometheus systemd)       # promtool and a loopback Prometheus; systemd-analyze verify (test_operations/package)
bench=(nginx wrk hyperfine time curl openssh-server openssh-sftp-server lftp vsftpd valgrind)

want=("${build[@]}")
for arg in "$@"; do
    case "$arg" in
        --test) want+=("${test[@]}") ;;
        --bench) want+=("${bench[@]}") ;;
        *) echo "usage: $0 [--test] [--bench]" >&2; exit 64 ;;
    esac
done

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "swift (6.x) is not on PATH: install the Swift toolchain for Debian 12 from swift.org first" >&2
    exit 1
fi
