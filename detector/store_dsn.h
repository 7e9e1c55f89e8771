/*
 * store_dsn.h - PostgreSQL connection strings (DSNs) shown without their secrets, for log
 * lines and error messages of riskd and riskctl. libpq parses the DSN (PQconninfoParse); a
 * DSN it cannot parse is never echoed, since libpq's own message quotes the offending token,
 * which can be the password.
 */
#ifndef RISKD_STORE_DSN_H
#define RISKD_STORE_DSN_H

#include <stddef.h>

/* A buffer size for store_dsn_shown that holds a usual DSN whole. */
#define STORE_DSN_SHOWN_MAX 512

/* What stands for a hidden value. */
#define STORE_DSN_HIDDEN "********"

/*
 * Writes the options dsn sets into out as "key=value" pairs separated by spaces (a value with
 * spaces, quotes or backslashes in single quotes), every secret option (password,
 * sslpassword: those libpq marks for hiding) as STORE_DSN_HIDDEN. Returns 0; or, when libpq
 * cannot parse dsn, RISKD_ERR_INVALID with out set to "the DSN (N bytes) cannot be parsed:
 * <libpq's reason, every quoted part replaced by \"...\">". out is always NUL-terminated
 * (cut to out_size).
 */
int store_dsn_shown(const char *dsn, char *out, size_t out_size);

/*
 * Replaces every occurrence of the secret values dsn holds (password, sslpassword) in text
 * (NUL-terminated, text_size bytes of room) with STORE_DSN_HIDDEN, in place, cutting the end
 * when the text grows past its room. Does nothing when dsn cannot be parsed or holds no
 * secret.
 */
void store_dsn_scrub(const char *dsn, char *text, size_t text_size);

#endif
