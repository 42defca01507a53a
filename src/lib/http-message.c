/*
 * http-message.c: the HTTP messages themselves, with no curl: requests
 * checked before they reach libcurl, response header lines parsed into a
 * response (within caps: line length, count, 1xx headers dropped,
 * obsolete folding joined), header lookups, query escaping, and the
 * wording of URLs and libcurl's messages in errors, and the process's
 * deadline. http.c drives the transfers and feeds it.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/http-int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/banned.h"

#define HTTP_HDR_LINE_MAX 8192
#define HTTP_HDR_COUNT_MAX 100

/* ---- requests ---- */

int hoist_http_request_check(const struct hoist_http_request *req,
			     struct hoist_err *err)
{
	char qurl[HOIST_QUOTE_BUF];
	size_t i;

	if (!req->method || !*req->method || !req->url)
		return hoist_err_set(err, HOIST_EINVAL,
				     "http request without method or url");
	hoist_http_url_for_msg(qurl, sizeof(qurl), req->url);
	if ((req->body_kind == HOIST_HTTP_BODY_BUF && !req->body &&
	     req->body_len) ||
	    (req->body_kind >= HOIST_HTTP_BODY_FD && req->body_fd < 0) ||
	    (req->body_kind == HOIST_HTTP_BODY_STREAM &&
	     strcmp(req->method, "POST") != 0) ||
	    (req->body_kind == HOIST_HTTP_BODY_GROWING &&
	     ((strcmp(req->method, "PUT") && strcmp(req->method, "PATCH")) ||
	      !req->growing || req->body_offset > INT64_MAX ||
	      req->growing->end < req->body_offset)) ||
	    (req->body_kind == HOIST_HTTP_BODY_FD &&
	     (req->body_offset > INT64_MAX ||
	      req->body_len > INT64_MAX - req->body_offset)) ||
	    req->body_kind > HOIST_HTTP_BODY_GROWING)
		return hoist_err_set(err, HOIST_EINVAL, "%s '%s': bad body",
				     req->method, qurl);
	for (i = 0; i < req->nheaders; i++)
		if (!req->headers[i] || strpbrk(req->headers[i], "\r\n"))
			return hoist_err_set(err, HOIST_EINVAL,
					     "%s '%s': bad request header",
					     req->method, qurl);
	return 0;
}

int hoist_http_request_has_header(const struct hoist_http_request *req,
				  const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < req->nheaders; i++)
		if (!strncasecmp(req->headers[i], name, n) &&
		    req->headers[i][n] == ':')
			return 1;
	return 0;
}

char *hoist_http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0, len = strlen(s);
	char *out = hoist_xreallocarray(NULL, len + 1, 3);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* RFC 3986 unreserved, spelled out: isalnum() follows the
		 * locale */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return out;
}

/* ---- responses ---- */

const char *hoist_http_header_get(const struct hoist_http_response *r,
				  const char *name)
{
	size_t i;

	for (i = 0; r && i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

char *hoist_http_header_join(const struct hoist_http_response *r,
			     const char *name)
{
	struct hoist_buf b;
	size_t i;
	int found = 0;

	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	for (i = 0; r && i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name))
			continue;
		if (found)
			hoist_buf_adds(&b, ", ", NULL);
		hoist_buf_adds(&b, r->headers[i].value, NULL);
		found = 1;
	}
	if (!found) {
		hoist_buf_release(&b);
		return NULL;
	}
	return hoist_buf_detach(&b, NULL);
}

void hoist_http_response_clear_headers(struct hoist_http_response *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
}

void hoist_http_response_release(struct hoist_http_response *r)
{
	if (!r)
		return;
	hoist_http_response_clear_headers(r);
	free(r->headers);
	hoist_buf_release(&r->body);
	free(r->url);
	memset(r, 0, sizeof(*r));
	hoist_buf_init(&r->body, 0);
}

static char *trimmed_dup(const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return hoist_xstrndup(p, len);
}

int hoist_http_response_add_line(struct hoist_http_response *r, size_t *alloc,
				 const char *p, size_t len,
				 struct hoist_err *err)
{
	const char *colon;

	if (len > HTTP_HDR_LINE_MAX) {
		return hoist_err_set(
			err, HOIST_ELIMIT,
			"response header line longer than %d bytes",
			HTTP_HDR_LINE_MAX);
	}
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	/* A status line starts a response: drop the headers of a 1xx. */
	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		hoist_http_response_clear_headers(r);
		return 0;
	}
	if (!len)
		return 0;
	if ((p[0] == ' ' || p[0] == '\t') && r->nheaders) {
		/* obsolete line folding: continue the previous value */
		struct hoist_http_header *hd = &r->headers[r->nheaders - 1];
		char *more = trimmed_dup(p, len);
		char *v = hoist_xasprintf("%s %s", hd->value, more);

		free(more);
		if (strlen(v) > HTTP_HDR_LINE_MAX) {
			free(v);
			return hoist_err_set(
				err, HOIST_ELIMIT,
				"response header '%s' longer than %d bytes",
				hd->name, HTTP_HDR_LINE_MAX);
		}
		free(hd->value);
		hd->value = v;
		return 0;
	}
	colon = memchr(p, ':', len);
	if (!colon || colon == p)
		return 0; /* not a header; nothing to keep */
	if (r->nheaders >= HTTP_HDR_COUNT_MAX) {
		return hoist_err_set(err, HOIST_ELIMIT,
				     "more than %d response headers",
				     HTTP_HDR_COUNT_MAX);
	}
	if (r->nheaders == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 16;
		r->headers = hoist_xreallocarray(r->headers, *alloc,
						 sizeof(*r->headers));
	}
	r->headers[r->nheaders].name = hoist_xstrndup(p, (size_t)(colon - p));
	r->headers[r->nheaders].value =
		trimmed_dup(colon + 1, len - (size_t)(colon - p) - 1);
	r->nheaders++;
	return 0;
}

/* ---- messages ---- */

/* The URL for messages: no query (upload states are long and opaque). */
void hoist_http_url_for_msg(char *dst, size_t n, const char *url)
{
	size_t len = strcspn(url, "?#");

	hoist_err_quote(dst, n, url, len, 0);
}

/*
 * libcurl's messages start sentences with capitals ("Recv failure:
 * Connection reset by peer"); hoist's are lower case. Lower a capital that
 * starts a word and is followed by a lower-case letter, so acronyms (SSL,
 * TLS) survive, and drop a final period.
 */
void hoist_http_tidy_msg(char *dst, size_t n, const char *src)
{
	size_t i, len;

	if (!n)
		return;
	len = strlen(src);
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	while (len &&
	       (isspace((unsigned char)dst[len - 1]) || dst[len - 1] == '.'))
		dst[--len] = '\0';
	for (i = 0; i < len; i++) {
		size_t w = i;
		if (!(i == 0 || dst[i - 1] == ' ') ||
		    !isupper((unsigned char)dst[i]) ||
		    !islower((unsigned char)dst[i + 1]))
			continue;
		/* words with capitals inside are names: "OpenSSL", "TLSv1" */
		while (w + 1 < len && isalnum((unsigned char)dst[w + 1]))
			if (isupper((unsigned char)dst[++w]))
				break;
		if (w + 1 < len && isupper((unsigned char)dst[w]) && w > i)
			continue;
		dst[i] = (char)tolower((unsigned char)dst[i]);
	}
}

/* ---- the deadline ---- */

/* The process-wide deadline: monotonic ms, 0 for none. */
static uint64_t deadline_at;
static long deadline_len;

void hoist_http_set_deadline(long ms)
{
	deadline_len = ms > 0 ? ms : 0;
	deadline_at = ms > 0 ? (uint64_t)hoist_clock_ms() + (uint64_t)ms : 0;
}

long hoist_http_deadline_left(void)
{
	uint64_t now;

	if (!deadline_at)
		return -1;
	now = (uint64_t)hoist_clock_ms();
	return now >= deadline_at ? 0 : (long)(deadline_at - now);
}

int hoist_http_deadline_error(struct hoist_err *err, const char *doing)
{
	return hoist_err_set(err, HOIST_ETIMEDOUT,
			     "overall deadline of %.1fs passed%s%s",
			     (double)deadline_len / 1000, doing ? " " : "",
			     doing ? doing : "");
}

/* A poll wait shortened so that the deadline is noticed in time. */
int hoist_http_poll_wait(int timeout)
{
	long left = hoist_http_deadline_left();

	return left >= 0 && left < timeout ? (int)left : timeout;
}

int hoist_http_deadline_in_flight(struct hoist_err *err,
				  const char *const *names, size_t n)
{
	struct hoist_buf b;
	int rc;

	if (!n)
		return hoist_http_deadline_error(err, "while waiting to retry");
	hoist_buf_init(&b, 512);
	for (size_t i = 0; i < n && i < 3; i++)
		hoist_buf_printf(&b, NULL, "%s%s", i ? ", " : "", names[i]);
	if (n > 3)
		hoist_buf_printf(&b, NULL, " and %zu more", n - 3);
	char *doing = hoist_xasprintf("with %zu request%s in flight: %s", n,
				      n == 1 ? "" : "s", b.data);
	rc = hoist_http_deadline_error(err, doing);
	free(doing);
	hoist_buf_release(&b);
	return rc;
}

/* ---- timers ---- */

void hoist_http_timer_add(struct hoist_http_timer **list, long delay_ms,
			  void (*fn)(void *ctx), void *ctx)
{
	struct hoist_http_timer *t = hoist_xcalloc(1, sizeof(*t)), **pp;

	t->due_ms = (uint64_t)hoist_clock_ms() +
		    (uint64_t)(delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	t->ctx = ctx;
	/* after every timer due at the same time: ties fire in order */
	for (pp = list; *pp && (*pp)->due_ms <= t->due_ms; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

int hoist_http_stalled(struct hoist_http_stall *s, uint64_t now_ms,
		       uint64_t moved, int paused, long low_bytes, long low_s)
{
	if (paused || !s->since_ms ||
	    moved - s->moved >= (uint64_t)low_bytes * (uint64_t)low_s) {
		/* a new window: after a pause, or enough bytes moved */
		s->since_ms = now_ms;
		s->moved = moved;
		return 0;
	}
	return now_ms - s->since_ms >= (uint64_t)low_s * 1000;
}
