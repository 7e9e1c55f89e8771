#!/usr/bin/env bash
# install-tree.sh - installs the built riskd (bin/riskd, bin/riskctl, bin/riskd-console) with
# its SQL, policy files, config, systemd unit and docs under DESTDIR, at FHS paths. Called by
# `make install` and `make deb`; the paths come from the environment the Makefile passes:
#
#   DESTDIR     staging root ("" installs for real)       PREFIX      /usr/local or /usr
#   BINDIR      PREFIX/bin                                 SYSCONFDIR  /etc (PREFIX/etc off /usr)
#   DATADIR     PREFIX/share/riskd (SQL migrations, the Prometheus alert rules and the
#               Grafana dashboard)                          DOCDIR      PREFIX/share/doc/riskd
#   UNITDIR     PREFIX/lib/systemd/system
#
# The installed riskd.yaml is config/riskd.yaml with the policy paths pointing at
# SYSCONFDIR/riskd and the local stack's env file turned off; everything else stays the
# built-in default. An existing SYSCONFDIR/riskd is never overwritten (a package manager
# handles conffiles itself; a staging DESTDIR is always fresh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${PREFIX:?}" "${BINDIR:?}" "${SYSCONFDIR:?}" "${DATADIR:?}" "${DOCDIR:?}" "${UNITDIR:?}"
DESTDIR=${DESTDIR:-}
etc=$DESTDIR$SYSCONFDIR/riskd

for f in bin/riskd bin/riskctl bin/riskd-console; do
    [[ -x $f ]] || { echo "install-tree: $f is missing: run make first" >&2; exit 1; }
done

install -d "$DESTDIR$BINDIR" "$DESTDIR$DATADIR/sql" "$DESTDIR$DATADIR/prometheus" \
    "$DESTDIR$DATADIR/grafana" "$DESTDIR$DOCDIR/docs" "$DESTDIR$UNITDIR"
install -m 0755 bin/riskd bin/riskctl bin/riskd-console "$DESTDIR$BINDIR/"
install -m 0644 deploy/sql/*.sql "$DESTDIR$DATADIR/sql/"
install -m 0644 deploy/prometheus/riskd-alerts.yml "$DESTDIR$DATADIR/prometheus/"
install -m 0644 deploy/grafana/riskd.json "$DESTDIR$DATADIR/grafana/"
install -m 0644 README.md "$DESTDIR$DOCDIR/"
install -m 0644 docs/*.md "$DESTDIR$DOCDIR/docs/"

sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" \
    deploy/systemd/riskd.service.in > "$DESTDIR$UNITDIR/riskd.service"
chmod 0644 "$DESTDIR$UNITDIR/riskd.service"

if [[ -e $etc/riskd.yaml ]]; then
    echo "install-tree: $etc exists: left as it is (compare with config/riskd.yaml)"
    exit 0
fi
install -d -m 0755 "$etc/rules" "$etc/cards"
install -m 0644 rules/*.yaml "$etc/rules/"
install -m 0644 scoring/cards/*.yaml "$etc/cards/"
install -m 0644 scoring/attributes.yaml "$etc/attributes.yaml"
{
    echo "# riskd.yaml - riskd's configuration as installed: every key at its built-in default, except"
    echo "# that the rule, scorecard and attribute schema files are read from $SYSCONFDIR/riskd and no"
    echo "# local-stack env file is read (stack_env \"\")."
    tail -n +5 config/riskd.yaml |
        sed -e "s|^  path: \"rules\"|  path: \"$SYSCONFDIR/riskd/rules\"|" \
            -e "s|^  scorecards: \"scoring/cards\"|  scorecards: \"$SYSCONFDIR/riskd/cards\"|" \
            -e "s|^  attributes: \"scoring/attributes.yaml\"|  attributes: \"$SYSCONFDIR/riskd/attributes.yaml\"|" \
            -e "s|^stack_env: \"var/stack.env\"|stack_env: \"\"|"
} > "$etc/riskd.yaml.tmp"
for want in "path: \"$SYSCONFDIR/riskd/rules\"" "scorecards: \"$SYSCONFDIR/riskd/cards\"" \
    "attributes: \"$SYSCONFDIR/riskd/attributes.yaml\"" 'stack_env: ""'; do
    grep -qF "$want" "$etc/riskd.yaml.tmp" || {
        echo "install-tree: config/riskd.yaml changed shape: cannot set $want" >&2; exit 1; }
done
mv "$etc/riskd.yaml.tmp" "$etc/riskd.yaml"
chmod 0640 "$etc/riskd.yaml"
