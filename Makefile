# riskd - one Makefile for the service, the CLI, the mock Kafka launcher, tests and benchmarks.
#
#   make                  build bin/riskd, bin/riskctl, bin/mock-kafka (installs missing deps first)
#   make SANITIZE=address,undefined
#                         the same tree instrumented, under build/san and bin/san
#   make test             the module-boundary check, unit suites, then end-to-end suites
#                         against the local stack
#   make check-arrows     only the module-boundary check (tools/check-arrows.sh)
#   make fuzz             the libFuzzer targets of tests/fuzz/, built with clang under ASan and
#                         UBSan into build/fuzz/, each run FUZZ_SECONDS (default 30) on its
#                         seed corpus; fails on a crash, a sanitizer report or a broken
#                         invariant (installs clang first if missing; `make test` never needs it)
#   make demo             local stack + generated city + riskd until idle + summary
#   make deps             install the Debian packages riskd needs (quick no-op when present)

SANITIZE ?=
PKGS      := rdkafka libpq jansson yaml-0.1 libmicrohttpd
CC        ?= cc

ifeq ($(SANITIZE),)
BUILD     := build/rel
BINDIR    := bin
OPT       := -O2
else
BUILD     := build/san
BINDIR    := bin/san
OPT       := -O1 -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CFLAGS   ?= -g
CFLAGS   += -std=c11 $(OPT) -Wall -Wextra -Wstrict-prototypes -Werror -MMD -MP \
            -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I.
LDFLAGS  += $(if $(SANITIZE),-fsanitize=$(SANITIZE))
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CRIT_LIBS  = $(shell pkg-config --libs criterion 2>/dev/null)

# Library: every module source except the programs' mains.
LIB_SRCS  := $(filter-out detector/riskd_main.c,\
             $(wildcard config/*.c streams/*.c rules/*.c scoring/*.c detector/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libriskd.a

RISKD_SRCS   := detector/riskd_main.c
RISKCTL_SRCS := $(wildcard tools/riskctl*.c tools/gen*.c)
MOCK_SRCS    := tools/mock_kafka.c

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
E2E_SRCS  := $(wildcard tests/e2e/test_*.c)
TEST_SUPPORT_SRCS := $(wildcard tests/support/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
E2E_BINS  := $(E2E_SRCS:tests/e2e/%.c=$(BUILD)/tests/e2e/%)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)

# The generator's unit suite links the generator itself (with riskctl_shown, which its messages
# use); so does the fast decoder's, which cross-checks generated cities.
GEN_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/gen*.c) tools/riskctl_shown.c)
$(BUILD)/tests/unit/test_gen: $(GEN_OBJS)
$(BUILD)/tests/unit/test_event_fast: $(GEN_OBJS)

PROGS := $(BINDIR)/riskd $(BINDIR)/riskctl $(BINDIR)/mock-kafka

.PHONY: all deps test test-unit test-e2e demo eval bench clean stack-up stack-down valgrind \
        fuzz fuzz-build check-arrows
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

.PHONY: build
build: $(PROGS)

deps:
	@deploy/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# What the build is made from (riskd --version, riskctl --version, riskd_build_info): git
# describe and the commit of this checkout, "unknown" outside git. The stamp changes only when
# they do, so detector/version.o is rebuilt then and only then.
RISKD_VERSION := $(or $(shell git describe --tags --always --dirty 2>/dev/null),unknown)
RISKD_COMMIT  := $(or $(shell git rev-parse HEAD 2>/dev/null),unknown)
$(BUILD)/detector/version.o: CFLAGS += -DRISKD_VERSION='"$(RISKD_VERSION)"' \
                                       -DRISKD_COMMIT='"$(RISKD_COMMIT)"'
$(BUILD)/detector/version.o: $(BUILD)/version.stamp
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(RISKD_VERSION) $(RISKD_COMMIT)' | cmp -s - $@ || \
	  echo '$(RISKD_VERSION) $(RISKD_COMMIT)' > $@
.PHONY: FORCE
FORCE:

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/riskd: $(RISKD_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BINDIR)/riskctl: $(RISKCTL_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BINDIR)/mock-kafka: $(MOCK_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIB),$^) $(LIB) $(PKG_LIBS) $(CRIT_LIBS)

$(BUILD)/tests/e2e/%: $(BUILD)/tests/e2e/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIB),$^) $(LIB) $(PKG_LIBS) $(CRIT_LIBS)

# Tests: unit suites need no server; end-to-end suites start (or reuse) the local stack.
# Criterion runs each suite's tests in forked workers; -j1 keeps the 2-core machine calm.
test: deps
	@$(MAKE) --no-print-directory check-arrows
	@$(MAKE) --no-print-directory build $(UNIT_BINS) $(E2E_BINS)
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-e2e

# The allowed arrows between modules (docs/architecture.md): the checker, its own test on
# made-up trees, then this tree.
check-arrows:
	@tests/tools/test_check_arrows.sh >/dev/null || tests/tools/test_check_arrows.sh
	@tools/check-arrows.sh

# Under SANITIZE a sanitizer report fails the run wherever it appears - in a suite's output
# (Criterion's workers do not turn a leak report into a failure) or in the logs of the riskd
# processes the end-to-end suites start - not only a crash.
SAN_REPORT := 'ERROR: [A-Za-z]*Sanitizer|runtime error:'

test-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; \
	  if [ -z "$(SANITIZE)" ]; then $$t --jobs=2 --short-filename; continue; fi; \
	  $$t --jobs=2 --short-filename > $$t.log 2>&1 || { cat $$t.log; exit 1; }; cat $$t.log; \
	  if grep -Eq $(SAN_REPORT) $$t.log; then echo "sanitizer report in $$t.log"; exit 1; fi; \
	done

test-e2e: $(PROGS) $(E2E_BINS)
	@RISKD_BIN=$(abspath $(BINDIR)) deploy/local-stack.sh up
	@deploy/local-stack.sh prune-e2e
	@mkdir -p var/e2e && touch $(BUILD)/e2e-start.stamp
	@set -e; for t in $(E2E_BINS); do echo "== $$t"; \
	  if [ -z "$(SANITIZE)" ]; then RISKD_BIN=$(abspath $(BINDIR)) $$t --jobs=1 --short-filename; continue; fi; \
	  RISKD_BIN=$(abspath $(BINDIR)) $$t --jobs=1 --short-filename > $$t.log 2>&1 || { cat $$t.log; exit 1; }; \
	  cat $$t.log; \
	  if grep -Eq $(SAN_REPORT) $$t.log; then echo "sanitizer report in $$t.log"; exit 1; fi; \
	done
	@logs=$$(find var/e2e -name '*.log' -newer $(BUILD)/e2e-start.stamp); \
	if [ -n "$(SANITIZE)" ] && [ -n "$$logs" ] && grep -El $(SAN_REPORT) $$logs; then \
	  echo "sanitizer report in the riskd logs above"; exit 1; fi

stack-up: $(PROGS)
	@RISKD_BIN=$(abspath $(BINDIR)) deploy/local-stack.sh up

stack-down:
	@deploy/local-stack.sh down

demo: deps
	@$(MAKE) --no-print-directory build
	@RISKD_BIN=$(abspath $(BINDIR)) tools/demo.sh

# Detection scorecard (docs/detection.md): the shipped theft rules on labelled cities at fixed
# seeds, offline (no Kafka, no PostgreSQL); a few minutes on two cores.
eval: deps
	@$(MAKE) --no-print-directory build
	@set -e; for seed in 1 2; do \
	  $(BINDIR)/riskctl eval --seed $$seed --customers 2000 --days 90 --theft-rate 0.05; echo; done

# Benchmarks (bench/README.md): build rules live in bench/bench.mk.
-include bench/bench.mk
-include bench/rules.mk

# Fuzzing (tests/fuzz/): a target tests/fuzz/fuzz_<seeds>_<what>.c starts from the corpus
# tests/fuzz/corpus/<seeds>/ with the dictionary tests/fuzz/<seeds>.dict, and grows its own
# corpus under build/fuzz/corpus/. The library is built again with clang, instrumented for
# libFuzzer's coverage and the sanitizers, so every target sees all of riskd's modules. A
# failing input is written to build/fuzz/<target>-crash-* (rerun: build/fuzz/<target> FILE).
FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_CFLAGS  := -g -O1 -std=c11 -Wall -Wextra -Wstrict-prototypes -MMD -MP \
                -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB     := $(FUZZ_DIR)/libriskd.a

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $< -o $@ $(FUZZ_LIB) $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	@deploy/install-deps.sh --fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; for t in $(FUZZ_BINS); do \
	  name=$${t##*/}; seeds=$$(echo $$name | cut -d_ -f2); \
	  mkdir -p $(FUZZ_DIR)/corpus/$$name; echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  if ! $$t -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/$$seeds.dict \
	      -artifact_prefix=$(FUZZ_DIR)/$$name- $(FUZZ_DIR)/corpus/$$name \
	      tests/fuzz/corpus/$$seeds > $(FUZZ_DIR)/$$name.log 2>&1; then \
	    tail -n 40 $(FUZZ_DIR)/$$name.log; \
	    echo "make fuzz: $$name failed (log: $(FUZZ_DIR)/$$name.log)"; exit 1; fi; \
	  grep -E '^Done [0-9]+ runs' $(FUZZ_DIR)/$$name.log || tail -n 1 $(FUZZ_DIR)/$$name.log; \
	done

valgrind: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do valgrind --trace-children=yes --error-exitcode=1 --leak-check=full -q $$t -j1; done

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:
