/*
 * rules_lex.c - the lexer of rule conditions: turns the text of a `when:` into tokens with
 * their byte offsets, driven by a character-class table. Strings keep their quotes here; the
 * parser unescapes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

enum cclass {
	CC_OTHER = 0,
	CC_SPACE,
	CC_DIGIT,
	CC_ALPHA, /* letters and '_' */
	CC_QUOTE,
	CC_PUNCT, /* a one- or two-character operator or bracket */
};

static const unsigned char cclass[256] = {
	[' '] = CC_SPACE,  ['\t'] = CC_SPACE, ['\n'] = CC_SPACE, ['\r'] = CC_SPACE,
	['0'] = CC_DIGIT,  ['1'] = CC_DIGIT,  ['2'] = CC_DIGIT,  ['3'] = CC_DIGIT,
	['4'] = CC_DIGIT,  ['5'] = CC_DIGIT,  ['6'] = CC_DIGIT,  ['7'] = CC_DIGIT,
	['8'] = CC_DIGIT,  ['9'] = CC_DIGIT,  ['_'] = CC_ALPHA,  ['"'] = CC_QUOTE,
	['\''] = CC_QUOTE, ['+'] = CC_PUNCT,  ['-'] = CC_PUNCT,  ['*'] = CC_PUNCT,
	['/'] = CC_PUNCT,  ['<'] = CC_PUNCT,  ['>'] = CC_PUNCT,  ['='] = CC_PUNCT,
	['!'] = CC_PUNCT,  ['('] = CC_PUNCT,  [')'] = CC_PUNCT,  ['['] = CC_PUNCT,
	[']'] = CC_PUNCT,  [','] = CC_PUNCT,
	/* letters: filled by the ranges below */
#define L(c) [c] = CC_ALPHA
	L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'), L('i'), L('j'), L('k'),
	L('l'), L('m'), L('n'), L('o'), L('p'), L('q'), L('r'), L('s'), L('t'), L('u'), L('v'),
	L('w'), L('x'), L('y'), L('z'), L('A'), L('B'), L('C'), L('D'), L('E'), L('F'), L('G'),
	L('H'), L('I'), L('J'), L('K'), L('L'), L('M'), L('N'), L('O'), L('P'), L('Q'), L('R'),
	L('S'), L('T'), L('U'), L('V'), L('W'), L('X'), L('Y'), L('Z'),
#undef L
};

static const struct {
	const char *word;
	enum tok type;
} keywords[] = {
	{"and", TOK_AND},   {"or", TOK_OR},       {"not", TOK_NOT},
	{"in", TOK_IN},     {"true", TOK_TRUE},   {"false", TOK_FALSE},
};

static const char *const tok_names[] = {
	[TOK_EOF] = "the end of the condition",
	[TOK_ERROR] = "an invalid token",
	[TOK_NUM] = "a number",
	[TOK_STR] = "a string",
	[TOK_IDENT] = "a name",
	[TOK_AND] = "'and'",
	[TOK_OR] = "'or'",
	[TOK_NOT] = "'not'",
	[TOK_IN] = "'in'",
	[TOK_TRUE] = "'true'",
	[TOK_FALSE] = "'false'",
	[TOK_PLUS] = "'+'",
	[TOK_MINUS] = "'-'",
	[TOK_STAR] = "'*'",
	[TOK_SLASH] = "'/'",
	[TOK_LT] = "'<'",
	[TOK_LE] = "'<='",
	[TOK_GT] = "'>'",
	[TOK_GE] = "'>='",
	[TOK_EQ] = "'=='",
	[TOK_NE] = "'!='",
	[TOK_LPAREN] = "'('",
	[TOK_RPAREN] = "')'",
	[TOK_LBRACKET] = "'['",
	[TOK_RBRACKET] = "']'",
	[TOK_COMMA] = "','",
};

const char *rules_tok_name(enum tok type)
{
	return tok_names[type];
}

void rules_lex_init(struct lexer *lx, const char *text, size_t len)
{
	lx->text = text;
	lx->len = len;
	lx->pos = 0;
	lx->errbuf[0] = '\0';
}

static enum cclass class_at(const struct lexer *lx, size_t pos)
{
	return pos < lx->len ? (enum cclass)cclass[(unsigned char)lx->text[pos]] : CC_OTHER;
}

static void lex_number(struct lexer *lx, struct token *tok)
{
	size_t p = lx->pos;
	while (class_at(lx, p) == CC_DIGIT)
		p++;
	if (p < lx->len && lx->text[p] == '.' && class_at(lx, p + 1) == CC_DIGIT) {
		p++;
		while (class_at(lx, p) == CC_DIGIT)
			p++;
	}
	if (p < lx->len && (lx->text[p] == 'e' || lx->text[p] == 'E')) {
		size_t q = p + 1;
		if (q < lx->len && (lx->text[q] == '+' || lx->text[q] == '-'))
			q++;
		if (class_at(lx, q) == CC_DIGIT) {
			p = q;
			while (class_at(lx, p) == CC_DIGIT)
				p++;
		}
	}
	tok->len = (uint32_t)(p - lx->pos);
	/* "10days", "1.2.3": a number running into letters or a second point. */
	if (class_at(lx, p) == CC_ALPHA || class_at(lx, p) == CC_DIGIT ||
	    (p < lx->len && lx->text[p] == '.')) {
		while (class_at(lx, p) == CC_ALPHA || class_at(lx, p) == CC_DIGIT ||
		       (p < lx->len && lx->text[p] == '.'))
			p++;
		tok->type = TOK_ERROR;
		tok->len = (uint32_t)(p - lx->pos);
		char shown[48];
		snprintf(lx->errbuf, sizeof lx->errbuf, "bad number '%s'",
		         rules_show(shown, sizeof shown, lx->text + lx->pos, p - lx->pos));
		tok->error = lx->errbuf;
		lx->pos = p;
		return;
	}
	char buf[64];
	size_t n = tok->len < sizeof buf - 1 ? tok->len : sizeof buf - 1;
	memcpy(buf, lx->text + lx->pos, n);
	buf[n] = '\0';
	tok->num = strtod(buf, NULL);
	tok->type = TOK_NUM;
	if (tok->len >= sizeof buf - 1 || tok->num > 1e300 || tok->num < -1e300) {
		tok->type = TOK_ERROR;
		tok->error = "number too long or too large";
	}
	lx->pos = p;
}

static void lex_string(struct lexer *lx, struct token *tok)
{
	char quote = lx->text[lx->pos];
	size_t p = lx->pos + 1;
	while (p < lx->len && lx->text[p] != quote && lx->text[p] != '\n') {
		if (lx->text[p] == '\\' && p + 1 < lx->len && lx->text[p + 1] != '\n')
			p++;
		p++;
	}
	if (p >= lx->len || lx->text[p] != quote) {
		tok->type = TOK_ERROR;
		tok->error = "unterminated string";
		tok->len = (uint32_t)(p - lx->pos);
		lx->pos = p;
		return;
	}
	tok->type = TOK_STR;
	tok->len = (uint32_t)(p + 1 - lx->pos);
	lx->pos = p + 1;
}

static void lex_punct(struct lexer *lx, struct token *tok)
{
	char c = lx->text[lx->pos];
	char next = lx->pos + 1 < lx->len ? lx->text[lx->pos + 1] : '\0';
	tok->len = 1;
	switch (c) {
	case '+': tok->type = TOK_PLUS; break;
	case '-': tok->type = TOK_MINUS; break;
	case '*': tok->type = TOK_STAR; break;
	case '/': tok->type = TOK_SLASH; break;
	case '(': tok->type = TOK_LPAREN; break;
	case ')': tok->type = TOK_RPAREN; break;
	case '[': tok->type = TOK_LBRACKET; break;
	case ']': tok->type = TOK_RBRACKET; break;
	case ',': tok->type = TOK_COMMA; break;
	case '<':
		tok->type = next == '=' ? TOK_LE : TOK_LT;
		break;
	case '>':
		tok->type = next == '=' ? TOK_GE : TOK_GT;
		break;
	case '=':
		tok->type = TOK_EQ;
		if (next != '=') {
			tok->type = TOK_ERROR;
			tok->error = "'=' is not an operator; compare with '=='";
		}
		break;
	default: /* '!' */
		tok->type = TOK_NE;
		if (next != '=') {
			tok->type = TOK_ERROR;
			tok->error = "'!' is not an operator; use 'not' or '!='";
		}
		break;
	}
	if (tok->type == TOK_LE || tok->type == TOK_GE || tok->type == TOK_EQ ||
	    tok->type == TOK_NE)
		tok->len = 2;
	lx->pos += tok->len;
}

static void lex_other(struct lexer *lx, struct token *tok)
{
	unsigned char c = (unsigned char)lx->text[lx->pos];
	char next = lx->pos + 1 < lx->len ? lx->text[lx->pos + 1] : '\0';
	tok->type = TOK_ERROR;
	tok->len = 1;
	if (c == '&' && next == '&') {
		tok->error = "'&&' is not an operator; use 'and'";
		tok->len = 2;
	} else if (c == '|' && next == '|') {
		tok->error = "'||' is not an operator; use 'or'";
		tok->len = 2;
	} else if (c >= 0x21 && c < 0x7f) {
		snprintf(lx->errbuf, sizeof lx->errbuf, "unexpected character '%c'", c);
		tok->error = lx->errbuf;
	} else if (c >= 0x80) {
		size_t n = 1;
		while (lx->pos + n < lx->len && n < 4 &&
		       ((unsigned char)lx->text[lx->pos + n] & 0xc0) == 0x80)
			n++;
		tok->len = (uint32_t)n;
		snprintf(lx->errbuf, sizeof lx->errbuf,
		         "unexpected character '%.*s'; names are ASCII letters, digits and '_'", (int)n,
		         lx->text + lx->pos);
		tok->error = lx->errbuf;
	} else {
		snprintf(lx->errbuf, sizeof lx->errbuf, "unexpected control character 0x%02x", c);
		tok->error = lx->errbuf;
	}
	lx->pos += tok->len;
}

void rules_lex_next(struct lexer *lx, struct token *tok)
{
	while (class_at(lx, lx->pos) == CC_SPACE)
		lx->pos++;
	memset(tok, 0, sizeof *tok);
	tok->off = (uint32_t)lx->pos;
	if (lx->pos >= lx->len) {
		/* Point just past the last non-blank byte: where something is missing. */
		size_t p = lx->len;
		while (p > 0 && cclass[(unsigned char)lx->text[p - 1]] == CC_SPACE)
			p--;
		tok->off = (uint32_t)p;
		tok->type = TOK_EOF;
		return;
	}
	switch (class_at(lx, lx->pos)) {
	case CC_DIGIT:
		lex_number(lx, tok);
		return;
	case CC_ALPHA: {
		size_t p = lx->pos;
		while (class_at(lx, p) == CC_ALPHA || class_at(lx, p) == CC_DIGIT)
			p++;
		tok->type = TOK_IDENT;
		tok->len = (uint32_t)(p - lx->pos);
		for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
			if (strlen(keywords[i].word) == tok->len &&
			    memcmp(keywords[i].word, lx->text + lx->pos, tok->len) == 0)
				tok->type = keywords[i].type;
		lx->pos = p;
		return;
	}
	case CC_QUOTE:
		lex_string(lx, tok);
		return;
	case CC_PUNCT:
		lex_punct(lx, tok);
		return;
	default:
		lex_other(lx, tok);
		return;
	}
}
