/*
 * replay_labels.c - the ground truth of a labelled city: the labels CSV `riskctl gen
 * --labels` writes, read into a table indexed by customer_id (see replay.h).
 */
#include "replay_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../scoring/cstate.h"

/* Indexes labels->items[item] by its customer_id. */
static void labels_index_put(struct replay_labels *labels, size_t item)
{
	replay_index_put(labels->index, labels->index_cap, labels->items[item].customer_id, item);
}

static void labels_index_grow(struct replay_labels *labels)
{
	free(labels->index);
	labels->index_cap = labels->index_cap ? 2 * labels->index_cap : 256;
	labels->index = xcalloc(labels->index_cap, sizeof(*labels->index));
	for (size_t i = 0; i < labels->count; i++)
		labels_index_put(labels, i);
}

const struct replay_label *replay_labels_find(const struct replay_labels *labels,
                                              const char *customer_id)
{
	if (!labels || !labels->index_cap)
		return NULL;
	size_t mask = labels->index_cap - 1;
	size_t s = (size_t)cstate_hash(customer_id, strlen(customer_id)) & mask;
	for (; labels->index[s]; s = (s + 1) & mask) {
		const struct replay_label *l = &labels->items[labels->index[s] - 1];
		if (strcmp(l->customer_id, customer_id) == 0)
			return l;
	}
	return NULL;
}

/* Splits the next comma-separated field of [*p, end) into [*start, *start + *n). */
static void csv_field(const char **p, const char *end, const char **start, size_t *n)
{
	const char *q = *p;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	*start = q;
	while (q < end && *q != ',')
		q++;
	const char *stop = q;
	while (stop > *start && (stop[-1] == ' ' || stop[-1] == '\t'))
		stop--;
	*n = (size_t)(stop - *start);
	*p = q < end ? q + 1 : q;
}

static int field_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

int replay_labels_parse(struct replay_labels *labels, const char *path, const char *text,
                        size_t len, char *errstr, size_t errstr_size)
{
	const char *p = text, *end = text + len;
	int line_no = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		const char *next = eol ? eol + 1 : end;
		line_no++;
		if (stop > p && stop[-1] == '\r')
			stop--;
		const char *f[4];
		size_t n[4];
		const char *q = p;
		int fields = 0;
		while (fields < 4 && q < stop)
			csv_field(&q, stop, &f[fields], &n[fields]), fields++;
		p = next;
		if (fields == 0 || (fields == 1 && n[0] == 0))
			continue; /* blank line */
		if (line_no == 1 && field_is(f[0], n[0], "customer_id"))
			continue; /* header */
		if (q < stop) {
			snprintf(errstr, errstr_size, "%s:%d: more than 4 fields", path, line_no);
			return RISKD_ERR_INVALID;
		}
		if (fields < 2 || n[0] == 0) {
			snprintf(errstr, errstr_size,
			         "%s:%d: expected customer_id,pattern[,confounder[,onset_day]]", path,
			         line_no);
			return RISKD_ERR_INVALID;
		}
		if (n[0] > RISKD_ID_MAX || n[1] > REPLAY_PATTERN_MAX) {
			snprintf(errstr, errstr_size, "%s:%d: customer_id or pattern too long", path,
			         line_no);
			return RISKD_ERR_INVALID;
		}
		struct replay_label l;
		memset(&l, 0, sizeof(l));
		memcpy(l.customer_id, f[0], n[0]);
		memcpy(l.pattern, f[1], n[1]);
		l.onset_day = REPLAY_NO_DAY;
		if (fields >= 3 && n[2] > 0) {
			if (field_is(f[2], n[2], "true"))
				l.confounder = 1;
			else if (!field_is(f[2], n[2], "false")) {
				snprintf(errstr, errstr_size, "%s:%d: confounder must be true or false, got '%.*s'",
				         path, line_no, (int)(n[2] > 20 ? 20 : n[2]), f[2]);
				return RISKD_ERR_INVALID;
			}
		}
		if (fields >= 4 && n[3] > 0 && event_parse_date(f[3], n[3], &l.onset_day) != 0) {
			snprintf(errstr, errstr_size, "%s:%d: onset_day must be YYYY-MM-DD, got '%.*s'", path,
			         line_no, (int)(n[3] > 20 ? 20 : n[3]), f[3]);
			return RISKD_ERR_INVALID;
		}
		l.attack = !l.confounder && n[1] > 0 && !field_is(f[1], n[1], "none") &&
		           !field_is(f[1], n[1], "honest");
		if (replay_labels_find(labels, l.customer_id)) {
			snprintf(errstr, errstr_size, "%s:%d: customer '%s' is labelled twice", path, line_no,
			         l.customer_id);
			return RISKD_ERR_INVALID;
		}
		if (labels->count == labels->cap) {
			labels->cap = labels->cap ? 2 * labels->cap : 256;
			labels->items = xrealloc(labels->items, sizeof(*labels->items) * labels->cap);
		}
		labels->items[labels->count++] = l;
		if (2 * labels->count > labels->index_cap)
			labels_index_grow(labels);
		else
			labels_index_put(labels, labels->count - 1);
	}
	return 0;
}

int replay_labels_load(struct replay_labels *labels, const char *path, char *errstr,
                       size_t errstr_size)
{
	struct rbuf text = {0};
	char chunk[65536];
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
		return RISKD_ERR_IO;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rbuf_append(&text, chunk, n);
	if (ferror(f)) {
		snprintf(errstr, errstr_size, "%s: read error", path);
		rc = RISKD_ERR_IO;
		goto done;
	}
	rc = replay_labels_parse(labels, path, text.data ? text.data : "", text.len, errstr,
	                         errstr_size);
done:
	fclose(f);
	rbuf_free(&text);
	return rc;
}

void replay_labels_free(struct replay_labels *labels)
{
	free(labels->items);
	free(labels->index);
	memset(labels, 0, sizeof(*labels));
}
