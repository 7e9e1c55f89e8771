#!/usr/bin/env bash
# install-deps.sh - install the Debian packages riskd needs to build, test and run locally.
#
#   deploy/install-deps.sh           what `make`, `make test` and riskd need
#   deploy/install-deps.sh --fuzz    the same plus clang and its libFuzzer runtime (`make fuzz`)
#
# Called by `make deps` (and so by `make`, `make test`) and by .ci/run on a fresh machine;
# `make fuzz` calls it with --fuzz, so nothing else ever needs clang.
# When every package is already installed it does one dpkg-query call and exits silently,
# so it costs a few milliseconds on every build. Otherwise it runs apt-get update once,
# installs only the missing packages non-interactively (through sudo when not root) and
# prints one line naming them.
set -euo pipefail

packages=(
    build-essential pkg-config
    librdkafka-dev libpq-dev libjansson-dev libyaml-dev libcriterion-dev libmicrohttpd-dev libsystemd-dev liblua5.4-dev libluajit-5.1-dev
    postgresql-15 postgresql-client-15 tzdata
    kcat python3 python3-confluent-kafka python3-psycopg2 procps libxml2-utils systemd openssl
    prometheus
    chromium chromium-driver python3-selenium
)
case "${1:-}" in
    "") ;;
    --fuzz) packages+=(clang libclang-rt-dev) ;;
    *) echo "usage: install-deps.sh [--fuzz]" >&2; exit 2 ;;
esac

# One dpkg-query for all packages; unknown packages only produce stderr noise we drop.
declare -A installed=()
while read -r name status; do
    [[ $status == ii* ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null || true)

missing=()
for p in "${packages[@]}"; do
    [[ -n ${installed[$p]:-} ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"

# prometheus is installed for its promtool (make check-monitoring); its package enables and
# starts a Prometheus server on a machine run by systemd. A server this script brought in is
# stopped and disabled again; one that was installed before is left as it was.
if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    if "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1; then
        echo "install-deps: stopped and disabled the prometheus service (only promtool is used)"
    fi
fi
exit 0
