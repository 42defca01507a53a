/*
 * http.c: the HTTP client behind http.h, the only file that includes curl.
 *
 * One libcurl multi handle runs every transfer submitted with
 * hoist_http_submit(); a second, private multi handle serves the
 * synchronous hoist_http_do(), so a completion callback can fetch a token
 * without re-entering the main loop. Both multis put their easy handles on
 * one CURLSH that shares connections, DNS and TLS sessions, so a token
 * fetch reuses the registry's idle connection and TLS session. libcurl only
 * multiplexes new HTTP/2 streams onto a connection held by the same multi,
 * which is what we want: the private multi never steals streams.
 *
 * Completion callbacks and timers run from hoist_http_run() outside of any
 * libcurl call, so they may submit, add timers and call hoist_http_do().
 * libcurl callbacks (header, write, read, seek, progress) only record state;
 * errors found there (caps, sink failures, short reads) are kept in the
 * transfer and reported when libcurl gives the transfer back.
 *
 * Request bodies are read with pread() from [offset, offset + length) of a
 * descriptor, so rewinding for a resend (a dead reused connection, an HTTP/2
 * stream refused) is a matter of resetting a position. A growing body is
 * read the same way up to the end its owner has announced; at that end the
 * read callback pauses the transfer (CURL_READFUNC_PAUSE) and
 * hoist_http_body_more, called on the loop's thread between libcurl calls,
 * unpauses it. libcurl 7.88 applies its stall limit to paused time too,
 * so such a transfer has libcurl's off and hoist_http_stalled instead.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/http.h"
#include "lib/http-int.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* libcurl's receive buffer for streamed (sink) downloads; its maximum. */
#define HTTP_RECV_BUF (512 * 1024)
/* libcurl's upload buffer: its maximum, so big bodies go in few writes. */
#define HTTP_SEND_BUF (2 * 1024 * 1024)
/* Longest wait in curl_multi_poll, so a lost wakeup costs at most this. */
#define HTTP_POLL_MAX_MS 1000

struct http_xfer {
	struct hoist_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *method;
	char *url;
	enum hoist_http_body_kind body_kind;
	const unsigned char *body;
	int fd;
	uint64_t body_off;
	uint64_t body_len;
	uint64_t pos;
	struct hoist_http_growing *grow; /* GROWING: the owner's handle */
	int paused;                      /* GROWING: waiting for bytes */
	struct hoist_http_stall stall;   /* GROWING: its stall limit */
	struct hoist_sink sink;
	int has_sink;
	void (*progress)(void *ctx, uint64_t sent, uint64_t received);
	void *progress_ctx;
	uint64_t last_sent;
	uint64_t last_recv;
	hoist_http_done_fn done;
	void *ctx;
	int in_do; /* on the private multi of hoist_http_do() */
	struct hoist_http_response resp;
	size_t hdr_alloc;
	int failed; /* err says why (a cap, the sink, a read) */
	struct hoist_err err;
	char errbuf[CURL_ERROR_SIZE];
	struct http_xfer *prev;
	struct http_xfer *next;
};

struct hoist_http {
	CURLM *multi;
	CURLM *do_multi;
	CURLSH *share;
	struct http_xfer *xfers;         /* on multi, not yet completed */
	struct hoist_http_timer *timers; /* sorted by due time, FIFO for ties */
	volatile sig_atomic_t stop;
	char *user_agent;
	long connect_timeout_ms;
	long low_speed_bytes;
	long low_speed_s;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static __attribute__((format(printf, 3, 4))) void
fail_xfer(struct http_xfer *x, int code, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	hoist_err_setv(&x->err, code, fmt, ap);
	va_end(ap);
}

/* ---- libcurl callbacks ---- */

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
	struct http_xfer *x = ud;
	size_t total = size * nitems;
	struct hoist_err e;

	if (!hoist_http_response_add_line(&x->resp, &x->hdr_alloc, p, total,
					  &e))
		return total;
	if (!x->failed) {
		x->failed = 1;
		x->err = e;
	}
	return 0;
}

static size_t on_write(char *p, size_t size, size_t nitems, void *ud)
{
	struct http_xfer *x = ud;
	size_t len = size * nitems;
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	x->resp.received += len;
	if (x->has_sink && code >= 200 && code < 300) {
		if (hoist_sink_write(&x->sink, p, len, &x->err) < 0) {
			x->failed = 1; /* the sink filled err */
			return CURL_WRITEFUNC_ERROR;
		}
		return len;
	}
	if (hoist_buf_add(&x->resp.body, p, len, NULL) < 0) {
		fail_xfer(x, HOIST_ELIMIT,
			  "response body larger than %zu bytes",
			  x->resp.body.max);
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

/* What a growing body may send now; 0 with *ret set when nothing. */
static uint64_t growing_left(struct http_xfer *x, size_t *ret)
{
	struct hoist_http_growing *g = x->grow;
	uint64_t left = g->end - x->body_off - x->pos;

	*ret = 0;
	if (g->aborted) {
		fail_xfer(x, g->err.code, "%s", g->err.msg);
		*ret = CURL_READFUNC_ABORT;
		return 0;
	}
	if (!left && !g->eof) {
		x->paused = 1;
		*ret = CURL_READFUNC_PAUSE;
	}
	return left;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_xfer *x = ud;
	size_t want = size * nitems, ret;
	uint64_t left = x->body_len - x->pos;
	ssize_t got = 0;

	if (x->body_kind == HOIST_HTTP_BODY_STREAM) {
		do {
			got = read(x->fd, buf, want);
		} while (got < 0 && errno == EINTR);
		if (got >= 0) {
			x->pos += (uint64_t)got;
			return (size_t)got;
		}
	} else {
		if (x->body_kind == HOIST_HTTP_BODY_GROWING) {
			left = growing_left(x, &ret);
			if (!left)
				return ret;
		}
		if (want > left)
			want = (size_t)left;
	}
	if (!want)
		return 0;
	if (x->body_kind == HOIST_HTTP_BODY_BUF) {
		memcpy(buf, x->body + x->pos, want);
		x->pos += want;
		return want;
	}
	while (x->body_kind >= HOIST_HTTP_BODY_FD) {
		got = pread(x->fd, buf, want, (off_t)(x->body_off + x->pos));
		if (got >= 0 || errno != EINTR)
			break;
	}
	if (got < 0) {
		int e = errno;

		if (!x->failed) {
			x->failed = 1;
			hoist_err_sys(&x->err, e, "read request body");
		}
		return CURL_READFUNC_ABORT;
	}
	if (got == 0) {
		fail_xfer(x, HOIST_EIO,
			  "request body ends %llu bytes short of its length",
			  (unsigned long long)left);
		return CURL_READFUNC_ABORT;
	}
	x->pos += (uint64_t)got;
	return (size_t)got;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct http_xfer *x = ud;
	uint64_t len = x->body_len;
	int64_t base;

	if (x->body_kind == HOIST_HTTP_BODY_STREAM)
		return CURL_SEEKFUNC_CANTSEEK;
	if (x->body_kind == HOIST_HTTP_BODY_GROWING) {
		/* back to bytes already in the file, never to its end */
		if (origin == SEEK_END)
			return CURL_SEEKFUNC_CANTSEEK;
		len = x->grow->end - x->body_off;
	}
	switch (origin) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)x->pos;
		break;
	case SEEK_END:
		base = (int64_t)len;
		break;
	default:
		return CURL_SEEKFUNC_FAIL;
	}
	if (offset < -base || (uint64_t)(base + offset) > len)
		return CURL_SEEKFUNC_FAIL;
	x->pos = (uint64_t)(base + offset);
	return CURL_SEEKFUNC_OK;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_xfer *x = ud;

	(void)dltotal;
	(void)ultotal;
	/* The main loop leaves transfers parked on stop; a synchronous
	 * request has nobody to come back for it, so it ends here. */
	if (x->in_do && x->h->stop)
		return 1;
	if (x->grow &&
	    hoist_http_stalled(&x->stall, (uint64_t)hoist_clock_ms(),
			       (uint64_t)(ulnow + dlnow), x->paused,
			       x->h->low_speed_bytes, x->h->low_speed_s)) {
		fail_xfer(x, HOIST_ENET,
			  "operation too slow: less than %ld "
			  "bytes a second for %ld seconds",
			  x->h->low_speed_bytes, x->h->low_speed_s);
		return 1;
	}
	if (x->progress && ((uint64_t)ulnow != x->last_sent ||
			    (uint64_t)dlnow != x->last_recv)) {
		x->last_sent = (uint64_t)ulnow;
		x->last_recv = (uint64_t)dlnow;
		x->progress(x->progress_ctx, x->last_sent, x->last_recv);
	}
	return 0;
}

/* ---- transfers ---- */

static void xfer_free(struct http_xfer *x)
{
	if (!x)
		return;
	if (x->grow && x->grow->x == x)
		x->grow->x = NULL;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->method);
	free(x->url);
	hoist_http_response_release(&x->resp);
	free(x);
}

static int add_header(struct http_xfer *x, const char *line)
{
	struct curl_slist *n = curl_slist_append(x->hdrs, line);

	if (!n)
		return -1;
	x->hdrs = n;
	return 0;
}

#define SETOPT(opt, val)                                                       \
	do {                                                                   \
		if (curl_easy_setopt(e, opt, val) != CURLE_OK) {               \
			rc = hoist_err_set(err, HOIST_EUNSUPPORTED,            \
					   "%s '%s': libcurl refused " #opt,   \
					   req->method, qurl);                 \
			goto out;                                              \
		}                                                              \
	} while (0)

static int xfer_new(struct http_xfer **out, struct hoist_http *h,
		    const struct hoist_http_request *req, struct hoist_err *err)
{
	struct http_xfer *x = NULL;
	const struct hoist_http_tls *tls = req->tls;
	char qurl[HOIST_QUOTE_BUF];
	int is_head, is_post, is_get, is_put, is_patch, has_body;
	size_t i;
	CURL *e;
	int rc = 0;

	*out = NULL;
	rc = hoist_http_request_check(req, err);
	if (rc)
		return rc;
	hoist_http_url_for_msg(qurl, sizeof(qurl), req->url);
	has_body = req->body_kind != HOIST_HTTP_BODY_NONE;

	x = hoist_xcalloc(1, sizeof(*x));
	x->h = h;
	x->method = hoist_xstrdup(req->method);
	x->url = hoist_xstrdup(req->url);
	x->body_kind = req->body_kind;
	x->body = req->body;
	x->fd = req->body_fd;
	x->body_off = req->body_offset;
	x->body_len = has_body ? req->body_len : 0;
	if (x->body_kind == HOIST_HTTP_BODY_GROWING) {
		x->grow = req->growing;
		x->grow->x = x;
		x->body_len = 0;
	}
	if (req->sink) {
		x->sink = *req->sink;
		x->has_sink = 1;
	}
	x->progress = req->progress;
	x->progress_ctx = req->progress_ctx;
	hoist_buf_init(&x->resp.body,
		       req->max_body ? req->max_body : HOIST_HTTP_MAX_BODY);
	x->resp.url = hoist_xstrdup(req->url);

	e = x->easy = curl_easy_init();
	if (!e) {
		rc = hoist_err_set(err, HOIST_ENOMEM,
				   "%s '%s': cannot create a curl handle",
				   req->method, qurl);
		goto out;
	}
	SETOPT(CURLOPT_PRIVATE, x);
	SETOPT(CURLOPT_SHARE, h->share);
	SETOPT(CURLOPT_URL, x->url);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* Redirects go back to the caller, who decides about credentials. */
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_UNRESTRICTED_AUTH, 0L);
	SETOPT(CURLOPT_USERAGENT, h->user_agent);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	SETOPT(CURLOPT_LOW_SPEED_LIMIT, h->low_speed_bytes);
	SETOPT(CURLOPT_LOW_SPEED_TIME, x->grow ? 0L : h->low_speed_s);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, x);
	SETOPT(CURLOPT_WRITEFUNCTION, on_write);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
	SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
	SETOPT(CURLOPT_XFERINFODATA, x);
	if (x->has_sink)
		SETOPT(CURLOPT_BUFFERSIZE, (long)HTTP_RECV_BUF);

	if (req->version == HOIST_HTTP_V1) {
		SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	} else {
		SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		/* wait for a connection that may multiplex rather than
		 * opening one more */
		SETOPT(CURLOPT_PIPEWAIT, 1L);
	}

	if (req->unix_socket)
		SETOPT(CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	if (tls && tls->ca_file)
		SETOPT(CURLOPT_CAINFO, tls->ca_file);
	if (tls && tls->ca_dir)
		SETOPT(CURLOPT_CAPATH, tls->ca_dir);
	if (tls && tls->cert_file)
		SETOPT(CURLOPT_SSLCERT, tls->cert_file);
	if (tls && tls->key_file)
		SETOPT(CURLOPT_SSLKEY, tls->key_file);
	if (tls && tls->insecure) {
		SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
	}

	is_head = !strcmp(req->method, "HEAD");
	is_post = !strcmp(req->method, "POST");
	is_get = !strcmp(req->method, "GET");
	is_put = !strcmp(req->method, "PUT");
	is_patch = !strcmp(req->method, "PATCH");
	if (is_head) {
		if (has_body) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "HEAD '%s': request with a body",
					   qurl);
			goto out;
		}
		SETOPT(CURLOPT_NOBODY, 1L);
	} else if (is_post) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE,
		       x->body_kind == HOIST_HTTP_BODY_STREAM
			       ? (curl_off_t)-1
			       : (curl_off_t)x->body_len);
		if (!has_body)
			SETOPT(CURLOPT_POSTFIELDS, "");
	} else if (has_body || is_put || is_patch) {
		SETOPT(CURLOPT_UPLOAD, 1L);
		/* -1: unknown, so chunked on HTTP/1.1 */
		SETOPT(CURLOPT_INFILESIZE_LARGE,
		       x->grow ? (curl_off_t)-1 : (curl_off_t)x->body_len);
		if (!is_put)
			SETOPT(CURLOPT_CUSTOMREQUEST, x->method);
	} else if (is_get) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else {
		SETOPT(CURLOPT_CUSTOMREQUEST, x->method);
	}
	if (has_body || (!is_head && !is_post && (is_put || is_patch))) {
		/* Without a read function libcurl would read stdin. */
		SETOPT(CURLOPT_READFUNCTION, on_read);
		SETOPT(CURLOPT_READDATA, x);
		SETOPT(CURLOPT_SEEKFUNCTION, on_seek);
		SETOPT(CURLOPT_SEEKDATA, x);
		if (x->body_len > 64 * 1024 || x->grow)
			SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, (long)HTTP_SEND_BUF);
	}

	for (i = 0; i < req->nheaders; i++)
		if (add_header(x, req->headers[i]) < 0)
			goto nomem;
	/* libcurl labels POST bodies as form data; registries answer 500
	 * to that, so send no Content-Type unless the caller chose one. */
	if (is_post && !hoist_http_request_has_header(req, "Content-Type") &&
	    add_header(x, "Content-Type:") < 0)
		goto nomem;
	if (x->hdrs)
		SETOPT(CURLOPT_HTTPHEADER, x->hdrs);
	*out = x;
	x = NULL;
	goto out;
nomem:
	rc = hoist_err_set(err, HOIST_ENOMEM, "%s '%s': out of memory",
			   req->method, qurl);
out:
	xfer_free(x);
	return rc;
}

#undef SETOPT

/*
 * Fill the response from the finished handle and turn libcurl's result into
 * a hoist code; err gets "METHOD 'url': reason".
 */
static int xfer_finish(struct http_xfer *x, CURLcode res, struct hoist_err *err)
{
	char qurl[HOIST_QUOTE_BUF];
	char reason[CURL_ERROR_SIZE + 64];
	long code = 0, ver = 0, oserr = 0;
	curl_off_t up = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
	x->resp.status = (int)code;
	x->resp.version = ver == CURL_HTTP_VERSION_2_0 ? 2 : code ? 1 : 0;
	x->resp.sent = up > 0 ? (uint64_t)up : 0;
	hoist_http_url_for_msg(qurl, sizeof(qurl), x->url);

	hoist_err_clear(err);
	if (x->failed) {
		if (err)
			*err = x->err;
		hoist_err_prefix(err, "%s '%s'", x->method, qurl);
		if (err)
			err->http_status = (int)code;
		return x->err.code ? x->err.code : HOIST_EIO;
	}
	if (res == CURLE_OK)
		return 0;
	if (res == CURLE_ABORTED_BY_CALLBACK)
		return hoist_err_set(err, HOIST_EINTR, "%s '%s': interrupted",
				     x->method, qurl);
	hoist_http_tidy_msg(reason, sizeof(reason),
			    x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
	/* TLS failures are not transient: retrying cannot fix a certificate */
	int rc = HOIST_ENET;
	switch (res) {
	case CURLE_WEIRD_SERVER_REPLY: /* a NUL byte in a header, garbage */
		rc = HOIST_EHTTP;
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		rc = HOIST_ETLS;
		break;
	default:
		break;
	}
	hoist_err_set(err, rc, "%s '%s': %s", x->method, qurl, reason);
	if (err) {
		err->sys_errno = (int)oserr;
		err->http_status = (int)code;
	}
	return rc;
}

static void list_add(struct hoist_http *h, struct http_xfer *x)
{
	x->prev = NULL;
	x->next = h->xfers;
	if (h->xfers)
		h->xfers->prev = x;
	h->xfers = x;
}

static void list_del(struct hoist_http *h, struct http_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

/* ---- the client ---- */

int hoist_http_new(struct hoist_http **out, const struct hoist_http_opts *opts,
		   struct hoist_err *err)
{
	struct hoist_http_opts none = {0};
	struct hoist_http *h = NULL;
	int rc = 0;

	*out = NULL;
	if (!opts)
		opts = &none;
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "cannot initialise libcurl: %s",
				     curl_easy_strerror(http_global_rc));
	h = hoist_xcalloc(1, sizeof(*h));
	h->multi = curl_multi_init();
	h->do_multi = curl_multi_init();
	h->share = curl_share_init();
	if (!h->multi || !h->do_multi || !h->share) {
		rc = hoist_err_set(err, HOIST_ENOMEM,
				   "cannot create curl handles");
		goto out;
	}
	if (curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE,
			      CURL_LOCK_DATA_SSL_SESSION) ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE,
			      CURL_LOCK_DATA_CONNECT)) {
		rc = hoist_err_set(err, HOIST_EUNSUPPORTED,
				   "libcurl cannot share connections");
		goto out;
	}
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(h->do_multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(
		h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
		(long)(opts->max_per_host > 0 ? opts->max_per_host : 4));
	h->user_agent = hoist_xstrdup(
		opts->user_agent ? opts->user_agent : "hoist/" PACKAGE_VERSION);
	h->connect_timeout_ms =
		opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 30000;
	h->low_speed_bytes =
		opts->low_speed_bytes > 0 ? opts->low_speed_bytes : 1024;
	h->low_speed_s = opts->low_speed_s > 0 ? opts->low_speed_s : 60;
	*out = h;
	h = NULL;
out:
	hoist_http_free(h);
	return rc;
}

void hoist_http_free(struct hoist_http *h)
{
	struct hoist_http_timer *t;

	if (!h)
		return;
	while (h->xfers) {
		struct http_xfer *x = h->xfers;

		list_del(h, x);
		curl_multi_remove_handle(h->multi, x->easy);
		xfer_free(x);
	}
	while ((t = h->timers)) {
		h->timers = t->next;
		free(t);
	}
	/* multis first: the share refuses to go while handles use it */
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->do_multi)
		curl_multi_cleanup(h->do_multi);
	if (h->share)
		curl_share_cleanup(h->share);
	free(h->user_agent);
	free(h);
}

int hoist_http_submit(struct hoist_http *h,
		      const struct hoist_http_request *req,
		      hoist_http_done_fn done, void *ctx, struct hoist_err *err)
{
	struct http_xfer *x;
	CURLMcode mc;
	int rc;

	rc = xfer_new(&x, h, req, err);
	if (rc < 0)
		return rc;
	x->done = done;
	x->ctx = ctx;
	mc = curl_multi_add_handle(h->multi, x->easy);
	if (mc != CURLM_OK) {
		char qurl[HOIST_QUOTE_BUF];

		hoist_http_url_for_msg(qurl, sizeof(qurl), req->url);
		xfer_free(x);
		return hoist_err_set(err, HOIST_EIO, "%s '%s': %s", req->method,
				     qurl, curl_multi_strerror(mc));
	}
	list_add(h, x);
	return 0;
}

/* Unpause g's transfer if it waits for bytes. */
static void growing_wake(struct hoist_http *h, struct hoist_http_growing *g)
{
	struct http_xfer *x = g->x;

	if (!x || !x->paused)
		return;
	x->paused = 0;
	curl_easy_pause(x->easy, CURLPAUSE_CONT);
	/* a poll already under way returns at once */
	curl_multi_wakeup(x->in_do ? h->do_multi : h->multi);
}

void hoist_http_body_more(struct hoist_http *h, struct hoist_http_growing *g,
			  uint64_t end, int eof)
{
	if (end > g->end)
		g->end = end;
	if (eof)
		g->eof = 1;
	growing_wake(h, g);
}

void hoist_http_body_abort(struct hoist_http *h, struct hoist_http_growing *g,
			   const struct hoist_err *e)
{
	if (g->aborted)
		return;
	g->aborted = 1;
	g->err = *e;
	growing_wake(h, g);
}

int hoist_http_timer(struct hoist_http *h, long delay_ms, void (*fn)(void *ctx),
		     void *ctx, struct hoist_err *err)
{
	if (!fn)
		return hoist_err_set(err, HOIST_EINVAL,
				     "timer without callback");
	hoist_http_timer_add(&h->timers, delay_ms, fn, ctx);
	return 0;
}

int hoist_http_idle(const struct hoist_http *h)
{
	return !h->xfers && !h->timers && !h->stop;
}

void hoist_http_stop(struct hoist_http *h)
{
	int saved = errno; /* a signal handler must leave errno alone */

	h->stop = 1;
	/* a write on libcurl's wakeup pipe: fine in a signal handler */
	curl_multi_wakeup(h->multi);
	curl_multi_wakeup(h->do_multi);
	errno = saved;
}

static void fire_timers(struct hoist_http *h)
{
	uint64_t now = (uint64_t)hoist_clock_ms();
	struct hoist_http_timer *t;

	while (!h->stop && (t = h->timers) && t->due_ms <= now) {
		h->timers = t->next;
		t->fn(t->ctx);
		free(t);
	}
}

static void complete_done(struct hoist_http *h)
{
	struct hoist_err xerr;
	CURLMsg *msg;
	int left;

	while (!h->stop && (msg = curl_multi_info_read(h->multi, &left))) {
		struct http_xfer *x = NULL;
		CURLcode res = msg->data.result;
		CURL *e = msg->easy_handle;
		int rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(h->multi, e);
		list_del(h, x);
		rc = xfer_finish(x, res, &xerr);
		if (x->done)
			x->done(x->ctx, rc, &x->resp, &xerr);
		xfer_free(x);
	}
}

/* The deadline passed in the loop: name what was in flight. */
static int deadline_in_flight(struct hoist_http *h, struct hoist_err *err)
{
	char names[3][HOIST_QUOTE_BUF + 16], qurl[HOIST_QUOTE_BUF];
	const char *p[3];
	size_t n = 0;

	for (struct http_xfer *x = h->xfers; x; x = x->next, n++) {
		if (n >= 3)
			continue;
		hoist_http_url_for_msg(qurl, sizeof(qurl), x->url);
		snprintf(names[n], sizeof(names[n]), "%s '%s'", x->method,
			 qurl);
		p[n] = names[n];
	}
	return hoist_http_deadline_in_flight(err, p, n);
}

int hoist_http_run(struct hoist_http *h, struct hoist_err *err)
{
	CURLMcode mc;
	int running;

	for (;;) {
		uint64_t now;
		int timeout = HTTP_POLL_MAX_MS;

		if (h->stop) {
			h->stop = 0;
			return hoist_err_set(err, HOIST_EINTR, "interrupted");
		}
		if (hoist_http_deadline_left() == 0)
			return deadline_in_flight(h, err);
		fire_timers(h);
		if (h->stop)
			continue;
		mc = curl_multi_perform(h->multi, &running);
		if (mc != CURLM_OK)
			return hoist_err_set(err, HOIST_EIO, "http loop: %s",
					     curl_multi_strerror(mc));
		complete_done(h);
		if (h->stop)
			continue;
		if (!h->xfers && !h->timers)
			return 0;
		now = (uint64_t)hoist_clock_ms();
		if (h->timers) {
			uint64_t due = h->timers->due_ms;

			if (due <= now)
				continue;
			if (due - now < (uint64_t)timeout)
				timeout = (int)(due - now);
		}
		/* curl shortens the wait further for its own timeouts */
		mc = curl_multi_poll(h->multi, NULL, 0,
				     hoist_http_poll_wait(timeout), NULL);
		if (mc != CURLM_OK)
			return hoist_err_set(err, HOIST_EIO, "http loop: %s",
					     curl_multi_strerror(mc));
	}
}

int hoist_http_do(struct hoist_http *h, const struct hoist_http_request *req,
		  struct hoist_http_response *resp, struct hoist_err *err)
{
	struct http_xfer *x = NULL;
	CURLcode res = CURLE_OK;
	CURLMcode mc;
	int rc, running, done = 0, timed_out = 0;

	memset(resp, 0, sizeof(*resp));
	hoist_buf_init(&resp->body, 0);
	rc = xfer_new(&x, h, req, err);
	if (rc < 0)
		return rc;
	x->in_do = 1;
	mc = curl_multi_add_handle(h->do_multi, x->easy);
	while (mc == CURLM_OK && !done) {
		CURLMsg *msg;
		int left;

		if (h->stop) {
			/* left set for hoist_http_run, which consumes it */
			res = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (hoist_http_deadline_left() == 0) {
			timed_out = 1;
			break;
		}
		mc = curl_multi_perform(h->do_multi, &running);
		if (mc != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(h->do_multi, &left))) {
			if (msg->msg == CURLMSG_DONE &&
			    msg->easy_handle == x->easy) {
				res = msg->data.result;
				done = 1;
			}
		}
		if (!done)
			mc = curl_multi_poll(
				h->do_multi, NULL, 0,
				hoist_http_poll_wait(HTTP_POLL_MAX_MS), NULL);
	}
	curl_multi_remove_handle(h->do_multi, x->easy);
	if (timed_out) {
		char qurl[HOIST_QUOTE_BUF], *doing;

		hoist_http_url_for_msg(qurl, sizeof(qurl), req->url);
		doing = hoist_xasprintf("with %s '%s' in flight", req->method,
					qurl);
		rc = hoist_http_deadline_error(err, doing);
		free(doing);
	} else if (mc != CURLM_OK) {
		char qurl[HOIST_QUOTE_BUF];

		hoist_http_url_for_msg(qurl, sizeof(qurl), req->url);
		rc = hoist_err_set(err, HOIST_EIO, "%s '%s': %s", req->method,
				   qurl, curl_multi_strerror(mc));
	} else {
		rc = xfer_finish(x, res, err);
	}
	*resp = x->resp;
	memset(&x->resp, 0, sizeof(x->resp));
	xfer_free(x);
	return rc;
}

/* ---- URLs ---- */

static int url_error(struct hoist_err *err, const char *what, const char *s,
		     CURLUcode uc)
{
	char q[HOIST_QUOTE_BUF];
	char reason[128];

	hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
#if LIBCURL_VERSION_NUM >= 0x075000
	hoist_http_tidy_msg(reason, sizeof(reason), curl_url_strerror(uc));
#else
	snprintf(reason, sizeof(reason), "error %d", (int)uc);
#endif
	return hoist_err_set(err, HOIST_EINVAL, "invalid %s '%s': %s", what, q,
			     reason);
}

static int scheme_ok(CURLU *u)
{
	char *scheme = NULL;
	int ok;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		return 0;
	ok = !strcasecmp(scheme, "http") || !strcasecmp(scheme, "https");
	curl_free(scheme);
	return ok;
}

int hoist_http_resolve_url(char **out, const char *base, const char *location,
			   struct hoist_err *err)
{
	CURLU *u;
	CURLUcode uc;
	char *s = NULL;
	char q[HOIST_QUOTE_BUF];
	int rc = 0;

	*out = NULL;
	pthread_once(&http_once, http_global_init);
	if (!base || !location || !*location)
		return hoist_err_set(err, HOIST_EINVAL, "empty location");
	u = curl_url();
	if (!u)
		return hoist_err_set(err, HOIST_ENOMEM, "out of memory");
	uc = curl_url_set(u, CURLUPART_URL, base, CURLU_DEFAULT_SCHEME);
	if (uc != CURLUE_OK) {
		rc = url_error(err, "base url", base, uc);
		goto out;
	}
	/* on a handle holding a URL, a relative one is resolved against it */
	uc = curl_url_set(u, CURLUPART_URL, location, 0);
	if (uc != CURLUE_OK) {
		rc = url_error(err, "location", location, uc);
		goto out;
	}
	if (!scheme_ok(u)) {
		hoist_err_quote(q, sizeof(q), location, HOIST_QUOTE_ALL, 0);
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "location '%s' is not http or https", q);
		goto out;
	}
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	uc = curl_url_get(u, CURLUPART_URL, &s, 0);
	if (uc != CURLUE_OK) {
		rc = url_error(err, "location", location, uc);
		goto out;
	}
	*out = hoist_xstrdup(s);
out:
	curl_free(s);
	curl_url_cleanup(u);
	return rc;
}
