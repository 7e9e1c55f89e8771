/*
 * rules_lua.c - one embedded Lua engine for `make bench-rules` (bench/rules_lua.h): a
 * lua_State holding the translated rule functions and one table per feature vector, and the
 * timed loops that call them through the C API.
 *
 * Built twice by bench/rules.mk: with Lua 5.4's headers as rules_lua54_engine, and with
 * LuaJIT's (RULES_LUA_LUAJIT defined) as rules_luajit_engine. RULES_LUA_ENGINE names the one
 * global symbol of each build. The code below uses only the part of the C API both share.
 *
 * The state's stack holds everything the loops touch, at fixed slots, so a call costs no
 * table lookups on the C side: the vector tables, the all-rules function, the reused table of
 * run_marshal, then one function per rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#ifdef RULES_LUA_LUAJIT
#include <luajit.h>
#endif

#include "rules_lua.h"

#ifndef RULES_LUA_ENGINE
#error "define RULES_LUA_ENGINE (bench/rules.mk does)"
#endif

#ifdef RULES_LUA_LUAJIT
#define ENGINE_NAME "luajit"
#define ENGINE_VERSION LUAJIT_VERSION
#define ENGINE_INIT_ENV "RULES_BENCH_LUAJIT_INIT"
#else
#define ENGINE_NAME "lua5.4"
#define ENGINE_VERSION LUA_RELEASE
#define ENGINE_INIT_ENV "RULES_BENCH_LUA54_INIT"
#endif

/* Stack slots. */
#define SLOT_VECTORS 1 /* array of feature tables, 1-based */
#define SLOT_ALL 2     /* function(f) returning every rule's result */
#define SLOT_SCRATCH 3 /* the table run_marshal refills */
#define SLOT_RULE0 4   /* rule i's function sits at SLOT_RULE0 + i */

struct rules_lua {
	lua_State *L;
	size_t n_rules;
	size_t n_vectors;
	enum feature_id reads[FEAT__COUNT];
	size_t n_reads;
};

static void copy_error(lua_State *L, const char *what, char *errstr, size_t errstr_size)
{
	const char *msg = lua_tostring(L, -1);
	snprintf(errstr, errstr_size, "%s: %s: %s", ENGINE_NAME, what, msg ? msg : "(no message)");
	lua_pop(L, 1);
}

static void engine_close(struct rules_lua *lua)
{
	if (!lua)
		return;
	if (lua->L)
		lua_close(lua->L);
	free(lua);
}

static struct rules_lua *engine_open(char *errstr, size_t errstr_size)
{
	struct rules_lua *lua = calloc(1, sizeof *lua);
	if (!lua) {
		snprintf(errstr, errstr_size, "%s: out of memory", ENGINE_NAME);
		return NULL;
	}
	lua->L = luaL_newstate();
	if (!lua->L) {
		snprintf(errstr, errstr_size, "%s: cannot create a state", ENGINE_NAME);
		goto fail;
	}
	luaL_openlibs(lua->L);
#ifdef RULES_LUA_LUAJIT
	/* Numbers from an interpreter-only LuaJIT would be mislabelled: insist on the JIT. */
	if (luaL_dostring(lua->L, "return jit.status()") != 0) {
		copy_error(lua->L, "jit.status", errstr, errstr_size);
		goto fail;
	}
	if (!lua_toboolean(lua->L, -1)) {
		snprintf(errstr, errstr_size, "luajit: the JIT compiler is off on this machine");
		goto fail;
	}
#endif
	/* Optional Lua run once at start, for experiments: jit.off(), jit.opt.start(...),
	 * require("jit.v").start(path). Not used by `make bench-rules`. */
	const char *init = getenv(ENGINE_INIT_ENV);
	if (init && luaL_dostring(lua->L, init) != 0) {
		copy_error(lua->L, ENGINE_INIT_ENV, errstr, errstr_size);
		goto fail;
	}
	lua_settop(lua->L, 0);
	lua_pushnil(lua->L);                            /* SLOT_VECTORS */
	lua_pushnil(lua->L);                            /* SLOT_ALL */
	lua_createtable(lua->L, 0, FEAT__COUNT);        /* SLOT_SCRATCH */
	return lua;
fail:
	engine_close(lua);
	return NULL;
}

/* Runs chunk and leaves the function it returns on the stack. */
static int load_function(lua_State *L, const char *chunk, const char *chunk_name, char *errstr,
                         size_t errstr_size)
{
	if (luaL_loadbuffer(L, chunk, strlen(chunk), chunk_name) != 0 || lua_pcall(L, 0, 1, 0) != 0) {
		copy_error(L, chunk_name, errstr, errstr_size);
		return -1;
	}
	if (lua_type(L, -1) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		snprintf(errstr, errstr_size, "%s: %s: the chunk did not return a function", ENGINE_NAME,
		         chunk_name);
		return -1;
	}
	return 0;
}

static int engine_compile(struct rules_lua *lua, const char *const *rule_chunks, size_t n_rules,
                       const char *all_chunk, const enum feature_id *reads, size_t n_reads,
                       char *errstr, size_t errstr_size)
{
	lua_State *L = lua->L;
	lua_settop(L, SLOT_SCRATCH);
	lua->n_rules = 0;
	if (n_reads > FEAT__COUNT || !lua_checkstack(L, (int)n_rules + 2 * LUA_MINSTACK)) {
		snprintf(errstr, errstr_size, "%s: too many rules or features", ENGINE_NAME);
		return -1;
	}
	if (load_function(L, all_chunk, "=all_rules", errstr, errstr_size) < 0)
		return -1;
	lua_replace(L, SLOT_ALL);
	for (size_t i = 0; i < n_rules; i++) {
		char name[32];
		snprintf(name, sizeof name, "=rule_%zu", i);
		if (load_function(L, rule_chunks[i], name, errstr, errstr_size) < 0) {
			lua_settop(L, SLOT_SCRATCH);
			return -1;
		}
	}
	lua->n_rules = n_rules;
	memcpy(lua->reads, reads, n_reads * sizeof *reads);
	lua->n_reads = n_reads;
	return 0;
}

/* Pushes feature id of fv as a Lua value: nil when missing. */
static void push_feature(lua_State *L, const struct feature_vec *fv, enum feature_id id)
{
	if (!feature_known(fv, id)) {
		lua_pushnil(L);
		return;
	}
	double value = fv->value[id];
	const struct feature_def *def = feature_def(id);
	size_t n_symbols = 0;
	const char *const *symbols;
	switch (def->type) {
	case FEATURE_BOOL:
		lua_pushboolean(L, value != 0);
		return;
	case FEATURE_SYM:
		symbols = feature_symbols(id, &n_symbols);
		if (value >= 0 && value < (double)n_symbols)
			lua_pushstring(L, symbols[(size_t)value]);
		else
			lua_pushnil(L);
		return;
	case FEATURE_NUM:
		break;
	}
	/* riskd reads a NaN as undefined: so does the Lua side, as nil. */
	if (value != value)
		lua_pushnil(L);
	else
		lua_pushnumber(L, value);
}

static void engine_vectors_load(struct rules_lua *lua, const struct feature_vec *fvs, size_t n)
{
	lua_State *L = lua->L;
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, FEAT__COUNT);
		for (int id = 0; id < FEAT__COUNT; id++) {
			if (!feature_known(&fvs[i], (enum feature_id)id))
				continue;
			push_feature(L, &fvs[i], (enum feature_id)id);
			lua_setfield(L, -2, feature_def((enum feature_id)id)->name);
		}
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_replace(L, SLOT_VECTORS);
	lua->n_vectors = n;
	/* Start the timed loops with no garbage pending. */
	lua_gc(L, LUA_GCCOLLECT, 0);
}

static long engine_run_rules(struct rules_lua *lua, uint8_t *out, char *errstr, size_t errstr_size)
{
	lua_State *L = lua->L;
	const int top = lua_gettop(L);
	const int table = top + 1;
	const size_t n_rules = lua->n_rules;
	long fired = 0;
	for (size_t v = 0; v < lua->n_vectors; v++) {
		lua_rawgeti(L, SLOT_VECTORS, (int)v + 1);
		for (size_t r = 0; r < n_rules; r++) {
			lua_pushvalue(L, SLOT_RULE0 + (int)r);
			lua_pushvalue(L, table);
			if (lua_pcall(L, 1, 1, 0) != 0) {
				copy_error(L, "rule", errstr, errstr_size);
				lua_settop(L, top);
				return -1;
			}
			int hit = lua_toboolean(L, -1);
			fired += hit;
			if (out)
				out[v * n_rules + r] = (uint8_t)hit;
			lua_settop(L, table);
		}
		lua_settop(L, top);
	}
	return fired;
}

/* Calls the all-rules function on the table at the top (consumed) and reads its results:
 * one number per RULES_LUA_MASK_BITS rules, a bit per rule. */
static long call_all(struct rules_lua *lua, int top, uint8_t *out, char *errstr,
                     size_t errstr_size)
{
	lua_State *L = lua->L;
	const size_t n_rules = lua->n_rules;
	const int groups = (int)((n_rules + RULES_LUA_MASK_BITS - 1) / RULES_LUA_MASK_BITS);
	long fired = 0;
	if (lua_pcall(L, 1, groups, 0) != 0) {
		copy_error(L, "all rules", errstr, errstr_size);
		lua_settop(L, top);
		return -1;
	}
	for (int g = 0; g < groups; g++) {
		uint64_t mask = (uint64_t)lua_tonumber(L, top + 1 + g);
		size_t first = (size_t)g * RULES_LUA_MASK_BITS;
		for (size_t r = first; r < n_rules && r < first + RULES_LUA_MASK_BITS; r++) {
			int hit = (int)((mask >> (r - first)) & 1u);
			fired += hit;
			if (out)
				out[r] = (uint8_t)hit;
		}
	}
	lua_settop(L, top);
	return fired;
}

static long engine_run_vectors(struct rules_lua *lua, uint8_t *out, char *errstr,
                            size_t errstr_size)
{
	lua_State *L = lua->L;
	const int top = lua_gettop(L);
	long fired = 0;
	for (size_t v = 0; v < lua->n_vectors; v++) {
		lua_pushvalue(L, SLOT_ALL);
		lua_rawgeti(L, SLOT_VECTORS, (int)v + 1);
		long hits = call_all(lua, top, out ? out + v * lua->n_rules : NULL, errstr, errstr_size);
		if (hits < 0)
			return -1;
		fired += hits;
	}
	return fired;
}

static long engine_run_marshal(struct rules_lua *lua, const struct feature_vec *fvs, size_t n,
                            uint8_t *out, char *errstr, size_t errstr_size)
{
	lua_State *L = lua->L;
	const int top = lua_gettop(L);
	long fired = 0;
	for (size_t v = 0; v < n; v++) {
		for (size_t i = 0; i < lua->n_reads; i++) {
			push_feature(L, &fvs[v], lua->reads[i]);
			lua_setfield(L, SLOT_SCRATCH, feature_def(lua->reads[i])->name);
		}
		lua_pushvalue(L, SLOT_ALL);
		lua_pushvalue(L, SLOT_SCRATCH);
		long hits = call_all(lua, top, out ? out + v * lua->n_rules : NULL, errstr, errstr_size);
		if (hits < 0)
			return -1;
		fired += hits;
	}
	return fired;
}

static size_t engine_mem_bytes(struct rules_lua *lua)
{
	return (size_t)lua_gc(lua->L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(lua->L, LUA_GCCOUNTB, 0);
}

const struct rules_lua_engine RULES_LUA_ENGINE = {
	.name = ENGINE_NAME,
	.version = ENGINE_VERSION,
	.open = engine_open,
	.close = engine_close,
	.compile = engine_compile,
	.vectors_load = engine_vectors_load,
	.run_rules = engine_run_rules,
	.run_vectors = engine_run_vectors,
	.run_marshal = engine_run_marshal,
	.mem_bytes = engine_mem_bytes,
};
