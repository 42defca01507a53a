/*
 * shellwords.c: BuildKit's Dockerfile shell lexer (variable substitution,
 * quotes, escapes and word splitting); see shellwords.h for the rules.
 *
 * The structure follows BuildKit's shell/lex.go function by function
 * (processStopOn, processSingleQuote, processDoubleQuote, processDollar,
 * processName), so that its corner cases carry over: "${A:-x y}" splits in
 * two words, an empty quoted string makes no word, a "\" before "}" in a
 * pattern is dropped. Patterns are matched by a small NFA over characters
 * instead of Go's regexp; "shortest" and "longest" prefix are exactly what
 * the lazy and greedy regexps BuildKit builds find, because every pattern
 * is a sequence of literals, "." and ".*".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/shellwords.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

#define END (-1)
#define DEPTH_MAX 64
/* (value length)^2 * pattern length beyond which a ${X/p/r} is refused */
#define WORK_MAX (64u * 1024 * 1024)

struct words {
	struct hoist_buf word;
	int in_word;
	char **v;
	size_t n, cap;
};

struct lexer {
	const char *s;
	size_t len, pos;
	const struct hoist_shellwords *lex;
	int depth;
	struct hoist_err *err;
};

size_t hoist_shellwords_rune(const char *str, size_t n, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0], min;
	size_t need;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		need = 2, *cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 3, *cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 4, *cp = c & 0x07, min = 0x10000;
	} else {
		goto bad;
	}
	if (n < need)
		goto bad;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		goto bad;
	return need;
bad:
	*cp = 0xfffd;
	return 1;
}

size_t hoist_shellwords_encode(char u[4], unsigned cp)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int space_rune(unsigned r)
{
	return (r >= 9 && r <= 13) || r == ' ' || r == 0x85 || r == 0xa0 ||
	       r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
	       r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

size_t hoist_shellwords_space(const char *s, size_t n)
{
	unsigned cp;
	size_t l;

	if (n == 0)
		return 0;
	l = hoist_shellwords_rune(s, n, &cp);
	return space_rune(cp) ? l : 0;
}

const char *hoist_shellwords_trim(const char *s, size_t *n)
{
	size_t l;

	while (*n && (l = hoist_shellwords_space(s, *n))) {
		s += l;
		*n -= l;
	}
	/* trailing: scan back to a character start */
	for (;;) {
		size_t k = *n, start;

		if (!k)
			break;
		start = k - 1;
		while (start > 0 && k - start < 4 &&
		       ((unsigned char)s[start] & 0xc0) == 0x80)
			start--;
		l = hoist_shellwords_space(s + start, k - start);
		if (l != k - start)
			break;
		*n = start;
	}
	return s;
}

const char *hoist_shellwords_lookup(const struct hoist_shellwords_env *env,
				    const char *name, size_t n)
{
	if (!env)
		return NULL;
	for (size_t i = env->n; i-- > 0;) {
		const char *kv = env->vars[i];

		if (strncmp(kv, name, n) == 0 && kv[n] == '=')
			return kv + n + 1;
	}
	return NULL;
}

/* ---- words (BuildKit's wordsStruct) ---- */

static int words_push(struct words *w, struct hoist_err *err)
{
	if (w->word.len == 0)
		return 0;
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->v = hoist_xreallocarray(w->v, w->cap, sizeof(*w->v));
	}
	w->v[w->n++] = hoist_buf_detach(&w->word, NULL);
	w->v[w->n] = NULL;
	hoist_buf_init(&w->word, HOIST_SHELLWORDS_MAX);
	w->in_word = 0;
	(void)err;
	return 0;
}

static int words_raw(struct words *w, const char *s, size_t n,
		     struct hoist_err *err)
{
	if (!w)
		return 0;
	w->in_word = 1;
	return hoist_buf_add(&w->word, s, n, err);
}

/* Add text that may be split: white space ends the current word. */
static int words_split(struct words *w, const char *s, size_t n,
		       struct hoist_err *err)
{
	size_t i = 0, l, sp;
	int rc;

	if (!w)
		return 0;
	while (i < n) {
		unsigned cp;

		l = hoist_shellwords_rune(s + i, n - i, &cp);
		sp = space_rune(cp);
		if (sp && w->in_word) {
			if ((rc = words_push(w, err)))
				return rc;
		} else if (!sp && (rc = words_raw(w, s + i, l, err))) {
			return rc;
		}
		i += l;
	}
	return 0;
}

/* ---- the lexer ---- */

static int peek(const struct lexer *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : END;
}

static size_t rune_len(const struct lexer *lx)
{
	unsigned cp;

	return hoist_shellwords_rune(lx->s + lx->pos, lx->len - lx->pos, &cp);
}

/* Untrusted text for a message: quoted, so it stays on one line. */
static const char *qs(char *buf, const char *s, size_t n)
{
	return hoist_err_quote(buf, HOIST_QUOTE_BUF, s, n, HOIST_QUOTE_UTF8);
}

static int fail(struct lexer *lx, const char *msg)
{
	return hoist_err_set(lx->err, HOIST_EINVAL, "%s", msg);
}

static int stop_on(struct lexer *lx, int stop, int raw_escapes,
		   struct hoist_buf *out, struct words *w);
static int dollar(struct lexer *lx, struct hoist_buf *out);

static int single_quote(struct lexer *lx, struct hoist_buf *out)
{
	int raw = !!(lx->lex->flags & HOIST_SHELLWORDS_RAW_QUOTES);
	struct hoist_err *err = lx->err;

	lx->pos++;
	if (raw && hoist_buf_addch(out, '\'', err))
		return err->code;
	for (;;) {
		char c;

		if (lx->pos >= lx->len)
			return fail(lx, "unexpected end of statement while "
					"looking for matching single-quote");
		c = lx->s[lx->pos++];
		if (c == '\'' && !raw)
			return 0;
		if (hoist_buf_addch(out, c, err))
			return err->code;
		if (c == '\'')
			return 0;
	}
}

static int double_quote(struct lexer *lx, struct hoist_buf *out)
{
	unsigned flags = lx->lex->flags;
	char esc = lx->lex->escape;
	struct hoist_err *err = lx->err;
	int rc;

	lx->pos++;
	if ((flags & HOIST_SHELLWORDS_RAW_QUOTES) &&
	    hoist_buf_addch(out, '"', err))
		return err->code;
	for (;;) {
		int c = peek(lx);

		if (c == END)
			return fail(lx, "unexpected end of statement while "
					"looking for matching double-quote");
		if (c == '"') {
			lx->pos++;
			if ((flags & HOIST_SHELLWORDS_RAW_QUOTES) &&
			    hoist_buf_addch(out, '"', err))
				return err->code;
			return 0;
		}
		if (c == '$') {
			if ((rc = dollar(lx, out)))
				return rc;
			continue;
		}
		lx->pos++;
		if (c == esc) {
			int n = peek(lx);

			if ((flags & HOIST_SHELLWORDS_RAW_ESCAPES) &&
			    hoist_buf_addch(out, esc, err))
				return err->code;
			if (n == END)
				continue;
			if (n == '"' || n == '$' || n == esc) {
				c = n;
				lx->pos++;
			}
		}
		if (hoist_buf_addch(out, (char)c, err))
			return err->code;
	}
}

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* processName: digits, one special parameter, or [A-Za-z0-9_]+. */
static size_t name(struct lexer *lx)
{
	size_t start = lx->pos;
	int c = peek(lx);

	if (c >= '0' && c <= '9') {
		while ((c = peek(lx)) >= '0' && c <= '9')
			lx->pos++;
		return lx->pos - start;
	}
	if (c != END && strchr("@*#?-$!", c)) {
		lx->pos++;
		return 1;
	}
	while ((c = peek(lx)) != END && (is_alnum(c) || c == '_'))
		lx->pos++;
	return lx->pos - start;
}

/* ---- patterns for # % / ---- */

enum { T_LIT, T_ANY, T_STAR };

struct tok {
	int kind;
	const char *s; /* T_LIT: one character */
	size_t n;
};

struct chr {
	const char *s;
	size_t n;
};

static int compile(struct tok **out, size_t *ntok, const char *p, size_t n,
		   struct hoist_err *err)
{
	struct tok *t = hoist_xcalloc(n + 1, sizeof(*t));
	size_t k = 0, i = 0;

	while (i < n) {
		unsigned cp;
		size_t l = hoist_shellwords_rune(p + i, n - i, &cp);

		if (p[i] == '*' || p[i] == '?') {
			t[k++].kind = p[i] == '*' ? T_STAR : T_ANY;
			i++;
			continue;
		}
		if (p[i] == '\\') {
			if (i + 1 < n && p[i + 1] == '}') {
				i++;
				continue;
			}
			i++;
			if (i >= n ||
			    (p[i] != '*' && p[i] != '?' && p[i] != '\\')) {
				l = i < n ? hoist_shellwords_rune(p + i, n - i,
								  &cp)
					  : 0;
				char q[HOIST_QUOTE_BUF];

				free(t);
				return hoist_err_set(err, HOIST_EINVAL,
						     "invalid escape '\\%s'",
						     qs(q, p + i, l));
			}
			l = 1;
		}
		t[k].kind = T_LIT;
		t[k].s = p + i;
		t[k++].n = l;
		i += l;
	}
	*out = t;
	*ntok = k;
	return 0;
}

static void closure(const struct tok *t, size_t n, unsigned char *set)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] && t[i].kind == T_STAR)
			set[i + 1] = 1;
}

/*
 * Match the tokens against a prefix of the characters c[0..nc). Returns
 * the number of characters of the shortest (greedy: longest) matching
 * prefix, or -1.
 */
static long match_prefix(const struct tok *t, size_t nt, const struct chr *c,
			 size_t nc, int greedy, unsigned char *set,
			 unsigned char *next)
{
	long found = -1;

	memset(set, 0, nt + 1);
	set[0] = 1;
	closure(t, nt, set);
	for (size_t i = 0;; i++) {
		int alive = 0;

		if (set[nt]) {
			found = (long)i;
			if (!greedy)
				return found;
		}
		if (i == nc)
			return found;
		memset(next, 0, nt + 1);
		for (size_t k = 0; k < nt; k++) {
			int nl = !(c[i].n == 1 && c[i].s[0] == '\n');

			if (!set[k])
				continue;
			if (t[k].kind == T_STAR && nl)
				next[k] = 1;
			else if (t[k].kind == T_ANY && nl)
				next[k + 1] = 1;
			else if (t[k].kind == T_LIT && t[k].n == c[i].n &&
				 memcmp(t[k].s, c[i].s, c[i].n) == 0)
				next[k + 1] = 1;
		}
		closure(t, nt, next);
		for (size_t k = 0; k <= nt; k++)
			alive |= (set[k] = next[k]);
		if (!alive)
			return found;
	}
}

static struct chr *split_chars(const char *s, size_t *n)
{
	size_t len = strlen(s), k = 0;
	struct chr *c = hoist_xcalloc(len + 1, sizeof(*c));

	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t l = hoist_shellwords_rune(s + i, len - i, &cp);

		c[k].s = s + i;
		c[k++].n = l;
		i += l;
	}
	*n = k;
	return c;
}

static void reverse(void *base, size_t n, size_t size)
{
	char tmp[sizeof(struct tok)], *b = base;

	for (size_t i = 0; i < n / 2; i++) {
		memcpy(tmp, b + i * size, size);
		memcpy(b + i * size, b + (n - 1 - i) * size, size);
		memcpy(b + (n - 1 - i) * size, tmp, size);
	}
}

static int add_chars(struct hoist_buf *out, const struct chr *c, size_t from,
		     size_t to, struct hoist_err *err)
{
	for (size_t i = from; i < to; i++)
		if (hoist_buf_add(out, c[i].s, c[i].n, err))
			return err->code;
	return 0;
}

/* Go's Regexp.Expand for a regexp with no groups: $$, $0 / ${0}. */
static int expand_repl(struct hoist_buf *out, const char *r,
		       const struct chr *c, size_t ms, size_t me,
		       struct hoist_err *err)
{
	while (*r) {
		const char *d = strchr(r, '$'), *nm;
		size_t i = 0;
		int brace;

		if (!d)
			return hoist_buf_adds(out, r, err);
		if (hoist_buf_add(out, r, (size_t)(d - r), err))
			return err->code;
		r = d + 1;
		if (*r == '$') {
			if (hoist_buf_addch(out, '$', err))
				return err->code;
			r++;
			continue;
		}
		brace = *r == '{';
		nm = r + brace;
		while (is_alnum(nm[i]) || nm[i] == '_')
			i++;
		if (i == 0 || (brace && nm[i] != '}')) {
			if (hoist_buf_addch(out, '$', err))
				return err->code;
			continue;
		}
		r = nm + i + brace;
		if (i == 1 && nm[0] == '0' && add_chars(out, c, ms, me, err))
			return err->code;
	}
	return 0;
}

/* ${name#pat} ${name##pat} ${name%pat} ${name%%pat} */
static int trim(struct hoist_buf *out, const char *value, const char *word,
		int suffix, struct hoist_err *err)
{
	int greedy = word[0] == (suffix ? '%' : '#');
	struct tok *t = NULL;
	struct chr *c;
	unsigned char *set = NULL, *next = NULL;
	size_t nt, nc;
	long m;
	int rc;

	word += greedy;
	if ((rc = compile(&t, &nt, word, strlen(word), err))) {
		char q[HOIST_QUOTE_BUF];

		return hoist_err_prefix(err,
					"invalid pattern (%s) in substitution",
					qs(q, word, HOIST_QUOTE_ALL));
	}
	c = split_chars(value, &nc);
	if (suffix) {
		reverse(t, nt, sizeof(*t));
		reverse(c, nc, sizeof(*c));
	}
	set = hoist_xmalloc(nt + 1);
	next = hoist_xmalloc(nt + 1);
	m = match_prefix(t, nt, c, nc, greedy, set, next);
	if (m < 0)
		m = 0;
	if (suffix) {
		reverse(c, nc, sizeof(*c));
		rc = add_chars(out, c, 0, nc - (size_t)m, err);
	} else {
		rc = add_chars(out, c, (size_t)m, nc, err);
	}
	free(set);
	free(next);
	free(c);
	free(t);
	return rc;
}

/* ${name/pat/repl} and ${name//pat/repl}: leftmost, longest matches. */
static int replace(struct hoist_buf *out, const char *value, const char *pat,
		   const char *repl, int all, struct hoist_err *err)
{
	struct tok *t = NULL;
	struct chr *c;
	unsigned char *set, *next;
	size_t nt, nc, search = 0, last = 0;
	int rc;

	if ((rc = compile(&t, &nt, pat, strlen(pat), err))) {
		char q[HOIST_QUOTE_BUF];

		return hoist_err_prefix(err,
					"invalid pattern (%s) in substitution",
					qs(q, pat, HOIST_QUOTE_ALL));
	}
	c = split_chars(value, &nc);
	if ((uint64_t)(nc + 1) * (nc + 1) * (nt + 1) > WORK_MAX) {
		char q[HOIST_QUOTE_BUF];

		free(c);
		free(t);
		return hoist_err_set(err, HOIST_ELIMIT,
				     "pattern (%s) in substitution is too "
				     "costly for a value of %zu characters",
				     qs(q, pat, HOIST_QUOTE_ALL), nc);
	}
	set = hoist_xmalloc(nt + 1);
	next = hoist_xmalloc(nt + 1);
	while (search <= nc) {
		size_t s;
		long e = -1;

		for (s = search; s <= nc; s++)
			if ((e = match_prefix(t, nt, c + s, nc - s, 1, set,
					      next)) >= 0)
				break;
		if (e < 0)
			break;
		e += (long)s;
		if ((rc = add_chars(out, c, last, s, err)))
			goto out;
		if (!all) {
			if ((rc = hoist_buf_adds(out, repl, err)))
				goto out;
			last = (size_t)e;
			break;
		}
		if (((size_t)e > last || s == 0) &&
		    (rc = expand_repl(out, repl, c, s, (size_t)e, err)))
			goto out;
		last = (size_t)e;
		search = (size_t)e <= search ? search + 1 : (size_t)e;
	}
	rc = add_chars(out, c, last, nc, err);
out:
	free(set);
	free(next);
	free(c);
	free(t);
	return rc;
}

/* Run stop_on for the text after a modifier, with BuildKit's messages. */
static int modifier_word(struct lexer *lx, int stop, int raw,
			 struct hoist_buf *word, const char *missing)
{
	int rc = stop_on(lx, stop, raw, word, NULL);

	if (rc && rc != HOIST_ELIMIT && peek(lx) == END)
		return fail(lx, missing);
	return rc;
}

static int dollar_brace(struct lexer *lx, struct hoist_buf *out)
{
	struct hoist_err *err = lx->err;
	struct hoist_buf word, repl;
	const char *nm, *value;
	char nmbuf[256], q[HOIST_QUOTE_BUF];
	size_t nlen, chs_start, chs_len;
	int ch, null_unset = 0, skip, rc = 0;

	hoist_buf_init(&word, HOIST_SHELLWORDS_MAX);
	hoist_buf_init(&repl, HOIST_SHELLWORDS_MAX);
	lx->pos++; /* { */
	ch = peek(lx);
	if (ch == END)
		return fail(lx, "syntax error: missing '}'");
	if (ch == '{' || ch == '}' || ch == ':')
		return fail(lx, "syntax error: bad substitution");
	nm = lx->s + lx->pos;
	nlen = name(lx);
	value = hoist_shellwords_lookup(lx->lex->env, nm, nlen);
	skip = !value && (lx->lex->flags & HOIST_SHELLWORDS_SKIP_UNSET);
	snprintf(nmbuf, sizeof(nmbuf), "%.*s", (int)nlen, nm);
	ch = peek(lx);
	chs_start = lx->pos;
	if (ch == END)
		return fail(lx, "syntax error: missing '}'");
	lx->pos += rune_len(lx);
	if (ch == '}') {
		if (skip)
			return hoist_buf_printf(out, err, "${%.*s}", (int)nlen,
						nm);
		return hoist_buf_adds(out, value ? value : "", err);
	}
	if (ch == ':') {
		null_unset = 1;
		ch = peek(lx);
		if (ch != END)
			lx->pos += rune_len(lx);
	}
	chs_len = lx->pos - chs_start;
	if (ch == '/' && !null_unset) {
		int all = peek(lx) == '/';

		lx->pos += all;
		if ((rc = modifier_word(lx, '/', 1, &word,
					"syntax error: missing '/' in ${}")) ||
		    (rc = modifier_word(lx, '}', 1, &repl,
					"syntax error: missing '}'")))
			goto out;
		if (skip)
			rc = hoist_buf_printf(out, err, "${%.*s/%s/%s}",
					      (int)nlen, nm, word.data,
					      repl.data);
		else
			rc = replace(out, value ? value : "", word.data,
				     repl.data, all, err);
		goto out;
	}
	if (!null_unset && !strchr("+-?#%", ch)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "unsupported modifier (%s) in substitution",
				   qs(q, lx->s + chs_start, chs_len));
		goto out;
	}
	if (null_unset && (ch == '#' || ch == '%')) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "unsupported modifier (%s) in substitution",
				   qs(q, lx->s + chs_start, chs_len));
		goto out;
	}
	if ((rc = modifier_word(lx, '}', ch == '#' || ch == '%', &word,
				"syntax error: missing '}'")))
		goto out;
	if (skip) {
		rc = hoist_buf_printf(out, err, "${%.*s%.*s%s}", (int)nlen, nm,
				      (int)chs_len, lx->s + chs_start,
				      word.data);
		goto out;
	}
	switch (ch) {
	case '-':
		if (!value || (null_unset && !*value))
			rc = hoist_buf_adds(out, word.data, err);
		else
			rc = hoist_buf_adds(out, value, err);
		break;
	case '+':
		if (value && !(null_unset && !*value))
			rc = hoist_buf_adds(out, word.data, err);
		break;
	case '?':
		if (!value || (null_unset && !*value))
			rc = hoist_err_set(
				err, HOIST_EINVAL, "%s: %s", nmbuf,
				word.len ? qs(q, word.data, word.len)
				: !value ? "is not allowed to be unset"
					 : "is not allowed to be "
					   "empty");
		else
			rc = hoist_buf_adds(out, value, err);
		break;
	case '#':
	case '%':
		rc = trim(out, value ? value : "", word.data, ch == '%', err);
		break;
	default:
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "unsupported modifier (%s) in substitution",
				   qs(q, lx->s + chs_start, chs_len));
	}
out:
	hoist_buf_release(&word);
	hoist_buf_release(&repl);
	return rc;
}

static int dollar(struct lexer *lx, struct hoist_buf *out)
{
	const char *nm, *value;
	size_t nlen;
	int rc;

	lx->pos++; /* $ */
	if (peek(lx) == '{') {
		if (++lx->depth > DEPTH_MAX)
			return hoist_err_set(lx->err, HOIST_ELIMIT,
					     "substitutions nested deeper than "
					     "%d",
					     DEPTH_MAX);
		rc = dollar_brace(lx, out);
		lx->depth--;
		return rc;
	}
	nm = lx->s + lx->pos;
	nlen = name(lx);
	if (nlen == 0)
		return hoist_buf_addch(out, '$', lx->err);
	value = hoist_shellwords_lookup(lx->lex->env, nm, nlen);
	if (!value && (lx->lex->flags & HOIST_SHELLWORDS_SKIP_UNSET))
		return hoist_buf_printf(out, lx->err, "$%.*s", (int)nlen, nm);
	return hoist_buf_adds(out, value ? value : "", lx->err);
}

/* processStopOn: the word up to stop (END: the whole input). */
static int stop_on(struct lexer *lx, int stop, int raw_escapes,
		   struct hoist_buf *out, struct words *w)
{
	int quotes = !(lx->lex->flags & HOIST_SHELLWORDS_NO_QUOTES);
	char esc = lx->lex->escape;
	struct hoist_err *err = lx->err;
	int rc;

	while (lx->pos < lx->len) {
		int ch = peek(lx);
		size_t l;

		if (stop != END && ch == stop) {
			lx->pos++;
			return 0;
		}
		if ((quotes && (ch == '\'' || ch == '"')) || ch == '$') {
			struct hoist_buf tmp;

			hoist_buf_init(&tmp, HOIST_SHELLWORDS_MAX);
			rc = ch == '$'    ? dollar(lx, &tmp)
			     : ch == '\'' ? single_quote(lx, &tmp)
					  : double_quote(lx, &tmp);
			if (!rc)
				rc = hoist_buf_add(out, tmp.data, tmp.len, err);
			if (!rc)
				rc = ch == '$' ? words_split(w, tmp.data,
							     tmp.len, err)
					       : words_raw(w, tmp.data, tmp.len,
							   err);
			hoist_buf_release(&tmp);
			if (rc)
				return rc;
			continue;
		}
		if (ch == esc) {
			lx->pos++;
			if (raw_escapes && (hoist_buf_addch(out, esc, err) ||
					    words_raw(w, &esc, 1, err)))
				return err->code;
			if (lx->pos >= lx->len)
				break;
			l = rune_len(lx);
			if (words_raw(w, lx->s + lx->pos, l, err))
				return err->code;
		} else {
			l = rune_len(lx);
			if (words_split(w, lx->s + lx->pos, l, err))
				return err->code;
		}
		if (hoist_buf_add(out, lx->s + lx->pos, l, err))
			return err->code;
		lx->pos += l;
	}
	if (stop != END)
		return hoist_err_set(err, HOIST_EINVAL,
				     "unexpected end of statement while "
				     "looking for matching %c",
				     stop);
	return 0;
}

static int process(char **word_out, struct words *w,
		   const struct hoist_shellwords *lex, const char *word,
		   struct hoist_err *err)
{
	struct hoist_err local;
	struct lexer lx = {word, strlen(word), 0, lex, 0, err ? err : &local};
	struct hoist_buf out;
	int rc;

	err = lx.err;
	hoist_err_clear(err);

	hoist_buf_init(&out, HOIST_SHELLWORDS_MAX);
	rc = stop_on(&lx, END, !!(lex->flags & HOIST_SHELLWORDS_RAW_ESCAPES),
		     &out, w);
	if (rc) {
		char q[HOIST_QUOTE_BUF];

		hoist_buf_release(&out);
		hoist_err_quote(q, sizeof(q), word, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		return hoist_err_prefix(err, "failed to process '%s'", q);
	}
	if (word_out)
		*word_out = hoist_buf_detach(&out, NULL);
	else
		hoist_buf_release(&out);
	return 0;
}

int hoist_shellwords_word(char **out, const struct hoist_shellwords *lex,
			  const char *word, struct hoist_err *err)
{
	*out = NULL;
	return process(out, NULL, lex, word, err);
}

int hoist_shellwords_split(char ***out, size_t *n,
			   const struct hoist_shellwords *lex, const char *word,
			   struct hoist_err *err)
{
	struct words w = {HOIST_BUF_INIT(HOIST_SHELLWORDS_MAX), 0, NULL, 0, 0};
	struct hoist_err local;
	int rc;

	if (!err)
		err = &local;

	*out = NULL;
	*n = 0;
	hoist_buf_init(&w.word, HOIST_SHELLWORDS_MAX);
	rc = process(NULL, &w, lex, word, err);
	if (!rc)
		rc = words_push(&w, err);
	hoist_buf_release(&w.word);
	if (rc) {
		hoist_shellwords_free(w.v);
		return rc;
	}
	if (!w.v)
		w.v = hoist_xcalloc(1, sizeof(*w.v));
	*out = w.v;
	*n = w.n;
	return 0;
}

void hoist_shellwords_free(char **words)
{
	if (!words)
		return;
	for (char **p = words; *p; p++)
		free(*p);
	free(words);
}
