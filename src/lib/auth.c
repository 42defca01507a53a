/*
 * auth.c: the authentication state of one registry: turns challenges into
 * an Authorization header, Basic or a Bearer token fetched from the realm
 * and cached per scope set, refreshed before it expires.
 *
 * hoist_auth_header_for attaches credentials only to the registry's own
 * origin; realm.c decides which realms may be asked; error messages are
 * built from names, never from passwords, tokens or response bodies.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/auth.h"
#include "lib/challenge.h"
#include "lib/realm.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/url.h"
#include "util/banned.h"

#define TOKEN_BODY_MAX (64 * 1024)
#define TOKEN_MIN_LIFE 60
#define TOKEN_MAX_LIFE (366L * 86400)
#define SCOPE_RECS_MAX 64

static char *dup_or_null(const char *s)
{
	return s ? hoist_xstrdup(s) : NULL;
}

struct scope_rec {
	char *key;      /* sorted scopes joined by ' ' */
	char *token;    /* NULL when none is held */
	int64_t expiry; /* Unix seconds */
	int64_t fetched_at;
	int pending_retry;     /* a 401 asked for a new token */
	int fetched_for_retry; /* the token held answers such a 401 */
	uint64_t used;         /* tick of last use, for eviction */
};

enum auth_kind { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct hoist_auth {
	struct hoist_http *http;
	char *base_url;
	struct hoist_url_origin origin; /* of base_url */
	struct hoist_creds creds;
	const struct hoist_http_tls *tls;
	enum auth_kind kind;
	char *realm, *service, *chal_scope;
	char *refresh_token;
	struct scope_rec *recs;
	size_t nrecs;
	uint64_t tick;
};

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int hoist_auth_new(struct hoist_auth **out, struct hoist_http *http,
		   const char *base_url, const struct hoist_creds *creds,
		   const struct hoist_http_tls *tls, struct hoist_err *err)
{
	struct hoist_auth *a = hoist_xcalloc(1, sizeof(*a));
	int rc;

	*out = NULL;
	a->http = http;
	a->tls = tls;
	rc = hoist_url_origin(&a->origin, base_url, err);
	if (rc) {
		hoist_err_prefix(err, "registry URL");
		goto fail;
	}
	a->base_url = hoist_xstrdup(base_url);
	if (creds) {
		a->creds.username = dup_or_null(creds->username);
		a->creds.password = dup_or_null(creds->password);
		a->creds.identity_token = dup_or_null(creds->identity_token);
		a->creds.registry_token = dup_or_null(creds->registry_token);
		a->refresh_token = dup_or_null(creds->identity_token);
	}
	*out = a;
	return 0;
fail:
	hoist_auth_free(a);
	return rc;
}

static void drop_tokens(struct hoist_auth *a)
{
	for (size_t i = 0; i < a->nrecs; i++) {
		hoist_free_secret(a->recs[i].token);
		a->recs[i].token = NULL;
		a->recs[i].pending_retry = 0;
		a->recs[i].fetched_for_retry = 0;
	}
}

void hoist_auth_free(struct hoist_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nrecs; i++) {
		hoist_free_secret(a->recs[i].token);
		free(a->recs[i].key);
	}
	free(a->recs);
	hoist_creds_release(&a->creds);
	hoist_free_secret(a->refresh_token);
	free(a->base_url);
	free(a->realm);
	free(a->service);
	free(a->chal_scope);
	free(a);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/*
 * The scope set as a sorted array of unique scopes (caller frees the array
 * and the strings). Scopes given with spaces are split, as the challenge
 * joins several with spaces.
 */
static char **scope_set(const char *const *scopes, size_t nscopes, size_t *n)
{
	char **v = NULL;
	size_t count = 0, out = 0;

	for (size_t i = 0; i < nscopes; i++) {
		const char *s = scopes[i];
		while (s && *s) {
			size_t len = strcspn(s, " ");
			if (len) {
				v = hoist_xreallocarray(v, count + 1,
							sizeof(*v));
				v[count++] = hoist_xstrndup(s, len);
			}
			s += len;
			while (*s == ' ')
				s++;
		}
	}
	if (count)
		qsort(v, count, sizeof(*v), cmp_str);
	for (size_t i = 0; i < count; i++) {
		if (out && strcmp(v[out - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[out++] = v[i];
	}
	*n = out;
	return v;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char *join_strv(char **v, size_t n, const char *sep)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++) {
		if (i)
			hoist_buf_adds(&b, sep, NULL);
		hoist_buf_adds(&b, v[i], NULL);
	}
	return hoist_buf_detach(&b, NULL);
}

static struct scope_rec *rec_get(struct hoist_auth *a, const char *key)
{
	struct scope_rec *r;

	for (size_t i = 0; i < a->nrecs; i++)
		if (strcmp(a->recs[i].key, key) == 0)
			return &a->recs[i];
	if (a->nrecs >= SCOPE_RECS_MAX) {
		/* evict the least recently used scope set */
		size_t old = 0;
		for (size_t i = 1; i < a->nrecs; i++)
			if (a->recs[i].used < a->recs[old].used)
				old = i;
		hoist_free_secret(a->recs[old].token);
		free(a->recs[old].key);
		a->recs[old] = a->recs[--a->nrecs];
	}
	a->recs = hoist_xreallocarray(a->recs, a->nrecs + 1, sizeof(*a->recs));
	r = &a->recs[a->nrecs++];
	memset(r, 0, sizeof(*r));
	r->key = hoist_xstrdup(key);
	return r;
}

/* A token goes into a header line: visible ASCII only. */
static int token_ok(const char *t)
{
	if (!t || !*t)
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

struct token_resp {
	char *token;
	char *refresh;
	int64_t expiry;
};

static int parse_token_body(struct token_resp *tr, const char *body, size_t len,
			    const char *realm_q, struct hoist_err *err)
{
	struct hoist_err jerr;
	json_t *doc = NULL, *ei;
	const char *tok, *iat, *rt;
	int64_t life = TOKEN_MIN_LIFE, now = now_s(), start = now;
	int rc = 0;

	if (hoist_json_parse(&doc, body, len, "token", &jerr) ||
	    !json_is_object(doc)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "token response from '%s' is not a JSON "
				   "object",
				   realm_q);
		goto out;
	}
	tok = hoist_json_str(doc, "token");
	if (!tok || !*tok)
		tok = hoist_json_str(doc, "access_token");
	if (!token_ok(tok)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "token response from '%s' has no usable "
				   "token",
				   realm_q);
		goto out;
	}
	ei = json_object_get(doc, "expires_in");
	if (json_is_integer(ei))
		life = json_integer_value(ei);
	else if (json_is_real(ei) && json_real_value(ei) < 1e12)
		life = (int64_t)json_real_value(ei);
	if (life < TOKEN_MIN_LIFE)
		life = TOKEN_MIN_LIFE;
	if (life > TOKEN_MAX_LIFE)
		life = TOKEN_MAX_LIFE;
	iat = hoist_json_str(doc, "issued_at");
	if (iat) {
		int64_t t = hoist_scan_rfc3339(iat);
		/* a clock ahead of ours must not stretch the lifetime */
		if (t > 0 && t < now)
			start = t;
	}
	rt = hoist_json_str(doc, "refresh_token");
	tr->token = hoist_xstrdup(tok);
	tr->refresh = token_ok(rt) ? hoist_xstrdup(rt) : NULL;
	tr->expiry = start + life;
out:
	json_decref(doc);
	return rc;
}

static void add_form(struct hoist_buf *b, const char *key, const char *value)
{
	char *e = hoist_http_escape(value);
	hoist_buf_printf(b, NULL, "%s%s=%s", b->len ? "&" : "", key, e);
	explicit_bzero(e, strlen(e));
	free(e);
}

static int do_token_request(struct hoist_auth *a, const char *method,
			    const char *url, const char *body,
			    const char *auth_line, int same_host,
			    struct hoist_http_response *resp,
			    struct hoist_err *err)
{
	struct hoist_http_request req;
	struct hoist_http_tls tls;
	const char *hdrs[3];
	size_t nh = 0;

	memset(&req, 0, sizeof(req));
	if (auth_line)
		hdrs[nh++] = auth_line;
	if (body)
		hdrs[nh++] = "Content-Type: application/x-www-form-urlencoded";
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.nheaders = nh;
	req.body_kind = body ? HOIST_HTTP_BODY_BUF : HOIST_HTTP_BODY_NONE;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.max_body = TOKEN_BODY_MAX;
	/*
	 * The registry's client certificate and its "insecure" setting
	 * belong to the registry: a realm elsewhere gets neither.
	 */
	if (a->tls && !same_host) {
		memset(&tls, 0, sizeof(tls));
		tls.ca_file = a->tls->ca_file;
		tls.ca_dir = a->tls->ca_dir;
		req.tls = &tls;
	} else {
		req.tls = a->tls;
	}
	memset(resp, 0, sizeof(*resp));
	return hoist_http_do(a->http, &req, resp, err);
}

static int fetch_token(struct hoist_auth *a, struct scope_rec *rec,
		       char **scopes, size_t n, struct hoist_err *err)
{
	struct hoist_http_response resp;
	struct token_resp tr = {NULL, NULL, 0};
	struct hoist_buf form = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED),
			 url = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	char q[HOIST_QUOTE_BUF], *basic = NULL, *up = NULL, *b64 = NULL;
	char *joined = NULL;
	int rc, have_resp = 0, same_host = 0;

	memset(&resp, 0, sizeof(resp));
	hoist_realm_quote(q, sizeof(q), a->realm);
	rc = hoist_realm_check(a->base_url, a->realm, err);
	if (rc)
		goto out;
	{
		struct hoist_url_origin ro;
		if (hoist_url_origin(&ro, a->realm, NULL) == 0)
			same_host = strcmp(ro.host, a->origin.host) == 0;
	}

	if (a->refresh_token) {
		/* OAuth2 (distribution's oauth.md), falling back to GET */
		joined = join_strv(scopes, n, " ");
		add_form(&form, "grant_type", "refresh_token");
		add_form(&form, "refresh_token", a->refresh_token);
		add_form(&form, "client_id", "hoist");
		if (a->service)
			add_form(&form, "service", a->service);
		if (n)
			add_form(&form, "scope", joined);
		rc = do_token_request(a, "POST", a->realm, form.data, NULL,
				      same_host, &resp, err);
		have_resp = 1; /* filled even on failure */
		if (rc)
			goto transport;
		if (resp.status == 200)
			goto got;
		if (resp.status != 400 && resp.status != 401 &&
		    resp.status != 403 && resp.status != 404 &&
		    resp.status != 405)
			goto status;
		hoist_http_response_release(&resp);
		have_resp = 0;
	}

	hoist_buf_adds(&url, a->realm, NULL);
	hoist_buf_addch(&url, strchr(a->realm, '?') ? '&' : '?', NULL);
	{
		struct hoist_buf qs = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		if (a->service)
			add_form(&qs, "service", a->service);
		for (size_t i = 0; i < n; i++)
			add_form(&qs, "scope", scopes[i]);
		if (a->creds.username && *a->creds.username)
			add_form(&qs, "account", a->creds.username);
		hoist_buf_adds(&url, qs.data, NULL);
		hoist_buf_release(&qs);
	}
	if (url.data[url.len - 1] == '?' || url.data[url.len - 1] == '&')
		url.data[--url.len] = '\0';
	if (a->creds.username && a->creds.password) {
		up = hoist_xasprintf("%s:%s", a->creds.username,
				     a->creds.password);
		b64 = hoist_base64_encode(up, strlen(up));
		basic = hoist_xasprintf("Authorization: Basic %s", b64);
	}
	rc = do_token_request(a, "GET", url.data, NULL, basic, same_host, &resp,
			      err);
	have_resp = 1;
	if (rc)
		goto transport;
	if (resp.status != 200)
		goto status;
got:
	rc = parse_token_body(&tr, resp.body.data, resp.body.len, q, err);
	if (rc)
		goto out;
	hoist_free_secret(rec->token);
	rec->token = tr.token;
	tr.token = NULL;
	rec->expiry = tr.expiry;
	rec->fetched_at = now_s();
	rec->fetched_for_retry = rec->pending_retry;
	rec->pending_retry = 0;
	if (tr.refresh) {
		hoist_free_secret(a->refresh_token);
		a->refresh_token = tr.refresh;
		tr.refresh = NULL;
	}
	goto out;
status:
	rc = hoist_err_set(
		err,
		resp.status == 401 || resp.status == 403 ? HOIST_EAUTH
							 : HOIST_EHTTP,
		"token server '%s' answered HTTP %d", q, resp.status);
	if (err)
		err->http_status = resp.status;
	goto out;
transport:
	hoist_err_prefix(err, "fetch token from '%s'", q);
out:
	if (have_resp) {
		explicit_bzero(resp.body.data, resp.body.len);
		hoist_http_response_release(&resp);
	}
	hoist_free_secret(tr.token);
	hoist_free_secret(tr.refresh);
	hoist_free_secret(basic);
	hoist_free_secret(b64);
	hoist_free_secret(up);
	if (form.len)
		explicit_bzero(form.data, form.len);
	hoist_buf_release(&form);
	hoist_buf_release(&url);
	free(joined);
	return rc;
}

/*
 * Tokens shared by every hoist_auth of the process: a sync copies several
 * images at once, each with connections of its own. An entry is keyed by
 * the registry's origin, the realm and service, a digest of the
 * credentials and the scope set, so a token only goes where the same
 * request would have fetched it. Fetches take turns (fetch_lock), so
 * images that need the same scopes at once ask the realm once.
 */
#define SHARED_MAX 256

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fetch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static struct {
	char *key;
	char *token;
	int64_t expiry, fetched_at;
} shared[SHARED_MAX];
static size_t nshared;

static void shared_remove(size_t i)
{
	free(shared[i].key);
	hoist_free_secret(shared[i].token);
	shared[i] = shared[--nshared];
}

static void shared_drain(void)
{
	pthread_mutex_lock(&shared_lock);
	while (nshared)
		shared_remove(nshared - 1);
	pthread_mutex_unlock(&shared_lock);
}

static void shared_init(void)
{
	atexit(shared_drain);
}

static void hash_field(struct hoist_sha256 *h, const char *s)
{
	/* NULL and "" differ; NUL ends each field */
	hoist_sha256_update(h, s ? "s" : "n", 1);
	if (s)
		hoist_sha256_update(h, s, strlen(s) + 1);
}

/* The shared key of a's scope set scopes (joined); caller frees. */
static char *shared_key(const struct hoist_auth *a, const char *scopes)
{
	struct hoist_sha256 h;
	char hex[HOIST_SHA256_HEXLEN + 1];

	hoist_sha256_init(&h);
	hash_field(&h, a->creds.username);
	hash_field(&h, a->creds.password);
	hash_field(&h, a->creds.identity_token);
	hash_field(&h, a->creds.registry_token);
	hoist_sha256_final_hex(&h, hex);
	return hoist_xasprintf("%s://%s:%d\n%s\n%s\n%s\n%s", a->origin.scheme,
			       a->origin.host, a->origin.port,
			       a->realm ? a->realm : "",
			       a->service ? a->service : "", hex, scopes);
}

static size_t shared_find(const char *key)
{
	size_t i;

	for (i = 0; i < nshared; i++)
		if (strcmp(shared[i].key, key) == 0)
			break;
	return i;
}

/* Copy a shared token with margin_s of life left into rec: 1, else 0. */
static int shared_get(const char *key, struct scope_rec *rec, long margin_s)
{
	size_t i;
	int got = 0;

	pthread_mutex_lock(&shared_lock);
	i = shared_find(key);
	if (i < nshared && shared[i].expiry - now_s() >= margin_s) {
		hoist_free_secret(rec->token);
		rec->token = hoist_xstrdup(shared[i].token);
		rec->expiry = shared[i].expiry;
		rec->fetched_at = shared[i].fetched_at;
		got = 1;
	}
	pthread_mutex_unlock(&shared_lock);
	return got;
}

/* Share rec's token (the one expiring first goes when full). */
static void shared_set(const char *key, const struct scope_rec *rec)
{
	size_t i;

	pthread_once(&shared_once, shared_init);
	pthread_mutex_lock(&shared_lock);
	i = shared_find(key);
	if (i == nshared && nshared == SHARED_MAX) {
		size_t old = 0;
		for (size_t k = 1; k < nshared; k++)
			if (shared[k].expiry < shared[old].expiry)
				old = k;
		shared_remove(old);
		i = nshared;
	}
	if (i == nshared) {
		shared[i].key = hoist_xstrdup(key);
		shared[i].token = NULL;
		nshared++;
	}
	hoist_free_secret(shared[i].token);
	shared[i].token = hoist_xstrdup(rec->token);
	shared[i].expiry = rec->expiry;
	shared[i].fetched_at = rec->fetched_at;
	pthread_mutex_unlock(&shared_lock);
}

/* Forget the shared token for key if it is token (the registry refused
 * it); a newer one another image fetched stays. */
static void shared_drop(const char *key, const char *token)
{
	size_t i;

	pthread_mutex_lock(&shared_lock);
	i = shared_find(key);
	if (i < nshared && token && strcmp(shared[i].token, token) == 0)
		shared_remove(i);
	pthread_mutex_unlock(&shared_lock);
}

static int same_origin(struct hoist_auth *a, const char *url,
		       struct hoist_err *err)
{
	struct hoist_url_origin o;
	int rc = hoist_url_origin(&o, url, err);

	if (rc)
		return rc;
	return strcmp(o.scheme, a->origin.scheme) == 0 &&
	       strcmp(o.host, a->origin.host) == 0 && o.port == a->origin.port;
}

/*
 * A token for rec (scope set key, scopes set[n]): one another hoist_auth
 * shares when it has margin_s left, else a fetch whose token is shared.
 */
static int fetch_shared(struct hoist_auth *a, struct scope_rec *rec,
			const char *key, char **set, size_t n, long margin_s,
			struct hoist_err *err)
{
	char *skey = shared_key(a, key);
	int rc = 0;

	pthread_mutex_lock(&fetch_lock);
	if (shared_get(skey, rec, margin_s)) {
		rec->fetched_for_retry = rec->pending_retry;
		rec->pending_retry = 0;
	} else {
		rc = fetch_token(a, rec, set, n, err);
		if (!rc)
			shared_set(skey, rec);
	}
	pthread_mutex_unlock(&fetch_lock);
	free(skey);
	return rc;
}

/*
 * The Authorization line for a request needing scopes, or NULL. With
 * fetch, a missing or expiring token is fetched; without, only a valid
 * token already held is used and nothing changes.
 */
static int line_for(struct hoist_auth *a, const char *const *scopes,
		    size_t nscopes, long margin_s, int fetch, char **line,
		    struct hoist_err *err)
{
	char **set = NULL, *key = NULL, *b64 = NULL, *up = NULL;
	size_t n = 0;
	struct scope_rec *rec = NULL;
	int rc = 0;

	*line = NULL;
	switch (a->kind) {
	case AUTH_NONE:
		break;
	case AUTH_BASIC:
		if (!a->creds.username || !a->creds.password)
			break;
		up = hoist_xasprintf("%s:%s", a->creds.username,
				     a->creds.password);
		b64 = hoist_base64_encode(up, strlen(up));
		*line = hoist_xasprintf("Authorization: Basic %s", b64);
		break;
	case AUTH_BEARER:
		if (a->creds.registry_token) {
			*line = hoist_xasprintf("Authorization: Bearer %s",
						a->creds.registry_token);
			break;
		}
		set = scope_set(scopes, nscopes, &n);
		if (!n && a->chal_scope) {
			const char *cs = a->chal_scope;
			free_strv(set, n);
			set = scope_set(&cs, 1, &n);
		}
		key = join_strv(set, n, " ");
		if (fetch) {
			rec = rec_get(a, key);
			rec->used = ++a->tick;
			if (margin_s < 0)
				margin_s = 0;
			if (!rec->token || rec->expiry - now_s() < margin_s) {
				rc = fetch_shared(a, rec, key, set, n, margin_s,
						  err);
				if (rc)
					break;
			}
		} else {
			for (size_t i = 0; i < a->nrecs && !rec; i++)
				if (strcmp(a->recs[i].key, key) == 0 &&
				    a->recs[i].token &&
				    a->recs[i].expiry > now_s())
					rec = &a->recs[i];
			if (!rec)
				break;
		}
		*line = hoist_xasprintf("Authorization: Bearer %s", rec->token);
		break;
	}
	hoist_free_secret(up);
	hoist_free_secret(b64);
	free_strv(set, n);
	free(key);
	return rc;
}

int hoist_auth_header_for(struct hoist_auth *a, const char *url,
			  const char *const *scopes, size_t nscopes,
			  long margin_s, char **line, struct hoist_err *err)
{
	int rc;

	*line = NULL;
	rc = same_origin(a, url, err);
	if (rc <= 0)
		return rc;
	return line_for(a, scopes, nscopes, margin_s, 1, line, err);
}

int hoist_auth_superseded(struct hoist_auth *a, const char *sent,
			  const char *const *scopes, size_t nscopes)
{
	char *cur = NULL;
	int rc;

	line_for(a, scopes, nscopes, 0, 0, &cur, NULL);
	rc = cur && (!sent || strcmp(sent, cur) != 0);
	hoist_free_secret(cur);
	return rc;
}

/* Bearer beats Basic; other schemes are not ours. */
static const struct hoist_challenge *
pick_challenge(const struct hoist_challenge *c, size_t n)
{
	const struct hoist_challenge *basic = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].scheme, "bearer") == 0)
			return &c[i];
		if (strcmp(c[i].scheme, "basic") == 0 && !basic)
			basic = &c[i];
	}
	return basic;
}

static int streq_null(const char *x, const char *y)
{
	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

int hoist_auth_on_401(struct hoist_auth *a, const char *www_authenticate,
		      const char *const *scopes, size_t nscopes,
		      struct hoist_err *err)
{
	struct hoist_challenge *list = NULL;
	const struct hoist_challenge *c;
	enum auth_kind kind;
	const char *realm, *service, *scope;
	char **set = NULL, *key = NULL;
	size_t n = 0, nset = 0;
	struct scope_rec *rec;
	int rc;

	if (!www_authenticate || !*www_authenticate)
		return 0; /* nothing to answer: the caller fails */
	rc = hoist_challenge_parse(&list, &n, www_authenticate, err);
	if (rc)
		return rc;
	c = pick_challenge(list, n);
	if (!c) {
		rc = hoist_err_set(err, HOIST_EUNSUPPORTED,
				   "unsupported authentication scheme '%s'",
				   list[0].scheme);
		goto out;
	}
	kind = strcmp(c->scheme, "bearer") == 0 ? AUTH_BEARER : AUTH_BASIC;
	realm = hoist_challenge_get(c, "realm");
	service = hoist_challenge_get(c, "service");
	scope = hoist_challenge_get(c, "scope");
	if (kind == AUTH_BEARER && (!realm || !*realm)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "bearer challenge without a realm");
		goto out;
	}
	free(a->chal_scope);
	a->chal_scope = dup_or_null(scope);

	set = scope_set(scopes, nscopes, &nset);
	if (!nset && scope) {
		free_strv(set, nset);
		set = scope_set(&scope, 1, &nset);
	}
	key = join_strv(set, nset, " ");

	if (kind != a->kind ||
	    (kind == AUTH_BEARER && (!streq_null(realm, a->realm) ||
				     !streq_null(service, a->service)))) {
		/* a new challenge: what we hold belongs to another one */
		a->kind = kind;
		free(a->realm);
		free(a->service);
		a->realm = kind == AUTH_BEARER ? hoist_xstrdup(realm) : NULL;
		a->service = kind == AUTH_BEARER ? dup_or_null(service) : NULL;
		drop_tokens(a);
		if (kind == AUTH_BASIC) {
			rc = a->creds.username && a->creds.password ? 1 : 0;
			goto out;
		}
		rec = rec_get(a, key);
		rec->pending_retry = 1;
		rc = 1;
		goto out;
	}
	if (kind == AUTH_BASIC || a->creds.registry_token) {
		rc = 0; /* the very same credentials were refused */
		goto out;
	}
	rec = rec_get(a, key);
	/*
	 * A token fetched to answer a 401 and refused again (soon after) is
	 * final; an older one may have been revoked or outlived on the
	 * server's clock, so it is worth one more token.
	 */
	if (rec->token && rec->fetched_for_retry &&
	    now_s() - rec->fetched_at < TOKEN_MIN_LIFE) {
		rc = 0;
		goto out;
	}
	if (rec->token) {
		/* nobody gets it from the shared tokens again */
		char *skey = shared_key(a, key);
		shared_drop(skey, rec->token);
		free(skey);
	}
	hoist_free_secret(rec->token);
	rec->token = NULL;
	rec->pending_retry = 1;
	rc = 1;
out:
	hoist_challenge_free(list, n);
	free_strv(set, nset);
	free(key);
	return rc;
}
