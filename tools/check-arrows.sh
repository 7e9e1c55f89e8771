#!/usr/bin/env bash
# tools/check-arrows.sh - fails when riskd's code crosses a forbidden module boundary.
#
#   tools/check-arrows.sh [ROOT]      (ROOT defaults to the checkout holding this script)
#
# The allowed arrows (docs/architecture.md, "Allowed arrows"): a file may include headers of
# its own module and of the modules below it, never above, and never another module's
# private header (*_int.h). From the bottom up:
#
#   config/    riskd_base and the config loader            may include: config
#   scoring/   state, models, balance, scorecard arithmetic may include: scoring config
#   rules/     policy files and the rule language           may include: rules scoring config
#   streams/   Kafka clients and the event decoder          may include: streams scoring config
#   detector/  the service: pipeline, store, metrics        may include: every module
#   tools/     riskctl, the generator, the mock broker      may include: every module
#
# Three libraries stay behind one door each: only detector/store*.c|h use libpq (PQ* calls,
# <libpq-fe.h>), only streams/ uses librdkafka (rd_kafka_* calls, <librdkafka/...>) and only
# detector/service.c uses libsystemd (sd_* calls, <systemd/...>).
# tools/mock_kafka.c hosts the test broker (librdkafka's mock cluster) and is exempt from the
# librdkafka door; tests/ and bench/ talk to PostgreSQL and Kafka directly to check riskd from
# outside and are not checked.
#
# Prints one line per violation, "file:line: what: why", and exits 1 if there was any.
set -uo pipefail

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$ROOT" || { echo "check-arrows: cannot enter $ROOT" >&2; exit 2; }

MODULES=(config scoring rules streams detector tools)
declare -A ALLOWED=(
	[config]="config"
	[scoring]="scoring config"
	[rules]="rules scoring config"
	[streams]="streams scoring config"
	[detector]="detector streams rules scoring config"
	[tools]="tools detector streams rules scoring config"
)

violations=0
report() {
	echo "$1: $2"
	violations=$((violations + 1))
}

# Resolves an include written in file $1 as "$2" to a path from ROOT, as the compiler would
# (the including file's folder first, then -I.). Prints nothing when neither exists.
resolve() {
	local dir cand
	dir=$(dirname "$1")
	cand=$(realpath -m --relative-to=. "$dir/$2")
	if [[ -f $cand ]]; then echo "$cand"; return; fi
	cand=$(realpath -m --relative-to=. "$2")
	if [[ -f $cand ]]; then echo "$cand"; fi
}

for module in "${MODULES[@]}"; do
	[[ -d $module ]] || continue
	while IFS= read -r file; do
		while IFS=: read -r line text; do
			inc=${text#*\"}
			inc=${inc%%\"*}
			target=$(resolve "$file" "$inc")
			[[ -n $target ]] || continue
			to=${target%%/*}
			[[ $target == */* ]] || to=.
			if [[ " ${ALLOWED[$module]} " != *" $to "* ]]; then
				report "$file:$line" "includes $target: $module/ must not depend on $to/"
			elif [[ $to != "$module" && $target == *_int.h ]]; then
				report "$file:$line" "includes $target: a private header of $to/"
			fi
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
	done < <(find "$module" -name '*.[ch]' | sort)
done

# The library doors: libpq behind detector/store*, librdkafka behind streams/, libsystemd
# behind detector/service.c.
while IFS=: read -r file line _; do
	case $file in detector/store*) continue ;; esac
	report "$file:$line" "uses libpq: only detector/store*.c talks to PostgreSQL"
done < <(grep -nE '\bPQ[a-zA-Z]+[[:space:]]*\(|#[[:space:]]*include[[:space:]]*<libpq' \
	-r --include='*.[ch]' "${MODULES[@]}" 2>/dev/null)

while IFS=: read -r file line _; do
	case $file in streams/* | tools/mock_kafka.c) continue ;; esac
	report "$file:$line" "uses librdkafka: only streams/ talks to Kafka"
done < <(grep -nE '\brd_kafka_[a-z_]+[[:space:]]*\(|#[[:space:]]*include[[:space:]]*<librdkafka' \
	-r --include='*.[ch]' "${MODULES[@]}" 2>/dev/null)

while IFS=: read -r file line _; do
	case $file in detector/service.c) continue ;; esac
	report "$file:$line" "uses libsystemd: only detector/service.c talks to the service manager"
done < <(grep -nE '\bsd_[a-z_]+[[:space:]]*\(|#[[:space:]]*include[[:space:]]*<systemd/' \
	-r --include='*.[ch]' "${MODULES[@]}" 2>/dev/null)

if ((violations > 0)); then
	echo "check-arrows: $violations forbidden arrow(s); see docs/architecture.md" >&2
	exit 1
fi
echo "check-arrows: every include and library call follows the allowed arrows"
