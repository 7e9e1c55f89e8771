/*
 * rules_yaml.c - reads a rule file with libyaml into a small tree of mappings, sequences and
 * scalars that keeps each node's byte offsets, and maps an offset inside a scalar's value back
 * to the file (so an error in a multi-line `when: |` block points at its own line and column).
 *
 * libyaml marks count characters (code points), not bytes; the reader is told the input is
 * UTF-8 and the marks are converted here. Anchors, aliases and tags are refused: a rule file is
 * plain data an author can read top to bottom.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rules_int.h"

struct yreader {
	struct rules_src *src;
	struct rules_arena *arena;
	const char *noun; /* "a rule file", "a scorecard": how messages name the file */
	yaml_parser_t parser;
	yaml_event_t event;
	int have_event;
	size_t cur_char, cur_byte; /* conversion cursor: character index -> byte offset */
};

static size_t utf8_len(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if (lead >= 0xf0)
		return 4;
	if (lead >= 0xe0)
		return 3;
	if (lead >= 0xc0)
		return 2;
	return 1;
}

/* Byte offset of libyaml character index idx. Marks arrive mostly in increasing order, so a
 * cursor makes the conversion linear over the file. */
static size_t char_to_byte(struct yreader *rd, size_t idx)
{
	const struct rules_src *src = rd->src;
	if (idx < rd->cur_char) {
		rd->cur_char = 0;
		rd->cur_byte = 0;
	}
	while (rd->cur_char < idx && rd->cur_byte < src->len) {
		rd->cur_byte += utf8_len((unsigned char)src->text[rd->cur_byte]);
		rd->cur_char++;
	}
	return rd->cur_byte < src->len ? rd->cur_byte : src->len;
}

static size_t event_start(struct yreader *rd)
{
	return char_to_byte(rd, rd->event.start_mark.index);
}

static void release_event(struct yreader *rd)
{
	if (rd->have_event) {
		yaml_event_delete(&rd->event);
		rd->have_event = 0;
	}
}

static int next_event(struct yreader *rd)
{
	release_event(rd);
	if (yaml_parser_parse(&rd->parser, &rd->event)) {
		rd->have_event = 1;
		return 0;
	}
	const yaml_parser_t *p = &rd->parser;
	const char *problem = p->problem ? p->problem : "unreadable YAML";
	if (p->error == YAML_READER_ERROR) {
		size_t pos = p->problem_offset < rd->src->len ? p->problem_offset : rd->src->len;
		rules_src_error(rd->src, pos, "unreadable text: %s", problem);
	} else if (p->context) {
		rules_src_error(rd->src, char_to_byte(rd, p->problem_mark.index),
		                "YAML syntax error: %s (%s that starts on line %d)", problem, p->context,
		                (int)p->context_mark.line + 1);
	} else {
		rules_src_error(rd->src, char_to_byte(rd, p->problem_mark.index),
		                "YAML syntax error: %s", problem);
	}
	return -1;
}

/* Refuses anchors and tags on the current node event. */
static int check_plain(struct yreader *rd, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	char shown[48];
	if (anchor) {
		const char *a = (const char *)anchor;
		rules_src_error(rd->src, event_start(rd),
		                "anchor '&%s' is not allowed in %s; write the value out",
		                rules_show(shown, sizeof shown, a, strlen(a)), rd->noun);
		return -1;
	}
	if (tag) {
		const char *t = (const char *)tag;
		rules_src_error(rd->src, event_start(rd), "tag '%s' is not allowed in %s",
		                rules_show(shown, sizeof shown, t, strlen(t)), rd->noun);
		return -1;
	}
	return 0;
}

static enum yscalar_style map_style(yaml_scalar_style_t style)
{
	switch (style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		return YSTYLE_SINGLE;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return YSTYLE_DOUBLE;
	case YAML_LITERAL_SCALAR_STYLE:
		return YSTYLE_LITERAL;
	case YAML_FOLDED_SCALAR_STYLE:
		return YSTYLE_FOLDED;
	default:
		return YSTYLE_PLAIN;
	}
}

static struct ynode *parse_node(struct yreader *rd, int depth);

/* Reads the children of a collection whose start event is current, until its end event. */
static struct ynode *parse_collection(struct yreader *rd, int depth, enum ynode_type type)
{
	yaml_event_type_t end_type =
		type == YNODE_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	struct ynode *node = rules_arena_alloc(rd->arena, sizeof *node);
	struct ynode **kids = NULL;
	size_t n = 0, cap = 0;
	node->type = type;
	node->start = event_start(rd);
	if (depth >= RULES_YAML_DEPTH_MAX) {
		rules_src_error(rd->src, node->start, "nesting deeper than %d levels",
		                RULES_YAML_DEPTH_MAX);
		goto fail;
	}
	for (;;) {
		if (next_event(rd) < 0)
			goto fail;
		if (rd->event.type == end_type)
			break;
		struct ynode *kid = parse_node(rd, depth + 1);
		if (!kid)
			goto fail;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			kids = xrealloc(kids, cap * sizeof *kids);
		}
		kids[n++] = kid;
	}
	node->end = char_to_byte(rd, rd->event.end_mark.index);
	node->items = rules_arena_alloc(rd->arena, (n ? n : 1) * sizeof *kids);
	if (n)
		memcpy(node->items, kids, n * sizeof *kids);
	node->count = type == YNODE_MAP ? n / 2 : n;
	free(kids);
	return node;
fail:
	free(kids);
	return NULL;
}

/* Builds the node whose first event is current. */
static struct ynode *parse_node(struct yreader *rd, int depth)
{
	yaml_event_t *ev = &rd->event;
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		if (check_plain(rd, ev->data.scalar.anchor, ev->data.scalar.tag) < 0)
			return NULL;
		struct ynode *node = rules_arena_alloc(rd->arena, sizeof *node);
		node->type = YNODE_SCALAR;
		node->style = map_style(ev->data.scalar.style);
		node->start = event_start(rd);
		node->end = char_to_byte(rd, ev->end_mark.index);
		node->len = ev->data.scalar.length;
		node->value = rules_arena_strndup(rd->arena, (const char *)ev->data.scalar.value,
		                                  node->len);
		return node;
	}
	case YAML_SEQUENCE_START_EVENT:
		if (check_plain(rd, ev->data.sequence_start.anchor, ev->data.sequence_start.tag) < 0)
			return NULL;
		return parse_collection(rd, depth, YNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		if (check_plain(rd, ev->data.mapping_start.anchor, ev->data.mapping_start.tag) < 0)
			return NULL;
		return parse_collection(rd, depth, YNODE_MAP);
	case YAML_ALIAS_EVENT: {
		char shown[48];
		const char *a = (const char *)ev->data.alias.anchor;
		rules_src_error(rd->src, event_start(rd),
		                "alias '*%s' is not allowed in %s; write the value out",
		                rules_show(shown, sizeof shown, a, strlen(a)), rd->noun);
		return NULL;
	}
	default:
		rules_src_error(rd->src, event_start(rd), "unexpected YAML structure");
		return NULL;
	}
}

struct ynode *rules_yaml_parse(struct rules_src *src, struct rules_arena *arena)
{
	return rules_yaml_parse_as(src, arena, "a rule file",
	                           "the file is empty; a rule file is a mapping with ruleset, "
	                           "version, kind and rules");
}

struct ynode *rules_yaml_parse_as(struct rules_src *src, struct rules_arena *arena,
                                  const char *noun, const char *empty_message)
{
	struct yreader rd = {.src = src, .arena = arena, .noun = noun};
	struct ynode *root = NULL;
	if (!yaml_parser_initialize(&rd.parser)) {
		rules_src_error(src, RULES_NO_POS, "cannot start the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&rd.parser, (const unsigned char *)src->text, src->len);
	yaml_parser_set_encoding(&rd.parser, YAML_UTF8_ENCODING);
	if (next_event(&rd) < 0) /* stream start */
		goto done;
	if (next_event(&rd) < 0)
		goto done;
	if (rd.event.type == YAML_STREAM_END_EVENT) {
		rules_src_error(src, RULES_NO_POS, "%s", empty_message);
		goto done;
	}
	if (next_event(&rd) < 0) /* the document's first node */
		goto done;
	struct ynode *node = parse_node(&rd, 0);
	if (!node)
		goto done;
	if (next_event(&rd) < 0) /* document end */
		goto done;
	if (next_event(&rd) < 0)
		goto done;
	if (rd.event.type != YAML_STREAM_END_EVENT) {
		rules_src_error(src, event_start(&rd), "%s holds one YAML document only", noun);
		goto done;
	}
	root = node;
done:
	release_event(&rd);
	yaml_parser_delete(&rd.parser);
	return root;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A double-quoted escape at t[r] (a backslash): its raw length and decoded byte count. */
static void escape_size(const char *t, size_t r, size_t end, size_t *raw, size_t *out)
{
	char c = r + 1 < end ? t[r + 1] : '\0';
	size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
	if (digits) {
		unsigned long cp = 0;
		for (size_t i = 0; i < digits && r + 2 + i < end; i++) {
			int h = riskd_hex_digit(t[r + 2 + i]);
			cp = cp * 16 + (unsigned long)(h < 0 ? 0 : h);
		}
		*raw = 2 + digits;
		*out = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		return;
	}
	*raw = 2;
	*out = (c == 'N' || c == '_') ? 2 : (c == 'L' || c == 'P') ? 3 : 1;
}

size_t rules_yaml_locate(const struct rules_src *src, const struct ynode *n, size_t voff)
{
	const char *t = src->text;
	size_t end = n->end < src->len ? n->end : src->len;
	size_t r = n->start;
	if (n->style == YSTYLE_SINGLE || n->style == YSTYLE_DOUBLE) {
		r++;
	} else if (n->style == YSTYLE_LITERAL || n->style == YSTYLE_FOLDED) {
		while (r < end && t[r] != '\n') /* the header: indicator, chomping, comment */
			r++;
		if (r < end)
			r++;
	}
	/* Walk the value and the raw text together: a value byte sits at the next raw byte that
	 * spells it; raw blanks in between are indentation, folding or chomping. */
	size_t i = 0;
	while (i < n->len) {
		size_t i0 = i, pos;
		char c = n->value[i];
		for (;;) {
			if (r >= end) {
				pos = end;
				i++;
				break;
			}
			if (n->style == YSTYLE_DOUBLE && t[r] == '\\') {
				if (r + 1 < end && (t[r + 1] == '\n' || t[r + 1] == '\r')) {
					r += 2; /* escaped line break: nothing in the value */
					continue;
				}
				size_t raw, out;
				escape_size(t, r, end, &raw, &out);
				pos = r;
				r += raw;
				i += out;
				break;
			}
			if (n->style == YSTYLE_SINGLE && t[r] == '\'' && r + 1 < end && t[r + 1] == '\'') {
				pos = r;
				r += 2;
				i++;
				break;
			}
			if (t[r] == c) {
				pos = r++;
				i++;
				break;
			}
			if (is_blank(t[r])) {
				r++;
				continue;
			}
			/* Not expected in well-formed input; stay on course rather than run away. */
			pos = r;
			if (!is_blank(c))
				r++;
			i++;
			break;
		}
		if (voff >= i0 && voff < i)
			return pos;
	}
	return r < end ? r : end;
}
