#!/usr/bin/env bash
# test_package.sh - `make deb` builds a package that installs and whose riskd passes
# --check-config, and whose systemd unit passes `systemd-analyze verify`.
#
# Always: the package's fields, files, conffiles and maintainer scripts (shellcheck when
# present), and riskd --check-config from the unpacked tree with its config pointed at it.
# As root, on a machine where no riskd package is installed (CI's throwaway machine): a real
# `dpkg -i`, --check-config as the riskd user the package created, the unit verified at its
# installed path, then `dpkg --purge` and a check that it left nothing behind.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

failures=0
check() { # check "what" command...
    local what=$1; shift
    if "$@" >/tmp/test_package.$$ 2>&1; then
        echo "ok: $what"
    else
        echo "FAIL: $what"; sed 's/^/    /' /tmp/test_package.$$; failures=$((failures + 1))
    fi
}
has() { grep -q -- "$2" <<<"$1"; }

deb=$(make --no-print-directory deb 2>/dev/null | tail -n 1)
[[ -f $deb ]] || { echo "FAIL: make deb built no package ($deb)"; exit 1; }
echo "package: $deb"

info=$(dpkg-deb --field "$deb")
contents=$(dpkg-deb --contents "$deb")
check "the package is riskd" has "$info" '^Package: riskd$'
for lib in librdkafka1 libpq5 libjansson4 libyaml-0-2 libmicrohttpd12 libsystemd0; do
    check "it depends on $lib" has "$info" "^Depends: .*\\b$lib\\b"
done
for f in ./usr/bin/riskd ./usr/bin/riskctl ./usr/bin/riskd-console \
         ./usr/lib/systemd/system/riskd.service \
         ./usr/share/riskd/sql/001_core.sql ./usr/share/riskd/prometheus/riskd-alerts.yml \
         ./usr/share/riskd/grafana/riskd.json ./etc/riskd/riskd.yaml ./etc/riskd/rules/theft.yaml \
         ./etc/riskd/cards/residential.yaml ./etc/riskd/attributes.yaml \
         ./usr/share/doc/riskd/docs/operations.md; do
    check "it holds $f" has "$contents" " $f\$"
done
scratch=$(mktemp -d /tmp/riskd-package.XXXXXX)
trap 'rm -rf "$scratch" /tmp/test_package.$$' EXIT
dpkg-deb --control "$deb" "$scratch/DEBIAN"
check "every file under /etc is a conffile" \
    diff <(grep ' \./etc/.*[^/]$' <<<"$contents" | awk '{print substr($6, 2)}' | sort) \
         <(sort "$scratch/DEBIAN/conffiles")
if command -v shellcheck >/dev/null; then
    check "the maintainer scripts pass shellcheck" \
        shellcheck "$scratch/DEBIAN/postinst" "$scratch/DEBIAN/prerm" "$scratch/DEBIAN/postrm"
fi

dpkg-deb -x "$deb" "$scratch/root"
sed "s|\"/etc/riskd/|\"$scratch/root/etc/riskd/|" "$scratch/root/etc/riskd/riskd.yaml" > "$scratch/riskd.yaml"
check "the unpacked riskd passes --check-config on the packaged config" \
    "$scratch/root/usr/bin/riskd" --config "$scratch/riskd.yaml" --check-config
sed "s|/usr/bin/|$scratch/root/usr/bin/|g" "$scratch/root/usr/lib/systemd/system/riskd.service" \
    > "$scratch/riskd.service"
check "the unit passes systemd-analyze verify" systemd-analyze verify "$scratch/riskd.service"

if ((EUID == 0)) && ! dpkg-query -W riskd >/dev/null 2>&1; then
    check "dpkg -i installs it" dpkg -i "$deb"
    check "the riskd user exists" getent passwd riskd
    check "the config is readable by the riskd group only" \
        test "$(stat -c '%a %G' /etc/riskd/riskd.yaml)" = "640 riskd"
    check "riskd --check-config passes as the riskd user" \
        runuser -u riskd -- /usr/bin/riskd --config /etc/riskd/riskd.yaml --check-config
    check "the installed unit passes systemd-analyze verify" \
        systemd-analyze verify /usr/lib/systemd/system/riskd.service
    check "dpkg --purge removes it" dpkg --purge riskd
    check "nothing is left behind" \
        bash -c '! getent passwd riskd && [[ ! -e /etc/riskd && ! -e /usr/bin/riskd ]]'
else
    echo "skip: the real dpkg -i (needs root and no riskd package installed)"
fi

((failures == 0)) || { echo "test_package: $failures failure(s)"; exit 1; }
echo "test_package: all passed"
