/*
 * test_store_dsn.c - Criterion suite for detector/store_dsn.c: a DSN shown in a message keeps
 * its options but never its password, in key=value and URI form; a DSN libpq cannot parse is
 * shown as its length and libpq's reason without anything libpq quotes; secrets are scrubbed
 * out of a connection error. No server: libpq parses without connecting.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "config/riskd_base.h"
#include "detector/store_dsn.h"

#define SECRET "s3cret-Pw"

static void assert_hidden(const char *text)
{
	cr_assert_null(strstr(text, SECRET), "the password shows in: %s", text);
	cr_assert_null(strstr(text, "s3cr"), "part of the password shows in: %s", text);
}

Test(store_dsn, keyword_form_keeps_options_and_hides_the_password)
{
	char out[STORE_DSN_SHOWN_MAX];
	cr_assert_eq(store_dsn_shown("host=db.example port=5433 dbname=riskd user=riskd password="
	                             SECRET " sslmode=verify-full",
	                             out, sizeof(out)),
	             0);
	assert_hidden(out);
	cr_assert_str_eq(out, "user=riskd password=******** dbname=riskd host=db.example port=5433 "
	                      "sslmode=verify-full");
}

Test(store_dsn, uri_form_hides_the_password_and_quotes_spaces)
{
	char out[STORE_DSN_SHOWN_MAX];
	cr_assert_eq(store_dsn_shown("postgresql://riskd:" SECRET "@db.example:5433/risk%20db", out,
	                             sizeof(out)),
	             0);
	assert_hidden(out);
	cr_assert_str_eq(out, "user=riskd password=******** dbname='risk db' host=db.example "
	                      "port=5433");
}

Test(store_dsn, an_unparsable_dsn_is_not_echoed)
{
	static const char *const bad[] = {
		"postgresql://riskd:" SECRET "%zz@db.example/riskd", /* bad percent-encoding */
		"postgresql://riskd:" SECRET "@db.example/riskd?bad=1", /* unknown URI parameter */
		"postgresql://riskd:" SECRET "@[::1/riskd",             /* unclosed IPv6 host */
		"host=db password=" SECRET " nonsense=1",                /* unknown option */
		"host=db password='" SECRET,                            /* unterminated quote */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[STORE_DSN_SHOWN_MAX], head[64];
		cr_assert_eq(store_dsn_shown(bad[i], out, sizeof(out)), RISKD_ERR_INVALID, "%s", bad[i]);
		assert_hidden(out);
		snprintf(head, sizeof(head), "the DSN (%zu bytes) cannot be parsed: ", strlen(bad[i]));
		cr_assert_eq(strncmp(out, head, strlen(head)), 0, "%s", out);
		cr_assert_gt(strlen(out), strlen(head), "libpq's reason is kept: %s", out);
	}
	char out[STORE_DSN_SHOWN_MAX];
	store_dsn_shown(bad[0], out, sizeof(out));
	cr_assert_str_eq(out, "the DSN (48 bytes) cannot be parsed: invalid percent-encoded token: "
	                      "\"...\"");
}

Test(store_dsn, shown_text_is_cut_to_its_buffer)
{
	char out[24];
	store_dsn_shown("host=a-rather-long-host-name.example dbname=riskd", out, sizeof(out));
	cr_assert_eq(strlen(out), sizeof(out) - 1);
	cr_assert_eq(store_dsn_shown("host=a", out, 0), RISKD_ERR_INVALID);
}

Test(store_dsn, scrub_replaces_the_password_in_a_message)
{
	char text[128] = "FATAL: password " SECRET " rejected; again: " SECRET;
	store_dsn_scrub("host=db password=" SECRET, text, sizeof(text));
	cr_assert_str_eq(text, "FATAL: password ******** rejected; again: ********");

	/* nothing to hide: untouched */
	char plain[64] = "connection refused";
	store_dsn_scrub("host=db", plain, sizeof(plain));
	cr_assert_str_eq(plain, "connection refused");
	store_dsn_scrub("host='unclosed", plain, sizeof(plain));
	cr_assert_str_eq(plain, "connection refused");

	/* growing past the buffer cuts the tail, never leaves the secret */
	char tight[16] = "x pw y";
	store_dsn_scrub("password=pw", tight, sizeof(tight));
	cr_assert_str_eq(tight, "x ******** y");
	char tiny[8] = "ab pw cd";
	tiny[7] = '\0';
	store_dsn_scrub("password=pw", tiny, sizeof(tiny));
	cr_assert_null(strstr(tiny, "pw"), "%s", tiny);
}
