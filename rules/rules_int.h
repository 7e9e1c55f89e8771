/*
 * rules_int.h - private to rules/: the arena, source positions and diagnostics, the YAML node
 * tree, the expression AST, the instruction format, and the rule set's layout.
 *
 * Pipeline of one rule file: rules_yaml (libyaml -> node tree with byte offsets) ->
 * rules_schema (keys and values of the file, rules and tests) -> for each `when`:
 * rules_lex + rules_parse (AST) -> rules_check (names, types, folding) -> rules_compile
 * (instructions, verified) -> rules_vm at evaluation time. Positions are byte offsets until a
 * diagnostic is rendered (rules_diag).
 */
#ifndef RISKD_RULES_INT_H
#define RISKD_RULES_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/suggest.h"
#include "../scoring/attributes.h"
#include "ruleset.h"

/* Deepest operand stack a compiled condition may use; evaluation keeps it on the C stack. */
#define RULES_STACK_MAX 64
/* Deepest nesting of parentheses, calls and operators the parser accepts. */
#define RULES_NEST_MAX 40
/* Longest condition, in bytes. */
#define RULES_WHEN_MAX 8192
/* Deepest nesting of YAML collections in a rule file. */
#define RULES_YAML_DEPTH_MAX 16
/* Most instructions of one rule's program. */
#define RULES_PROG_MAX 4096

/* ---- arena (rules_arena.c): bump allocation, freed all at once ---- */

struct rules_arena {
	struct rules_arena_chunk *head;
};

/* Zeroed memory aligned for any type; aborts on out-of-memory. */
void *rules_arena_alloc(struct rules_arena *arena, size_t size);
/* A NUL-terminated copy of n bytes. */
char *rules_arena_strndup(struct rules_arena *arena, const char *s, size_t n);
/* Frees every allocation; the arena is empty and reusable. */
void rules_arena_free(struct rules_arena *arena);

/* ---- one source file and its diagnostics (rules_diag.c) ---- */

struct rules_src {
	const char *path;
	const char *text;
	size_t len;
	struct rules_diags *diags;
	size_t first_diag; /* index of this file's first diagnostic in diags */
	size_t errors;     /* errors reported for this file, the cut ones included */
	size_t line_pos;   /* line-number cache: text[0 .. line_pos) holds line_no - 1 newlines */
	int line_no;
};

/* No position: the diagnostic concerns the whole file. */
#define RULES_NO_POS ((size_t)-1)

/* Starts a file's diagnostics. */
void rules_src_init(struct rules_src *src, const char *path, const char *text, size_t len,
                    struct rules_diags *diags);

/* Reports an error at byte offset pos (RULES_NO_POS: none). After RULES_FILE_ERRORS_MAX
 * errors one "too many errors" line is added and further errors are only counted. */
void rules_src_error(struct rules_src *src, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rules_src_verror(struct rules_src *src, size_t pos, const char *fmt, va_list ap);

/* Appends one diagnostic without position about a whole file or path to diags. */
void rules_path_error(struct rules_diags *diags, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sorts the file's diagnostics by line and column (stable), once the file is done. */
void rules_src_finish(struct rules_src *src);

/* 1-based line and character column of byte offset pos. Positions asked for in increasing
 * order cost time in proportion to the distance between them. */
void rules_src_line_col(struct rules_src *src, size_t pos, int *line, int *col);

/* Copies at most 40 bytes of s for a message, control bytes as '?', "..." when cut. */
const char *rules_show(char *dst, size_t dst_size, const char *s, size_t len);

/* The closest feature name of the registry to name (suggest_name of config/suggest.h), or
 * NULL. */
const char *rules_suggest_feature(const char *name, size_t len);

/* ---- names a condition reads (rules_names.c) ---- */

/* Operand ids from here on are attributes: RULES_ATTR_BASE + slot of the schema. */
#define RULES_ATTR_BASE FEAT__COUNT

/* A feature or an attribute as the checker, the tests and `rules explain` see it. Strings
 * belong to the registry or the schema. */
struct rules_name {
	int id;                     /* feature id, or RULES_ATTR_BASE + attribute slot */
	const char *name;
	enum feature_type type;     /* attributes: FEATURE_NUM (number) or FEATURE_SYM (category) */
	const char *unit;           /* "" for attributes */
	const char *const *symbols; /* FEATURE_SYM: the values in code order, n_symbols of them */
	size_t n_symbols;
	int attribute;              /* 1 for an attribute */
};

/* Looks name (len bytes) up among the features, then the attributes of attrs (may be NULL).
 * Returns 0 and *out, or -1. */
int rules_name_lookup(const struct attr_schema *attrs, const char *name, size_t len,
                      struct rules_name *out);

/* The name of operand id (a feature id, or an attribute of attrs). */
void rules_name_of(const struct attr_schema *attrs, int id, struct rules_name *out);

/* The closest feature or attribute name to name (suggest_name), or NULL. */
const char *rules_suggest_operand(const struct attr_schema *attrs, const char *name, size_t len);

/* ---- YAML node tree (rules_yaml.c) ---- */

enum ynode_type { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

enum yscalar_style { YSTYLE_PLAIN, YSTYLE_SINGLE, YSTYLE_DOUBLE, YSTYLE_LITERAL, YSTYLE_FOLDED };

struct ynode {
	enum ynode_type type;
	enum yscalar_style style; /* scalars */
	size_t start, end;        /* byte offsets of the node in the file */
	const char *value;        /* scalars: the value, NUL-terminated (may hold NUL bytes) */
	size_t len;
	struct ynode **items;     /* MAP: key0, value0, key1, value1, ...; SEQ: the items */
	size_t count;             /* MAP: pairs; SEQ: items */
};

/* Parses the file into a tree in arena. Returns the root, or NULL after reporting the error
 * (YAML syntax, anchors, aliases, tags, several documents, nesting, empty file). */
struct ynode *rules_yaml_parse(struct rules_src *src, struct rules_arena *arena);

/* The same for another YAML file read with these diagnostics (scorecard_load.c): noun
 * names the file in messages ("a scorecard"), empty_message is the whole message for an
 * empty file. */
struct ynode *rules_yaml_parse_as(struct rules_src *src, struct rules_arena *arena,
                                  const char *noun, const char *empty_message);

/* Byte offset in the file of byte voff of scalar n's value (voff == n->len: just past the
 * value's last byte). Re-scans the raw text of the scalar: exact for plain, quoted and literal
 * scalars; for folded ones every non-blank character is exact. */
size_t rules_yaml_locate(const struct rules_src *src, const struct ynode *n, size_t voff);

/* ---- reading the node tree (rules_ynode.c), shared by rule files and scorecards ---- */

/* "a mapping", "a sequence" or "a scalar", for messages. */
const char *ynode_noun(const struct ynode *n);
/* Whether n is a scalar whose value is exactly text. */
int ynode_is(const struct ynode *n, const char *text);
/* Whether n is a plain null scalar: empty, "~", "null", "Null" or "NULL". */
int ynode_is_null(const struct ynode *n);
/* The index of the name scalar n is among names[0 .. count), or count. */
size_t ynode_find(const struct ynode *n, const char *const *names, size_t count);
/* For a scalar n that is none of names, the closest of them (suggest_name), else NULL. */
const char *ynode_suggest(const struct ynode *n, const char *const *names, size_t count);
/* The value of key in map (a YNODE_MAP), or NULL. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
/* Byte offset of key itself in map (for errors about its whole value); map's when absent. */
size_t ynode_key_pos(const struct ynode *map, const char *key);
/* The 1-based line of byte offset pos (rules_src_line_col without the column). */
int rules_src_line(struct rules_src *src, size_t pos);

/*
 * Reports every key of map that is not a plain name, repeats an earlier key, or is not one
 * of keys[0 .. nkeys) (with a suggestion when one is close). notes, when not NULL, explains
 * a known key that is not allowed here: notes[k] non-NULL reports keys[k] as
 * "key 'K' <notes[k]>". where says where the map sits ("in a rule").
 */
void ynode_check_keys(struct rules_src *src, const struct ynode *map, const char *const *keys,
                      size_t nkeys, const char *const *notes, const char *where);

/* The text of scalar n, the value of key; reports a collection or a null and returns NULL. */
const char *ynode_text(struct rules_src *src, const struct ynode *n, const char *key);
/* A plain decimal number in [min, max] into *out; reports anything else. Returns 0 or -1. */
int ynode_number(struct rules_src *src, const struct ynode *n, const char *key, double min,
                 double max, double *out);
/* A plain true or false into *out; reports anything else. Returns 0 or -1. */
int ynode_bool(struct rules_src *src, const struct ynode *n, const char *key, int *out);

/* ---- the service policy of credit files (credit_policy_load.c) ---- */

struct credit_policy;

/* Reads the `actions` section of a credit rule file into *policy (zeroed first), reporting
 * every error through src; *policy is left empty when there was one. */
void credit_policy_read(struct rules_src *src, const struct ynode *section,
                        struct credit_policy *policy);

/* ---- lexer (rules_lex.c) ---- */

enum tok {
	TOK_EOF,
	TOK_ERROR,
	TOK_NUM,
	TOK_STR,
	TOK_IDENT,
	TOK_AND,
	TOK_OR,
	TOK_NOT,
	TOK_IN,
	TOK_TRUE,
	TOK_FALSE,
	TOK_PLUS,
	TOK_MINUS,
	TOK_STAR,
	TOK_SLASH,
	TOK_LT,
	TOK_LE,
	TOK_GT,
	TOK_GE,
	TOK_EQ,
	TOK_NE,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_COMMA,
};

struct token {
	enum tok type;
	uint32_t off, len; /* bytes of the expression text */
	double num;        /* TOK_NUM */
	const char *error; /* TOK_ERROR: the message (static or in the lexer's buffer) */
};

struct lexer {
	const char *text;
	size_t len;
	size_t pos;
	char errbuf[96];
};

/* Starts lexing len bytes of text (not copied; it must outlive the lexer). */
void rules_lex_init(struct lexer *lx, const char *text, size_t len);
/* The next token. TOK_EOF's offset is just past the last non-blank byte. */
void rules_lex_next(struct lexer *lx, struct token *tok);
/* How a token type is written, for messages ("'<='", "a number", "the end"). */
const char *rules_tok_name(enum tok type);

/* ---- AST (rules_parse.c) ---- */

enum expr_kind {
	EXPR_NUM,     /* num */
	EXPR_BOOL,    /* num 0/1 */
	EXPR_STR,     /* name/name_len: the unescaped string */
	EXPR_SYM,     /* a string resolved to symbol code num of feature's set (checker) */
	EXPR_FEATURE, /* name; feature after checking */
	EXPR_CALL,    /* name(args) */
	EXPR_UNARY,   /* op: TOK_MINUS or TOK_NOT; args[0] */
	EXPR_BINARY,  /* op: arithmetic, comparison, TOK_AND, TOK_OR; args[0], args[1] */
	EXPR_IN,      /* args[0] in args[1] (an EXPR_LIST) */
	EXPR_LIST,    /* args */
};

/* Types the checker assigns. */
enum vtype { VT_ERR, VT_NUM, VT_BOOL, VT_SYM, VT_STR, VT_LIST };

struct expr {
	enum expr_kind kind;
	enum tok op;
	uint32_t off, end;  /* span in the expression text */
	uint32_t op_off;    /* the operator's offset (binary, unary, in) */
	enum vtype type;    /* after checking */
	int feature;        /* EXPR_FEATURE: its id; VT_SYM values: the SYM feature giving the set */
	double num;
	const char *name;
	size_t name_len;
	struct expr **args;
	uint32_t nargs;
};

/* Reports an error at byte offset off of the expression text. */
typedef void rules_expr_error_fn(void *user, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses text into an AST in arena. Returns NULL after reporting the first syntax error. */
struct expr *rules_parse(const char *text, size_t len, struct rules_arena *arena,
                         rules_expr_error_fn *error, void *user);

/* ---- checker (rules_check.c) ---- */

/* Resolves names and types of a condition against the features and the attributes of attrs
 * (may be NULL), folds constants, reports every error it finds. Returns 0 when the condition
 * is a well-typed boolean, -1 otherwise. *root may be replaced by a folded node. reads gets a
 * bit per feature the condition reads, attr_reads a bit per attribute slot. */
int rules_check(struct expr **root, struct rules_arena *arena, const struct attr_schema *attrs,
                uint64_t *reads, uint64_t *attr_reads, rules_expr_error_fn *error, void *user);

/* ---- instructions (rules_opcodes.h, rules_compile.c) ---- */

enum rules_operand { OPD_NONE, OPD_K, OPD_F, OPD_FK, OPD_FKK, OPD_JUMP, OPD_LIST, OPD_FLIST };

enum rules_op {
#define OP(name, pops, pushes, operand, text) OP_##name,
#include "rules_opcodes.h"
#undef OP
	OP__COUNT
};

/* One instruction, 16 bytes. Jump targets count from the start of the rule's program. */
struct rules_insn {
	uint16_t op;
	uint16_t a; /* feature id (OPD_F*) */
	uint32_t b; /* jump target (OPD_JUMP); pool index (OPD_LIST, OPD_FLIST, OPD_FKK) */
	double k;   /* constant (OPD_K, OPD_FK) */
};

struct rules_opinfo {
	const char *name;
	int pops, pushes;
	enum rules_operand operand;
	const char *text;
};
extern const struct rules_opinfo rules_ops[OP__COUNT];

/* Growing program of a rule set: code and constant pool. */
struct rules_code {
	struct rules_insn *insns;
	size_t n, cap;
	double *pool;
	size_t npool, poolcap;
};

/* Compiles a checked condition, appending to code. Stores the program's first instruction
 * in *start and its length in *len. Returns 0, or -1 after reporting (program too long or
 * stack too deep) through error. */
int rules_compile(const struct expr *root, struct rules_code *code, uint32_t *start,
                  uint32_t *len, rules_expr_error_fn *error, void *user);

/* Words of a bit set over the feature ids (feature_vec.known's layout). */
#define RULES_FEATURE_WORDS ((FEAT__COUNT + 63) / 64)

/* One operand of a condition's top-level `and` chain, compiled as a program of its own: the
 * condition holds only if every one of them does (ruleset_eval_bound). */
struct rule_conjunct {
	uint32_t prog_start;
	uint64_t reads[RULES_FEATURE_WORDS]; /* the features this operand reads */
};

/* Compiles each operand of a checked condition's top-level `and` chain as a program of its own
 * (appended to code and verified against n_attrs attributes), with the features it reads, into
 * *out (allocated in arena). Returns the number of operands; 0 with *out NULL when the
 * condition is not an `and`; -1 after reporting through error. */
int rules_compile_conjuncts(const struct expr *root, struct rules_code *code, size_t n_attrs,
                            struct rules_arena *arena, struct rule_conjunct **out,
                            rules_expr_error_fn *error, void *user);

/* Checks a program before it may run: known opcodes, operands in range (features, and
 * attributes up to RULES_ATTR_BASE + n_attrs), pool slots in range, jumps forward and inside
 * the program, the stack depth the same on every path and within RULES_STACK_MAX, one value
 * left at the final RET. Returns 0 or -1 with a reason in errstr. */
int rules_verify(const struct rules_insn *prog, size_t len, const double *pool, size_t npool,
                 size_t n_attrs, char *errstr, size_t errstr_size);

/* ---- rule set layout ---- */

struct rule_test {
	struct feature_vec given;
	struct attr_vec given_attrs;
	int expect_fire;
	int line;
};

struct rule_entry {
	struct rule_info info;
	uint32_t prog_start, prog_len;
	uint64_t reads[RULES_FEATURE_WORDS];
	uint64_t attr_reads; /* bit per attribute slot the condition reads */
	const struct rule_conjunct *conjuncts; /* in the set's arena; NULL when the condition is
	                                          not an `and` */
	uint32_t n_conjuncts;
	struct rule_test *tests;
	size_t n_tests;
	int has_when;
};

struct ruleset {
	enum rule_kind kind;
	const struct attr_schema *attrs; /* the schema the rules were checked against, or NULL */
	uint64_t attr_reads;         /* bit per attribute slot any rule reads */
	char *name;
	char *version;
	char hash[17];
	double alert_threshold;
	int have_threshold;
	struct rule_entry rules[RULESET_RULES_MAX];
	uint32_t prog_starts[RULESET_RULES_MAX]; /* rules[i].prog_start, side by side for the VM */
	size_t n_rules;
	struct rules_code code;
	struct rules_arena arena;    /* strings, evidence lists, tests */
	struct rbuf names, versions; /* '+'-joined while loading */
	uint64_t fnv;
	int threshold_line;
	const char *threshold_path;
};

/* ---- schema (rules_schema.c) ---- */

/* Rule ids already seen across the files of one load, to report duplicates. */
struct rules_idtab {
	struct rules_idtab_entry *items;
	size_t count, cap;
};
/* Frees the table's entries; it is empty and reusable afterwards. */
void rules_idtab_free(struct rules_idtab *tab);

/* Checks one parsed file and adds its rules to sets[kind of the file]. Reports every error
 * through src. Returns the file's kind, or -1 when it could not be told. */
int rules_schema_load(struct rules_src *src, const struct ynode *root,
                      struct ruleset *sets[RULE_KIND__COUNT], struct rules_idtab *ids,
                      struct rules_arena *scratch);

#endif
