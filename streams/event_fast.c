/*
 * event_fast.c - the single-pass fast path behind event_decode.
 *
 * Nearly every message is a plainly written event: one object, keys and string values with
 * no escapes, numbers in short decimal form. This file decodes exactly those, straight from
 * the message bytes into struct event, with no allocation and no JSON tree, and says "not
 * sure" about anything else: escapes, exponents, long numbers, null/true/false, nesting,
 * duplicate or unknown keys, and every input the contract rejects. event_decode then runs the
 * jansson decoder (event_decode.c), which is the authority and words every reject.
 *
 * The promise: whenever this path accepts, the jansson decoder accepts the same bytes and
 * fills a byte-identical struct event. Both read the field tables of event_contract.c, so the
 * fields, their kinds, ranges and destinations cannot drift apart; what this file adds is a
 * strict reader for a subset of JSON, and a number conversion that is exact only where it is
 * taken (see number_to_double). tests/unit/test_event_fast.c and tests/fuzz/fuzz_event_fast.c
 * check the promise differentially.
 */
#include "event_int.h"

#include <float.h>
#include <string.h>

/* More members than any type has fields (meter_reading: 11) can only mean a duplicate or an
 * unknown key, which the jansson decoder reports. */
#define FAST_MEMBERS_MAX 16

/* Most significant digits (integer and fraction together) a uint64_t holds for sure. */
#define FAST_DIGITS_MAX 19

/* Every integer from 0 to this one is an exact double; 2^53 + 1 is not. */
#define FAST_EXACT_INT_MAX (UINT64_C(1) << 53)

/* A member as written: spans inside the payload; a string's span excludes its quotes. */
struct fast_member {
	const char *key, *value;
	uint32_t key_len, value_len;
	bool is_string;
	bool plain; /* a string of printable ASCII only */
};

/* A decimal number as written: digits without the point, how many follow the point. */
struct fast_number {
	uint64_t digits;
	unsigned frac_digits;
	bool negative, has_point;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* JSON whitespace, as jansson skips it. */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

#define WORD_ONES  UINT64_C(0x0101010101010101)
#define WORD_HIGHS UINT64_C(0x8080808080808080)

/*
 * The bytes of the little-endian word x (eight payload bytes, the first lowest) that a string
 * scan must look at: '"', '\\', below 0x20, 0x7F and above. Returns a mask with the top bit
 * of such bytes set; bytes above (after) the first such byte may be marked without being one
 * (borrows and carries), so only the lowest mark is exact - the one scan_string uses.
 */
static uint64_t word_marks(uint64_t x)
{
	uint64_t quote = x ^ (WORD_ONES * '"'), backslash = x ^ (WORD_ONES * '\\');
	return (((quote - WORD_ONES) & ~quote) | ((backslash - WORD_ONES) & ~backslash) |
	        ((x - WORD_ONES * 0x20) & ~x) | (x + WORD_ONES) | x) &
	       WORD_HIGHS;
}

/*
 * Reads a string whose opening quote is just before p: no escapes, no raw control bytes (JSON
 * forbids them), valid UTF-8. Sets the span, and *plain when every byte is printable ASCII
 * (0x20..0x7E, so no control character either); returns the position past the closing quote,
 * or NULL. The bytes of the span are then the string's value, as jansson would decode it.
 * Runs of plain bytes are skipped eight at a time.
 */
static const char *scan_string(const char *p, const char *end, const char **s, uint32_t *len,
                               bool *plain)
{
	const char *start = p;
	bool high = false; /* a byte >= 0x80: UTF-8 to validate */
	*plain = true;
	while (p < end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (end - p >= 8) {
			uint64_t word, marks;
			memcpy(&word, p, 8);
			marks = word_marks(word);
			if (!marks) {
				p += 8;
				continue;
			}
			p += __builtin_ctzll(marks) / 8; /* the first byte to look at */
		}
#endif
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*s = start;
			*len = (uint32_t)(p - start);
			if (high && event_utf8_find_invalid((const unsigned char *)start, *len) != *len)
				return NULL;
			return p + 1;
		}
		if (c == '\\' || c < 0x20)
			return NULL;
		if (c >= 0x7F) {
			*plain = false;
			high |= c >= 0x80;
		}
		p++;
	}
	return NULL;
}

/* Appends a decimal digit to *digits; false past FAST_DIGITS_MAX significant digits (leading
 * zeros, as in 0.000066, do not count). */
static bool add_digit(uint64_t *digits, unsigned *ndigits, char c)
{
	if (*digits == 0 && c == '0')
		return true;
	if (++*ndigits > FAST_DIGITS_MAX)
		return false;
	*digits = *digits * 10 + (uint64_t)(c - '0');
	return true;
}

/*
 * Parses s as '-'? digits ('.' digits)? with JSON's rule against leading zeros and at most
 * FAST_DIGITS_MAX significant digits; an exponent or anything else is refused (false).
 */
static bool parse_number(const char *s, uint32_t len, struct fast_number *num)
{
	const char *p = s, *end = s + len;
	unsigned ndigits = 0;
	uint64_t digits = 0;

	num->negative = p < end && *p == '-';
	if (num->negative)
		p++;
	if (p == end || !is_digit(*p))
		return false;
	if (*p == '0' && p + 1 < end && is_digit(p[1]))
		return false;
	for (; p < end && is_digit(*p); p++) {
		if (!add_digit(&digits, &ndigits, *p))
			return false;
	}
	num->has_point = p < end && *p == '.';
	num->frac_digits = 0;
	if (num->has_point) {
		const char *first = ++p;
		for (; p < end && is_digit(*p); p++) {
			if (!add_digit(&digits, &ndigits, *p))
				return false;
		}
		if (p == first)
			return false;
		num->frac_digits = (unsigned)(p - first);
	}
	num->digits = digits;
	return p == end;
}

/*
 * The double jansson gives the same number, when this can be had exactly: jansson reads an
 * integer with strtoll and converts it, a real with strtod, which rounds correctly. With at
 * most 2^53 as digits (an exact double) and at most 22 fraction digits (10^22 is the largest
 * exact power of ten), one IEEE division rounds the quotient correctly too, so it is the
 * double strtod returns (Clinger's fast path). That needs double arithmetic without excess
 * precision; elsewhere only integers are taken. Returns false when not exact.
 */
static bool number_to_double(const struct fast_number *num, double *v)
{
	static const double pow10_exact[] = {
		1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	double d;

	if (num->digits > FAST_EXACT_INT_MAX)
		return false;
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
	if (num->has_point)
		return false;
#endif
	if (num->frac_digits >= sizeof pow10_exact / sizeof pow10_exact[0])
		return false;
	d = (double)num->digits / pow10_exact[num->frac_digits];
	*v = num->negative ? -d : d;
	return true;
}

/* Index of the name s (len bytes, no NUL inside) among names[first .. count-1], or -1. */
static int name_lookup(const char *const *names, int first, int count, const char *s,
                       uint32_t len)
{
	for (int i = first; i < count; i++) {
		/* The compare stops at a shorter name's NUL (s holds none), so names[i][len] is in
		 * bounds after a match. */
		if (len > 0 && names[i][0] == s[0] && strncmp(names[i], s, len) == 0 &&
		    names[i][len] == '\0')
			return i;
	}
	return -1;
}

/* Checks a text member as decode_text does and copies it into dst (already zeroed). */
static bool copy_text(const struct fast_member *m, size_t max_len, bool non_empty, char *dst)
{
	unsigned cp;
	if (m->value_len > max_len || (non_empty && m->value_len == 0))
		return false;
	if (!m->plain && event_text_find_control(m->value, m->value_len, &cp) != m->value_len)
		return false;
	memcpy(dst, m->value, m->value_len);
	return true;
}

/* Decodes one member's value as field fs into ev, as decode_field does for a value it
 * accepts; false for anything it would reject or that this path does not read. */
static bool decode_value(const struct field_spec *fs, const struct fast_member *m,
                         struct event *ev)
{
	char *dst = (char *)ev + fs->offset;
	struct fast_number num;
	int64_t epoch;
	int32_t offset;
	int idx;
	double v;

	switch (fs->kind) {
	case FK_TYPE: /* matched against the type names before the walk */
		return true;
	case FK_NUMBER:
		if (m->is_string || !parse_number(m->value, m->value_len, &num) ||
		    !number_to_double(&num, &v) || !event_range_holds(fs->range, v))
			return false;
		*(double *)(void *)dst = v == 0 ? 0.0 : v; /* no -0 downstream */
		return true;
	case FK_INTERVAL:
		if (m->is_string || !parse_number(m->value, m->value_len, &num) || num.negative ||
		    num.has_point || num.digits < EVENT_INTERVAL_MIN ||
		    num.digits > EVENT_INTERVAL_MAX)
			return false;
		*(int32_t *)(void *)dst = (int32_t)num.digits;
		return true;
	default:
		break;
	}

	if (!m->is_string)
		return false;
	switch (fs->kind) {
	case FK_EVENT_ID:
		return copy_text(m, RISKD_EVENT_ID_MAX, true, dst);
	case FK_ID:
		return copy_text(m, RISKD_ID_MAX, true, dst);
	case FK_TEXT:
		return copy_text(m, RISKD_SHORT_TEXT_MAX, false, dst);
	case FK_TS:
		return event_parse_rfc3339(m->value, m->value_len, &ev->ts, &ev->ts_utc_offset_s) == 0;
	case FK_DATE:
		return m->value_len == 10 &&
		       event_parse_date(m->value, 10, (int32_t *)(void *)dst) == 0;
	case FK_DATE_OR_TS:
		/* A timestamp's date as written is its first ten bytes. */
		if (m->value_len != 10 &&
		    event_parse_rfc3339(m->value, m->value_len, &epoch, &offset) != 0)
			return false;
		return event_parse_date(m->value, 10, (int32_t *)(void *)dst) == 0;
	case FK_METER_CODE:
		idx = name_lookup(event_meter_code_names, 0, METER_CODE__COUNT, m->value,
		                  m->value_len);
		if (idx < 0)
			return false;
		*(enum meter_event_code *)(void *)dst = (enum meter_event_code)idx;
		return true;
	case FK_SEGMENT:
		idx = name_lookup(event_segment_names, SEGMENT_UNKNOWN + 1, SEGMENT__COUNT, m->value,
		                  m->value_len);
		if (idx < 0)
			return false;
		*(enum segment *)(void *)dst = (enum segment)idx;
		return true;
	default:
		return false;
	}
}

/* Whether a and b (n bytes each) are equal; inline, as keys are a few bytes long. */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return false;
	}
	return true;
}

static bool key_is(const struct field_spec *fs, const struct fast_member *m)
{
	return fs->name_len == m->key_len && same_bytes(fs->name, m->key, m->key_len);
}

/* Decodes the members of one object against the field table of its "type". */
static bool decode_members(const struct fast_member *members, size_t count, struct event *ev)
{
	const struct field_spec *fields;
	size_t nfields;
	uint32_t seen = 0;
	int type = -1;

	for (size_t i = 0; i < count; i++) {
		const struct fast_member *m = &members[i];
		if (m->key_len == 4 && same_bytes(m->key, "type", 4)) {
			if (!m->is_string)
				return false;
			type = name_lookup(event_type_names, 0, EVENT_TYPE__COUNT, m->value, m->value_len);
			break;
		}
	}
	if (type < 0)
		return false;

	memset(ev, 0, sizeof *ev);
	ev->type = (enum event_type)type;
	fields = event_type_fields[type].fields;
	nfields = event_type_fields[type].count;
	for (size_t i = 0, next = 0; i < count; i++) {
		const struct fast_member *m = &members[i];
		size_t f = next;
		/* Producers write fields in one order, mostly the table's: try the field after the
		 * previous member's first, then all. */
		if (f >= nfields || !key_is(&fields[f], m)) {
			for (f = 0; f < nfields && !key_is(&fields[f], m); f++)
				;
		}
		next = f + 1;
		/* An unknown key, or a key seen before (jansson refuses duplicates). */
		if (f == nfields || (seen & (UINT32_C(1) << f)))
			return false;
		seen |= UINT32_C(1) << f;
		if (!decode_value(&fields[f], m, ev))
			return false;
		ev->has |= fields[f].has_bit;
	}
	for (size_t f = 0; f < nfields; f++) {
		if (fields[f].required && !(seen & (UINT32_C(1) << f)))
			return false;
	}
	return true;
}

/*
 * Decodes buf (len bytes, need not be NUL-terminated) into *ev when it is a plainly written
 * event the contract accepts: one object, whitespace only around it, string keys and values
 * without escapes, decimal numbers without exponent. Returns true with *ev filled exactly as
 * event_decode_json fills it, or false ("not sure") with *ev unspecified. Reads nothing past
 * buf + len; allocates nothing. Pure and thread-safe.
 */
bool event_decode_fast(const void *buf, size_t len, struct event *ev)
{
	struct fast_member members[FAST_MEMBERS_MAX];
	size_t count = 0;
	const char *p = buf, *end;

	if (!buf || len > EVENT_MAX_BYTES)
		return false;
	end = p + len;
	p = skip_ws(p, end);
	if (p == end || *p != '{')
		return false;
	p = skip_ws(p + 1, end);
	for (;;) {
		struct fast_member *m;
		if (count == FAST_MEMBERS_MAX || p == end || *p != '"')
			return false;
		m = &members[count++];
		p = scan_string(p + 1, end, &m->key, &m->key_len, &m->plain);
		if (!p)
			return false;
		p = skip_ws(p, end);
		if (p == end || *p != ':')
			return false;
		p = skip_ws(p + 1, end);
		if (p == end)
			return false;
		m->is_string = *p == '"';
		if (m->is_string) {
			p = scan_string(p + 1, end, &m->value, &m->value_len, &m->plain);
			if (!p)
				return false;
		} else {
			/* The number's extent; parse_number judges its form later, and whatever
			 * follows it (an exponent, a letter) fails the separator check below. */
			m->value = p;
			while (p < end && (is_digit(*p) || *p == '-' || *p == '.'))
				p++;
			m->value_len = (uint32_t)(p - m->value);
			if (m->value_len == 0)
				return false;
		}
		p = skip_ws(p, end);
		if (p == end)
			return false;
		if (*p == '}')
			break;
		if (*p != ',')
			return false;
		p = skip_ws(p + 1, end);
	}
	if (skip_ws(p + 1, end) != end)
		return false;
	return decode_members(members, count, ev);
}
