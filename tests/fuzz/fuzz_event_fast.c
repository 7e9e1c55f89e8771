/*
 * fuzz_event_fast.c - libFuzzer target: the decoder's fast path against the jansson decoder.
 *
 * event_decode first tries event_decode_fast (streams/event_fast.c) and falls back on
 * event_decode_json, the authority. This target feeds arbitrary bytes to both and aborts when
 * the fast path accepts what jansson rejects, or fills a struct event that differs in any
 * byte from jansson's; and when event_decode's verdict or message differs from jansson's.
 * Seeds in tests/fuzz/corpus/event (valid events of every type); the dictionary
 * tests/fuzz/event.dict holds the contract's keys and values. `make fuzz` builds it
 * (build/fuzz/fuzz_event_fast) and runs it for FUZZ_SECONDS; for a longer run:
 *
 *   build/fuzz/fuzz_event_fast build/fuzz/corpus/fuzz_event_fast tests/fuzz/corpus/event \
 *     -dict=tests/fuzz/event.dict -max_total_time=300
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streams/event.h"
#include "streams/event_int.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event fast, json, both;
	char err_json[256], err_both[256];

	/* A heap copy of exactly size bytes, so ASan sees any read past the payload. */
	uint8_t *payload = malloc(size ? size : 1);
	CHECK(payload != NULL);
	if (size)
		memcpy(payload, data, size);

	/* Different fill patterns: a field one path leaves alone shows up in the comparison. */
	memset(&fast, 0xa5, sizeof fast);
	memset(&json, 0x5a, sizeof json);
	memset(&both, 0x3c, sizeof both);
	bool accepted = event_decode_fast(payload, size, &fast);
	enum event_reject rc = event_decode_json(payload, size, &json, err_json, sizeof err_json);
	enum event_reject rc_both = event_decode(payload, size, &both, err_both, sizeof err_both);

	if (accepted) {
		CHECK(rc == EVENT_REJECT_NONE);
		CHECK(memcmp(&fast, &json, sizeof fast) == 0);
	}
	CHECK(rc_both == rc);
	if (rc == EVENT_REJECT_NONE)
		CHECK(memcmp(&both, &json, sizeof both) == 0);
	else
		CHECK(strcmp(err_both, err_json) == 0);

	free(payload);
	return 0;
}
