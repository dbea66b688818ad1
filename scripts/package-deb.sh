#!/usr/bin/env bash
# Builds the Debian package .build/deb/imagegate_<version>_amd64.deb with dpkg-deb and prints its path as
# the last line. Release build with the Swift runtime linked statically (the target machine needs no Swift
# toolchain); the git commit is embedded by the build itself (GitCommitStamp plugin). Layout: Docs/operations.md.
#   scripts/package-deb.sh              build, then package
#   SKIP_BUILD=1 scripts/package-deb.sh package the existing .build/release/imagegate
set -euo pipefail
cd "$(dirname "$0")/.."

version_file=Sources/ImageGateApp/Operations/BuildInfo.swift
version=$(sed -n 's/^ *static let version = "\(.*\)"$/\1/p' "$version_file")
[ -n "$version" ] || { echo "cannot read the version from $version_file" >&2; exit 1; }
arch=$(dpkg --print-architecture)

if [ "${SKIP_BUILD:-}" != 1 ]; then
    swift build -c release --product imagegate --static-swift-stdlib >&2
fi
bin=.build/release/imagegate
[ -x "$bin" ] || { echo "no $bin: build first" >&2; exit 1; }

out=.build/deb
root=$out/imagegate_${version}_${arch}
rm -rf "$root"
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/imagegate" \
    "$root/etc/logrotate.d" "$root/usr/share/doc/imagegate"
install -m 0755 "$bin" "$root/usr/bin/imagegate"
strip --strip-unneeded "$root/usr/bin/imagegate"
install -m 0644 Config/imagegate.service "$root/lib/systemd/system/imagegate.service"
install -m 0644 Config/imagegate.logrotate "$root/etc/logrotate.d/imagegate"
# The example configuration with the packaged paths: data in /var/lib/imagegate, the log in /var/log/imagegate.
sed -e 's|^data_dir = .*|data_dir = /var/lib/imagegate|' \
    -e 's|^log.access =.*|log.access = /var/log/imagegate/access.log|' \
    Config/imagegate.conf.example >"$root/etc/imagegate/imagegate.conf"
chmod 0640 "$root/etc/imagegate/imagegate.conf"
install -m 0644 README.md Docs/*.md Config/os-matrix.json "$root/usr/share/doc/imagegate/"
cat >"$root/usr/share/doc/imagegate/copyright" <<'TXT'
ImageGate: an image download gateway. See README.md for the project and its licence.
TXT

# The shared libraries the binary names itself (DT_NEEDED: OpenSSL, SQLite, libssh, libcurl, libxlsxwriter,
# zlib, glibc, libstdc++), as the Debian packages that provide them; their own dependencies follow from those.
depends=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r soname; do
    lib=$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64/ {print $NF; exit}')
    [ -n "$lib" ] || { echo "cannot resolve $soname" >&2; exit 1; }
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib"
done | cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g')

cat >"$root/DEBIAN/control" <<TXT
Package: imagegate
Version: $version
Architecture: $arch
Maintainer: ImageGate operators <root@localhost>
Section: net
Priority: optional
Depends: adduser, ${depends}
Description: image download gateway for a private cloud
 Serves VM images over HTTP(S), SFTP and FTP(S) with HMAC-signed download links, a catalog,
 imports, a management API and a web console. Prometheus metrics and health checks on a
 separate listener; runs as the systemd service imagegate.service.
TXT
printf '/etc/imagegate/imagegate.conf\n/etc/logrotate.d/imagegate\n' >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'TXT'
#!/bin/sh
# Creates the service user and its directories; restarts a running service after an upgrade.
set -e
if [ "$1" = configure ]; then
    if ! getent passwd imagegate >/dev/null; then
        adduser --system --group --home /var/lib/imagegate --no-create-home --quiet imagegate
    fi
    install -d -m 0750 -o imagegate -g imagegate /var/lib/imagegate /var/log/imagegate
    chgrp imagegate /etc/imagegate/imagegate.conf
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
        if [ -n "$2" ]; then
            systemctl try-restart imagegate.service >/dev/null || true
        else
            echo "imagegate: edit /etc/imagegate/imagegate.conf, then: systemctl enable --now imagegate"
        fi
    fi
fi
exit 0
TXT
cat >"$root/DEBIAN/prerm" <<'TXT'
#!/bin/sh
# Stops the service before its binary goes away (not on upgrade: postinst restarts it then).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop imagegate.service >/dev/null 2>&1 || true
fi
exit 0
TXT
cat >"$root/DEBIAN/postrm" <<'TXT'
#!/bin/sh
# The data directory (catalog, blobs, keys) is never removed by the package, not even on purge.
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
TXT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

deb=$out/imagegate_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
echo "$(pwd)/$deb"
