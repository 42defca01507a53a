/*
 * challenge.c: the WWW-Authenticate parser (RFC 7235 sections 2.1 and
 * 4.1). Header values come from the network: every loop is bounded, every
 * count capped, and an error message quotes the value it refused.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/challenge.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

#define CHAL_MAX_INPUT 8192
#define CHAL_MAX 16
#define CHAL_MAX_PARAMS 32

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

static void chal_add_param(struct hoist_challenge *c, char *key, char *value)
{
	c->params = hoist_xreallocarray(c->params, c->nparams + 1,
					sizeof(*c->params));
	c->params[c->nparams].key = key;
	c->params[c->nparams].value = value;
	c->nparams++;
}

/* auth-param at p->i: token BWS "=" BWS ( token / quoted-string ) */
static int parse_param(struct cparse *p, struct hoist_challenge *c)
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

void hoist_challenge_free(struct hoist_challenge *c, size_t n)
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

int hoist_challenge_parse(struct hoist_challenge **out, size_t *n,
			  const char *value, struct hoist_err *err)
{
	struct hoist_challenge *list = NULL, *cur = NULL;
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
	hoist_challenge_free(list, count);
	if (p.limit)
		rc = HOIST_ELIMIT;
	hoist_err_quote(q, sizeof(q), value, HOIST_QUOTE_ALL, 0);
	return hoist_err_set(err, rc,
			     "invalid WWW-Authenticate header '%s': %s at "
			     "offset %zu",
			     q, p.why, p.i);
}

const char *hoist_challenge_get(const struct hoist_challenge *c,
				const char *key)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (strcasecmp(c->params[i].key, key) == 0)
			return c->params[i].value;
	return NULL;
}
