/*
 * regconf.c: a reader for containers-registries.conf(5) version 2: the
 * small TOML subset those files use, turned into [[registry]] entries.
 * The text is untrusted (a drop-in file anyone may have written): every
 * loop is bounded by the input, counts are capped, errors name the file
 * and line, and nothing is echoed unquoted.
 */
#include <dirent.h>
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

static int fail(struct rd *r, const char *why)
{
	char q[HOIST_QUOTE_BUF];

	hoist_err_quote(q, sizeof(q), r->name, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	return hoist_err_set(r->err, HOIST_EINVAL, "'%s' line %d: %s", q,
			     r->line, why);
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
		if (c == '\r' || (c < 0x20 && c != '\t') ||
		    c == 0x7f || c == 0) {
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
				return hoist_err_set(r->err, HOIST_ELIMIT,
						     "array longer than %d",
						     ARRAY_MAX);
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
					  "credential-helpers", "aliases"};
	static const char *const reg[] = {"mirror-by-digest-only",
					  "pull-from-mirror"};

	if (r->sect == S_OTHER)
		return r->quiet_table;
	for (size_t i = 0; r->sect == S_TOP && i < HOIST_ARRAY_SIZE(top); i++)
		if (!strcmp(key, top[i]))
			return 1;
	for (size_t i = 0; r->sect != S_TOP && i < HOIST_ARRAY_SIZE(reg); i++)
		if (!strcmp(key, reg[i]))
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
	} else if (r->sect == S_MIRROR) {
		if (!strcmp(key, "location"))
			str = &m->location;
		else if (!strcmp(key, "insecure"))
			flag = &m->insecure;
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

static int check_reg(struct rd *r)
{
	struct hoist_regconf_registry *g = cur_reg(r);

	if (!g || r->sect == S_TOP || r->sect == S_OTHER)
		return 0;
	if (!g->prefix && !g->location)
		return fail(r, "[[registry]] without prefix or location");
	for (size_t i = 0; i < g->nmirrors; i++)
		if (!g->mirrors[i].location)
			return fail(r, "[[registry.mirror]] without location");
	if (!g->prefix)
		g->prefix = hoist_xstrdup(g->location);
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
	if (check_reg(r))
		return HOIST_EINVAL;
	if (array && n == 8 && !memcmp(name, "registry", 8)) {
		if (r->c->nregs >= REGS_MAX)
			return hoist_err_set(r->err, HOIST_ELIMIT,
					     "more than %d registries",
					     REGS_MAX);
		r->c->regs = hoist_xreallocarray(r->c->regs, r->c->nregs + 1,
						 sizeof(*r->c->regs));
		memset(&r->c->regs[r->c->nregs++], 0, sizeof(*r->c->regs));
		r->sect = S_REGISTRY;
	} else if (array && n == 15 && !memcmp(name, "registry.mirror", 15)) {
		g = cur_reg(r);
		if (!g || (r->sect != S_REGISTRY && r->sect != S_MIRROR))
			return fail(r, "[[registry.mirror]] outside a "
				       "[[registry]]");
		if (g->nmirrors >= MIRRORS_MAX)
			return hoist_err_set(r->err, HOIST_ELIMIT,
					     "more than %d mirrors",
					     MIRRORS_MAX);
		g->mirrors = hoist_xreallocarray(g->mirrors, g->nmirrors + 1,
						 sizeof(*g->mirrors));
		memset(&g->mirrors[g->nmirrors++], 0, sizeof(*g->mirrors));
		r->sect = S_MIRROR;
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

	if (len > CONF_MAX)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "'%s': longer than %d bytes", name,
				     CONF_MAX);
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
	if (check_reg(&r))
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
}

void hoist_regconf_release(struct hoist_regconf *c)
{
	for (size_t i = 0; i < c->nregs; i++)
		free_reg(&c->regs[i]);
	free(c->regs);
	memset(c, 0, sizeof(*c));
}

/* Later entries with a prefix seen before replace the earlier one. */
static void dedup(struct hoist_regconf *c, size_t from)
{
	for (size_t i = from; i < c->nregs; i++)
		for (size_t j = 0; j < from; j++)
			if (c->regs[j].prefix && c->regs[i].prefix &&
			    !strcmp(c->regs[j].prefix, c->regs[i].prefix)) {
				free_reg(&c->regs[j]);
				memset(&c->regs[j], 0, sizeof(c->regs[j]));
			}
}

static int load_file(struct hoist_regconf *c, const char *path,
		     struct hoist_err *err)
{
	char *data = NULL;
	size_t len = 0, before = c->nregs;
	int rc = hoist_fs_read_file(&data, &len, path, CONF_MAX, err);

	if (rc == HOIST_ENOTFOUND) {
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
			rc = load_file(c, names[i], err);
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
	int rc;

	memset(c, 0, sizeof(*c));
	if (env && *env)
		return load_file(c, env, err);
	if (home && *home) {
		user = hoist_xasprintf("%s/.config/containers/registries.conf",
				       home);
		udir = hoist_xasprintf("%s.d", user);
	}
	if (user && hoist_fs_exists(user)) {
		rc = load_file(c, user, err);
		if (!rc)
			rc = load_dir(c, udir, err);
	} else {
		rc = load_file(c, "/etc/containers/registries.conf", err);
		if (!rc)
			rc = load_dir(c, "/etc/containers/registries.conf.d",
				      err);
	}
	free(user);
	free(udir);
	return rc;
}

const struct hoist_regconf_registry *
hoist_regconf_find(const struct hoist_regconf *c, const char *host,
		   const char *repo)
{
	const struct hoist_regconf_registry *best = NULL;
	size_t best_len = 0;
	char *full = hoist_xasprintf("%s/%s", host, repo ? repo : "");

	for (size_t i = 0; i < c->nregs; i++) {
		const char *p = c->regs[i].prefix;
		size_t n = p ? strlen(p) : 0;
		if (!n || strncmp(full, p, n) != 0)
			continue;
		if (full[n] != '\0' && full[n] != '/' && p[n - 1] != '/')
			continue;
		if (n > best_len) {
			best = &c->regs[i];
			best_len = n;
		}
	}
	free(full);
	return best;
}
