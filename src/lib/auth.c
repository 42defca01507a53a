/*
 * auth.c: registry authentication. Parses WWW-Authenticate challenges,
 * finds credentials (containers auth.json, docker config.json, credential
 * helpers), stores them as `docker login` does, and turns a challenge into
 * an Authorization header: Basic, or a Bearer token fetched from the realm
 * and cached per scope set.
 *
 * Every decision about where a credential may go is made in this file:
 * hoist_auth_header_for refuses other origins, realm_check refuses realms
 * that could harvest credentials, and error messages are built from
 * names, never from passwords, tokens or response bodies.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/auth.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

extern char **environ;

#define CHAL_MAX_INPUT 8192
#define CHAL_MAX 16
#define CHAL_MAX_PARAMS 32
#define CRED_FILE_MAX (1024 * 1024)
#define HELPER_OUT_MAX (64 * 1024)
#define HELPER_IN_MAX (16 * 1024)
#define TOKEN_BODY_MAX (64 * 1024)
#define TOKEN_MIN_LIFE 60
#define TOKEN_MAX_LIFE (366L * 86400)
#define SCOPE_RECS_MAX 64
#define HUB_KEY "https://index.docker.io/v1/"
#define HUB_REALM_HOST "auth.docker.io"

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* base64 (RFC 4648, with padding), for Basic and config.json "auth" */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *in, size_t len)
{
	char *out = hoist_xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = b64chars[v >> 6 & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < len) {
		unsigned v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0);
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

/* Strict decoding as Go's StdEncoding; padding may be left out. */
static int b64_decode(char **out, size_t *outlen, const char *s)
{
	size_t len = strlen(s), n = 0;
	unsigned v = 0;
	int bits = 0;
	char *o;

	while (len && s[len - 1] == '=')
		len--;
	if (strlen(s) - len > 2 || len % 4 == 1)
		return -1;
	o = hoist_xmalloc(len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		int d = b64_val(s[i]);
		if (d < 0) {
			explicit_bzero(o, n);
			free(o);
			return -1;
		}
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (char)(v >> bits & 0xff);
		}
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

/* ---- WWW-Authenticate (RFC 7235 section 4.1, 2.1) ---- */

static int is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_t68char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("-._~+/", c));
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = hoist_xstrndup(s, n);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

struct cparse {
	const char *s;
	size_t i;
	const char *why;
	int limit; /* the failure is a cap, not bad syntax */
};

static size_t skip_ows(const char *s, size_t i)
{
	while (is_ows(s[i]))
		i++;
	return i;
}

/* quoted-string at p->s[p->i] == '"'; decoded into *out */
static int parse_quoted(struct cparse *p, char **out)
{
	struct hoist_buf b;
	const unsigned char *s = (const unsigned char *)p->s;
	size_t i = p->i + 1;

	hoist_buf_init(&b, CHAL_MAX_INPUT);
	for (;;) {
		unsigned char c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			c = s[++i];
			if (!(c == '\t' || (c >= 0x20 && c != 0x7f))) {
				p->why = c ? "bad escape in quoted string"
					   : "unterminated quoted string";
				goto fail;
			}
		} else if (!c) {
			p->why = "unterminated quoted string";
			goto fail;
		} else if (!(c == '\t' || (c >= 0x20 && c != 0x7f))) {
			p->why = "control character in quoted string";
			goto fail;
		}
		hoist_buf_addch(&b, (char)c, NULL);
		i++;
	}
	p->i = i + 1;
	*out = hoist_buf_detach(&b, NULL);
	return 0;
fail:
	p->i = i;
	hoist_buf_release(&b);
	return -1;
}

static void chal_add_param(struct hoist_auth_challenge *c, char *key,
			   char *value)
{
	c->params = hoist_xreallocarray(c->params, c->nparams + 1,
					sizeof(*c->params));
	c->params[c->nparams].key = key;
	c->params[c->nparams].value = value;
	c->nparams++;
}

/* auth-param at p->i: token BWS "=" BWS ( token / quoted-string ) */
static int parse_param(struct cparse *p, struct hoist_auth_challenge *c)
{
	const char *s = p->s;
	size_t i = p->i, k;
	char *key, *value;

	while (is_tchar((unsigned char)s[i]))
		i++;
	if (i == p->i) {
		p->why = "expected a parameter name";
		return -1;
	}
	key = lower_dup(s + p->i, i - p->i);
	i = skip_ows(s, i);
	if (s[i] != '=') {
		p->i = i;
		p->why = "expected '=' after a parameter name";
		free(key);
		return -1;
	}
	i = skip_ows(s, i + 1);
	p->i = i;
	if (s[i] == '"') {
		if (parse_quoted(p, &value) < 0) {
			free(key);
			return -1;
		}
	} else {
		/*
		 * RFC 7235 wants a token here, but servers send bare URLs
		 * (realm=https://...); take any visible character up to the
		 * next separator.
		 */
		for (k = i;
		     (unsigned char)s[k] > 0x20 && (unsigned char)s[k] < 0x7f &&
		     s[k] != ',' && s[k] != '"';
		     k++)
			;
		if (k == i) {
			p->why = "expected a parameter value";
			free(key);
			return -1;
		}
		value = hoist_xstrndup(s + i, k - i);
		p->i = k;
	}
	for (size_t j = 0; j < c->nparams; j++) {
		if (strcmp(c->params[j].key, key) == 0) {
			p->why = "duplicate parameter";
			free(key);
			free(value);
			return -1;
		}
	}
	if (c->nparams >= CHAL_MAX_PARAMS) {
		p->why = "too many parameters";
		p->limit = 1;
		free(key);
		free(value);
		return -1;
	}
	chal_add_param(c, key, value);
	return 0;
}

/* After an element: OWS, then the end or a comma. */
static int expect_sep(struct cparse *p)
{
	p->i = skip_ows(p->s, p->i);
	if (p->s[p->i] && p->s[p->i] != ',') {
		p->why = "expected ','";
		return -1;
	}
	return 0;
}

void hoist_auth_challenges_free(struct hoist_auth_challenge *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].scheme);
		for (size_t j = 0; j < c[i].nparams; j++) {
			free(c[i].params[j].key);
			free(c[i].params[j].value);
		}
		free(c[i].params);
	}
	free(c);
}

int hoist_auth_parse_challenges(struct hoist_auth_challenge **out, size_t *n,
				const char *value, struct hoist_err *err)
{
	struct hoist_auth_challenge *list = NULL, *cur = NULL;
	struct cparse p = {value, 0, NULL, 0};
	size_t count = 0, len = value ? strlen(value) : 0;
	char q[HOIST_QUOTE_BUF];
	int rc = HOIST_EINVAL;

	*out = NULL;
	*n = 0;
	if (len > CHAL_MAX_INPUT)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "WWW-Authenticate header longer than %d "
				     "bytes",
				     CHAL_MAX_INPUT);
	if (!value)
		value = p.s = "";
	for (;;) {
		const char *s = p.s;
		size_t i, j, k, m;
		int after_comma = 0;

		/* list rule: empty elements and OWS around commas are fine */
		while (s[p.i] == ',' || is_ows(s[p.i])) {
			after_comma |= s[p.i] == ',';
			p.i++;
		}
		if (!s[p.i])
			break;
		if (cur && !after_comma) {
			p.why = "expected ','";
			goto fail;
		}
		i = p.i;
		for (j = i; is_tchar((unsigned char)s[j]); j++)
			;
		if (j == i) {
			p.why = "expected an authentication scheme";
			goto fail;
		}
		k = skip_ows(s, j);
		if (cur && s[k] == '=') {
			/* another parameter of the current challenge */
			if (cur->nparams && !cur->params[0].key[0]) {
				p.why = "parameter after a token68";
				goto fail;
			}
			if (parse_param(&p, cur) < 0 || expect_sep(&p) < 0)
				goto fail;
			continue;
		}
		/* a new challenge: auth-scheme [ 1*SP ( token68 / params ) ] */
		if (count >= CHAL_MAX) {
			rc = HOIST_ELIMIT;
			p.why = "too many challenges";
			goto fail;
		}
		list = hoist_xreallocarray(list, count + 1, sizeof(*list));
		cur = &list[count++];
		memset(cur, 0, sizeof(*cur));
		cur->scheme = lower_dup(s + i, j - i);
		p.i = k;
		if (!s[k] || s[k] == ',')
			continue;
		if (k == j) {
			p.why = "expected a space after the scheme";
			goto fail;
		}
		for (m = k; is_t68char((unsigned char)s[m]); m++)
			;
		if (m > k) {
			size_t end = m, e;
			while (s[end] == '=')
				end++;
			e = skip_ows(s, end);
			if (!s[e] || s[e] == ',') {
				chal_add_param(cur, hoist_xstrdup(""),
					       hoist_xstrndup(s + k, end - k));
				p.i = e;
				continue;
			}
		}
		if (parse_param(&p, cur) < 0 || expect_sep(&p) < 0)
			goto fail;
	}
	if (!count) {
		p.why = "no challenge";
		goto fail;
	}
	*out = list;
	*n = count;
	return 0;
fail:
	hoist_auth_challenges_free(list, count);
	if (p.limit)
		rc = HOIST_ELIMIT;
	hoist_err_quote(q, sizeof(q), value, HOIST_QUOTE_ALL, 0);
	return hoist_err_set(err, rc,
			     "invalid WWW-Authenticate header '%s': %s at "
			     "offset %zu",
			     q, p.why, p.i);
}

const char *hoist_auth_param(const struct hoist_auth_challenge *c,
			     const char *key)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (strcasecmp(c->params[i].key, key) == 0)
			return c->params[i].value;
	return NULL;
}

/* ---- credentials ---- */

void hoist_creds_release(struct hoist_creds *c)
{
	if (!c)
		return;
	wipe_free(c->username);
	wipe_free(c->password);
	wipe_free(c->identity_token);
	wipe_free(c->registry_token);
	memset(c, 0, sizeof(*c));
}

static char *dup_or_null(const char *s)
{
	return s ? hoist_xstrdup(s) : NULL;
}

static long helper_timeout_ms = 30000;

void hoist_creds_set_helper_timeout(long ms)
{
	helper_timeout_ms = ms > 0 ? ms : 30000;
}

static int helper_name_ok(const char *suffix)
{
	if (!*suffix || strlen(suffix) > 128)
		return 0;
	for (const char *c = suffix; *c; c++)
		if (*c == '/' || (unsigned char)*c <= 0x20 ||
		    (unsigned char)*c >= 0x7f)
			return 0;
	return 1;
}

/*
 * Run docker-credential-<suffix> <action> with input on stdin and collect
 * at most HELPER_OUT_MAX bytes of stdout. stdin is a socket so that a
 * helper exiting without reading gives EPIPE (MSG_NOSIGNAL), not SIGPIPE
 * in the caller. A helper running longer than the timeout is killed.
 * *status is the exit status, or -1 when it died from a signal.
 */
static int helper_run(const char *suffix, const char *action, const char *input,
		      size_t inlen, struct hoist_buf *out, int *status,
		      struct hoist_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int in[2] = {-1, -1}, outp[2] = {-1, -1};
	char *name = NULL, *argv[3];
	pid_t pid = -1;
	int rc = 0, wst = 0, reaped = 0, fa_init = 0, attr_init = 0;
	size_t sent = 0;
	int64_t deadline;

	if (!helper_name_ok(suffix))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid credential helper name");
	name = hoist_xasprintf("docker-credential-%s", suffix);
	if (inlen > HELPER_IN_MAX) {
		rc = hoist_err_set(err, HOIST_ELIMIT,
				   "credential helper '%s': input too long",
				   name);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0) {
		rc = hoist_err_sys(err, errno, "credential helper '%s'", name);
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	fa_init = 1;
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&attr);
	attr_init = 1;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	argv[0] = name;
	argv[1] = (char *)action;
	argv[2] = NULL;
	rc = posix_spawnp(&pid, name, &fa, &attr, argv, environ);
	if (rc) {
		int e = rc;
		pid = -1;
		if (e == ENOENT)
			rc = hoist_err_set(err, HOIST_EAUTH,
					   "credential helper '%s' not found "
					   "in PATH",
					   name);
		else
			rc = hoist_err_sys(err, e, "run credential helper '%s'",
					   name);
		goto out;
	}
	close(in[1]);
	close(outp[1]);
	in[1] = outp[1] = -1;
	fcntl(in[0], F_SETFL, O_NONBLOCK);
	if (!inlen)
		shutdown(in[0], SHUT_WR);

	deadline = hoist_clock_ms() + helper_timeout_ms;
	while (outp[0] >= 0) {
		struct pollfd pf[2];
		int nf = 0, left = (int)(deadline - hoist_clock_ms());

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &wst, 0);
			reaped = 1;
			rc = hoist_err_set(err, HOIST_EAUTH,
					   "credential helper '%s' %s: timed "
					   "out after %ld ms",
					   name, action, helper_timeout_ms);
			goto out;
		}
		pf[nf].fd = outp[0];
		pf[nf++].events = POLLIN;
		if (sent < inlen) {
			pf[nf].fd = in[0];
			pf[nf++].events = POLLOUT;
		}
		if (poll(pf, (nfds_t)nf, left) < 0) {
			if (errno == EINTR)
				continue;
			rc = hoist_err_sys(err, errno, "credential helper '%s'",
					   name);
			goto out;
		}
		if (nf > 1 && pf[1].revents) {
			ssize_t w = send(in[0], input + sent, inlen - sent,
					 MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				sent = inlen; /* it stopped reading */
			if (sent >= inlen)
				shutdown(in[0], SHUT_WR);
		}
		if (pf[0].revents) {
			char chunk[4096];
			ssize_t r = read(outp[0], chunk, sizeof(chunk));
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				rc = hoist_err_sys(err, errno,
						   "read from credential "
						   "helper '%s'",
						   name);
				goto out;
			}
			if (r == 0) {
				close(outp[0]);
				outp[0] = -1;
			} else if (r > 0 &&
				   hoist_buf_add(out, chunk, (size_t)r, NULL)) {
				rc = hoist_err_set(err, HOIST_ELIMIT,
						   "credential helper '%s' "
						   "%s: output longer than "
						   "%d bytes",
						   name, action,
						   HELPER_OUT_MAX);
				goto out;
			}
		}
	}
	/* stdout is closed; give the process the rest of the time to exit */
	for (;;) {
		pid_t w = waitpid(pid, &wst, WNOHANG);
		if (w == pid) {
			reaped = 1;
			break;
		}
		if (w < 0 && errno != EINTR) {
			reaped = 1;
			rc = hoist_err_sys(err, errno, "wait for '%s'", name);
			goto out;
		}
		if (hoist_clock_ms() >= deadline) {
			rc = hoist_err_set(err, HOIST_EAUTH,
					   "credential helper '%s' %s: timed "
					   "out after %ld ms",
					   name, action, helper_timeout_ms);
			goto out;
		}
		usleep(2000);
	}
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
out:
	if (pid > 0 && !reaped) {
		kill(pid, SIGKILL);
		waitpid(pid, &wst, 0);
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	free(name);
	return rc;
}

/* The helper's own words for a failure: first line, escaped, short. */
static void helper_reason(char *q, size_t qlen, const struct hoist_buf *b)
{
	size_t n = strcspn(b->data, "\r\n");
	hoist_err_quote(q, qlen, b->data, n > 120 ? 120 : n, HOIST_QUOTE_UTF8);
}

static int helper_get(struct hoist_creds *out, const char *suffix,
		      const char *server, struct hoist_err *err)
{
	struct hoist_buf b;
	struct hoist_err jerr;
	char *input = hoist_xasprintf("%s\n", server), q[HOIST_QUOTE_BUF];
	json_t *doc = NULL;
	const char *user, *secret;
	int status = 0, rc;

	hoist_buf_init(&b, HELPER_OUT_MAX);
	rc = helper_run(suffix, "get", input, strlen(input), &b, &status, err);
	if (rc)
		goto out;
	if (status != 0) {
		if (strstr(b.data, "credentials not found")) {
			rc = HOIST_ENOTFOUND;
			hoist_err_set(err, rc, "no credentials for '%s'",
				      server);
			goto out;
		}
		helper_reason(q, sizeof(q), &b);
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "credential helper 'docker-credential-%s' "
				   "get: exit status %d: '%s'",
				   suffix, status, q);
		goto out;
	}
	if (hoist_json_parse(&doc, b.data, b.len, "helper output", &jerr) ||
	    !json_is_object(doc)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "credential helper 'docker-credential-%s' "
				   "get: output is not a JSON object",
				   suffix);
		goto out;
	}
	user = hoist_json_str(doc, "Username");
	secret = hoist_json_str(doc, "Secret");
	if (!secret || !*secret) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "no credentials for '%s'", server);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (user && strcmp(user, "<token>") == 0) {
		out->identity_token = hoist_xstrdup(secret);
	} else {
		out->username = hoist_xstrdup(user ? user : "");
		out->password = hoist_xstrdup(secret);
	}
out:
	json_decref(doc);
	explicit_bzero(b.data, b.len);
	hoist_buf_release(&b);
	free(input);
	return rc;
}

static int is_hub(const char *host)
{
	return strcasecmp(host, "docker.io") == 0 ||
	       strcasecmp(host, "index.docker.io") == 0 ||
	       strcasecmp(host, "registry-1.docker.io") == 0;
}

/*
 * The registry host of an auths/credHelpers key: scheme and path dropped,
 * Docker Hub's names folded to "docker.io". Caller frees.
 */
static char *key_host(const char *key)
{
	const char *p = strstr(key, "://");
	char *h;

	p = p ? p + 3 : key;
	h = hoist_xstrndup(p, strcspn(p, "/"));
	if (is_hub(h)) {
		free(h);
		h = hoist_xstrdup("docker.io");
	}
	return h;
}

/* An auths/credHelpers key with only the scheme and trailing '/' cut. */
static char *key_path(const char *key)
{
	const char *p = strstr(key, "://");
	char *k, *slash;
	size_t n;

	p = p ? p + 3 : key;
	k = hoist_xstrdup(p);
	n = strlen(k);
	if (n >= 4 &&
	    (strcmp(k + n - 4, "/v1/") == 0 || strcmp(k + n - 4, "/v2/") == 0))
		k[n - 3] = '\0';
	while ((n = strlen(k)) && k[n - 1] == '/')
		k[n - 1] = '\0';
	slash = strchr(k, '/');
	if (slash) {
		char *h = hoist_xstrndup(k, (size_t)(slash - k));
		if (is_hub(h)) {
			char *nk = hoist_xasprintf("docker.io%s", slash);
			free(k);
			k = nk;
		}
		free(h);
	} else if (is_hub(k)) {
		free(k);
		k = hoist_xstrdup("docker.io");
	}
	return k;
}

/* Decode one auths entry. ENOTFOUND for an entry with nothing usable. */
static int parse_entry(struct hoist_creds *out, const json_t *e,
		       const char *what, const char *path,
		       struct hoist_err *err)
{
	const char *auth = hoist_json_str(e, "auth");
	const char *idt = hoist_json_str(e, "identitytoken");
	const char *rt = hoist_json_str(e, "registrytoken");
	char *dec = NULL, *colon;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(e))
		return hoist_err_set(err, HOIST_EINVAL,
				     "'%s' in '%s': entry is not an object",
				     what, path);
	if (auth && *auth) {
		if (b64_decode(&dec, &len, auth) < 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "'%s' in '%s': 'auth' is not "
					     "base64",
					     what, path);
		while (len && dec[len - 1] == '\0')
			len--;
		colon = memchr(dec, ':', len);
		if (!colon || colon == dec || memchr(dec, '\0', len)) {
			explicit_bzero(dec, len);
			free(dec);
			return hoist_err_set(err, HOIST_EINVAL,
					     "'%s' in '%s': 'auth' is not "
					     "user:password",
					     what, path);
		}
		out->username = hoist_xstrndup(dec, (size_t)(colon - dec));
		out->password = hoist_xstrndup(colon + 1,
					       len - (size_t)(colon - dec) - 1);
		explicit_bzero(dec, len);
		free(dec);
	}
	if (idt && *idt)
		out->identity_token = hoist_xstrdup(idt);
	if (rt && *rt)
		out->registry_token = hoist_xstrdup(rt);
	if (!out->username && !out->identity_token && !out->registry_token)
		return HOIST_ENOTFOUND;
	return 0;
}

/*
 * Load a JSON credentials file. *doc is NULL when it does not exist. The
 * parse error keeps only the position: jansson quotes the bytes near a
 * syntax error, which could be a password.
 */
static int load_cred_file(json_t **doc, const char *path, struct hoist_err *err)
{
	struct hoist_err ferr;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*doc = NULL;
	hoist_err_clear(&ferr);
	rc = hoist_fs_read_file(&data, &len, path, CRED_FILE_MAX, &ferr);
	if (rc == HOIST_ENOTFOUND ||
	    (rc && (ferr.sys_errno == ENOTDIR || ferr.sys_errno == ENOENT)))
		return 0;
	if (rc) {
		if (err)
			*err = ferr;
		return rc;
	}
	if (hoist_json_parse(doc, data, len, "credentials", &ferr)) {
		const char *lc = strstr(ferr.msg, ": line ");
		if (lc)
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "parse '%s': %.*s", path,
					   (int)strcspn(lc + 2, ":"), lc + 2);
		else
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "parse '%s': invalid JSON", path);
		goto out;
	}
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "parse '%s': not a JSON object", path);
	}
out:
	explicit_bzero(data, len);
	free(data);
	return rc;
}

/* credHelpers entry for host (keys compared by registry host). */
static const char *find_helper(const json_t *doc, const char *host)
{
	json_t *helpers = json_object_get(doc, "credHelpers");
	const char *key;
	json_t *v;
	char *want = key_host(host);
	const char *found = NULL;

	json_object_foreach(helpers, key, v)
	{
		char *kh;
		if (!json_is_string(v))
			continue;
		kh = key_host(key);
		if (strcasecmp(kh, want) == 0)
			found = json_string_value(v);
		free(kh);
		if (found)
			break;
	}
	free(want);
	return found;
}

/* What a helper is asked for: Docker Hub's legacy URL or the host. */
static const char *helper_server(const char *host)
{
	return is_hub(host) ? HUB_KEY : host;
}

static int try_helper(struct hoist_creds *out, const char *suffix,
		      const char *host, struct hoist_err *err)
{
	int rc = helper_get(out, suffix, helper_server(host), err);
	if (rc == HOIST_ENOTFOUND)
		hoist_err_clear(err);
	return rc;
}

/*
 * Load a credentials file and ask its credHelpers[host] helper, if any.
 * Returns HOIST_ENOTFOUND (with *doc set, or NULL for no file) when the
 * caller should go on looking in the file; any other value is final.
 */
static int open_cred_file(json_t **doc, struct hoist_creds *out,
			  const char *path, const char *host,
			  struct hoist_err *err)
{
	const char *suffix;
	int rc = load_cred_file(doc, path, err);

	if (rc)
		return rc;
	if (!*doc)
		return HOIST_ENOTFOUND;
	suffix = find_helper(*doc, host);
	if (suffix)
		return try_helper(out, suffix, host, err);
	return HOIST_ENOTFOUND;
}

/* containers auth.json: credHelpers, then namespace keys longest first. */
static int lookup_authjson(struct hoist_creds *out, const char *path,
			   const char *host, const char *repo,
			   struct hoist_err *err)
{
	json_t *doc = NULL, *auths, *v;
	const char *key;
	char *hostn = key_host(host), *cand = NULL;
	int rc;

	rc = open_cred_file(&doc, out, path, host, err);
	if (rc != HOIST_ENOTFOUND || !doc)
		goto out;
	auths = json_object_get(doc, "auths");
	cand = repo && *repo ? hoist_xasprintf("%s/%s", hostn, repo)
			     : hoist_xstrdup(hostn);
	for (;;) {
		json_object_foreach(auths, key, v)
		{
			char *kp = key_path(key);
			int same = strcasecmp(kp, cand) == 0;
			free(kp);
			if (!same)
				continue;
			rc = parse_entry(out, v, key, path, err);
			if (rc != HOIST_ENOTFOUND)
				goto out;
			hoist_creds_release(out);
		}
		char *slash = strrchr(cand, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	rc = HOIST_ENOTFOUND;
out:
	json_decref(doc);
	free(cand);
	free(hostn);
	return rc;
}

static char *docker_config_path(void)
{
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");

	if (dc && *dc)
		return hoist_xasprintf("%s/config.json", dc);
	if (home && *home)
		return hoist_xasprintf("%s/.docker/config.json", home);
	return NULL;
}

static int lookup_docker(struct hoist_creds *out, const char *path,
			 const char *host, struct hoist_err *err)
{
	json_t *doc = NULL, *auths, *v;
	const char *suffix, *key;
	const char *exact = is_hub(host) ? HUB_KEY : host;
	char *want = key_host(host);
	int rc;

	rc = open_cred_file(&doc, out, path, host, err);
	if (rc != HOIST_ENOTFOUND || !doc)
		goto out;
	suffix = hoist_json_str(doc, "credsStore");
	if (!find_helper(doc, host) && suffix && *suffix) {
		rc = try_helper(out, suffix, host, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
	}
	/* The file: the exact key first, then keys that are URLs. */
	auths = json_object_get(doc, "auths");
	v = json_object_get(auths, exact);
	if (v) {
		rc = parse_entry(out, v, exact, path, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
		hoist_creds_release(out);
	}
	json_object_foreach(auths, key, v)
	{
		char *kh = key_host(key);
		int same = strcasecmp(kh, want) == 0 && strcmp(key, exact);
		free(kh);
		if (!same)
			continue;
		rc = parse_entry(out, v, key, path, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
		hoist_creds_release(out);
	}
	rc = HOIST_ENOTFOUND;
out:
	json_decref(doc);
	free(want);
	return rc;
}

int hoist_creds_lookup(struct hoist_creds *out, const char *host,
		       const char *repo, struct hoist_err *err)
{
	const char *raf = getenv("REGISTRY_AUTH_FILE");
	const char *xrd = getenv("XDG_RUNTIME_DIR");
	const char *xch = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *paths[3] = {NULL, NULL, NULL}, *dpath = NULL;
	int rc = HOIST_ENOTFOUND;

	memset(out, 0, sizeof(*out));
	if (raf && *raf)
		paths[0] = hoist_xstrdup(raf);
	if (xrd && *xrd)
		paths[1] = hoist_xasprintf("%s/containers/auth.json", xrd);
	if (xch && *xch)
		paths[2] = hoist_xasprintf("%s/containers/auth.json", xch);
	else if (home && *home)
		paths[2] = hoist_xasprintf("%s/.config/containers/auth.json",
					   home);
	for (size_t i = 0; i < 3; i++) {
		if (!paths[i])
			continue;
		rc = lookup_authjson(out, paths[i], host, repo, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
	}
	dpath = docker_config_path();
	if (dpath) {
		rc = lookup_docker(out, dpath, host, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
	}
	rc = hoist_err_set(err, HOIST_ENOTFOUND, "no credentials for '%s'",
			   host);
out:
	if (rc)
		hoist_creds_release(out);
	for (size_t i = 0; i < 3; i++)
		free(paths[i]);
	free(dpath);
	return rc;
}

/* ---- docker login / logout ---- */

static int save_config(const char *path, json_t *doc, struct hoist_err *err)
{
	char *data = NULL, *dir = NULL, *slash;
	size_t len = 0;
	int rc;

	rc = hoist_json_dump(&data, &len, doc, 1, err);
	if (rc)
		goto out;
	dir = hoist_xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = hoist_fs_mkdirs(dir, 0700, err);
		if (rc)
			goto out;
	}
	rc = hoist_fs_write_atomic(path, data, len, 0600, err);
out:
	if (data)
		explicit_bzero(data, len);
	free(data);
	free(dir);
	return rc;
}

/* The helper that `docker login` would use for host, or NULL. */
static const char *store_helper(const json_t *doc, const char *host)
{
	const char *s = find_helper(doc, host);
	if (!s)
		s = hoist_json_str(doc, "credsStore");
	return s && *s ? s : NULL;
}

static int helper_simple(const char *suffix, const char *action,
			 const char *input, struct hoist_err *err)
{
	struct hoist_buf b;
	char q[HOIST_QUOTE_BUF];
	int status = 0, rc;

	hoist_buf_init(&b, HELPER_OUT_MAX);
	rc = helper_run(suffix, action, input, strlen(input), &b, &status, err);
	if (!rc && status != 0) {
		if (strstr(b.data, "credentials not found")) {
			rc = HOIST_ENOTFOUND;
			hoist_err_set(err, rc, "no credentials stored");
		} else {
			/* a store failure may echo its input: no output */
			if (strcmp(action, "store") == 0)
				q[0] = '\0';
			else
				helper_reason(q, sizeof(q), &b);
			rc = hoist_err_set(err, HOIST_EAUTH,
					   "credential helper "
					   "'docker-credential-%s' %s: exit "
					   "status %d%s%s%s",
					   suffix, action, status,
					   q[0] ? ": '" : "", q,
					   q[0] ? "'" : "");
		}
	}
	explicit_bzero(b.data, b.len);
	hoist_buf_release(&b);
	return rc;
}

int hoist_creds_store(const char *host, const char *user, const char *password,
		      struct hoist_err *err)
{
	char *path = docker_config_path(), *auth = NULL, *up = NULL;
	const char *key = is_hub(host) ? HUB_KEY : host, *suffix;
	json_t *doc = NULL, *auths, *entry;
	int rc;

	if (!path)
		return hoist_err_set(err, HOIST_EINVAL,
				     "neither DOCKER_CONFIG nor HOME is set");
	if (!user || !*user || strchr(user, ':'))
		return free(path),
		       hoist_err_set(err, HOIST_EINVAL,
				     "invalid user name for '%s'", host);
	rc = load_cred_file(&doc, path, err);
	if (rc)
		goto out;
	if (!doc)
		doc = json_object();
	suffix = store_helper(doc, host);
	if (suffix) {
		json_t *in = json_object();
		char *data = NULL;
		size_t len = 0;
		hoist_json_set_str(in, "ServerURL", helper_server(host));
		hoist_json_set_str(in, "Username", user);
		hoist_json_set_str(in, "Secret", password);
		rc = hoist_json_dump(&data, &len, in, 0, err);
		json_decref(in);
		if (!rc)
			rc = helper_simple(suffix, "store", data, err);
		if (data)
			explicit_bzero(data, len);
		free(data);
		goto out;
	}
	auths = json_object_get(doc, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(doc, "auths", auths);
	}
	entry = json_object_get(auths, key);
	if (!json_is_object(entry)) {
		entry = json_object();
		json_object_set_new(auths, key, entry);
	}
	up = hoist_xasprintf("%s:%s", user, password);
	auth = b64_encode((const unsigned char *)up, strlen(up));
	hoist_json_set_str(entry, "auth", auth);
	/* a new password replaces any token stored before */
	json_object_del(entry, "identitytoken");
	json_object_del(entry, "registrytoken");
	json_object_del(entry, "password");
	rc = save_config(path, doc, err);
out:
	if (rc)
		hoist_err_prefix(err, "store credentials for '%s'", host);
	json_decref(doc);
	wipe_free(up);
	wipe_free(auth);
	free(path);
	return rc;
}

int hoist_creds_erase(const char *host, struct hoist_err *err)
{
	char *path = docker_config_path(), *want = key_host(host);
	const char *suffix, *key;
	json_t *doc = NULL, *auths, *v;
	void *tmp;
	int rc, removed = 0, helper_rc = HOIST_ENOTFOUND;

	if (!path) {
		free(want);
		return hoist_err_set(err, HOIST_EINVAL,
				     "neither DOCKER_CONFIG nor HOME is set");
	}
	rc = load_cred_file(&doc, path, err);
	if (rc)
		goto out;
	if (!doc) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "not logged in to '%s'", host);
		goto out;
	}
	suffix = store_helper(doc, host);
	if (suffix) {
		helper_rc = helper_simple(suffix, "erase", helper_server(host),
					  err);
		if (helper_rc && helper_rc != HOIST_ENOTFOUND) {
			rc = helper_rc;
			goto out;
		}
	}
	auths = json_object_get(doc, "auths");
	json_object_foreach_safe(auths, tmp, key, v)
	{
		char *kh = key_host(key);
		if (strcasecmp(kh, want) == 0) {
			json_object_del(auths, key);
			removed = 1;
		}
		free(kh);
	}
	if (removed)
		rc = save_config(path, doc, err);
	else if (helper_rc == HOIST_ENOTFOUND)
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "not logged in to '%s'", host);
	else
		hoist_err_clear(err);
out:
	if (rc && rc != HOIST_ENOTFOUND)
		hoist_err_prefix(err, "erase credentials for '%s'", host);
	json_decref(doc);
	free(want);
	free(path);
	return rc;
}

/* ---- realm validation ---- */

/* 1 for addresses a remote registry has no business sending us to. */
static int ip4_internal(uint32_t a)
{
	return (a >> 24) == 0 ||                     /* 0/8, "this network" */
	       (a >> 24) == 10 ||                    /* 10/8 */
	       (a >> 24) == 127 ||                   /* loopback */
	       (a >> 16) == 0xa9fe ||                /* 169.254/16 link-local */
	       (a >> 20) == 0xac1 ||                 /* 172.16/12 */
	       (a >> 16) == 0xc0a8 ||                /* 192.168/16 */
	       (a >> 22) == (100 << 2 | 1) ||        /* 100.64/10 shared */
	       (a >> 28) == 0xe || a == 0xffffffffu; /* multicast, bcast */
}

/*
 * 1 if host is an IP literal (in any form the resolver would accept, such
 * as "127.1" or "0x7f.0.0.1") that is loopback, private, link-local or
 * unspecified. IPv6 literals come in brackets.
 */
static int host_is_internal_ip(const char *host)
{
	char buf[256];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (n >= sizeof(buf))
		return 0;
	if (host[0] == '[') {
		if (n < 2 || host[n - 1] != ']')
			return 1; /* not a host we can judge: refuse */
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		buf[strcspn(buf, "%")] = '\0'; /* zone id */
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return 1;
		const unsigned char *b = a6.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a6) || IN6_IS_ADDR_V4COMPAT(&a6) ||
		    (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff &&
		     b[3] == 0x9b)) {
			uint32_t v = (uint32_t)b[12] << 24 |
				     (uint32_t)b[13] << 16 |
				     (uint32_t)b[14] << 8 | b[15];
			if (ip4_internal(v))
				return 1;
		}
		return IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		       IN6_IS_ADDR_LOOPBACK(&a6) ||
		       IN6_IS_ADDR_LINKLOCAL(&a6) ||
		       IN6_IS_ADDR_SITELOCAL(&a6) || (b[0] & 0xfe) == 0xfc ||
		       IN6_IS_ADDR_MULTICAST(&a6);
	}
	memcpy(buf, host, n + 1);
	if (n && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	if (inet_aton(buf, &a4) == 1)
		return ip4_internal(ntohl(a4.s_addr));
	return 0;
}

static int realm_has_userinfo(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p)
		return 0;
	p += 3;
	n = strcspn(p, "/?#");
	return memchr(p, '@', n) != NULL;
}

int hoist_auth_realm_check(const char *base_url, const char *realm,
			   int *send_creds, struct hoist_err *err)
{
	char *rs = NULL, *rh = NULL, *bs = NULL, *bh = NULL;
	char q[HOIST_QUOTE_BUF];
	int rp = 0, bp = 0, rc;
	struct hoist_err uerr;

	*send_creds = 0;
	hoist_err_quote(q, sizeof(q), realm, HOIST_QUOTE_ALL, 0);
	if (hoist_http_url_origin(base_url, &bs, &bh, &bp, err)) {
		rc = hoist_err_prefix(err, "registry URL");
		goto out;
	}
	if (!realm || !*realm ||
	    hoist_http_url_origin(realm, &rs, &rh, &rp, &uerr)) {
		rc = hoist_err_set(err, HOIST_EAUTH, "invalid token realm '%s'",
				   q);
		goto out;
	}
	/* the parser would default to https where the transport guesses */
	if (strncasecmp(realm, "https://", 8) != 0 &&
	    strncasecmp(realm, "http://", 7) != 0) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': not an absolute "
				   "http(s) URL",
				   q);
		goto out;
	}
	if (realm_has_userinfo(realm) || strchr(realm, '#')) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': user info or "
				   "fragment in URL",
				   q);
		goto out;
	}
	if (strcasecmp(rs, "https") != 0 &&
	    !(strcasecmp(rs, "http") == 0 && strcasecmp(bs, "http") == 0)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': scheme '%s' "
				   "for an %s registry",
				   q, rs, bs);
		goto out;
	}
	if (host_is_internal_ip(rh) && !(strcasecmp(rh, bh) == 0 && rp == bp)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': internal address "
				   "that is not the registry's",
				   q);
		goto out;
	}
	*send_creds = strcasecmp(rh, bh) == 0 ||
		      (is_hub(bh) && strcasecmp(rh, HUB_REALM_HOST) == 0);
	rc = 0;
out:
	free(rs);
	free(rh);
	free(bs);
	free(bh);
	return rc;
}

/* ---- tokens ---- */

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
	char *base_url, *scheme, *host;
	int port;
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
	rc = hoist_http_url_origin(base_url, &a->scheme, &a->host, &a->port,
				   err);
	if (rc)
		goto fail;
	if (strcasecmp(a->scheme, "http") && strcasecmp(a->scheme, "https")) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "registry URL scheme must be http or https");
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
		wipe_free(a->recs[i].token);
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
		wipe_free(a->recs[i].token);
		free(a->recs[i].key);
	}
	free(a->recs);
	hoist_creds_release(&a->creds);
	wipe_free(a->refresh_token);
	free(a->base_url);
	free(a->scheme);
	free(a->host);
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
		wipe_free(a->recs[old].token);
		free(a->recs[old].key);
		a->recs[old] = a->recs[--a->nrecs];
	}
	a->recs = hoist_xreallocarray(a->recs, a->nrecs + 1, sizeof(*a->recs));
	r = &a->recs[a->nrecs++];
	memset(r, 0, sizeof(*r));
	r->key = hoist_xstrdup(key);
	return r;
}

/* RFC 3339 date-time to Unix seconds; -1 if it is not one. */
static int64_t parse_rfc3339(const char *s)
{
	struct tm tm;
	const char *p;
	int64_t t;
	int sign, oh, om;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == 'z')
		return p[1] ? -1 : t;
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':' ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
		return -1;
	sign = *p == '-' ? -1 : 1;
	oh = (p[1] - '0') * 10 + p[2] - '0';
	om = (p[4] - '0') * 10 + p[5] - '0';
	return t - sign * (oh * 3600 + om * 60);
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
		int64_t t = parse_rfc3339(iat);
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

/* The realm without its query, for messages. */
static void realm_for_msg(char *q, size_t qlen, const char *realm)
{
	hoist_err_quote(q, qlen, realm, strcspn(realm, "?#"), 0);
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
	int send_creds = 0, rc, have_resp = 0;
	int same_host;

	memset(&resp, 0, sizeof(resp));
	realm_for_msg(q, sizeof(q), a->realm ? a->realm : "");
	rc = hoist_auth_realm_check(a->base_url, a->realm, &send_creds, err);
	if (rc)
		goto out;
	same_host = send_creds;
	{
		char *rh = NULL;
		int rp = 0;
		if (hoist_http_url_origin(a->realm, NULL, &rh, &rp, NULL) == 0)
			same_host = strcasecmp(rh, a->host) == 0;
		free(rh);
	}

	if (send_creds && a->refresh_token) {
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
		if (send_creds && a->creds.username && *a->creds.username)
			add_form(&qs, "account", a->creds.username);
		hoist_buf_adds(&url, qs.data, NULL);
		hoist_buf_release(&qs);
	}
	if (url.data[url.len - 1] == '?' || url.data[url.len - 1] == '&')
		url.data[--url.len] = '\0';
	if (send_creds && a->creds.username && a->creds.password) {
		up = hoist_xasprintf("%s:%s", a->creds.username,
				     a->creds.password);
		b64 = b64_encode((const unsigned char *)up, strlen(up));
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
	wipe_free(rec->token);
	rec->token = tr.token;
	tr.token = NULL;
	rec->expiry = tr.expiry;
	rec->fetched_at = now_s();
	rec->fetched_for_retry = rec->pending_retry;
	rec->pending_retry = 0;
	if (tr.refresh && send_creds) {
		wipe_free(a->refresh_token);
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
	wipe_free(tr.token);
	wipe_free(tr.refresh);
	wipe_free(basic);
	wipe_free(b64);
	wipe_free(up);
	if (form.len)
		explicit_bzero(form.data, form.len);
	hoist_buf_release(&form);
	hoist_buf_release(&url);
	free(joined);
	return rc;
}

static int same_origin(struct hoist_auth *a, const char *url,
		       struct hoist_err *err)
{
	char *s = NULL, *h = NULL;
	int p = 0, rc;

	rc = hoist_http_url_origin(url, &s, &h, &p, err);
	if (rc)
		return rc;
	rc = strcasecmp(s, a->scheme) == 0 && strcasecmp(h, a->host) == 0 &&
	     p == a->port;
	free(s);
	free(h);
	return rc;
}

int hoist_auth_header_for(struct hoist_auth *a, const char *url,
			  const char *const *scopes, size_t nscopes,
			  long margin_s, char **line, struct hoist_err *err)
{
	char **set = NULL, *key = NULL, *b64 = NULL, *up = NULL;
	size_t n = 0;
	struct scope_rec *rec;
	int rc;

	*line = NULL;
	rc = same_origin(a, url, err);
	if (rc <= 0)
		return rc;
	rc = 0;
	switch (a->kind) {
	case AUTH_NONE:
		break;
	case AUTH_BASIC:
		if (!a->creds.username || !a->creds.password)
			break;
		up = hoist_xasprintf("%s:%s", a->creds.username,
				     a->creds.password);
		b64 = b64_encode((const unsigned char *)up, strlen(up));
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
			set = scope_set(&cs, 1, &n);
		}
		key = join_strv(set, n, " ");
		rec = rec_get(a, key);
		rec->used = ++a->tick;
		if (margin_s < 0)
			margin_s = 0;
		if (!rec->token || rec->expiry - now_s() < margin_s) {
			rc = fetch_token(a, rec, set, n, err);
			if (rc)
				break;
		}
		*line = hoist_xasprintf("Authorization: Bearer %s", rec->token);
		break;
	}
	wipe_free(up);
	wipe_free(b64);
	free_strv(set, n);
	free(key);
	return rc;
}

/* Bearer beats Basic; other schemes are not ours. */
static const struct hoist_auth_challenge *
pick_challenge(const struct hoist_auth_challenge *c, size_t n)
{
	const struct hoist_auth_challenge *basic = NULL;
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
	struct hoist_auth_challenge *list = NULL;
	const struct hoist_auth_challenge *c;
	enum auth_kind kind;
	const char *realm, *service, *scope;
	char **set = NULL, *key = NULL;
	size_t n = 0, nset = 0;
	struct scope_rec *rec;
	int rc;

	if (!www_authenticate || !*www_authenticate)
		return 0; /* nothing to answer: the caller fails */
	rc = hoist_auth_parse_challenges(&list, &n, www_authenticate, err);
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
	realm = hoist_auth_param(c, "realm");
	service = hoist_auth_param(c, "service");
	scope = hoist_auth_param(c, "scope");
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
	wipe_free(rec->token);
	rec->token = NULL;
	rec->pending_retry = 1;
	rc = 1;
out:
	hoist_auth_challenges_free(list, n);
	free_strv(set, nset);
	free(key);
	return rc;
}
