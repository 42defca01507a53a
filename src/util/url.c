/*
 * url.c: origins of absolute http(s) URLs (see url.h). Strict: what does
 * not parse has no origin, and so never matches one.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/scan.h"
#include "util/url.h"
#include "util/banned.h"

static int bad(struct hoist_err *err, const char *url, const char *why)
{
	char q[HOIST_QUOTE_BUF];

	hoist_err_quote(q, sizeof(q), url, HOIST_QUOTE_ALL, 0);
	return hoist_err_set(err, HOIST_EINVAL, "url '%s': %s", q, why);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int hoist_url_origin(struct hoist_url_origin *o, const char *url,
		     struct hoist_err *err)
{
	const char *p, *end, *at, *host, *host_end, *colon = NULL;
	char port[8];
	uint64_t v;
	size_t n;

	memset(o, 0, sizeof(*o));
	if (!url)
		return bad(err, "", "empty");
	if (strncasecmp(url, "https://", 8) == 0) {
		snprintf(o->scheme, sizeof(o->scheme), "https");
		o->port = 443;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		snprintf(o->scheme, sizeof(o->scheme), "http");
		o->port = 80;
		p = url + 7;
	} else {
		return bad(err, url, "not an http or https url");
	}
	end = p + strcspn(p, "/?#");
	/* user info: up to the last '@' of the authority */
	host = p;
	for (at = p; at < end; at++)
		if (*at == '@')
			host = at + 1;
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return bad(err, url, "unterminated IPv6 address");
		host_end++;
		if (host_end < end) {
			if (*host_end != ':')
				return bad(err, url, "bad authority");
			colon = host_end;
		}
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		host_end = colon ? colon : end;
	}
	n = (size_t)(host_end - host);
	if (n == 0 || n >= sizeof(o->host))
		return bad(err, url, "bad host");
	memcpy(o->host, host, n);
	o->host[n] = '\0';
	lower(o->host);
	if (colon && colon + 1 < end) {
		n = (size_t)(end - colon - 1);
		if (n >= sizeof(port))
			return bad(err, url, "bad port");
		memcpy(port, colon + 1, n);
		port[n] = '\0';
		if (hoist_scan_u64(&v, port, 65535, "port", NULL) || v == 0)
			return bad(err, url, "bad port");
		o->port = (int)v;
	}
	return 0;
}

int hoist_url_same_origin(const char *a, const char *b)
{
	struct hoist_url_origin x, y;

	if (hoist_url_origin(&x, a, NULL) || hoist_url_origin(&y, b, NULL))
		return 0;
	return strcmp(x.scheme, y.scheme) == 0 && strcmp(x.host, y.host) == 0 &&
	       x.port == y.port;
}
