/*
 * riskctl_shown.c - riskctl's one way of echoing a rejected argument (or a server message
 * that may quote one) on a terminal: control bytes and invalid UTF-8 escaped (riskctl.h).
 * Its own file so that the generator, which the unit suites link without riskctl's main,
 * uses it too.
 */
#include <stdio.h>
#include <string.h>

#include "riskctl.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s does not start one. Overlong
 * forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

const char *riskctl_shown(const char *text, char *buf, size_t buf_size)
{
	static const char ellipsis[] = "...";
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t used = 0, fit = 0; /* fit: a piece boundary that leaves room for the ellipsis */

	if (buf_size < sizeof(ellipsis))
		return "";
	while (*s) {
		char piece[16];
		size_t n = utf8_sequence(s), piece_len = 0;
		int c1_control = n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
		if (n == 1 && *s >= 0x20 && *s != 0x7f && *s != '\\') {
			piece[piece_len++] = (char)*s;
		} else if (n == 1 && *s == '\\') {
			piece[piece_len++] = '\\';
			piece[piece_len++] = '\\';
		} else if (n > 1 && !c1_control) {
			memcpy(piece, s, n);
			piece_len = n;
		} else {
			/* a control byte, a C1 control in UTF-8, or a byte of no valid sequence */
			n = c1_control ? 2 : 1;
			for (size_t i = 0; i < n; i++)
				piece_len += (size_t)snprintf(piece + piece_len, sizeof(piece) - piece_len,
				                              "\\x%02x", s[i]);
		}
		if (used + piece_len >= buf_size) {
			memcpy(buf + fit, ellipsis, sizeof(ellipsis));
			return buf;
		}
		memcpy(buf + used, piece, piece_len);
		used += piece_len;
		if (used + sizeof(ellipsis) <= buf_size)
			fit = used;
		s += n;
	}
	buf[used] = '\0';
	return buf;
}
