/*
 * console_http.h - the analyst console's HTTP plumbing over libmicrohttpd: replies with the
 * console's security headers, cookies, redirects, form bodies and the client's address.
 *
 * Every reply carries a strict Content-Security-Policy (nothing but the console's own
 * stylesheet and images; no script, no frames, forms post only to the console), nosniff,
 * no-referrer and no-store, and Strict-Transport-Security when the console serves TLS.
 */
#ifndef RISKD_CONSOLE_HTTP_H
#define RISKD_CONSOLE_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

#define CONSOLE_BODY_MAX 65536

/* One request's collected body (POST forms), owned by libmicrohttpd's connection. */
struct console_request {
	char body[CONSOLE_BODY_MAX + 1];
	size_t len;
	int too_large;
};

/* Whether replies get Secure cookies and Strict-Transport-Security. */
void console_http_set_tls(int tls);

/*
 * Queues a reply: status, content type, body of len bytes (copied), and up to two extra
 * headers (name/value pairs; NULL names are skipped): Set-Cookie, Location. Returns
 * libmicrohttpd's result.
 */
enum MHD_Result console_reply(struct MHD_Connection *conn, unsigned int status,
                              const char *content_type, const char *body, size_t len,
                              const char *h1, const char *v1, const char *h2, const char *v2);

/* A 303 redirect to location, with an optional Set-Cookie value. */
enum MHD_Result console_redirect(struct MHD_Connection *conn, const char *location,
                                 const char *cookie);

/* Writes into out a Set-Cookie value for name=value (HttpOnly, SameSite=Strict, Path=path,
 * Secure under TLS); value NULL expires the cookie. */
void console_cookie(char *out, size_t size, const char *name, const char *value,
                    const char *path);

/*
 * Copies the first value of field name of an application/x-www-form-urlencoded body into
 * out (decoded, cut to size). Returns 1 when present, 0 when absent. from: where to start
 * looking (NULL: the start); *next (may be NULL) gets where the match ended, for fields that
 * repeat.
 */
int console_form_get(const char *body, const char *name, char *out, size_t size,
                     const char *from, const char **next);

/* The client's IP address as text into out ("?" when unknown). A request from this host's
 * loopback with an X-Forwarded-For header (a reverse proxy on this host) counts as coming from
 * the header's last address. */
void console_client_address(struct MHD_Connection *conn, char *out, size_t size);

#endif
