/*
 * console_http.c - replies, cookies and forms for the analyst console. See console_http.h.
 */
#include "console_http.h"

#include "../config/riskd_base.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int console_tls;

static const char *const security_headers[][2] = {
	{"Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "
	                            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
	{"Cache-Control", "no-store"},
};

void console_http_set_tls(int tls)
{
	console_tls = tls;
}

enum MHD_Result console_reply(struct MHD_Connection *conn, unsigned int status,
                              const char *content_type, const char *body, size_t len,
                              const char *h1, const char *v1, const char *h2, const char *v2)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	int ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
		ok = ok && MHD_add_response_header(resp, security_headers[i][0], security_headers[i][1]);
	if (console_tls)
		ok = ok && MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	if (h1)
		ok = ok && MHD_add_response_header(resp, h1, v1);
	if (h2)
		ok = ok && MHD_add_response_header(resp, h2, v2);
	enum MHD_Result ret = ok ? MHD_queue_response(conn, status, resp) : MHD_NO;
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result console_redirect(struct MHD_Connection *conn, const char *location,
                                 const char *cookie)
{
	return console_reply(conn, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", "", 0,
	                     MHD_HTTP_HEADER_LOCATION, location,
	                     cookie ? MHD_HTTP_HEADER_SET_COOKIE : NULL, cookie);
}

void console_cookie(char *out, size_t size, const char *name, const char *value,
                    const char *path)
{
	snprintf(out, size, "%s=%s; Path=%s; HttpOnly; SameSite=Strict%s%s", name,
	         value ? value : "", path, console_tls ? "; Secure" : "",
	         value ? "" : "; Max-Age=0");
}

/* Decodes the urlencoded text [s, end) into out (cut to size; '+' is a space). */
static void form_decode(const char *s, const char *end, char *out, size_t size)
{
	size_t n = 0;
	while (s < end && n + 1 < size) {
		if (*s == '+') {
			out[n++] = ' ';
			s++;
		} else if (*s == '%' && end - s >= 3 && riskd_hex_digit(s[1]) >= 0 &&
		           riskd_hex_digit(s[2]) >= 0) {
			out[n++] = (char)(riskd_hex_digit(s[1]) * 16 + riskd_hex_digit(s[2]));
			s += 3;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
}

int console_form_get(const char *body, const char *name, char *out, size_t size,
                     const char *from, const char **next)
{
	size_t name_len = strlen(name);
	const char *p = from ? from : body;
	while (p && *p) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > name_len && strncmp(p, name, name_len) == 0 &&
		    p[name_len] == '=') {
			form_decode(p + name_len + 1, end, out, size);
			if (next)
				*next = *end ? end + 1 : end;
			return 1;
		}
		if ((size_t)(end - p) == name_len && strncmp(p, name, name_len) == 0) {
			out[0] = '\0';
			if (next)
				*next = *end ? end + 1 : end;
			return 1;
		}
		p = *end ? end + 1 : NULL;
	}
	out[0] = '\0';
	return 0;
}

/* The last address of an X-Forwarded-For header (the one the nearest proxy saw) into out;
 * 0 when there is none. */
static int forwarded_for(struct MHD_Connection *conn, char *out, size_t size)
{
	const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (!xff)
		return 0;
	const char *last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	last += strspn(last, " \t");
	size_t len = strcspn(last, " \t");
	if (len == 0 || len >= size || strspn(last, "0123456789abcdefABCDEF.:") < len)
		return 0;
	snprintf(out, size, "%.*s", (int)len, last);
	return 1;
}

void console_client_address(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, size, "?");
	if (!info || !info->client_addr)
		return;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
		          (socklen_t)size);
	/* behind a reverse proxy on this host, the client is the one the proxy names */
	if (strcmp(out, "127.0.0.1") == 0 || strcmp(out, "::1") == 0) {
		char forwarded[64];
		if (forwarded_for(conn, forwarded, sizeof(forwarded)))
			snprintf(out, size, "%s", forwarded);
	}
}
