/*
 * rules_lua.h - the Lua side of `make bench-rules` (bench/README-rules.md): one embedded Lua
 * engine that runs rule conditions translated to Lua by bench/rules_bench.c, over the same
 * feature vectors riskd's rule VM evaluates.
 *
 * bench/rules_lua.c is compiled twice, against Lua 5.4 and against LuaJIT; each build is
 * partially linked with its static Lua library and keeps only its engine table global
 * (bench/rules.mk), so both interpreters live in one process and are timed in one run.
 *
 * Each engine holds one lua_State. Feature vectors become Lua tables keyed by feature name:
 * numbers as Lua numbers, booleans as Lua booleans, symbols as their names; a missing feature
 * is an absent key (nil).
 */
#ifndef RISKD_BENCH_RULES_LUA_H
#define RISKD_BENCH_RULES_LUA_H

#include <stddef.h>
#include <stdint.h>

#include "../scoring/features.h"

struct rules_lua;

/* The all-rules function reports rules in groups of this many, one number per group. */
#define RULES_LUA_MASK_BITS 32

struct rules_lua_engine {
	const char *name;    /* "lua5.4" or "luajit" */
	const char *version; /* the library's release string, e.g. "Lua 5.4.4" */

	/*
	 * Opens a state with the standard libraries. Returns NULL and a message in errstr on
	 * failure. Free with close.
	 */
	struct rules_lua *(*open)(char *errstr, size_t errstr_size);
	void (*close)(struct rules_lua *lua);

	/*
	 * Compiles the rule set: rule_chunks[i] is a Lua chunk returning the function of rule i
	 * (one argument, the feature table; returns true when the rule fires); all_chunk returns
	 * one function of the feature table that evaluates every rule and returns one number per
	 * RULES_LUA_MASK_BITS rules: the sum of 2^(r % RULES_LUA_MASK_BITS) over the rules r of
	 * that group that fire. reads
	 * lists the n_reads features the rules read (the only ones marshalled by run_marshal).
	 * Replaces a previous rule set. Returns 0, or -1 with the Lua error in errstr.
	 */
	int (*compile)(struct rules_lua *lua, const char *const *rule_chunks, size_t n_rules,
	               const char *all_chunk, const enum feature_id *reads, size_t n_reads,
	               char *errstr, size_t errstr_size);

	/* Builds one Lua table per vector (every known feature) and keeps them in the state. */
	void (*vectors_load)(struct rules_lua *lua, const struct feature_vec *fvs, size_t n);

	/*
	 * Timed loops over the loaded vectors, vector by vector. run_rules calls each rule's
	 * function once per vector through lua_pcall; run_vectors calls the all-rules function
	 * once per vector; run_marshal does the same, but first fills one reused table from
	 * fvs[i] (the features in reads), as riskd would have to for every customer. When out
	 * is not NULL, out[v * n_rules + r] is set to 1 when rule r fired on vector v, else 0.
	 * Return the number of fired (vector, rule) pairs, or -1 with the Lua error in errstr.
	 */
	long (*run_rules)(struct rules_lua *lua, uint8_t *out, char *errstr, size_t errstr_size);
	long (*run_vectors)(struct rules_lua *lua, uint8_t *out, char *errstr, size_t errstr_size);
	long (*run_marshal)(struct rules_lua *lua, const struct feature_vec *fvs, size_t n,
	                    uint8_t *out, char *errstr, size_t errstr_size);

	/* Bytes the state holds (Lua's own count), for the report. */
	size_t (*mem_bytes)(struct rules_lua *lua);
};

extern const struct rules_lua_engine rules_lua54_engine;
extern const struct rules_lua_engine rules_luajit_engine;

#endif
