#!/usr/bin/env bash
# build-deb.sh - builds the Debian package of the riskd in bin/ (`make deb`):
# build/deb/riskd_VERSION_ARCH.deb, laid out by deploy/install-tree.sh with PREFIX=/usr, the
# config under /etc/riskd as conffiles, the maintainer scripts of deploy/debian/, and Depends
# taken from the Debian packages that own the libraries the binaries link.
#
#   deploy/debian/build-deb.sh VERSION     (a Debian version: starts with a digit)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

version=${1:?usage: build-deb.sh VERSION}
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "build-deb: '$version' is not a Debian version" >&2; exit 2; }
arch=$(dpkg --print-architecture)
out=build/deb
root=$out/root
rm -rf "$root"
mkdir -p "$root"

DESTDIR=$root PREFIX=/usr BINDIR=/usr/bin SYSCONFDIR=/etc DATADIR=/usr/share/riskd \
    DOCDIR=/usr/share/doc/riskd UNITDIR=/usr/lib/systemd/system deploy/install-tree.sh >/dev/null

# Depends: the package of every shared library the binaries link directly (their NEEDED
# entries, found where the loader finds them; by path, then by real path: /lib and /usr/lib
# are one on Debian 12 and dpkg knows one of them).
declare -A deps=()
while read -r lib; do
    pkg=$(dpkg-query -S "$lib" 2>/dev/null || dpkg-query -S "$(readlink -f "$lib")" 2>/dev/null || true)
    pkg=${pkg%%:*}
    [[ -n $pkg ]] || { echo "build-deb: no Debian package owns $lib" >&2; exit 1; }
    deps[$pkg]=1
done < <(for bin in bin/riskd bin/riskctl bin/riskd-console; do
             ldd "$bin" | awk -v needed="$(objdump -p "$bin" | awk '$1 == "NEEDED" { printf " %s ", $2 }')" \
                 '$2 == "=>" && index(needed, " " $1 " ") { print $3 }'
         done | sort -u)
depends=$(printf '%s\n' "${!deps[@]}" | sort | paste -sd, - | sed 's/,/, /g')

install -d "$root/DEBIAN"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<CONTROL
Package: riskd
Version: $version
Architecture: $arch
Maintainer: riskd developers <riskd@localhost>
Section: net
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends, passwd
Description: credit-risk and electricity-theft detection from Kafka into PostgreSQL
 riskd consumes smart-meter readings, billing and profile events from Kafka, scores them
 against YAML rule sets and streaming anomaly models, and writes theft alerts and credit
 grades to PostgreSQL and Kafka exactly once. The package installs riskd, riskctl and
 riskd-console (the analysts' web console, not started: /usr/share/doc/riskd/docs/console.md), the
 database migrations (/usr/share/riskd/sql, applied with riskctl migrate), the rule files
 and config (/etc/riskd) and a systemd unit, not enabled: see
 /usr/share/doc/riskd/docs/operations.md.
CONTROL
deb=$out/riskd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
