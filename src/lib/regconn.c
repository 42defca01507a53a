/*
 * regconn.c: connecting to a registry repository: certificates, creds,
 * the ping, and synchronous requests with auth and retries.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/ref.h"
#include "lib/regconf.h"
#include "lib/regconn.h"
#include "lib/retry.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/scan.h"
#include "util/mem.h"
#include "util/banned.h"

const char hoist_reg_manifest_accept[] =
	"Accept: " HOIST_MT_OCI_MANIFEST ", " HOIST_MT_OCI_INDEX
	", " HOIST_MT_DOCKER_MANIFEST ", " HOIST_MT_DOCKER_LIST;

uint32_t hoist_regconn_rnd32(void)
{
	/* per thread: sync workers draw jitter at once (a race, under TSan) */
	static __thread unsigned int seed;
	if (!seed)
		seed = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^
		       (unsigned int)(uintptr_t)&seed;
	return (uint32_t)rand_r(&seed);
}

void hoist_regconn_error_body(const struct hoist_http_response *resp,
			      const char **code, const char **msg, json_t **doc)
{
	json_t *e;

	*code = NULL;
	*msg = NULL;
	*doc = NULL;
	if (!resp->body.len ||
	    hoist_json_parse(doc, resp->body.data, resp->body.len, "error",
			     NULL) != 0)
		return;
	e = json_array_get(json_object_get(*doc, "errors"), 0);
	*code = hoist_json_str(e, "code");
	*msg = hoist_json_str(e, "message");
}

int hoist_regconn_http_error(struct hoist_err *err, const char *what,
			     const struct hoist_http_response *resp)
{
	char qcode[128], qmsg[512];
	const char *code, *msg;
	json_t *doc;
	int rc = HOIST_EHTTP;

	if (resp->status == 401 || resp->status == 403)
		rc = HOIST_EAUTH;
	else if (resp->status == 404)
		rc = HOIST_ENOTFOUND;
	hoist_regconn_error_body(resp, &code, &msg, &doc);
	if (code)
		hoist_err_quote(qcode, sizeof(qcode), code, strlen(code),
				HOIST_QUOTE_UTF8);
	if (msg)
		hoist_err_quote(qmsg, sizeof(qmsg), msg, strlen(msg),
				HOIST_QUOTE_UTF8);
	hoist_err_set(err, rc, "%s: HTTP %d%s%s%s%s", what, resp->status,
		      code ? " " : "", code ? qcode : "", msg ? ": " : "",
		      msg ? qmsg : "");
	if (err)
		err->http_status = resp->status;
	json_decref(doc);
	return rc;
}

/* First *.crt in dir (ca.crt preferred), or NULL. */
static char *find_crt(const char *dir)
{
	char *p = hoist_xasprintf("%s/ca.crt", dir);
	DIR *d;
	struct dirent *de;

	if (hoist_fs_exists(p))
		return p;
	free(p);
	d = opendir(dir);
	if (!d)
		return NULL;
	p = NULL;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 4 && strcmp(de->d_name + n - 4, ".crt") == 0) {
			p = hoist_xasprintf("%s/%s", dir, de->d_name);
			break;
		}
	}
	closedir(d);
	return p;
}

void hoist_regconn_certs(const char *host, const char *extra_ca, char **ca_file,
			 char **cert_file, char **key_file)
{
	const char *env = getenv("HOIST_CERTS_D");
	char *list = hoist_xstrdup(
		env ? env : "/etc/docker/certs.d:/etc/containers/certs.d");
	char *s = list;

	*ca_file = *cert_file = *key_file = NULL;
	while (s && *s) {
		char *colon = strchr(s, ':');
		char *dir;
		if (colon)
			*colon = '\0';
		dir = hoist_xasprintf("%s/%s", s, host);
		if (hoist_fs_is_dir(dir)) {
			char *cert = hoist_xasprintf("%s/client.cert", dir);
			char *key = hoist_xasprintf("%s/client.key", dir);
			if (!*ca_file)
				*ca_file = find_crt(dir);
			if (!*cert_file && hoist_fs_exists(cert) &&
			    hoist_fs_exists(key)) {
				*cert_file = cert;
				*key_file = key;
			} else {
				free(cert);
				free(key);
			}
		}
		free(dir);
		s = colon ? colon + 1 : NULL;
	}
	free(list);
	if (extra_ca) {
		free(*ca_file);
		*ca_file = hoist_xstrdup(extra_ca);
	}
}

/* certs.d and --ca-cert for the registry's host. */
static void load_certs(struct hoist_regconn *c)
{
	hoist_regconn_certs(c->host, c->opts->ca_file, &c->ca_file,
			    &c->cert_file, &c->key_file);
	c->tls.ca_file = c->ca_file;
	c->tls.cert_file = c->cert_file;
	c->tls.key_file = c->key_file;
	c->tls.insecure = c->opts->insecure;
}

int hoist_regconn_auth_line(struct hoist_regconn *c, const char *url,
			    char **line, struct hoist_err *err)
{
	return hoist_auth_header_for(c->auth, url, c->scopes, c->nscopes,
				     HOIST_REG_TOKEN_MARGIN_S, line, err);
}

int hoist_regconn_on_401(struct hoist_regconn *c,
			 const struct hoist_http_response *resp,
			 const char *sent_auth)
{
	char *www;
	int again;

	if (hoist_auth_superseded(c->auth, sent_auth, c->scopes, c->nscopes))
		return 1;
	www = hoist_http_header_join(resp, "WWW-Authenticate");
	again = hoist_auth_on_401(c->auth, www, c->scopes, c->nscopes, NULL);
	free(c->challenge);
	c->challenge = www; /* what a ping learned, for the next endpoint */
	return again > 0;
}

/*
 * Sleep before resending method url; HOIST_ETIMEDOUT at once when the
 * overall deadline would pass first.
 */
static int sleep_ms(long ms, const char *method, const char *url,
		    struct hoist_err *err)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	long left = hoist_http_deadline_left();

	if (left >= 0 && left <= ms) {
		char q[HOIST_QUOTE_BUF], *doing;
		int rc;

		hoist_err_quote(q, sizeof(q), url, strcspn(url, "?"), 0);
		doing = hoist_xasprintf("while waiting to retry %s '%s'",
					method, q);
		rc = hoist_http_deadline_error(err, doing);
		free(doing);
		return rc;
	}
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

void hoist_regconn_observe(struct hoist_regconn *c,
			   const struct hoist_http_response *resp)
{
	const char *v = hoist_http_header_get(resp, "ratelimit-remaining");
	const char *l = hoist_http_header_get(resp, "ratelimit-limit");
	uint64_t left, limit = 0;
	char num[16];
	size_t n;

	/* "100;w=21600": the count before the first ';' */
	if (!v)
		return;
	n = strspn(v, "0123456789");
	if (!n || n >= sizeof(num))
		return;
	memcpy(num, v, n);
	num[n] = '\0';
	if (hoist_scan_u64(&left, num, UINT32_MAX, "ratelimit-remaining", NULL))
		return;
	n = l ? strspn(l, "0123456789") : 0;
	if (n && n < sizeof(num)) {
		memcpy(num, l, n);
		num[n] = '\0';
		if (hoist_scan_u64(&limit, num, UINT32_MAX, "ratelimit-limit",
				   NULL))
			limit = 0;
	}
	/* low: under 10 requests, or under a tenth of the limit */
	if (left >= 10 && !(limit && left * 10 < limit))
		return;
	if (c->shown_remaining && left >= c->last_remaining)
		return;
	c->shown_remaining = 1;
	c->last_remaining = left;
	hoist_log(HOIST_LOG_INFO,
		  "registry rate limit: %llu requests left "
		  "(ratelimit-remaining)",
		  (unsigned long long)left);
}

int hoist_regconn_request(struct hoist_regconn *c, const char *method,
			  const char *url, const char *const *extra,
			  size_t nextra, const void *body, size_t len,
			  size_t max_body, struct hoist_http_response *resp,
			  struct hoist_err *err)
{
	struct hoist_retry_policy pol;
	int64_t start = hoist_clock_ms();
	int attempt = 0, auth_tries = 0, waits = 0;

	hoist_retry_defaults(&pol);
	if (c->max_attempts > 0)
		pol.max_attempts = c->max_attempts;
	for (;;) {
		struct hoist_http_request req;
		const char *hdrs[8];
		char *auth = NULL;
		size_t n = 0;
		int rc;

		rc = hoist_regconn_auth_line(c, url, &auth, err);
		if (rc)
			return rc;
		if (auth)
			hdrs[n++] = auth;
		for (size_t i = 0; i < nextra && n < 7; i++)
			hdrs[n++] = extra[i];
		memset(&req, 0, sizeof(req));
		req.method = method;
		req.url = url;
		req.headers = hdrs;
		req.nheaders = n;
		req.tls = &c->tls;
		req.max_body = max_body ? max_body : HOIST_MANIFEST_MAX;
		if (body) {
			req.body_kind = HOIST_HTTP_BODY_BUF;
			req.body = body;
			req.body_len = len;
		}
		memset(resp, 0, sizeof(*resp));
		rc = hoist_http_do(c->http, &req, resp, err);
		if (rc == 0 && resp->status == 401 &&
		    auth_tries < HOIST_REG_AUTH_RETRIES &&
		    hoist_regconn_on_401(c, resp, auth)) {
			auth_tries++;
			free(auth);
			hoist_http_response_release(resp);
			continue;
		}
		free(auth);
		if (rc == 0)
			hoist_regconn_observe(c, resp);
		if (rc == 0 && resp->status == 429) {
			/* not processed: the same request after the wait */
			long d = hoist_retry_wait_ms(
				&pol, ++waits,
				hoist_http_header_get(resp, "Retry-After"),
				(int64_t)time(NULL), hoist_regconn_rnd32());
			if (d < 0)
				return 0;
			c->waits++;
			hoist_log(HOIST_LOG_INFO,
				  "rate limited (HTTP 429) on %s: waiting "
				  "%.1fs",
				  method, (double)d / 1000);
			hoist_http_response_release(resp);
			rc = sleep_ms(d, method, url, err);
			if (rc)
				return rc;
			continue;
		}
		waits = 0;
		if (rc == 0 && !hoist_retry_is_transient(resp->status))
			return 0;
		if (rc && rc != HOIST_ENET)
			return rc;
		attempt++;
		long delay = hoist_retry_delay(
			&pol, attempt, (long)(hoist_clock_ms() - start),
			rc == 0 ? hoist_http_header_get(resp, "Retry-After")
				: NULL,
			(int64_t)time(NULL), hoist_regconn_rnd32());
		if (delay < 0)
			return rc ? rc : 0;
		c->retries++;
		hoist_log(HOIST_LOG_INFO, "retry %d of %s %s after %s in %.1fs",
			  attempt, method, url,
			  rc ? "a connection error" : "an HTTP error",
			  (double)delay / 1000);
		hoist_http_response_release(resp);
		rc = sleep_ms(delay, method, url, err);
		if (rc)
			return rc;
	}
}

/*
 * Idle HTTP clients, kept per registry host when a connection closes and
 * handed to the next connection to that host: their open connections,
 * TLS sessions and DNS answers go on serving, so a sync copying many
 * images from one registry opens a few TCP connections, not several per
 * image. Threads share the pool (sync workers); a client serves one
 * connection at a time. Whatever is left is freed at exit.
 */
#define POOL_MAX 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static struct {
	char *host;
	int max_per_host;
	struct hoist_http *http;
} pool[POOL_MAX];
static size_t npool;

/* Take entry i out of the pool (with the lock held); its client. */
static struct hoist_http *pool_remove(size_t i)
{
	struct hoist_http *h = pool[i].http;

	free(pool[i].host);
	memmove(&pool[i], &pool[i + 1], (npool - i - 1) * sizeof(pool[0]));
	npool--;
	return h;
}

static void pool_drain(void)
{
	pthread_mutex_lock(&pool_lock);
	while (npool)
		hoist_http_free(pool_remove(npool - 1));
	pthread_mutex_unlock(&pool_lock);
}

static void pool_init(void)
{
	atexit(pool_drain);
}

/* The newest idle client for host, or NULL. */
static struct hoist_http *pool_take(const char *host, int max_per_host)
{
	struct hoist_http *h = NULL;

	pthread_mutex_lock(&pool_lock);
	for (size_t i = npool; i-- > 0 && !h;)
		if (pool[i].max_per_host == max_per_host &&
		    strcmp(pool[i].host, host) == 0)
			h = pool_remove(i);
	pthread_mutex_unlock(&pool_lock);
	return h;
}

/* Keep an idle client for host (the oldest goes when the pool is full);
 * one with work queued is freed instead. */
static void pool_put(const char *host, int max_per_host, struct hoist_http *h)
{
	struct hoist_http *old = NULL;

	if (!h)
		return;
	if (!host || !hoist_http_idle(h)) {
		hoist_http_free(h);
		return;
	}
	pthread_once(&pool_once, pool_init);
	pthread_mutex_lock(&pool_lock);
	if (npool == POOL_MAX)
		old = pool_remove(0);
	pool[npool].host = hoist_xstrdup(host);
	pool[npool].max_per_host = max_per_host;
	pool[npool++].http = h;
	pthread_mutex_unlock(&pool_lock);
	hoist_http_free(old);
}

static int make_auth(struct hoist_regconn *c, struct hoist_err *err)
{
	struct hoist_creds creds;
	int rc;

	memset(&creds, 0, sizeof(creds));
	rc = hoist_creds_lookup(&creds, c->host, c->repo, err);
	if (rc && rc != HOIST_ENOTFOUND)
		return rc;
	rc = hoist_auth_new(&c->auth, c->http, c->base,
			    rc == HOIST_ENOTFOUND ? NULL : &creds, &c->tls,
			    err);
	hoist_creds_release(&creds);
	return rc;
}

int hoist_regconn_is_loopback(const char *host)
{
	char buf[256];
	const char *end;
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || (end[1] && end[1] != ':'))
			return 0;
		n = (size_t)(end - host - 1);
		if (n >= sizeof(buf))
			return 0;
		memcpy(buf, host + 1, n);
		buf[n] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	}
	n = strcspn(host, ":");
	if (n >= sizeof(buf) || (host[n] && !host[n + 1]))
		return 0;
	memcpy(buf, host, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "localhost") == 0)
		return 1;
	/* dotted quads only: "127.1" is a name here, as in Docker */
	return inet_pton(AF_INET, buf, &a4) == 1 &&
	       (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * 1 if a plain-http GET of /v2/ gets a registry's answer (200 or 401): no
 * TLS spoken there. A TLS server answers plain HTTP too (Go's says 400
 * "client sent an HTTP request to an HTTPS server"): that is no reason to
 * leave https.
 */
static int speaks_plain_http(struct hoist_regconn *c)
{
	struct hoist_http_request req;
	struct hoist_http_response resp;
	char *url = hoist_xasprintf("http://%s/v2/", c->base + 8);
	int rc;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.max_body = HOIST_REG_ERROR_BODY_MAX;
	memset(&resp, 0, sizeof(resp));
	rc = hoist_http_do(c->http, &req, &resp, NULL);
	rc = rc == 0 && (resp.status == 200 || resp.status == 401);
	hoist_http_response_release(&resp);
	free(url);
	return rc;
}

/*
 * GET /v2/: learn the auth challenge. Where https fails because the server
 * speaks plain HTTP, fall back to http for loopback registries (as Docker
 * and containerd do) and with insecure; else say how to allow it.
 */
static int ping(struct hoist_regconn *c, struct hoist_err *err)
{
	struct hoist_http_response resp;
	char *url = hoist_xasprintf("%s/v2/", c->base);
	int rc;

	/* a wrong address should fail in seconds, not after the full policy */
	c->max_attempts = 3;
	rc = hoist_regconn_request(c, "GET", url, NULL, 0, NULL, 0, 0, &resp,
				   err);
	c->max_attempts = 0;

	if (rc == HOIST_ETLS && strncmp(c->base, "https://", 8) == 0) {
		int loop = hoist_regconn_is_loopback(c->host);
		char q[HOIST_QUOTE_BUF];

		hoist_err_quote(q, sizeof(q), c->host, HOIST_QUOTE_ALL, 0);
		if (c->opts->insecure || (loop && speaks_plain_http(c))) {
			char *h = hoist_xasprintf("http://%s", c->base + 8);
			hoist_log(HOIST_LOG_INFO,
				  "'%s' does not speak TLS; using plain http "
				  "(%s)",
				  q,
				  c->opts->insecure ? "registry.insecure"
						    : "loopback registry");
			free(c->base);
			c->base = h;
			hoist_auth_free(c->auth);
			c->auth = NULL;
			hoist_http_response_release(&resp);
			free(url);
			return 1; /* the caller re-creates auth and pings again
				   */
		}
		if (!loop && speaks_plain_http(c))
			hoist_err_set(err, HOIST_ETLS,
				      "'%s' speaks plain HTTP, not TLS: for a "
				      "plain-http registry use --insecure or "
				      "registry.insecure=true",
				      q);
		goto out;
	}
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 401)
		rc = hoist_regconn_http_error(err, "ping registry", &resp);
	else if (resp.status == 401)
		rc = hoist_regconn_http_error(err, "authenticate to registry",
					      &resp);
out:
	hoist_http_response_release(&resp);
	free(url);
	return rc;
}

/*
 * What a ping learned, kept per registry for the whole process: the base
 * URL that answered (https, or http after the fallback) and the
 * challenge auth needs (NULL: the registry asked for none). Keyed by the
 * host and the TLS settings the ping depended on. A later endpoint on the
 * same registry takes it without a request, so a sync re-run costs one
 * manifest HEAD per image, not a ping too; should the registry change its
 * challenge, the request's 401 goes through hoist_regconn_on_401 as
 * ever. Pings take turns (ping_lock, held across the ping), so images
 * opened at once ping a registry once. Only successful pings are kept: a
 * failing one is tried (and reported) again by the next endpoint.
 */
#define PINGS_MAX 64

static pthread_mutex_t ping_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pings_once = PTHREAD_ONCE_INIT;
static struct {
	char *key;
	char *base;
	char *challenge;
} pings[PINGS_MAX];
static size_t npings;

static void pings_drain(void)
{
	pthread_mutex_lock(&ping_lock);
	while (npings) {
		npings--;
		free(pings[npings].key);
		free(pings[npings].base);
		free(pings[npings].challenge);
	}
	pthread_mutex_unlock(&ping_lock);
}

static void pings_init(void)
{
	atexit(pings_drain);
}

static char *ping_key(const struct hoist_regconn *c)
{
	return hoist_xasprintf("%s\n%d\n%s\n%s\n%s", c->host, c->opts->insecure,
			       c->ca_file ? c->ca_file : "",
			       c->cert_file ? c->cert_file : "",
			       c->key_file ? c->key_file : "");
}

/* Index of key's entry (ping_lock held), npings if none. */
static size_t ping_find(const char *key)
{
	size_t i;

	for (i = 0; i < npings; i++)
		if (strcmp(pings[i].key, key) == 0)
			break;
	return i;
}

/* Keep c's ping under key (ping_lock held; the oldest goes when full). */
static void ping_keep(const char *key, const struct hoist_regconn *c)
{
	if (npings == PINGS_MAX) {
		free(pings[0].key);
		free(pings[0].base);
		free(pings[0].challenge);
		memmove(&pings[0], &pings[1], (npings - 1) * sizeof(pings[0]));
		npings--;
	}
	pings[npings].key = hoist_xstrdup(key);
	pings[npings].base = hoist_xstrdup(c->base);
	pings[npings].challenge =
		c->challenge ? hoist_xstrdup(c->challenge) : NULL;
	npings++;
}

/* Ping c's registry, the https to http fallback re-creating auth. */
static int ping_fresh(struct hoist_regconn *c, struct hoist_err *err)
{
	int rc = 0;

	for (int tries = 0; tries < 2; tries++) {
		rc = make_auth(c, err);
		if (rc)
			return rc;
		rc = ping(c, err);
		if (rc != 1)
			break;
	}
	return rc;
}

/* Auth for c from the process's ping of its registry, else a ping. */
static int ping_shared(struct hoist_regconn *c, struct hoist_err *err)
{
	char *key = ping_key(c), *chal = NULL;
	size_t i;
	int rc;

	pthread_once(&pings_once, pings_init);
	pthread_mutex_lock(&ping_lock);
	i = ping_find(key);
	if (i == npings) {
		rc = ping_fresh(c, err);
		if (!rc)
			ping_keep(key, c);
		pthread_mutex_unlock(&ping_lock);
		free(key);
		return rc;
	}
	free(c->base);
	c->base = hoist_xstrdup(pings[i].base);
	if (pings[i].challenge)
		chal = hoist_xstrdup(pings[i].challenge);
	pthread_mutex_unlock(&ping_lock);
	free(key);
	rc = make_auth(c, err);
	/* as the ping's 401 would have: the first request fetches a token */
	if (!rc && chal)
		hoist_auth_on_401(c->auth, chal, c->scopes, c->nscopes, NULL);
	free(chal);
	return rc;
}

/* One endpoint: certificates, the client, credentials and the ping. */
static int open_endpoint(struct hoist_regconn *c, const char *host,
			 const char *repo, const char *actions,
			 const char *extra_scope,
			 const struct hoist_regconn_opts *opts, int insecure,
			 struct hoist_err *err)
{
	struct hoist_http_opts hopts;
	int rc;

	memset(c, 0, sizeof(*c));
	c->own = *opts;
	c->own.insecure |= insecure;
	c->opts = &c->own;
	c->host = hoist_xstrdup(host);
	c->repo = hoist_xstrdup(repo);
	c->base = hoist_xasprintf("https://%s", strcmp(host, "docker.io") == 0
							? "registry-1.docker.io"
							: host);
	c->scope = hoist_xasprintf("repository:%s:%s", repo, actions);
	c->scopes[c->nscopes++] = c->scope;
	if (extra_scope)
		c->scopes[c->nscopes++] = extra_scope;
	load_certs(c);
	memset(&hopts, 0, sizeof(hopts));
	hopts.max_per_host =
		opts->max_concurrent > 0 ? opts->max_concurrent : 4;
	c->http = pool_take(host, hopts.max_per_host);
	if (!c->http) {
		rc = hoist_http_new(&c->http, &hopts, err);
		if (rc)
			return rc;
	}
	return ping_shared(c, err);
}

int hoist_regconn_open(struct hoist_regconn *c, const char *host,
		       const char *repo, const char *actions,
		       const char *extra_scope,
		       const struct hoist_regconn_opts *opts,
		       struct hoist_err *err)
{
	const struct hoist_regconf *conf;
	struct hoist_regconf_source *src = NULL;
	char *name = hoist_xasprintf("%s/%s", host, repo);
	size_t n = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = hoist_regconf_system(&conf, err);
	if (!rc)
		rc = hoist_regconf_sources(conf, name, 0, &src, &n, err);
	if (!rc)
		rc = open_endpoint(c, host, repo, actions, extra_scope, opts,
				   src[0].insecure, err);
	hoist_regconf_sources_free(src, n);
	free(name);
	return rc;
}

/* One pull source: open it and ask probe. */
static int try_source(struct hoist_regconn *c,
		      const struct hoist_regconf_source *src,
		      const struct hoist_regconn_opts *opts,
		      hoist_regconn_probe_fn probe, void *arg,
		      struct hoist_err *err)
{
	struct hoist_ref r;
	int rc = hoist_ref_parse(
		&r, src->ref, HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG, err);

	if (rc) {
		memset(c, 0, sizeof(*c));
		return rc;
	}
	rc = open_endpoint(c, r.domain, r.path, "pull", NULL, opts,
			   src->insecure, err);
	if (!rc)
		rc = probe(c, &r, arg, err);
	hoist_ref_release(&r);
	return rc;
}

int hoist_regconn_open_pull(struct hoist_regconn *c, const char *ref,
			    const struct hoist_regconn_opts *opts,
			    hoist_regconn_probe_fn probe, void *arg,
			    struct hoist_err *err)
{
	const struct hoist_regconf *conf;
	struct hoist_regconf_source *src = NULL;
	char q[HOIST_QUOTE_BUF];
	size_t n = 0, failed = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = hoist_regconf_system(&conf, err);
	if (!rc)
		rc = hoist_regconf_sources(conf, ref, 1, &src, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		struct hoist_err merr;
		int last = i + 1 == n;

		hoist_err_clear(&merr);
		rc = try_source(c, &src[i], opts, probe, arg,
				last ? err : &merr);
		hoist_err_quote(q, sizeof(q), c->host, HOIST_QUOTE_ALL, 0);
		if (!rc) {
			if (src[i].mirror)
				hoist_log(HOIST_LOG_INFO,
					  "pulling through mirror '%s'", q);
			break;
		}
		if (last)
			break;
		/* the command's deadline or a signal: no point going on */
		if (rc == HOIST_ETIMEDOUT || rc == HOIST_EINTR) {
			if (err)
				*err = merr;
			break;
		}
		hoist_err_quote(q, sizeof(q), src[i].ref, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		hoist_log(HOIST_LOG_INFO, "mirror '%s' skipped: %s", q,
			  hoist_err_msg(&merr));
		hoist_regconn_close(c);
		failed++;
		rc = 0;
	}
	if (rc && failed)
		hoist_err_prefix(err, "%zu mirror%s failed, then", failed,
				 failed > 1 ? "s" : "");
	hoist_regconf_sources_free(src, n);
	return rc;
}

void hoist_regconn_close(struct hoist_regconn *c)
{
	hoist_auth_free(c->auth);
	pool_put(c->host, c->own.max_concurrent > 0 ? c->own.max_concurrent : 4,
		 c->http);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->host);
	free(c->base);
	free(c->repo);
	free(c->scope);
	free(c->challenge);
	memset(c, 0, sizeof(*c));
}
