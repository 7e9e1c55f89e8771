#!/usr/bin/env bash
# tests/tools/test_check_arrows.sh - tools/check-arrows.sh on small made-up trees: it passes a
# tree that keeps the allowed arrows and fails, naming file and line, each kind of forbidden one.
set -uo pipefail
CHECK=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tools/check-arrows.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# A clean tree: each module includes its own headers and those below it.
tree() {
	rm -rf "$tmp/t" && mkdir -p "$tmp/t"/{config,scoring,rules,streams,detector,tools}
	cd "$tmp/t" || exit 1
	echo '#include <stddef.h>' > config/riskd_base.h
	echo '#include "../config/riskd_base.h"' > scoring/features.h
	echo '#include "features.h"' > scoring/models_int.h
	printf '#include "models_int.h"\n' > scoring/models.c
	echo '#include "../scoring/features.h"' > rules/ruleset.h
	echo '#include "ruleset.h"' > rules/rules_int.h
	echo '#include "../scoring/features.h"' > streams/event.h
	printf '#include <librdkafka/rdkafka.h>\nvoid f(void) { rd_kafka_poll(0, 0); }\n' > streams/kafka.c
	printf '#include "../rules/ruleset.h"\n#include "../streams/event.h"\n' > detector/pipeline.c
	printf '#include <libpq-fe.h>\nvoid g(void) { PQfinish(0); }\n' > detector/store.c
	echo '#include "detector/pipeline.h"' > tools/riskctl.c
}

expect() { # expect STATUS PATTERN DESCRIPTION
	local out status
	out=$("$CHECK" "$tmp/t" 2>&1); status=$?
	if [[ $status != "$1" ]] || ! grep -q -- "$2" <<<"$out"; then
		echo "FAIL: $3 (exit $status, wanted $1 and /$2/):"; echo "$out"; failures=$((failures + 1))
	else
		echo "ok: $3"
	fi
}

tree; expect 0 "follows the allowed arrows" "a clean tree passes"
tree; printf '#include "../rules/ruleset.h"\n' >> scoring/models.c
expect 1 "scoring/models.c:2: includes rules/ruleset.h" "scoring including rules/ fails"
tree; echo '#include "../detector/pipeline.h"' >> rules/ruleset.h; touch detector/pipeline.h
expect 1 "rules/ruleset.h:2: includes detector/pipeline.h" "rules including detector/ fails"
tree; echo '#include "../scoring/models_int.h"' >> rules/ruleset.h
expect 1 "a private header of scoring/" "a private header across modules fails"
tree; echo '#include "../streams/event.h"' >> scoring/features.h
expect 1 "scoring/features.h:2: includes streams/event.h" "scoring including streams/ fails"
tree; printf 'void h(void) { PQexec(0, ""); }\n' >> detector/pipeline.c
expect 1 "detector/pipeline.c:3: uses libpq" "libpq outside detector/store* fails"
tree; printf 'void k(void) { rd_kafka_flush(0, 0); }\n' >> detector/pipeline.c
expect 1 "detector/pipeline.c:3: uses librdkafka" "librdkafka outside streams/ fails"
tree; printf 'void s(void) { sd_notify(0, "READY=1"); }\n' >> detector/pipeline.c
expect 1 "detector/pipeline.c:3: uses libsystemd" "libsystemd outside detector/service.c fails"

((failures == 0)) || { echo "test_check_arrows: $failures failure(s)"; exit 1; }
echo "test_check_arrows: all passed"
