# rules.mk - `make bench-rules` (bench/README-rules.md), included by the top Makefile.
#
# Builds bench/rules_bench with the same CFLAGS as riskd ($(BUILD)/%.o from %.c, -O2 in the
# default build) and runs it: riskd's rule VM against Lua 5.4 and LuaJIT on the shipped theft
# rules, results in bench/rules_results.json. Release build only.
#
# Both Lua libraries export the same C API names, so each engine object (bench/rules_lua.c
# compiled against one library's headers) is partially linked with that library's static
# archive, and objcopy then keeps only its engine table global: the two interpreters share
# one process without clashing.

RULES_BENCH     := $(BUILD)/bench/rules_bench
RULES_LUA54_O   := $(BUILD)/bench/rules_lua54.o
RULES_LUAJIT_O  := $(BUILD)/bench/rules_luajit.o
OBJCOPY         ?= objcopy
LUA54_CFLAGS     = $(shell pkg-config --cflags lua5.4 2>/dev/null)
LUA54_ARCHIVE    = $(shell pkg-config --variable=libdir lua5.4 2>/dev/null)/liblua5.4.a
LUAJIT_CFLAGS    = $(shell pkg-config --cflags luajit 2>/dev/null)
LUAJIT_ARCHIVE   = $(shell pkg-config --variable=libdir luajit 2>/dev/null)/libluajit-5.1.a

# $(call rules_lua_engine,engine symbol,extra CFLAGS,static archive)
define rules_lua_engine
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(2) -DRULES_LUA_ENGINE=$(1) -MT $@ -c $< -o $(@:.o=.src.o)
	$(CC) -r -nostdlib -o $(@:.o=.part.o) $(@:.o=.src.o) $(3)
	$(OBJCOPY) --keep-global-symbol=$(1) $(@:.o=.part.o) $@
endef

$(RULES_LUA54_O): bench/rules_lua.c bench/rules_lua.h
	$(call rules_lua_engine,rules_lua54_engine,$(LUA54_CFLAGS),$(LUA54_ARCHIVE))

$(RULES_LUAJIT_O): bench/rules_lua.c bench/rules_lua.h
	$(call rules_lua_engine,rules_luajit_engine,$(LUAJIT_CFLAGS) -DRULES_LUA_LUAJIT,$(LUAJIT_ARCHIVE))

$(RULES_BENCH): $(BUILD)/bench/rules_bench.o $(RULES_LUA54_O) $(RULES_LUAJIT_O) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl

.PHONY: bench-rules
bench-rules: deps
	@if [ -n "$(SANITIZE)" ]; then \
	  echo "make bench-rules: release build only (drop SANITIZE=$(SANITIZE))" >&2; exit 2; fi
	@$(MAKE) --no-print-directory $(RULES_BENCH)
	$(RULES_BENCH) --rules rules/theft.yaml --json bench/rules_results.json
