/*
 * ref.c: image references ("registry:5000/team/app:1.2@sha256:...").
 *
 * A hand-written parser for distribution/reference's grammar (see ref.h and
 * reference/distribution.md section 6). It is written out rather than
 * built on a regex library so that every refusal can say precisely what is
 * wrong, and so that it runs in linear time on hostile input.
 *
 * The input is cut, right to left, into name, tag and digest:
 *   - the first '@' starts the digest (neither name nor tag may hold '@');
 *   - in what is left, a ':' after the last '/' starts the tag (path
 *     components never hold ':', and a domain's ':' is always followed by
 *     a '/').
 * The name is then split at its first '/': the first component is a domain
 * if it is "localhost" or holds '.', ':' or '['. Docker also takes a first
 * component with upper case for a domain, but only so that the reference
 * fails later (its own tests mark "Uppercase/lowercase" passing as a FIXME);
 * here such a component stays in the path and fails the lower-case rule at
 * once, with the message Docker meant to give.
 *
 * Stricter than distribution/reference, on purpose: an IPv6 host must be a
 * well-formed address (Docker accepts any run of hex digits and colons in
 * brackets), and a port must lie in 1..65535.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ref.h"
#include "lib/digest.h"
#include "util/mem.h"
#include "util/banned.h"

#define PATH_MAX_LEN 255
#define TAG_MAX_LEN 128

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

/* A parse in progress: the input quoted for messages, and the error. */
struct refctx {
	char q[HOIST_QUOTE_BUF];
	struct hoist_err *err;
	const char *what; /* "reference", "registry" */
};

/* Describe one character for a message: 'x' or byte 0xNN. */
static void describe_char(char *dst, size_t len, char c)
{
	unsigned char u = (unsigned char)c;

	if (u < 0x20 || u >= 0x7f || c == '\'')
		snprintf(dst, len, "byte 0x%02x", u);
	else
		snprintf(dst, len, "'%c'", c);
}

__attribute__((format(printf, 2, 3))) static int bad(struct refctx *c,
						     const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = hoist_err_setv(c->err, HOIST_EINVAL, fmt, ap);
	va_end(ap);
	if (c->err)
		hoist_err_prefix(c->err, "invalid %s '%s'",
				 c->what ? c->what : "reference", c->q);
	return code;
}

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int is_word(char c)
{
	return is_alnum(c) || c == '_';
}

/* One path component: alnum+ (separator alnum+)*, separator [._]|__|-+. */
static int check_component(struct refctx *c, const char *p, size_t n)
{
	char comp[HOIST_QUOTE_BUF], what[16];
	size_t i = 0;

	hoist_err_quote(comp, sizeof(comp), p, n, 0);
	if (n == 0)
		return bad(c, "empty path component");
	if (!is_lower_alnum(p[0])) {
		if (p[0] == '.' || p[0] == '_' || p[0] == '-')
			return bad(c,
				   "path component '%s' must start with a "
				   "letter or digit",
				   comp);
		describe_char(what, sizeof(what), p[0]);
		return bad(c, "invalid character %s in path component '%s'",
			   what, comp);
	}
	while (i < n) {
		size_t sep;

		while (i < n && is_lower_alnum(p[i]))
			i++;
		if (i == n)
			break;
		sep = i;
		while (i < n && (p[i] == '.' || p[i] == '_' || p[i] == '-'))
			i++;
		if (i == sep) {
			describe_char(what, sizeof(what), p[i]);
			return bad(c,
				   "invalid character %s in path component "
				   "'%s'",
				   what, comp);
		}
		if (i == n)
			return bad(c,
				   "path component '%s' must end with a letter "
				   "or digit",
				   comp);
		if (!is_lower_alnum(p[i])) {
			describe_char(what, sizeof(what), p[i]);
			return bad(c,
				   "invalid character %s in path component "
				   "'%s'",
				   what, comp);
		}
		size_t len = i - sep;
		int ok = len == 1 ||
			 (len == 2 && p[sep] == '_' && p[sep + 1] == '_');
		if (!ok) {
			ok = 1;
			for (size_t k = sep; k < i; k++)
				ok &= p[k] == '-';
		}
		if (!ok) {
			char s[HOIST_QUOTE_BUF];
			hoist_err_quote(s, sizeof(s), p + sep, len, 0);
			return bad(c,
				   "invalid separator '%s' in path component "
				   "'%s'",
				   s, comp);
		}
	}
	return 0;
}

static int check_path(struct refctx *c, const char *p, size_t n)
{
	size_t start = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			return bad(c, "repository name must be lowercase");
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		rc = check_component(c, p + start, i - start);
		if (rc)
			return rc;
		start = i + 1;
	}
	return 0;
}

/* h (n bytes) is 1 to 4 hex digits. */
static int ipv6_group(const char *h, size_t n)
{
	if (n < 1 || n > 4)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_hex(h[i]))
			return 0;
	return 1;
}

/* Count ':'-separated groups of s (n bytes); -1 if one is malformed. */
static int ipv6_groups(const char *s, size_t n)
{
	size_t start = 0;
	int count = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ':')
			continue;
		if (!ipv6_group(s + start, i - start))
			return -1;
		count++;
		start = i + 1;
	}
	return count;
}

/* Compressed or full IPv6 text, without zone or embedded IPv4. */
static int ipv6_valid(const char *s, size_t n)
{
	const char *dbl = NULL;

	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == ':' && s[i + 1] == ':') {
			dbl = s + i;
			break;
		}
	}
	if (!dbl)
		return ipv6_groups(s, n) == 8;
	size_t left = (size_t)(dbl - s);
	const char *rs = dbl + 2;
	size_t right = n - left - 2;
	int l = ipv6_groups(s, left);
	int r = ipv6_groups(rs, right);
	/* "::" stands for at least one zero group */
	return l >= 0 && r >= 0 && l + r <= 7;
}

static int check_port(struct refctx *c, const char *p, size_t n,
		      const char *dom)
{
	char port[HOIST_QUOTE_BUF], what[16];
	unsigned long v = 0;

	hoist_err_quote(port, sizeof(port), p, n, 0);
	if (n == 0)
		return bad(c, "empty port in domain '%s'", dom);
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			describe_char(what, sizeof(what), p[i]);
			return bad(c, "invalid character %s in port '%s'", what,
				   port);
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return bad(c, "port '%s' is out of range (1-65535)", port);
	return 0;
}

/* host [":" port]; host is a domain name, or an IPv6 address in []. */
static int check_domain(struct refctx *c, const char *d, size_t n)
{
	char dom[HOIST_QUOTE_BUF], what[16];
	size_t host_end, start;

	hoist_err_quote(dom, sizeof(dom), d, n, 0);
	if (d[0] == '[') {
		const char *close = memchr(d, ']', n);
		if (!close)
			return bad(c, "missing ']' in domain '%s'", dom);
		size_t len = (size_t)(close - d) - 1;
		if (!ipv6_valid(d + 1, len))
			return bad(c, "invalid IPv6 address in domain '%s'",
				   dom);
		host_end = (size_t)(close - d) + 1;
		if (host_end == n)
			return 0;
		if (d[host_end] != ':') {
			describe_char(what, sizeof(what), d[host_end]);
			return bad(c, "unexpected %s after ']' in domain '%s'",
				   what, dom);
		}
		return check_port(c, d + host_end + 1, n - host_end - 1, dom);
	}
	const char *colon = memchr(d, ':', n);
	host_end = colon ? (size_t)(colon - d) : n;
	if (host_end == 0)
		return bad(c, "empty host name in domain '%s'", dom);
	start = 0;
	for (size_t i = 0; i <= host_end; i++) {
		if (i < host_end && d[i] != '.') {
			if (!is_alnum(d[i]) && d[i] != '-') {
				describe_char(what, sizeof(what), d[i]);
				return bad(c,
					   "invalid character %s in domain "
					   "'%s'",
					   what, dom);
			}
			continue;
		}
		if (i == start)
			return bad(c, "empty component in domain '%s'", dom);
		if (d[start] == '-' || d[i - 1] == '-')
			return bad(c,
				   "domain component in '%s' must not start "
				   "or end with '-'",
				   dom);
		start = i + 1;
	}
	if (colon)
		return check_port(c, colon + 1, n - host_end - 1, dom);
	return 0;
}

static int check_tag(struct refctx *c, const char *t, size_t n)
{
	char tag[HOIST_QUOTE_BUF], what[16];

	hoist_err_quote(tag, sizeof(tag), t, n, 0);
	if (n == 0)
		return bad(c, "empty tag after ':'");
	if (n > TAG_MAX_LEN)
		return bad(c, "tag is longer than %d characters", TAG_MAX_LEN);
	for (size_t i = 0; i < n; i++) {
		if (is_word(t[i]) || (i > 0 && (t[i] == '.' || t[i] == '-')))
			continue;
		describe_char(what, sizeof(what), t[i]);
		if (i == 0 && (t[i] == '.' || t[i] == '-'))
			return bad(c,
				   "tag '%s' must start with a letter, digit "
				   "or '_'",
				   tag);
		return bad(c, "invalid character %s in tag '%s'", what, tag);
	}
	return 0;
}

int hoist_ref_check_domain(const char *s, struct hoist_err *err)
{
	struct refctx c = {.err = err, .what = "registry"};

	if (!s)
		s = "";
	hoist_err_quote(c.q, sizeof(c.q), s, HOIST_QUOTE_ALL, 0);
	if (!*s)
		return bad(&c, "registry name is empty");
	return check_domain(&c, s, strlen(s));
}

/* The whole input is 64 lower-case hex digits: an image id, not a name. */
static int is_identifier(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* The first component of a name is a domain (see the top of the file). */
static int looks_like_domain(const char *p, size_t n)
{
	return (n == 9 && memcmp(p, "localhost", 9) == 0) ||
	       memchr(p, '.', n) || memchr(p, ':', n) || memchr(p, '[', n);
}

int hoist_ref_parse(struct hoist_ref *out, const char *s, int flags,
		    struct hoist_err *err)
{
	struct refctx c;
	const char *at, *name_end, *colon = NULL, *slash = NULL;
	const char *path;
	size_t name_len, path_len;
	struct hoist_ref r = {NULL, NULL, NULL, NULL};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!s)
		s = "";
	c.err = err;
	c.what = "reference";
	hoist_err_quote(c.q, sizeof(c.q), s, HOIST_QUOTE_ALL, 0);
	if (!*s)
		return bad(&c, "reference is empty");
	if (is_identifier(s))
		return bad(&c, "a 64-character hexadecimal string is an image "
			       "id, not a repository name");

	at = strchr(s, '@');
	name_end = at ? at : s + strlen(s);
	for (const char *p = s; p < name_end; p++) {
		if (*p == '/')
			slash = p;
		else if (*p == ':')
			colon = p;
	}
	if (colon && (!slash || colon > slash)) {
		rc = check_tag(&c, colon + 1, (size_t)(name_end - colon - 1));
		if (rc)
			goto out;
		r.tag = hoist_xstrndup(colon + 1,
				       (size_t)(name_end - colon - 1));
		name_end = colon;
	}
	if (at) {
		if (!at[1]) {
			rc = bad(&c, "empty digest after '@'");
			goto out;
		}
		rc = hoist_digest_validate(at + 1, err);
		if (rc) {
			hoist_err_prefix(err, "invalid reference '%s'", c.q);
			goto out;
		}
		r.digest = hoist_xstrdup(at + 1);
	}

	name_len = (size_t)(name_end - s);
	if (name_len == 0) {
		rc = bad(&c, "missing repository name");
		goto out;
	}
	path = s;
	path_len = name_len;
	slash = memchr(s, '/', name_len);
	if (slash && looks_like_domain(s, (size_t)(slash - s))) {
		size_t dlen = (size_t)(slash - s);
		rc = check_domain(&c, s, dlen);
		if (rc)
			goto out;
		r.domain = hoist_xstrndup(s, dlen);
		path = slash + 1;
		path_len = name_len - dlen - 1;
	}
	rc = check_path(&c, path, path_len);
	if (rc)
		goto out;

	if (flags & HOIST_REF_NORMALIZE) {
		if (!r.domain || strcmp(r.domain, LEGACY_DOMAIN) == 0) {
			free(r.domain);
			r.domain = hoist_xstrdup(DEFAULT_DOMAIN);
		}
		if (strcmp(r.domain, DEFAULT_DOMAIN) == 0 &&
		    !memchr(path, '/', path_len))
			r.path = hoist_xasprintf(OFFICIAL_PREFIX "%.*s",
						 (int)path_len, path);
	}
	if (!r.path)
		r.path = hoist_xstrndup(path, path_len);
	if (strlen(r.path) > PATH_MAX_LEN) {
		rc = bad(&c, "repository name is longer than %d characters",
			 PATH_MAX_LEN);
		goto out;
	}
	if ((flags & HOIST_REF_DEFAULT_TAG) && !r.tag && !r.digest)
		r.tag = hoist_xstrdup("latest");
	*out = r;
	return 0;
out:
	hoist_ref_release(&r);
	return rc;
}

void hoist_ref_release(struct hoist_ref *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

/* path[:tag][@digest] after an optional prefix. */
static char *ref_format(const char *prefix, const char *path,
			const struct hoist_ref *ref)
{
	return hoist_xasprintf("%s%s%s%s%s%s", prefix, path,
			       ref->tag ? ":" : "", ref->tag ? ref->tag : "",
			       ref->digest ? "@" : "",
			       ref->digest ? ref->digest : "");
}

char *hoist_ref_name(const struct hoist_ref *ref)
{
	if (ref->domain)
		return hoist_xasprintf("%s/%s", ref->domain, ref->path);
	return hoist_xstrdup(ref->path);
}

char *hoist_ref_string(const struct hoist_ref *ref)
{
	char *name = hoist_ref_name(ref);
	char *s = ref_format("", name, ref);

	free(name);
	return s;
}

/*
 * Docker's familiarizeName, with two guards Docker lacks so that the
 * familiar form always parses back to the same reference: "docker.io/" stays
 * when the first path component would be read as a domain ("foo.bar/x"),
 * and "library/" stays when what remains is a 64-hex image id.
 */
char *hoist_ref_familiar(const struct hoist_ref *ref)
{
	const char *path = ref->path;
	const char *slash;

	if (!ref->domain || strcmp(ref->domain, DEFAULT_DOMAIN) != 0)
		return hoist_ref_string(ref);
	if (strncmp(path, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0) {
		const char *rest = path + strlen(OFFICIAL_PREFIX);
		if (!strchr(rest, '/') && !is_identifier(rest))
			path = rest;
	}
	slash = strchr(path, '/');
	if (slash && looks_like_domain(path, (size_t)(slash - path)))
		return hoist_ref_string(ref);
	return ref_format("", path, ref);
}
