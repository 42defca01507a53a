/*
 * dockerignore.c: .dockerignore patterns as moby/patternmatcher reads and
 * matches them (ignorefile.ReadAll, New, Pattern.compile/match,
 * MatchesUsingParentResults) and fsutil's rule for skipping excluded
 * directories. See dockerignore.h.
 *
 * patternmatcher sorts each pattern into four kinds: exact (no wildcard:
 * string equality), prefix ("lit**": HasPrefix), suffix ("**lit":
 * HasSuffix, or the name alone) and regexp. Its regexp is built from the
 * pattern: "*" becomes [^/]*, "?" becomes [^/], "**" becomes an optional
 * run of anything ending in "/" (or, last, anything), "\x" is x,
 * brackets pass through, and "^" stays an anchor. Here the same pieces
 * are tokens matched by a small NFA over characters, so a hostile pattern
 * cannot make matching exponential. Like Go's ".", the "**" pieces do not
 * match a newline; [^/] does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dockerignore.h"
#include "lib/shellwords.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

enum { M_EXACT, M_PREFIX, M_SUFFIX, M_REGEXP };

/* Tokens; a GLOB takes two NFA states (before and inside its ".*"). */
enum { T_LIT, T_ANY, T_STAR, T_GLOB, T_GLOB_IN, T_TAIL, T_CLASS, T_BOL };

struct range {
	unsigned lo, hi;
};

struct tok {
	int kind;
	unsigned ch; /* T_LIT */
	int negated; /* T_CLASS */
	struct range *r;
	size_t nr;
};

struct pattern {
	char *text; /* cleaned, without "!" */
	int exception;
	int type;
	struct tok *t;
	size_t nt;
};

struct hoist_dockerignore {
	struct pattern *p;
	size_t n;
	int exceptions;
	int wild_exceptions; /* an exception has a wildcard */
};

char *hoist_dockerignore_clean(const char *path)
{
	size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
	int rooted = n && path[0] == '/';
	char *out = hoist_xmalloc(n + 2);

	if (rooted)
		out[w++] = '/', r = 1, dotdot = 1;
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' &&
			   (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' &&
			   (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	return out;
}

/* ---- filepath.Match syntax check (scanChunk / matchChunk / getEsc) ---- */

static int get_esc(const char *s, size_t n, size_t *i, unsigned *r)
{
	unsigned cp;
	size_t l;

	if (*i >= n || s[*i] == '-' || s[*i] == ']')
		return -1;
	if (s[*i] == '\\') {
		(*i)++;
		if (*i >= n)
			return -1;
	}
	l = hoist_shellwords_rune(s + *i, n - *i, &cp);
	if (cp == 0xfffd && l == 1 &&
	    !(n - *i >= 3 && memcmp(s + *i, "\xef\xbf\xbd", 3) == 0))
		return -1;
	*i += l;
	*r = cp;
	return *i >= n ? -1 : 0;
}

/*
 * Parse a class at s[*i] (on the '['); fills t when not NULL. -1 when the
 * class is malformed for filepath.Match.
 */
static int parse_class(const char *s, size_t n, size_t *i, struct tok *t)
{
	size_t nrange = 0;
	unsigned lo, hi;

	(*i)++;
	if (*i < n && s[*i] == '^') {
		if (t)
			t->negated = 1;
		(*i)++;
	}
	for (;;) {
		if (*i < n && s[*i] == ']' && nrange > 0) {
			(*i)++;
			return 0;
		}
		if (get_esc(s, n, i, &lo))
			return -1;
		hi = lo;
		if (s[*i] == '-') {
			(*i)++;
			if (get_esc(s, n, i, &hi))
				return -1;
		}
		if (t) {
			t->r = hoist_xreallocarray(t->r, t->nr + 1,
						   sizeof(*t->r));
			t->r[t->nr].lo = lo;
			t->r[t->nr++].hi = hi;
		}
		nrange++;
	}
}

static int syntax_ok(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		if (s[i] == '\\') {
			if (i + 1 >= n)
				return 0;
			i += 2;
		} else if (s[i] == '[') {
			if (parse_class(s, n, &i, NULL))
				return 0;
		} else {
			i++;
		}
	}
	return 1;
}

/* ---- compile (Pattern.compile) ---- */

static void add_tok(struct pattern *p, int kind, unsigned ch)
{
	p->t = hoist_xreallocarray(p->t, p->nt + 1, sizeof(*p->t));
	memset(&p->t[p->nt], 0, sizeof(*p->t));
	p->t[p->nt].kind = kind;
	p->t[p->nt++].ch = ch;
}

static void compile(struct pattern *p)
{
	const char *s = p->text;
	size_t n = strlen(s), i = 0;

	p->type = M_EXACT;
	for (int k = 0; i < n; k++) {
		unsigned cp;
		size_t l = hoist_shellwords_rune(s + i, n - i, &cp);

		if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
			i += 2;
			if (i < n && s[i] == '/')
				i++;
			if (i == n) {
				if (p->type == M_EXACT) {
					p->type = M_PREFIX;
				} else {
					add_tok(p, T_TAIL, 0);
					p->type = M_REGEXP;
				}
			} else {
				add_tok(p, T_GLOB, 0);
				add_tok(p, T_GLOB_IN, 0);
				p->type = M_REGEXP;
			}
			if (k == 0)
				p->type = M_SUFFIX;
			continue;
		}
		if (s[i] == '*' || s[i] == '?') {
			add_tok(p, s[i] == '*' ? T_STAR : T_ANY, 0);
			p->type = M_REGEXP;
			i++;
			continue;
		}
		if (s[i] == '\\' && i + 1 < n) {
			l = hoist_shellwords_rune(s + i + 1, n - i - 1, &cp);
			add_tok(p, T_LIT, cp);
			p->type = M_REGEXP;
			i += 1 + l;
			continue;
		}
		if (s[i] == '[') {
			add_tok(p, T_CLASS, 0);
			parse_class(s, n, &i, &p->t[p->nt - 1]);
			p->type = M_REGEXP;
			continue;
		}
		if (s[i] == ']')
			p->type = M_REGEXP;
		add_tok(p, s[i] == '^' ? T_BOL : T_LIT, cp);
		i += l;
	}
}

/* ---- matching ---- */

static void closure(const struct tok *t, size_t nt, unsigned char *set,
		    size_t pos)
{
	for (size_t k = 0; k < nt; k++) {
		if (!set[k])
			continue;
		if (t[k].kind == T_STAR || t[k].kind == T_TAIL)
			set[k + 1] = 1;
		else if (t[k].kind == T_GLOB)
			set[k + 2] = 1;
		else if (t[k].kind == T_BOL && pos == 0)
			set[k + 1] = 1;
	}
}

static int class_has(const struct tok *t, unsigned c)
{
	int in = 0;

	for (size_t i = 0; i < t->nr && !in; i++)
		in = t->r[i].lo <= c && c <= t->r[i].hi;
	return in != t->negated;
}

static int regexp_match(const struct pattern *p, const char *s)
{
	size_t nt = p->nt, n = strlen(s), pos = 0;
	unsigned char *set = hoist_xcalloc(nt + 1, 2), *next = set + nt + 1;
	int ok;

	set[0] = 1;
	closure(p->t, nt, set, 0);
	while (pos < n) {
		unsigned c;
		size_t l = hoist_shellwords_rune(s + pos, n - pos, &c);
		int alive = 0;

		memset(next, 0, nt + 1);
		for (size_t k = 0; k < nt; k++) {
			const struct tok *t = &p->t[k];

			if (!set[k])
				continue;
			switch (t->kind) {
			case T_LIT:
				next[k + 1] |= t->ch == c;
				break;
			case T_ANY:
				next[k + 1] |= c != '/';
				break;
			case T_STAR:
				next[k] |= c != '/';
				break;
			case T_TAIL:
				next[k] |= c != '\n';
				break;
			case T_GLOB:
				next[k + 1] |= c != '\n';
				next[k + 2] |= c == '/';
				break;
			case T_GLOB_IN:
				next[k] |= c != '\n';
				next[k + 1] |= c == '/';
				break;
			case T_CLASS:
				next[k + 1] |= class_has(t, c);
				break;
			}
		}
		pos += l;
		closure(p->t, nt, next, pos);
		for (size_t k = 0; k <= nt; k++)
			alive |= (set[k] = next[k]);
		if (!alive)
			break;
	}
	ok = pos >= n && set[nt];
	free(set);
	return ok;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int pattern_match(const struct pattern *p, const char *path)
{
	const char *x = p->text;

	switch (p->type) {
	case M_EXACT:
		return strcmp(path, x) == 0;
	case M_PREFIX:
		return strncmp(path, x, strlen(x) - 2) == 0;
	case M_SUFFIX:
		return has_suffix(path, x + 2) ||
		       (x[2] == '/' && strcmp(path, x + 3) == 0);
	default:
		return regexp_match(p, path);
	}
}

/* The pattern against path, or else against each parent of path. */
static int match_or_parents(const struct pattern *p, const char *path)
{
	char *dir;
	int m = 0;

	if (pattern_match(p, path))
		return 1;
	dir = hoist_xstrdup(path);
	for (char *c = dir; *c && !m; c++) {
		if (*c != '/')
			continue;
		*c = 0;
		m = pattern_match(p, dir);
		*c = '/';
	}
	free(dir);
	return m;
}

int hoist_dockerignore_match(const struct hoist_dockerignore *di,
			     const char *path, const unsigned char *parent,
			     unsigned char *info)
{
	int matched = 0;

	for (size_t i = 0; i < di->n; i++) {
		const struct pattern *p = &di->p[i];
		int m = parent ? parent[i] : 0;

		if (!m) {
			if (p->exception != matched) {
				if (info)
					info[i] = 0;
				continue;
			}
			m = parent ? pattern_match(p, path)
				   : match_or_parents(p, path);
		}
		if (info)
			info[i] = (unsigned char)m;
		if (m)
			matched = !p->exception;
	}
	return matched;
}

int hoist_dockerignore_excluded(const struct hoist_dockerignore *di,
				const char *path)
{
	unsigned char *a = hoist_xcalloc(di->n + 1, 2), *b = a + di->n + 1;
	char *p = hoist_xstrdup(path);
	int ex = 0, first = 1;

	for (char *c = p;; c++) {
		if (*c == '/' || !*c) {
			char save = *c;

			*c = 0;
			ex = hoist_dockerignore_match(di, p, first ? NULL : a,
						      b);
			memcpy(a, b, di->n);
			first = 0;
			*c = save;
			if (!save)
				break;
		}
	}
	free(p);
	free(a);
	return ex;
}

int hoist_dockerignore_may_skip_dir(const struct hoist_dockerignore *di,
				    const char *dir)
{
	size_t dl = strlen(dir);

	if (!di->exceptions)
		return 1;
	if (di->wild_exceptions)
		return 0;
	for (size_t i = 0; i < di->n; i++) {
		const char *t = di->p[i].text;

		/* HasPrefix(pattern + "/", dir + "/") */
		if (di->p[i].exception && strncmp(t, dir, dl) == 0 &&
		    (t[dl] == '/' || t[dl] == 0))
			return 0;
	}
	return 1;
}

/* fsutil's containsWildcards */
static int wildcards(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '*' || *s == '?' || *s == '[')
			return 1;
	}
	return 0;
}

static int add_pattern(struct hoist_dockerignore *di, const char *in,
		       const char *name, int line, struct hoist_err *err)
{
	size_t n = strlen(in);
	const char *s = in;
	char q[HOIST_QUOTE_BUF], where[HOIST_QUOTE_BUF + 32] = "";
	struct pattern p = {0};
	char *tmp, *clean;

	s = hoist_shellwords_trim(s, &n);
	if (name)
		snprintf(where, sizeof(where), "'%s' line %d: ", name, line);
	if (!n)
		return 0;
	tmp = hoist_xstrndup(s, n);
	clean = hoist_dockerignore_clean(tmp);
	free(tmp);
	if (clean[0] == '!') {
		if (!clean[1]) {
			free(clean);
			return hoist_err_set(err, HOIST_EINVAL,
					     "%sillegal exclusion pattern: "
					     "\"!\"",
					     where);
		}
		p.exception = 1;
	}
	p.text = hoist_xstrdup(clean + p.exception);
	free(clean);
	if (!syntax_ok(p.text)) {
		hoist_err_quote(q, sizeof(q), p.text, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		free(p.text);
		return hoist_err_set(err, HOIST_EINVAL,
				     "%ssyntax error in pattern '%s'", where,
				     q);
	}
	compile(&p);
	if (p.exception) {
		di->exceptions = 1;
		di->wild_exceptions |= wildcards(p.text);
	}
	di->p = hoist_xreallocarray(di->p, di->n + 1, sizeof(*di->p));
	di->p[di->n++] = p;
	return 0;
}

int hoist_dockerignore_new(struct hoist_dockerignore **out,
			   const char *const *patterns, size_t n,
			   struct hoist_err *err)
{
	struct hoist_dockerignore *di = hoist_xcalloc(1, sizeof(*di));
	int rc;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		if ((rc = add_pattern(di, patterns[i], NULL, 0, err))) {
			hoist_dockerignore_free(di);
			return rc;
		}
	*out = di;
	return 0;
}

/* ReadAll's handling of one line: a pattern for New, or NULL. */
static char *read_line(const char *s, size_t n)
{
	struct hoist_buf b;
	char *c, *out;

	if (n && s[0] == '#')
		return NULL;
	s = hoist_shellwords_trim(s, &n);
	if (!n)
		return NULL;
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	if (s[0] == '!') {
		hoist_buf_addch(&b, '!', NULL);
		n--;
		s = hoist_shellwords_trim(s + 1, &n);
	}
	if (n) {
		c = hoist_xstrndup(s, n);
		out = hoist_dockerignore_clean(c);
		hoist_buf_adds(&b, out[0] == '/' && out[1] ? out + 1 : out,
			       NULL);
		free(out);
		free(c);
	}
	return hoist_buf_detach(&b, NULL);
}

int hoist_dockerignore_parse(struct hoist_dockerignore **out, const char *name,
			     const char *data, size_t len,
			     struct hoist_err *err)
{
	struct hoist_dockerignore *di;
	int line = 0, rc = 0;
	size_t pos = 0;

	*out = NULL;
	if (len > HOIST_DOCKERIGNORE_MAX)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "'%s': larger than %u bytes", name,
				     HOIST_DOCKERIGNORE_MAX);
	if (memchr(data, 0, len))
		return hoist_err_set(err, HOIST_EINVAL,
				     "'%s': a NUL byte is not allowed", name);
	di = hoist_xcalloc(1, sizeof(*di));
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && !rc) {
		const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		char *pat;

		pos += n + (nl != NULL);
		line++;
		if (n && s[n - 1] == '\r') /* bufio.ScanLines drops it */
			n--;
		pat = read_line(s, n);
		if (pat)
			rc = add_pattern(di, pat, name, line, err);
		free(pat);
	}
	if (rc) {
		hoist_dockerignore_free(di);
		return rc;
	}
	*out = di;
	return 0;
}

void hoist_dockerignore_free(struct hoist_dockerignore *di)
{
	if (!di)
		return;
	for (size_t i = 0; i < di->n; i++) {
		for (size_t k = 0; k < di->p[i].nt; k++)
			free(di->p[i].t[k].r);
		free(di->p[i].t);
		free(di->p[i].text);
	}
	free(di->p);
	free(di);
}

size_t hoist_dockerignore_count(const struct hoist_dockerignore *di)
{
	return di->n;
}

const char *hoist_dockerignore_pattern(const struct hoist_dockerignore *di,
				       size_t i, int *exception)
{
	if (i >= di->n)
		return NULL;
	if (exception)
		*exception = di->p[i].exception;
	return di->p[i].text;
}
