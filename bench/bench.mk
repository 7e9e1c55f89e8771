# bench.mk - `make bench` (bench/README.md), included by the top Makefile.
#
# Builds the benchmark's own programs with the same CFLAGS as riskd (the rules of the top
# Makefile: $(BUILD)/%.o from %.c, -O2 in the default build), after the normal build, then
# runs bench/run.sh (`bench-latency`: its latency rounds alone). Release build only: numbers
# from a sanitizer build mean nothing.

BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/ceiling $(BENCH_DIR)/statefill $(BENCH_DIR)/restore \
              $(BENCH_DIR)/latency $(BENCH_DIR)/attrib_bench

$(BENCH_DIR)/ceiling: $(BENCH_DIR)/ceiling.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BENCH_DIR)/statefill: $(BENCH_DIR)/statefill.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BENCH_DIR)/restore: $(BENCH_DIR)/restore.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BENCH_DIR)/latency: $(BENCH_DIR)/latency.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

.PHONY: bench-progs
bench-progs: $(BENCH_BINS)

bench: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory build bench-progs
	@RISKD_BIN=$(abspath $(BINDIR)) BENCH_BIN=$(abspath $(BENCH_DIR)) bench/run.sh

# The reading-to-alert latency rounds alone (a few minutes); updates the latency keys of
# bench/results.json.
.PHONY: bench-latency
bench-latency: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench-latency: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory build bench-progs
	@RISKD_BIN=$(abspath $(BINDIR)) BENCH_BIN=$(abspath $(BENCH_DIR)) bench/run.sh latency

# One riskd run on the benchmark's city under perf, with PostgreSQL timing every statement of
# its database: var/bench/profile.txt. Measures nothing else and writes no results.
.PHONY: bench-profile
bench-profile: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench-profile: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory build bench-progs
	@RISKD_BIN=$(abspath $(BINDIR)) BENCH_BIN=$(abspath $(BENCH_DIR)) bench/run.sh profile

# This checkout's riskd against other built checkouts' on the benchmark's city, round by round
# (`make bench-compare BENCH_AGAINST="../old ../other"`): a regression found or ruled out in
# one run. Measures nothing else and writes no results.
.PHONY: bench-compare
bench-compare: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench-compare: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory build bench-progs
	@RISKD_BIN=$(abspath $(BINDIR)) BENCH_BIN=$(abspath $(BENCH_DIR)) BENCH_AGAINST="$(BENCH_AGAINST)" \
	  bench/run.sh compare

# `make bench-decode`: the decoder alone on one core, jansson only against the fast path in
# front of it (bench/decode_bench.c), over a generated city. Release build only.
DECODE_BENCH := $(BENCH_DIR)/decode_bench

$(DECODE_BENCH): $(BENCH_DIR)/decode_bench.o $(GEN_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-decode
bench-decode: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench-decode: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory $(DECODE_BENCH)
	$(DECODE_BENCH) --runs 5

# `make bench-attrib`: cost and quality of the joint area attribution alone
# (bench/attrib_bench.c: CPU and memory per area-window at hourly, 15-minute and daily
# resolution, the city extrapolation, and the methods compared on synthetic areas), on one
# core, a minute or two. Release build only; docs/detection.md quotes its figures.
ATTRIB_BENCH := $(BENCH_DIR)/attrib_bench

$(ATTRIB_BENCH): $(BENCH_DIR)/attrib_bench.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-attrib
bench-attrib: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench-attrib: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory $(ATTRIB_BENCH)
	$(ATTRIB_BENCH)
