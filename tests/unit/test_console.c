/*
 * test_console.c - Criterion suite for the analyst console's sessions, login throttle and
 * form parsing (tools/console_session.c, tools/console_http.c), without a server.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../tools/console_http.h"
#include "../../tools/console_session.h"

Test(console, tokens_are_256_random_bits_in_hex)
{
	char a[CONSOLE_TOKEN_HEX], b[CONSOLE_TOKEN_HEX];
	console_random_token(a);
	console_random_token(b);
	cr_assert_eq(strlen(a), 64);
	cr_assert_eq(strspn(a, "0123456789abcdef"), 64);
	cr_assert_str_neq(a, b);
}

Test(console, token_comparison)
{
	cr_assert(console_token_equal("abc", "abc"));
	cr_assert_not(console_token_equal("abc", "abd"));
	cr_assert_not(console_token_equal("abc", "ab"));
	cr_assert_not(console_token_equal("ab", "abc"));
	cr_assert_not(console_token_equal("", ""));
	cr_assert_not(console_token_equal("abc", NULL));
	cr_assert_not(console_token_equal(NULL, "abc"));
}

/* Finds token at now and gives the reference back at once: whether a session answered. */
static struct console_session *found(const char *token, time_t now)
{
	struct console_session *s = console_session_find(token, now);
	if (s)
		console_session_put(s);
	return s;
}

Test(console, sessions_end_when_idle_or_too_old)
{
	console_sessions_init(60, 300);
	struct console_session *s = console_session_start("alice", 0, NULL, 0, 1000);
	cr_assert_not_null(s);
	char token[CONSOLE_TOKEN_HEX];
	memcpy(token, s->token, sizeof(token));
	cr_assert_str_neq(s->token, s->csrf);
	console_session_put(s);
	cr_assert_eq(found(token, 1050), s, "used within the idle time");
	cr_assert_eq(found(token, 1100), s);
	cr_assert_null(found("0000", 1100), "another token finds nothing");
	cr_assert_null(found(token, 1161), "idle for more than 60 s");

	s = console_session_start("bob", 1, NULL, 0, 2000);
	memcpy(token, s->token, sizeof(token));
	console_session_put(s);
	for (int t = 2050; t <= 2300; t += 50)
		cr_assert_not_null(found(token, t), "kept alive at %d", t);
	cr_assert_null(found(token, 2301), "older than 300 s, however used");

	s = console_session_start("carol", 0, NULL, 0, 3000);
	memcpy(token, s->token, sizeof(token));
	console_session_end(s);
	cr_assert_null(found(token, 3001), "logged out");
	cr_assert_str_eq(s->user, "carol", "the request that ended it still holds it");
	console_session_put(s);
	console_sessions_shutdown();
}

Test(console, a_session_without_connections_lends_none)
{
	console_sessions_init(60, 300);
	struct console_session *s = console_session_start("dora", 0, NULL, 0, 1000);
	cr_assert_null(console_session_lease(s, 0), "nothing to lend");
	console_session_end(s);
	cr_assert_null(console_session_lease(s, 5), "an ended session lends nothing, at once");
	console_session_put(s);
	console_sessions_shutdown();
}

Test(console, failed_logins_throttle_the_account_and_the_address)
{
	int retry = 0;
	for (int i = 0; i < 5; i++) {
		cr_assert(console_login_allowed("dave", "10.0.0.1", 100, &retry));
		console_login_record("dave", "10.0.0.1", 0, 100 + i);
	}
	cr_assert_not(console_login_allowed("dave", "10.0.0.9", 110, &retry),
	              "the account is throttled from any address");
	cr_assert(retry > 0 && retry <= 901, "retry in %d s", retry);
	cr_assert_not(console_login_allowed("erin", "10.0.0.1", 110, &retry),
	              "the address is throttled for any account");
	cr_assert(console_login_allowed("erin", "10.0.0.2", 110, &retry));
	cr_assert(console_login_allowed("dave", "10.0.0.9", 1002, &retry), "after the window");
}

Test(console, a_success_clears_the_account)
{
	int retry;
	for (int i = 0; i < 4; i++)
		console_login_record("fay", "10.1.0.1", 0, 100);
	console_login_record("fay", "10.1.0.2", 1, 101);
	console_login_record("fay", "10.1.0.3", 0, 102);
	cr_assert(console_login_allowed("fay", "10.1.0.4", 103, &retry));
}

Test(console, form_fields_are_decoded)
{
	const char *body = "username=al%20ice&password=a%2Bb+c&csrf=&id=one&id=two%26three&x";
	char out[64];
	const char *at = NULL;
	cr_assert(console_form_get(body, "username", out, sizeof(out), NULL, NULL));
	cr_assert_str_eq(out, "al ice");
	cr_assert(console_form_get(body, "password", out, sizeof(out), NULL, NULL));
	cr_assert_str_eq(out, "a+b c");
	cr_assert(console_form_get(body, "csrf", out, sizeof(out), NULL, NULL));
	cr_assert_str_eq(out, "");
	cr_assert(console_form_get(body, "x", out, sizeof(out), NULL, NULL));
	cr_assert_not(console_form_get(body, "user", out, sizeof(out), NULL, NULL));
	cr_assert(console_form_get(body, "id", out, sizeof(out), at, &at));
	cr_assert_str_eq(out, "one");
	cr_assert(console_form_get(body, "id", out, sizeof(out), at, &at));
	cr_assert_str_eq(out, "two&three");
	cr_assert_not(console_form_get(body, "id", out, sizeof(out), at, &at));
	cr_assert(console_form_get("n=%zz%4", "n", out, sizeof(out), NULL, NULL));
	cr_assert_str_eq(out, "%zz%4", "a broken escape stays as it is");
	cr_assert(console_form_get("n=abcdef", "n", out, 4, NULL, NULL));
	cr_assert_str_eq(out, "abc", "cut to the buffer");
}

Test(console, cookies_are_http_only_and_strict)
{
	char c[256];
	console_http_set_tls(0);
	console_cookie(c, sizeof(c), "riskd_session", "abc", "/");
	cr_assert_str_eq(c, "riskd_session=abc; Path=/; HttpOnly; SameSite=Strict");
	console_http_set_tls(1);
	console_cookie(c, sizeof(c), "riskd_session", NULL, "/");
	cr_assert_str_eq(c, "riskd_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0");
}
