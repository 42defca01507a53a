/*
 * regconf.c: a reader for containers-registries.conf(5) version 2: the
 * small TOML subset those files use, turned into [[registry]] entries.
 * The text is untrusted (a drop-in file anyone may have written): every
 * loop is bounded by the input, counts are capped, errors name the file
 * and line, and nothing is echoed unquoted.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/regconf.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define CONF_MAX (1024 * 1024)
#define REGS_MAX 1000
#define MIRRORS_MAX 100
#define ARRAY_MAX 1000

enum sect { S_TOP, S_REGISTRY, S_MIRROR, S_OTHER };

struct rd {
	const char *s, *end, *name;
	int line;
	struct hoist_regconf *c;
	enum sect sect;
	int quiet_table; /* [aliases]: its keys are names, not settings */
	struct hoist_err *err;
};

enum vkind { V_STR, V_BOOL, V_INT, V_ARRAY };

struct val {
	enum vkind kind;
	char *str; /* V_STR */
	int b;     /* V_BOOL */
};

static int fail_at(struct rd *r, int line, const char *why)
{
	char q[HOIST_QUOTE_BUF];

	hoist_err_quote(q, sizeof(q), r->name, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	return hoist_err_set(r->err, HOIST_EINVAL, "'%s' line %d: %s", q, line,
			     why);
}

static int fail(struct rd *r, const char *why)
{
	return fail_at(r, r->line, why);
}

/* A cap reached: HOIST_ELIMIT, with the file and line too. */
static int limit(struct rd *r, const char *what, int max)
{
	char q[HOIST_QUOTE_BUF];

	hoist_err_quote(q, sizeof(q), r->name, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	return hoist_err_set(r->err, HOIST_ELIMIT,
			     "'%s' line %d: more than %d %s", q, r->line, max,
			     what);
}

static void skip_ws(struct rd *r)
{
	while (r->s < r->end && (*r->s == ' ' || *r->s == '\t'))
		r->s++;
}

/* Spaces, comments and newlines (inside arrays). */
static void skip_ws_nl(struct rd *r)
{
	for (;;) {
		skip_ws(r);
		if (r->s < r->end && *r->s == '#') {
			while (r->s < r->end && *r->s != '\n')
				r->s++;
		}
		if (r->s < r->end && (*r->s == '\n' || *r->s == '\r')) {
			if (*r->s == '\n')
				r->line++;
			r->s++;
			continue;
		}
		return;
	}
}

/* After a value or header: spaces, an optional comment, end of line. */
static int end_of_line(struct rd *r)
{
	skip_ws(r);
	if (r->s < r->end && *r->s == '#')
		while (r->s < r->end && *r->s != '\n')
			r->s++;
	if (r->s < r->end && *r->s == '\r')
		r->s++;
	if (r->s < r->end && *r->s != '\n')
		return fail(r, "unexpected text after the value");
	return 0;
}

static int is_bare(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void add_utf8(struct hoist_buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	hoist_buf_add(b, u, n, NULL);
}

/* A basic ("...") or literal ('...') one-line string at r->s. */
static int read_string(struct rd *r, char **out)
{
	struct hoist_buf b;
	char quote = *r->s++;

	hoist_buf_init(&b, CONF_MAX);
	while (r->s < r->end && *r->s != quote) {
		unsigned char c = (unsigned char)*r->s;
		if (c == '\n') {
			hoist_buf_release(&b);
			return fail(r, "unterminated string");
		}
		if (c == '\r' || (c < 0x20 && c != '\t') || c == 0x7f ||
		    c == 0) {
			hoist_buf_release(&b);
			return fail(r, "control character or newline in a "
				       "string");
		}
		if (c == '\\' && quote == '"') {
			unsigned long cp = 0;
			int digits = 0;
			r->s++;
			if (r->s >= r->end)
				break;
			switch (*r->s) {
			case '"':
			case '\\':
				hoist_buf_addch(&b, *r->s, NULL);
				break;
			case 't':
				hoist_buf_addch(&b, '\t', NULL);
				break;
			case 'n':
				hoist_buf_addch(&b, '\n', NULL);
				break;
			case 'u':
				digits = 4;
				break;
			case 'U':
				digits = 8;
				break;
			default:
				hoist_buf_release(&b);
				return fail(r, "unknown escape in a string");
			}
			for (int i = 0; i < digits; i++) {
				char h;
				r->s++;
				h = r->s < r->end ? *r->s : 0;
				if (h >= '0' && h <= '9')
					cp = cp * 16 + (unsigned long)(h - '0');
				else if (h >= 'a' && h <= 'f')
					cp = cp * 16 +
					     (unsigned long)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					cp = cp * 16 +
					     (unsigned long)(h - 'A' + 10);
				else
					digits = -1;
				if (digits < 0)
					break;
			}
			if (digits < 0 || cp == 0 || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff)) {
				hoist_buf_release(&b);
				return fail(r, "bad \\u escape in a string");
			}
			if (digits)
				add_utf8(&b, cp);
			r->s++;
			continue;
		}
		hoist_buf_addch(&b, (char)c, NULL);
		r->s++;
	}
	if (r->s >= r->end) {
		hoist_buf_release(&b);
		return fail(r, "unterminated string");
	}
	r->s++;
	*out = hoist_buf_detach(&b, NULL);
	return 0;
}

static int read_value(struct rd *r, struct val *v, int depth)
{
	memset(v, 0, sizeof(*v));
	if (r->s >= r->end)
		return fail(r, "missing value");
	if (*r->s == '"' || *r->s == '\'') {
		v->kind = V_STR;
		return read_string(r, &v->str);
	}
	if ((size_t)(r->end - r->s) >= 4 && memcmp(r->s, "true", 4) == 0 &&
	    !(r->s + 4 < r->end && is_bare(r->s[4]))) {
		v->kind = V_BOOL;
		v->b = 1;
		r->s += 4;
		return 0;
	}
	if ((size_t)(r->end - r->s) >= 5 && memcmp(r->s, "false", 5) == 0 &&
	    !(r->s + 5 < r->end && is_bare(r->s[5]))) {
		v->kind = V_BOOL;
		r->s += 5;
		return 0;
	}
	if (*r->s == '[') {
		size_t n = 0;
		if (depth > 0)
			return fail(r, "nested arrays are not supported");
		v->kind = V_ARRAY;
		r->s++;
		for (;;) {
			struct val e;
			skip_ws_nl(r);
			if (r->s < r->end && *r->s == ']') {
				r->s++;
				return 0;
			}
			if (++n > ARRAY_MAX)
				return limit(r, "array elements", ARRAY_MAX);
			if (read_value(r, &e, depth + 1))
				return r->err ? r->err->code : HOIST_EINVAL;
			free(e.str);
			skip_ws_nl(r);
			if (r->s < r->end && *r->s == ',') {
				r->s++;
				continue;
			}
			if (r->s < r->end && *r->s == ']')
				continue;
			return fail(r, "expected ',' or ']' in an array");
		}
	}
	if ((*r->s >= '0' && *r->s <= '9') || *r->s == '-' || *r->s == '+') {
		int digits = 0;
		v->kind = V_INT;
		if (*r->s == '-' || *r->s == '+')
			r->s++;
		while (r->s < r->end &&
		       ((*r->s >= '0' && *r->s <= '9') || *r->s == '_') &&
		       digits < 20) {
			r->s++;
			digits++;
		}
		if (!digits)
			return fail(r, "bad number");
		return 0;
	}
	return fail(r, "unsupported value (want a string, boolean, "
		       "integer or array)");
}

/* A key: bare or quoted, dotted keys refused. */
static int read_key(struct rd *r, char **out)
{
	const char *k = r->s;

	if (r->s < r->end && (*r->s == '"' || *r->s == '\''))
		return read_string(r, out);
	while (r->s < r->end && is_bare(*r->s))
		r->s++;
	if (r->s == k)
		return fail(r, "expected a key");
	*out = hoist_xstrndup(k, (size_t)(r->s - k));
	return 0;
}

static struct hoist_regconf_registry *cur_reg(struct rd *r)
{
	return r->c->nregs ? &r->c->regs[r->c->nregs - 1] : NULL;
}

/* Keys of registries.conf that hoist knows and leaves to other tools. */
static int known_ignored(const struct rd *r, const char *key)
{
	static const char *const top[] = {"unqualified-search-registries",
					  "short-name-mode",
					  "credential-helpers", "aliases",
					  "additional-layer-store-auth-helper"};

	if (r->sect == S_OTHER)
		return r->quiet_table;
	for (size_t i = 0; r->sect == S_TOP && i < HOIST_ARRAY_SIZE(top); i++)
		if (!strcmp(key, top[i]))
			return 1;
	return 0;
}

static void warn_key(struct rd *r, const char *key)
{
	char qk[HOIST_QUOTE_BUF], qn[HOIST_QUOTE_BUF];

	if (known_ignored(r, key))
		return;
	hoist_err_quote(qk, sizeof(qk), key, HOIST_QUOTE_ALL, 0);
	hoist_err_quote(qn, sizeof(qn), r->name, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	hoist_log(HOIST_LOG_WARN, "'%s' line %d: key '%s' is ignored by hoist",
		  qn, r->line, qk);
}

static int want(struct rd *r, const struct val *v, enum vkind k,
		const char *key)
{
	char msg[128];

	if (v->kind == k)
		return 0;
	snprintf(msg, sizeof(msg), "'%s' wants a %s", key,
		 k == V_STR ? "string" : "boolean");
	return fail(r, msg);
}

static int set_pull_from(struct rd *r, struct hoist_regconf_mirror *m,
			 const struct val *v)
{
	if (want(r, v, V_STR, "pull-from-mirror"))
		return HOIST_EINVAL;
	if (!strcmp(v->str, "all") || !*v->str)
		m->pull_from = HOIST_REGCONF_PULL_ALL;
	else if (!strcmp(v->str, "digest-only"))
		m->pull_from = HOIST_REGCONF_PULL_DIGEST_ONLY;
	else if (!strcmp(v->str, "tag-only"))
		m->pull_from = HOIST_REGCONF_PULL_TAG_ONLY;
	else
		return fail(r, "'pull-from-mirror' wants \"all\", "
			       "\"digest-only\" or \"tag-only\"");
	return 0;
}

static int set_key(struct rd *r, const char *key, struct val *v)
{
	struct hoist_regconf_registry *g = cur_reg(r);
	struct hoist_regconf_mirror *m =
		g && g->nmirrors ? &g->mirrors[g->nmirrors - 1] : NULL;
	char **str = NULL;
	int *flag = NULL;

	if (r->sect == S_REGISTRY) {
		if (!strcmp(key, "prefix"))
			str = &g->prefix;
		else if (!strcmp(key, "location"))
			str = &g->location;
		else if (!strcmp(key, "insecure"))
			flag = &g->insecure;
		else if (!strcmp(key, "blocked"))
			flag = &g->blocked;
		else if (!strcmp(key, "mirror-by-digest-only"))
			flag = &g->mirror_by_digest_only;
		else if (!strcmp(key, "pull-from-mirror"))
			return fail(r, "'pull-from-mirror' belongs in a "
				       "[[registry.mirror]], not the "
				       "[[registry]] itself");
	} else if (r->sect == S_MIRROR) {
		if (!strcmp(key, "location"))
			str = &m->location;
		else if (!strcmp(key, "insecure"))
			flag = &m->insecure;
		else if (!strcmp(key, "pull-from-mirror"))
			return set_pull_from(r, m, v);
	}
	if (str) {
		if (want(r, v, V_STR, key))
			return HOIST_EINVAL;
		if (*str)
			return fail(r, "key given twice");
		*str = v->str;
		v->str = NULL;
		return 0;
	}
	if (flag) {
		if (want(r, v, V_BOOL, key))
			return HOIST_EINVAL;
		*flag = v->b;
		return 0;
	}
	warn_key(r, key);
	return 0;
}

/*
 * containers/image's parseLocation: drop trailing '/', refuse a URI
 * scheme; an empty string is unset.
 */
static int norm_location(struct rd *r, int line, char **s, const char *key)
{
	size_t n;
	char msg[160];

	if (!*s)
		return 0;
	n = strlen(*s);
	while (n && (*s)[n - 1] == '/')
		(*s)[--n] = '\0';
	if (!n) {
		free(*s);
		*s = NULL;
		return 0;
	}
	if (!strncmp(*s, "http://", 7) || !strncmp(*s, "https://", 8)) {
		snprintf(msg, sizeof(msg),
			 "'%s' is \"host[:port][/path]\", without http:// "
			 "or https://",
			 key);
		return fail_at(r, line, msg);
	}
	return 0;
}

/* The [[registry]] just ended (at the next header or the end). */
static int check_reg(struct rd *r)
{
	struct hoist_regconf_registry *g = cur_reg(r);
	int rc;

	if (!g || r->sect == S_TOP || r->sect == S_OTHER)
		return 0;
	r->sect = S_TOP; /* checked once */
	rc = norm_location(r, g->line, &g->prefix, "prefix");
	if (!rc)
		rc = norm_location(r, g->line, &g->location, "location");
	if (rc)
		return rc;
	if (!g->prefix && !g->location)
		return fail_at(r, g->line,
			       "[[registry]] without prefix or location");
	if (!g->prefix)
		g->prefix = hoist_xstrdup(g->location);
	if (strncmp(g->prefix, "*.", 2) != 0 && !g->location)
		return fail_at(r, g->line,
			       "[[registry]] without location needs a "
			       "wildcard prefix such as \"*.example.com\"");
	if (!strncmp(g->prefix, "*.", 2) && strpbrk(g->prefix + 1, "/:@*"))
		return fail_at(r, g->line,
			       "a wildcard prefix is \"*.example.com\": no "
			       "path, port, digest or other '*'");
	for (size_t i = 0; i < g->nmirrors; i++) {
		struct hoist_regconf_mirror *m = &g->mirrors[i];
		rc = norm_location(r, g->line, &m->location, "location");
		if (rc)
			return rc;
		if (!m->location)
			return fail_at(r, g->line,
				       "[[registry.mirror]] without location");
		if (m->pull_from && g->mirror_by_digest_only)
			return fail_at(r, g->line,
				       "'pull-from-mirror' and "
				       "'mirror-by-digest-only' together");
	}
	return 0;
}

/* One location in one file: insecure and blocked must agree. */
static int check_conflicts(struct rd *r, size_t first)
{
	struct hoist_regconf *c = r->c;

	for (size_t i = first + 1; i < c->nregs; i++) {
		const struct hoist_regconf_registry *a = &c->regs[i];
		const char *la = a->location ? a->location : a->prefix;
		for (size_t j = first; j < i; j++) {
			const struct hoist_regconf_registry *b = &c->regs[j];
			const char *lb = b->location ? b->location : b->prefix;
			if (strcmp(la, lb) != 0)
				continue;
			if (a->insecure != b->insecure)
				return fail_at(r, a->line,
					       "a location defined again with "
					       "another 'insecure'");
			if (a->blocked != b->blocked)
				return fail_at(r, a->line,
					       "a location defined again with "
					       "another 'blocked'");
		}
	}
	return 0;
}

static int header(struct rd *r)
{
	int array = r->s + 1 < r->end && r->s[1] == '[';
	const char *name;
	size_t n;
	struct hoist_regconf_registry *g;

	r->s += array ? 2 : 1;
	skip_ws(r);
	name = r->s;
	while (r->s < r->end && (is_bare(*r->s) || *r->s == '.'))
		r->s++;
	n = (size_t)(r->s - name);
	skip_ws(r);
	if (r->s >= r->end || *r->s != ']' ||
	    (array && (r->s + 1 >= r->end || r->s[1] != ']')))
		return fail(r, "malformed table header");
	r->s += array ? 2 : 1;
	if (array && n == 15 && !memcmp(name, "registry.mirror", 15)) {
		g = cur_reg(r);
		if (!g || (r->sect != S_REGISTRY && r->sect != S_MIRROR))
			return fail(r, "[[registry.mirror]] outside a "
				       "[[registry]]");
		if (g->nmirrors >= MIRRORS_MAX)
			return limit(r, "mirrors", MIRRORS_MAX);
		g->mirrors = hoist_xreallocarray(g->mirrors, g->nmirrors + 1,
						 sizeof(*g->mirrors));
		memset(&g->mirrors[g->nmirrors++], 0, sizeof(*g->mirrors));
		r->sect = S_MIRROR;
		return end_of_line(r);
	}
	if (check_reg(r))
		return HOIST_EINVAL;
	if (array && n == 8 && !memcmp(name, "registry", 8)) {
		if (r->c->nregs >= REGS_MAX)
			return limit(r, "registries", REGS_MAX);
		r->c->regs = hoist_xreallocarray(r->c->regs, r->c->nregs + 1,
						 sizeof(*r->c->regs));
		g = &r->c->regs[r->c->nregs++];
		memset(g, 0, sizeof(*g));
		g->file = hoist_xstrdup(r->name);
		g->line = r->line;
		r->sect = S_REGISTRY;
	} else {
		char *t = hoist_xstrndup(name, n);
		r->sect = S_TOP;
		warn_key(r, t);
		r->quiet_table = known_ignored(r, t);
		r->sect = S_OTHER;
		free(t);
	}
	return end_of_line(r);
}

int hoist_regconf_parse(struct hoist_regconf *c, const char *text, size_t len,
			const char *name, struct hoist_err *err)
{
	struct rd r = {text, text + len, name, 1, c, S_TOP, 0, err};
	size_t first = c->nregs;

	if (len > CONF_MAX)
		return limit(&r, "bytes", CONF_MAX);
	for (;;) {
		char *key = NULL;
		struct val v;
		int rc;

		skip_ws_nl(&r);
		if (r.s >= r.end)
			break;
		if (*r.s == '[') {
			if (header(&r))
				return err ? err->code : HOIST_EINVAL;
			continue;
		}
		if (read_key(&r, &key))
			return err ? err->code : HOIST_EINVAL;
		skip_ws(&r);
		if (r.s >= r.end || *r.s != '=') {
			free(key);
			return fail(&r, "expected '=' after a key");
		}
		r.s++;
		skip_ws(&r);
		rc = read_value(&r, &v, 0);
		if (!rc)
			rc = end_of_line(&r);
		if (!rc) {
			if (r.sect == S_OTHER ||
			    (r.sect == S_TOP && strcmp(key, "version") != 0))
				warn_key(&r, key);
			else if (r.sect != S_TOP)
				rc = set_key(&r, key, &v);
		}
		free(v.str);
		free(key);
		if (rc)
			return err ? err->code : HOIST_EINVAL;
	}
	if (check_reg(&r) || check_conflicts(&r, first))
		return err ? err->code : HOIST_EINVAL;
	return 0;
}

static void free_reg(struct hoist_regconf_registry *g)
{
	for (size_t i = 0; i < g->nmirrors; i++)
		free(g->mirrors[i].location);
	free(g->mirrors);
	free(g->prefix);
	free(g->location);
	free(g->file);
}

void hoist_regconf_release(struct hoist_regconf *c)
{
	for (size_t i = 0; i < c->nregs; i++)
		free_reg(&c->regs[i]);
	free(c->regs);
	memset(c, 0, sizeof(*c));
}

/* A drop-in's entries replace the earlier files' with the same prefix. */
static void dedup(struct hoist_regconf *c, size_t from)
{
	size_t out = 0;

	for (size_t j = 0; j < from; j++) {
		int replaced = 0;
		for (size_t i = from; i < c->nregs && !replaced; i++)
			replaced =
				!strcmp(c->regs[j].prefix, c->regs[i].prefix);
		if (replaced)
			free_reg(&c->regs[j]);
		else
			c->regs[out++] = c->regs[j];
	}
	for (size_t i = from; i < c->nregs; i++)
		c->regs[out++] = c->regs[i];
	c->nregs = out;
}

static int load_file(struct hoist_regconf *c, const char *path, int must,
		     struct hoist_err *err)
{
	char *data = NULL;
	size_t len = 0, before = c->nregs;
	int rc = hoist_fs_read_file(&data, &len, path, CONF_MAX, err);

	if (rc == HOIST_ENOTFOUND && !must) {
		hoist_err_clear(err);
		return 0;
	}
	if (!rc)
		rc = hoist_regconf_parse(c, data, len, path, err);
	free(data);
	if (!rc)
		dedup(c, before);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct hoist_regconf *c, const char *dir,
		    struct hoist_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < 1000) {
		size_t l = strlen(de->d_name);
		if (l > 5 && !strcmp(de->d_name + l - 5, ".conf")) {
			names = hoist_xreallocarray(names, n + 1,
						    sizeof(*names));
			names[n++] = hoist_xasprintf("%s/%s", dir, de->d_name);
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = load_file(c, names[i], 0, err);
		free(names[i]);
	}
	free(names);
	return rc;
}

int hoist_regconf_load(struct hoist_regconf *c, struct hoist_err *err)
{
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
	const char *home = getenv("HOME");
	char *user = NULL, *udir = NULL;
	int rc, use_user;

	memset(c, 0, sizeof(*c));
	if (home && *home) {
		user = hoist_xasprintf("%s/.config/containers/registries.conf",
				       home);
		udir = hoist_xasprintf("%s.d", user);
	}
	use_user = !(env && *env) && user && hoist_fs_exists(user);
	if (env && *env)
		rc = load_file(c, env, 1, err);
	else
		rc = load_file(
			c, use_user ? user : "/etc/containers/registries.conf",
			0, err);
	if (!rc && !use_user)
		rc = load_dir(c, "/etc/containers/registries.conf.d", err);
	if (!rc && udir)
		rc = load_dir(c, udir, err);
	free(user);
	free(udir);
	return rc;
}

int hoist_regconf_system(const struct hoist_regconf **out,
			 struct hoist_err *err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct hoist_regconf conf;
	static struct hoist_err load_err;
	static int loaded, load_rc;

	pthread_mutex_lock(&lock);
	if (!loaded) {
		hoist_err_clear(&load_err);
		load_rc = hoist_regconf_load(&conf, &load_err);
		if (load_rc)
			hoist_regconf_release(&conf);
		loaded = 1;
	}
	pthread_mutex_unlock(&lock);
	*out = load_rc ? NULL : &conf;
	if (load_rc && err)
		*err = load_err;
	return load_rc;
}

/*
 * containers/image's refMatchingPrefix: the length of ref that prefix
 * matches, or -1.
 */
static long match_prefix(const char *ref, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!strncmp(prefix, "*.", 2)) {
		const char *at = strstr(ref, prefix + 1);
		const char *slash = strchr(ref, '/');
		if (!at || (slash && slash < at))
			return -1;
		at += n - 1;
		return !*at || strchr(":/@", *at) ? at - ref : -1;
	}
	if (!n || strncmp(ref, prefix, n) != 0)
		return -1;
	return !ref[n] || strchr(":/@", ref[n]) ? (long)n : -1;
}

const struct hoist_regconf_registry *
hoist_regconf_find(const struct hoist_regconf *c, const char *ref)
{
	const struct hoist_regconf_registry *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; c && i < c->nregs; i++) {
		size_t n = strlen(c->regs[i].prefix);
		if (n > best_len && match_prefix(ref, c->regs[i].prefix) >= 0) {
			best = &c->regs[i];
			best_len = n;
		}
	}
	return best;
}

static void add_source(struct hoist_regconf_source **s, size_t *n,
		       const char *loc, const char *ref, long matched,
		       int insecure, int mirror)
{
	struct hoist_regconf_source *e;

	*s = hoist_xreallocarray(*s, *n + 1, sizeof(**s));
	e = &(*s)[(*n)++];
	e->ref = loc ? hoist_xasprintf("%s%s", loc, ref + matched)
		     : hoist_xstrdup(ref);
	e->insecure = insecure;
	e->mirror = mirror;
}

int hoist_regconf_sources(const struct hoist_regconf *c, const char *ref,
			  int pull, struct hoist_regconf_source **out,
			  size_t *n, struct hoist_err *err)
{
	const struct hoist_regconf_registry *g = hoist_regconf_find(c, ref);
	int by_digest = strchr(ref, '@') != NULL;
	char qp[HOIST_QUOTE_BUF], qf[HOIST_QUOTE_BUF];
	long matched;

	*out = NULL;
	*n = 0;
	if (!g) {
		add_source(out, n, NULL, ref, 0, 0, 0);
		return 0;
	}
	if (g->blocked)
		return hoist_err_set(
			err, HOIST_EUNSUPPORTED,
			"registry '%s' is blocked in '%s' line %d",
			hoist_err_quote(qp, sizeof(qp), g->prefix,
					HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8),
			hoist_err_quote(qf, sizeof(qf), g->file,
					HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8),
			g->line);
	matched = match_prefix(ref, g->prefix);
	for (size_t i = 0; pull && i < g->nmirrors; i++) {
		const struct hoist_regconf_mirror *m = &g->mirrors[i];
		if ((g->mirror_by_digest_only ||
		     m->pull_from == HOIST_REGCONF_PULL_DIGEST_ONLY) &&
		    !by_digest)
			continue;
		if (m->pull_from == HOIST_REGCONF_PULL_TAG_ONLY && by_digest)
			continue;
		add_source(out, n, m->location, ref, matched, m->insecure, 1);
	}
	add_source(out, n, pull ? g->location : NULL, ref, matched, g->insecure,
		   0);
	return 0;
}

void hoist_regconf_sources_free(struct hoist_regconf_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].ref);
	free(s);
}
