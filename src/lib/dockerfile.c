/*
 * dockerfile.c: read a Dockerfile into instructions, as BuildKit's
 * frontend/dockerfile/parser package does (parser.go, line_parsers.go,
 * directives.go). See dockerfile.h.
 *
 * The order of operations is BuildKit's, because the corner cases depend
 * on it: each physical line has its newline trimmed, then (first lines
 * only) its leading white space; the directive parser sees it while it is
 * still looking for directives; a comment line becomes empty; a trailing
 * escape character continues the instruction on the next line, where
 * comment lines and empty lines are skipped. The logical line is split
 * into the instruction word, the leading "--flag" words and the rest,
 * which each instruction turns into arguments its own way. Heredoc bodies
 * follow the logical line.
 *
 * Differences from Go, all on inputs no one writes: the flag and
 * HEALTHCHECK splitters take only ASCII white space (Go tests single bytes
 * with unicode.IsSpace, so it splits UTF-8 text at bytes 0x85 and 0xA0);
 * JSON strings keep invalid UTF-8 as it is (Go substitutes U+FFFD).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dockerfile.h"
#include "lib/dockerfile-json.h"
#include "lib/shellwords.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

static const char *const cmd_names[] = {
	[HOIST_DF_UNKNOWN] = "",        [HOIST_DF_ADD] = "ADD",
	[HOIST_DF_ARG] = "ARG",         [HOIST_DF_CMD] = "CMD",
	[HOIST_DF_COPY] = "COPY",       [HOIST_DF_ENTRYPOINT] = "ENTRYPOINT",
	[HOIST_DF_ENV] = "ENV",         [HOIST_DF_EXPOSE] = "EXPOSE",
	[HOIST_DF_FROM] = "FROM",       [HOIST_DF_HEALTHCHECK] = "HEALTHCHECK",
	[HOIST_DF_LABEL] = "LABEL",     [HOIST_DF_MAINTAINER] = "MAINTAINER",
	[HOIST_DF_ONBUILD] = "ONBUILD", [HOIST_DF_RUN] = "RUN",
	[HOIST_DF_SHELL] = "SHELL",     [HOIST_DF_STOPSIGNAL] = "STOPSIGNAL",
	[HOIST_DF_USER] = "USER",       [HOIST_DF_VOLUME] = "VOLUME",
	[HOIST_DF_WORKDIR] = "WORKDIR",
};

const char *hoist_dockerfile_cmd_name(enum hoist_df_cmd cmd)
{
	if ((size_t)cmd >= HOIST_ARRAY_SIZE(cmd_names))
		return "";
	return cmd_names[cmd];
}

int hoist_dockerfile_error(struct hoist_err *err, int code,
			   const struct hoist_dockerfile *df,
			   const struct hoist_df_instr *in, int line,
			   const char *fmt, ...)
{
	char msg[HOIST_ERR_MSG_MAX], q[HOIST_QUOTE_BUF];
	const char *name = df && df->name ? df->name : "Dockerfile";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!in)
		return hoist_err_set(err, code, "%s:%d: %s", name, line, msg);
	hoist_err_quote(q, sizeof(q), in->original, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	return hoist_err_set(err, code, "%s:%d: %s (in '%s')", name, in->line,
			     msg, q);
}

/* ---- small string helpers ---- */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_push(struct strv *sv, char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 4;
		sv->v = hoist_xreallocarray(sv->v, sv->cap, sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

static void strv_pushn(struct strv *sv, const char *s, size_t n)
{
	strv_push(sv, hoist_xstrndup(s, n));
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int ascii_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* Go's reWhitespace, [\t\v\f\r ] */
static int re_space(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* The JSON form: the strings appended to args. */
static int json_args(struct strv *args, const char *rest, size_t n)
{
	char **v;
	size_t nv;
	int j = hoist_dockerfile_json(&v, &nv, rest, n);

	for (size_t i = 0; i < nv; i++)
		strv_push(args, v[i]);
	free(v);
	return j;
}

/* ---- argument splitters (line_parsers.go) ---- */

/* parseWords: words at white space, quotes and escapes kept. */
static void parse_words(struct strv *out, const char *rest, size_t n, char esc)
{
	struct hoist_buf w;
	int phase = 0, blank_ok = 0; /* 0 spaces, 1 word, 2 quote */
	char quote = 0;
	size_t pos = 0;

	hoist_buf_init(&w, HOIST_BUF_UNLIMITED);
	while (pos <= n) {
		size_t cl = 0, sp = 0;
		char ch = 0;

		if (pos < n) {
			unsigned cp;

			cl = hoist_shellwords_rune(rest + pos, n - pos, &cp);
			sp = hoist_shellwords_space(rest + pos, n - pos);
			ch = rest[pos];
		}
		if (phase == 0) {
			if (pos == n)
				break;
			if (sp) {
				pos += cl;
				continue;
			}
			phase = 1;
		}
		if (pos == n) {
			if (blank_ok || w.len)
				strv_push(out, hoist_buf_detach(&w, NULL));
			break;
		}
		if (phase == 1) {
			if (sp) {
				phase = 0;
				if (blank_ok || w.len)
					strv_push(out,
						  hoist_buf_detach(&w, NULL));
				hoist_buf_init(&w, HOIST_BUF_UNLIMITED);
				blank_ok = 0;
				pos += cl;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = 1;
				phase = 2;
			}
			if (ch == esc) {
				if (pos + cl == n) {
					pos += cl;
					continue;
				}
				hoist_buf_addch(&w, ch, NULL);
				pos += cl;
				cl = hoist_shellwords_rune(rest + pos, n - pos,
							   &(unsigned){0});
			}
			hoist_buf_add(&w, rest + pos, cl, NULL);
			pos += cl;
			continue;
		}
		/* phase 2: in quotes */
		if (ch == quote)
			phase = 1;
		if (ch == esc && quote != '\'') {
			if (pos + cl == n) {
				phase = 1;
				pos += cl;
				continue;
			}
			hoist_buf_addch(&w, ch, NULL);
			pos += cl;
			cl = hoist_shellwords_rune(rest + pos, n - pos,
						   &(unsigned){0});
		}
		hoist_buf_add(&w, rest + pos, cl, NULL);
		pos += cl;
	}
	hoist_buf_release(&w);
}

/* parseStringsWhitespaceDelimited: split at [\t\v\f\r ]+ */
static void split_ws(struct strv *out, const char *rest, size_t n)
{
	size_t i = 0, start = 0;

	if (!n)
		return;
	for (;;) {
		if (i == n || re_space(rest[i])) {
			strv_pushn(out, rest + start, i - start);
			if (i == n)
				return;
			while (i < n && re_space(rest[i]))
				i++;
			start = i;
			if (i == n) {
				strv_pushn(out, "", 0);
				return;
			}
			continue;
		}
		i++;
	}
}

/* ---- the parser ---- */

struct parser {
	const char *data;
	size_t len, pos;
	int line; /* lines read so far */
	int dir_done, seen_escape, seen_syntax, seen_check;
	struct hoist_dockerfile *df;
	struct hoist_err *err;
};

static int next_line(struct parser *p, const char **s, size_t *n)
{
	const char *nl;

	if (p->pos >= p->len)
		return 0;
	*s = p->data + p->pos;
	nl = memchr(*s, '\n', p->len - p->pos);
	*n = nl ? (size_t)(nl - *s) + 1 : p->len - p->pos;
	p->pos += *n;
	return 1;
}

static size_t trim_newline(const char *s, size_t n)
{
	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return n;
}

static const char *trim_leading_ws(const char *s, size_t *n)
{
	size_t l;

	while (*n && (l = hoist_shellwords_space(s, *n)))
		s += l, *n -= l;
	return s;
}

static int is_comment(const char *s, size_t n)
{
	n = trim_newline(s, n);
	s = trim_leading_ws(s, &n);
	return n && s[0] == '#';
}

static int re_s(int c) /* Go's \s: [\t\n\f\r ] */
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* directives.go: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ */
static int directive(struct parser *p, const char *s, size_t n)
{
	size_t i = 1, ks, kl, vs, ve;
	char key[16], *val;
	int *seen;

	if (p->dir_done)
		return 0;
	if (!n || s[0] != '#')
		goto done;
	while (i < n && re_s(s[i]))
		i++;
	ks = i;
	if (i >= n || !isalpha((unsigned char)s[i]))
		goto done;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	kl = i - ks;
	while (i < n && re_s(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		goto done;
	i++;
	ve = n;
	while (ve > i && re_s(s[ve - 1]))
		ve--;
	vs = i;
	if (ve == i) {
		if (i == n)
			goto done;
		vs = n - 1; /* only white space: the regexp keeps the last */
		ve = n;
	} else {
		while (vs < ve && re_s(s[vs]))
			vs++;
	}
	for (size_t k = vs; k < ve; k++)
		if (s[k] == '\n')
			goto done;
	if (kl >= sizeof(key))
		goto done;
	for (size_t k = 0; k < kl; k++)
		key[k] = (char)tolower((unsigned char)s[ks + k]);
	key[kl] = 0;
	if (strcmp(key, "escape") == 0)
		seen = &p->seen_escape;
	else if (strcmp(key, "syntax") == 0)
		seen = &p->seen_syntax;
	else if (strcmp(key, "check") == 0)
		seen = &p->seen_check;
	else
		goto done;
	if (*seen)
		return hoist_dockerfile_error(
			p->err, HOIST_EINVAL, p->df, NULL, p->line + 1,
			"only one %s parser directive can be used", key);
	*seen = 1;
	val = hoist_xstrndup(s + vs, ve - vs);
	if (seen == &p->seen_escape) {
		if (strcmp(val, "`") != 0 && strcmp(val, "\\") != 0) {
			char q[HOIST_QUOTE_BUF];

			hoist_err_quote(q, sizeof(q), val, HOIST_QUOTE_ALL,
					HOIST_QUOTE_UTF8);
			free(val);
			return hoist_dockerfile_error(
				p->err, HOIST_EINVAL, p->df, NULL, p->line + 1,
				"invalid escape token '%s' does not match ` "
				"or \\",
				q);
		}
		p->df->escape = val[0];
		free(val);
	} else if (seen == &p->seen_syntax) {
		p->df->syntax = val;
	} else {
		p->df->check = val;
	}
	return 0;
done:
	p->dir_done = 1;
	return 0;
}

/* \\[ \t]*$ with the escape character: strip it, return 1 if found */
static int continues(const char *s, size_t *n, char esc)
{
	size_t k = *n;

	while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	if (k && s[k - 1] == esc) {
		*n = k - 1;
		return 1;
	}
	return 0;
}

static void instr_release(struct hoist_df_instr *in)
{
	free(in->keyword);
	free(in->original);
	strv_free(in->flags, in->nflags);
	strv_free(in->args, in->nargs);
	for (size_t i = 0; i < in->nheredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].content);
	}
	free(in->heredocs);
	if (in->sub) {
		instr_release(in->sub);
		free(in->sub);
	}
}

static const struct {
	const char *name;
	enum hoist_df_cmd cmd;
} keywords[] = {
	{"add", HOIST_DF_ADD},
	{"arg", HOIST_DF_ARG},
	{"cmd", HOIST_DF_CMD},
	{"copy", HOIST_DF_COPY},
	{"entrypoint", HOIST_DF_ENTRYPOINT},
	{"env", HOIST_DF_ENV},
	{"expose", HOIST_DF_EXPOSE},
	{"from", HOIST_DF_FROM},
	{"healthcheck", HOIST_DF_HEALTHCHECK},
	{"label", HOIST_DF_LABEL},
	{"maintainer", HOIST_DF_MAINTAINER},
	{"onbuild", HOIST_DF_ONBUILD},
	{"run", HOIST_DF_RUN},
	{"shell", HOIST_DF_SHELL},
	{"stopsignal", HOIST_DF_STOPSIGNAL},
	{"user", HOIST_DF_USER},
	{"volume", HOIST_DF_VOLUME},
	{"workdir", HOIST_DF_WORKDIR},
};

/*
 * extractBuilderFlags: the leading "--" words of rest. Returns the offset
 * of the rest of the line.
 */
static size_t extract_flags(struct strv *flags, const char *line, size_t n)
{
	struct hoist_buf w;
	int phase = 0, blank_ok = 0;
	char quote = 0;
	size_t pos;

	hoist_buf_init(&w, HOIST_BUF_UNLIMITED);
	for (pos = 0; pos <= n; pos++) {
		char ch = pos < n ? line[pos] : 0;

		if (phase == 0) {
			if (pos == n)
				break;
			if (ascii_space(ch))
				continue;
			if (ch != '-' || pos + 1 == n || line[pos + 1] != '-')
				goto out;
			phase = 1;
		}
		if (pos == n) {
			if (!(w.len == 2 && memcmp(w.data, "--", 2) == 0) &&
			    (blank_ok || w.len))
				strv_push(flags, hoist_buf_detach(&w, NULL));
			break;
		}
		if (phase == 1) {
			if (ascii_space(ch)) {
				phase = 0;
				if (w.len == 2 && memcmp(w.data, "--", 2) == 0)
					goto out;
				if (blank_ok || w.len)
					strv_push(flags,
						  hoist_buf_detach(&w, NULL));
				hoist_buf_init(&w, HOIST_BUF_UNLIMITED);
				blank_ok = 0;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = 1;
				phase = 2;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == n)
					continue;
				ch = line[++pos];
			}
			hoist_buf_addch(&w, ch, NULL);
			continue;
		}
		if (ch == quote) {
			phase = 1;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == n) {
				phase = 1;
				continue;
			}
			ch = line[++pos];
		}
		hoist_buf_addch(&w, ch, NULL);
	}
out:
	hoist_buf_release(&w);
	return pos > n ? n : pos;
}

static int new_instr(struct parser *p, struct hoist_df_instr *in,
		     const char *line, size_t n);

/* The arguments of in from rest, per instruction (the dispatch table). */
static int instr_args(struct parser *p, struct hoist_df_instr *in,
		      const char *rest, size_t n)
{
	struct strv args = {NULL, 0, 0};
	int rc = 0, j;

	switch (in->cmd) {
	case HOIST_DF_ADD:
	case HOIST_DF_COPY:
	case HOIST_DF_VOLUME:
	case HOIST_DF_CMD:
	case HOIST_DF_ENTRYPOINT:
	case HOIST_DF_RUN:
	case HOIST_DF_SHELL:
		if (!n)
			break;
		j = json_args(&args, rest, n);
		if (j == HOIST_DFJSON_NOT_STRINGS) {
			rc = hoist_dockerfile_error(
				p->err, HOIST_EINVAL, p->df, in, 0,
				"when using JSON array syntax, arrays must be "
				"comprised of strings only");
			break;
		}
		if (j == HOIST_DFJSON_OK) {
			in->json = 1;
			break;
		}
		strv_free(args.v, args.n);
		args.v = NULL, args.n = 0;
		if (in->cmd == HOIST_DF_ADD || in->cmd == HOIST_DF_COPY ||
		    in->cmd == HOIST_DF_VOLUME)
			split_ws(&args, rest, n);
		else
			strv_pushn(&args, rest, n);
		break;
	case HOIST_DF_EXPOSE:
	case HOIST_DF_FROM:
		split_ws(&args, rest, n);
		break;
	case HOIST_DF_MAINTAINER:
	case HOIST_DF_STOPSIGNAL:
	case HOIST_DF_USER:
	case HOIST_DF_WORKDIR:
		if (n)
			strv_pushn(&args, rest, n);
		break;
	case HOIST_DF_ARG:
		parse_words(&args, rest, n, p->df->escape);
		break;
	case HOIST_DF_ENV:
	case HOIST_DF_LABEL: {
		struct strv words = {NULL, 0, 0};

		parse_words(&words, rest, n, p->df->escape);
		if (!words.n)
			break;
		if (!strchr(words.v[0], '=')) {
			size_t k = 0;

			while (k < n && !re_space(rest[k]))
				k++;
			if (k == n) {
				rc = hoist_dockerfile_error(
					p->err, HOIST_EINVAL, p->df, in, 0,
					"%s must have two arguments",
					hoist_dockerfile_cmd_name(in->cmd));
			} else {
				strv_pushn(&args, rest, k);
				while (k < n && re_space(rest[k]))
					k++;
				strv_pushn(&args, rest + k, n - k);
			}
		} else {
			for (size_t i = 0; i < words.n && !rc; i++) {
				char *eq = strchr(words.v[i], '=');
				char q[HOIST_QUOTE_BUF];

				if (eq) {
					strv_pushn(&args, words.v[i],
						   (size_t)(eq - words.v[i]));
					strv_push(&args, hoist_xstrdup(eq + 1));
					continue;
				}
				hoist_err_quote(q, sizeof(q), words.v[i],
						HOIST_QUOTE_ALL,
						HOIST_QUOTE_UTF8);
				rc = hoist_dockerfile_error(
					p->err, HOIST_EINVAL, p->df, in, 0,
					"Syntax error - can't find = in "
					"\"%s\". "
					"Must be of the form: name=value",
					q);
			}
		}
		strv_free(words.v, words.n);
		break;
	}
	case HOIST_DF_HEALTHCHECK: {
		size_t sep = 0, next;

		while (sep < n && !ascii_space(rest[sep]))
			sep++;
		next = sep;
		while (next < n && ascii_space(rest[next]))
			next++;
		if (!sep)
			break;
		strv_pushn(&args, rest, sep);
		if (next == n)
			break;
		j = json_args(&args, rest + next, n - next);
		if (j == HOIST_DFJSON_NOT_STRINGS) {
			rc = hoist_dockerfile_error(
				p->err, HOIST_EINVAL, p->df, in, 0,
				"when using JSON array syntax, arrays must be "
				"comprised of strings only");
		} else if (j == HOIST_DFJSON_OK) {
			in->json = 1;
		} else {
			while (args.n > 1)
				free(args.v[--args.n]);
			args.v[1] = NULL;
			strv_pushn(&args, rest + next, n - next);
		}
		break;
	}
	case HOIST_DF_ONBUILD:
		if (!n)
			break;
		in->sub = hoist_xcalloc(1, sizeof(*in->sub));
		in->sub->line = in->line;
		in->sub->end_line = in->line;
		rc = new_instr(p, in->sub, rest, n);
		break;
	case HOIST_DF_UNKNOWN:
		break;
	}
	in->args = args.v;
	in->nargs = args.n;
	return rc;
}

/* newNodeFromLine: keyword, flags and arguments of one logical line. */
static int new_instr(struct parser *p, struct hoist_df_instr *in,
		     const char *line, size_t n)
{
	struct strv flags = {NULL, 0, 0};
	size_t kl = 0, off;
	const char *rest;

	in->original = hoist_xstrndup(line, n);
	line = hoist_shellwords_trim(line, &n);
	while (kl < n && !re_space(line[kl]))
		kl++;
	in->keyword = hoist_xstrndup(line, kl);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(keywords); i++)
		if (strcasecmp(in->keyword, keywords[i].name) == 0)
			in->cmd = keywords[i].cmd;
	while (kl < n && re_space(line[kl]))
		kl++;
	rest = line + kl;
	n -= kl;
	off = extract_flags(&flags, rest, n);
	in->flags = flags.v;
	in->nflags = flags.n;
	rest += off;
	n -= off;
	rest = hoist_shellwords_trim(rest, &n);
	return instr_args(p, in, rest, n);
}

static int can_heredoc(const struct hoist_df_instr *in)
{
	if (in->cmd == HOIST_DF_ONBUILD && in->sub)
		in = in->sub;
	return (in->cmd == HOIST_DF_ADD || in->cmd == HOIST_DF_COPY ||
		in->cmd == HOIST_DF_RUN) &&
	       !in->json;
}

/* parseHeredoc on one word of the line: 1 if it is one. */
static int heredoc_word(struct hoist_df_heredoc *h, const char *word)
{
	static const struct hoist_shellwords_env none = {NULL, 0};
	struct hoist_shellwords lex = {'\\', HOIST_SHELLWORDS_SKIP_UNSET,
				       &none};
	const char *s = word, *rest;
	char **w = NULL, **raw = NULL;
	size_t nw, nraw;
	unsigned long fd = 0;
	int found = 0, q1 = 0, q2 = 0;

	while (isdigit((unsigned char)*s)) {
		if (fd < 100000000)
			fd = fd * 10 + (unsigned)(*s - '0');
		s++;
	}
	if (s[0] != '<' || s[1] != '<')
		return 0;
	s += 2;
	h->chomp = *s == '-';
	s += h->chomp;
	if (strchr(s, '<') || !*s)
		return 0;
	rest = s;
	if (hoist_shellwords_split(&w, &nw, &lex, rest, NULL) || nw != 1)
		goto out;
	lex.flags |= HOIST_SHELLWORDS_RAW_QUOTES;
	if (hoist_shellwords_split(&raw, &nraw, &lex, rest, NULL) || nraw != 1)
		goto out;
	for (const char *c = w[0]; *c; c++)
		q1 += *c == '\'' || *c == '"';
	for (const char *c = raw[0]; *c; c++)
		q2 += *c == '\'' || *c == '"';
	h->name = hoist_xstrdup(w[0]);
	h->expand = q1 == q2;
	h->fd = (unsigned)fd;
	found = 1;
out:
	hoist_shellwords_free(w);
	hoist_shellwords_free(raw);
	return found;
}

/* ChompHeredocContent: (?m)^\t+ removed */
static char *chomp(const char *s)
{
	char *out = hoist_xmalloc(strlen(s) + 1), *o = out;
	int bol = 1;

	for (; *s; s++) {
		if (bol && *s == '\t')
			continue;
		bol = *s == '\n';
		*o++ = *s;
	}
	*o = 0;
	return out;
}

static int read_heredocs(struct parser *p, struct hoist_df_instr *in)
{
	static const struct hoist_shellwords_env none = {NULL, 0};
	struct hoist_shellwords lex = {'\\',
				       HOIST_SHELLWORDS_RAW_QUOTES |
					       HOIST_SHELLWORDS_RAW_ESCAPES,
				       &none};
	char **words = NULL;
	size_t nw;

	if (hoist_shellwords_split(&words, &nw, &lex, in->original, NULL))
		return 0; /* BuildKit ignores the error: no heredocs */
	for (size_t i = 0; i < nw; i++) {
		struct hoist_df_heredoc h = {0};
		struct hoist_buf body;
		int done = 0;
		const char *s;
		size_t n;

		if (!heredoc_word(&h, words[i]))
			continue;
		hoist_buf_init(&body, HOIST_BUF_UNLIMITED);
		while (next_line(p, &s, &n)) {
			size_t tl = trim_newline(s, n), k = 0;

			p->line++;
			if (h.chomp)
				while (k < tl && s[k] == '\t')
					k++;
			if (tl - k == strlen(h.name) &&
			    memcmp(s + k, h.name, tl - k) == 0) {
				done = 1;
				break;
			}
			hoist_buf_add(&body, s, n, NULL);
		}
		in->end_line = p->line;
		if (!done) {
			hoist_buf_release(&body);
			free(h.name);
			hoist_shellwords_free(words);
			return hoist_dockerfile_error(p->err, HOIST_EINVAL,
						      p->df, in, 0,
						      "unterminated heredoc");
		}
		h.content = h.chomp ? chomp(body.data)
				    : hoist_buf_detach(&body, NULL);
		hoist_buf_release(&body);
		in->heredocs = hoist_xreallocarray(
			in->heredocs, in->nheredocs + 1, sizeof(h));
		in->heredocs[in->nheredocs++] = h;
	}
	hoist_shellwords_free(words);
	return 0;
}

static struct hoist_df_instr *add_instr(struct hoist_dockerfile *df)
{
	df->instrs = hoist_xreallocarray(df->instrs, df->ninstrs + 1,
					 sizeof(*df->instrs));
	memset(&df->instrs[df->ninstrs], 0, sizeof(*df->instrs));
	return &df->instrs[df->ninstrs++];
}

static int parse(struct parser *p)
{
	struct hoist_dockerfile *df = p->df;
	const char *s;
	size_t n;
	int rc;

	while (next_line(p, &s, &n)) {
		struct hoist_df_instr *in;
		struct hoist_buf line;
		int start, empty = 0, more;

		if (p->line == 0 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3, n -= 3;
		n = trim_newline(s, n);
		s = trim_leading_ws(s, &n);
		if ((rc = directive(p, s, n)))
			return rc;
		if (n && s[0] == '#')
			n = 0;
		start = ++p->line;
		more = continues(s, &n, df->escape);
		if (!more && !n)
			continue;
		hoist_buf_init(&line, HOIST_BUF_UNLIMITED);
		hoist_buf_add(&line, s, n, NULL);
		while (more && next_line(p, &s, &n)) {
			size_t tl = trim_newline(s, n), el = tl;

			if ((rc = directive(p, s, tl))) {
				hoist_buf_release(&line);
				return rc;
			}
			p->line++;
			if (is_comment(s, n))
				continue;
			trim_leading_ws(s, &el);
			if (el == 0) {
				empty = 1;
				continue;
			}
			more = continues(s, &tl, df->escape);
			hoist_buf_add(&line, s, tl, NULL);
		}
		in = add_instr(df);
		in->line = start;
		in->end_line = p->line;
		rc = new_instr(p, in, line.data, line.len);
		hoist_buf_release(&line);
		if (rc)
			return rc;
		if (empty) {
			df->empty_continuations = hoist_xreallocarray(
				df->empty_continuations,
				df->nempty_continuations + 1, sizeof(int));
			df->empty_continuations[df->nempty_continuations++] =
				start;
		}
		if (can_heredoc(in) && strstr(in->original, "<<") &&
		    (rc = read_heredocs(p, in)))
			return rc;
	}
	if (!df->ninstrs)
		return hoist_dockerfile_error(p->err, HOIST_EINVAL, df, NULL,
					      p->line,
					      "file with no instructions");
	return 0;
}

int hoist_dockerfile_parse(struct hoist_dockerfile **out, const char *name,
			   const char *data, size_t len, struct hoist_err *err)
{
	struct hoist_dockerfile *df;
	struct parser p;
	const char *nul;
	int rc;

	*out = NULL;
	if (len > HOIST_DOCKERFILE_MAX)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "'%s': larger than %u bytes", name,
				     HOIST_DOCKERFILE_MAX);
	df = hoist_xcalloc(1, sizeof(*df));
	df->name = hoist_xstrdup(name ? name : "Dockerfile");
	/* C strings cannot carry it, and no Dockerfile needs it */
	if ((nul = memchr(data, '\0', len))) {
		int line = 1;

		for (const char *c = data; c < nul; c++)
			line += *c == '\n';
		rc = hoist_dockerfile_error(err, HOIST_EINVAL, df, NULL, line,
					    "a NUL byte is not allowed");
		hoist_dockerfile_free(df);
		return rc;
	}
	df->escape = '\\';
	memset(&p, 0, sizeof(p));
	p.data = data;
	p.len = len;
	p.df = df;
	p.err = err;
	rc = parse(&p);
	if (rc) {
		hoist_dockerfile_free(df);
		return rc;
	}
	*out = df;
	return 0;
}

void hoist_dockerfile_free(struct hoist_dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->ninstrs; i++)
		instr_release(&df->instrs[i]);
	free(df->instrs);
	free(df->name);
	free(df->syntax);
	free(df->check);
	free(df->empty_continuations);
	free(df);
}
