/*
 * output.c: the --output spec parser, matching buildx's ExportEntry
 * (util/buildflags/export.go) on top of tonistiigi/go-csvvalue, which is
 * what buildx uses to split the record. go-csvvalue behaves like
 * encoding/csv for a single record with no LazyQuotes and no
 * TrimLeadingSpace; its error columns are 1-based byte offsets into the
 * record (after the one allowed trailing newline is cut), and we report the
 * same numbers so users can compare messages with buildx.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/output.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

/*
 * The spec is echoed in errors (through hoist_err_quote, readable UTF-8);
 * keep a hostile one from filling the msg.
 */
#define SPEC_ECHO_MAX 200

static const char err_bare_quote[] = "bare \" in non-quoted-field";
static const char err_quote[] = "extraneous or missing \" in quoted-field";

struct fields {
	char **v;
	size_t n;
	size_t alloc;
};

static void fields_push(struct fields *f, char *s)
{
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 8;
		f->v = hoist_xreallocarray(f->v, f->alloc, sizeof(*f->v));
	}
	f->v[f->n++] = s;
}

static void fields_release(struct fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = f->alloc = 0;
}

static int spec_err(struct hoist_err *err, const char *spec, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

static int spec_err(struct hoist_err *err, const char *spec, const char *fmt,
		    ...)
{
	char echo[SPEC_ECHO_MAX + 4];
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = hoist_err_setv(err, HOIST_EINVAL, fmt, ap);
	va_end(ap);
	if (err) {
		hoist_err_quote(echo, sizeof(echo), spec, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		hoist_err_prefix(err, "invalid output '%s'", echo);
	}
	return code;
}

static int csv_err(struct hoist_err *err, const char *spec, size_t col,
		   const char *why)
{
	char echo[SPEC_ECHO_MAX + 4];

	hoist_err_quote(echo, sizeof(echo), spec, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	return hoist_err_set(err, HOIST_EINVAL,
			     "invalid output '%s': parse error on column %zu: "
			     "%s",
			     echo, col, why);
}

/* go-csvvalue's Fields() with Comma ',' and the default options. */
static int csv_split(struct fields *f, const char *spec, struct hoist_err *err)
{
	size_t len = strlen(spec);
	const char *p = spec, *end;
	struct hoist_buf field =
		HOIST_BUF_INIT(HOIST_BUF_UNLIMITED); /* < spec */
	int ret = 0;

	if (len > 0 && spec[len - 1] == '\n')
		len -= (len > 1 && spec[len - 2] == '\r') ? 2 : 1;
	if (len == 0)
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid output '': empty spec");
	end = spec + len;

	for (;;) {
		if (p == end || *p != '"') {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *fend = comma ? comma : end;
			const char *q = memchr(p, '"', (size_t)(fend - p));

			if (q) {
				ret = csv_err(err, spec, (size_t)(q - spec) + 1,
					      err_bare_quote);
				goto out;
			}
			fields_push(f, hoist_xstrndup(p, (size_t)(fend - p)));
			if (!comma)
				break;
			p = comma + 1;
			continue;
		}

		/* Quoted field: "" is a quote, the closing quote must be
		 * followed by a comma or the end of the record. */
		p++;
		hoist_buf_reset(&field);
		for (;;) {
			const char *q = memchr(p, '"', (size_t)(end - p));

			if (!q) {
				ret = csv_err(err, spec, (size_t)(p - spec) + 1,
					      err_quote);
				goto out;
			}
			hoist_buf_add(&field, p, (size_t)(q - p), NULL);
			p = q + 1;
			if (p < end && *p == '"') {
				hoist_buf_addch(&field, '"', NULL);
				p++;
				continue;
			}
			if (p == end || *p == ',')
				break;
			ret = csv_err(err, spec, (size_t)(q - spec) + 1,
				      err_quote);
			goto out;
		}
		fields_push(f, hoist_xstrndup(field.data, field.len));
		if (p == end)
			break;
		p++; /* the comma */
	}
out:
	hoist_buf_release(&field);
	return ret;
}

/* Go's unicode.IsSpace for one UTF-8 sequence at s; returns its length. */
static size_t space_len(const unsigned char *s, size_t n)
{
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && (s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80) {
		cp = ((uint32_t)(s[0] & 0x0f) << 12) |
		     ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
		    cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
		    cp == 0x205f || cp == 0x3000)
			return 3;
	}
	return 0;
}

/* Length of the last UTF-8 sequence ending at s + n, if it is a space. */
static size_t space_len_back(const unsigned char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		if (space_len(s + n - k, k) == k)
			return k;
	}
	return 0;
}

/*
 * strings.TrimSpace(strings.ToLower(key)). Only ASCII letters are folded:
 * exporter keys are ASCII, and a non-ASCII key can match none of them
 * either way.
 */
static char *key_normalise(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k;
	char *out;

	while ((k = space_len(u, n)) > 0) {
		u += k;
		n -= k;
	}
	while ((k = space_len_back(u, n)) > 0)
		n -= k;
	out = hoist_xstrndup((const char *)u, n);
	for (char *c = out; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	}
	return out;
}

static void attr_add(struct hoist_output *o, char *key, char *value)
{
	o->attrs =
		hoist_xreallocarray(o->attrs, o->nattrs + 1, sizeof(*o->attrs));
	o->attrs[o->nattrs].key = key;
	o->attrs[o->nattrs].value = value;
	o->nattrs++;
}

int hoist_output_parse(struct hoist_output *out, const char *spec,
		       struct hoist_err *err)
{
	struct fields f = {0};
	struct hoist_output o = {0};
	int ret;

	memset(out, 0, sizeof(*out));
	ret = csv_split(&f, spec, err);
	if (ret < 0)
		goto out;

	/* The shorthand needs the field to be the whole input, so a quoted
	 * or newline-terminated path is not one. */
	if (f.n == 1 && strcmp(f.v[0], spec) == 0 &&
	    strncmp(spec, "type=", 5) != 0) {
		o.type =
			hoist_xstrdup(strcmp(spec, "-") == 0 ? "tar" : "local");
		o.dest = hoist_xstrdup(spec);
		goto done;
	}

	for (size_t i = 0; i < f.n; i++) {
		const char *eq = strchr(f.v[i], '=');
		char *key;

		if (!eq) {
			char echo[SPEC_ECHO_MAX + 4];

			hoist_err_quote(echo, sizeof(echo), f.v[i],
					HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
			ret = spec_err(err, spec, "invalid value %s", echo);
			goto out;
		}
		key = key_normalise(f.v[i], (size_t)(eq - f.v[i]));
		if (strcmp(key, "type") == 0) {
			free(o.type);
			o.type = hoist_xstrdup(eq + 1);
			free(key);
		} else if (strcmp(key, "dest") == 0) {
			free(o.dest);
			o.dest = hoist_xstrdup(eq + 1);
			free(key);
		} else if (strcmp(key, "output") == 0) {
			char echo[SPEC_ECHO_MAX + 4];

			free(key);
			hoist_err_quote(echo, sizeof(echo), eq + 1,
					HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
			ret = spec_err(err, spec,
				       "output=%s not supported for --output, "
				       "you meant dest=%s?",
				       echo, echo);
			goto out;
		} else {
			attr_add(&o, key, hoist_xstrdup(eq + 1));
		}
	}
	if (!o.type || !*o.type) {
		ret = spec_err(err, spec, "type is required for output");
		goto out;
	}
done:
	*out = o;
	memset(&o, 0, sizeof(o));
	ret = 0;
out:
	hoist_output_release(&o);
	fields_release(&f);
	return ret;
}

void hoist_output_release(struct hoist_output *out)
{
	if (!out)
		return;
	free(out->type);
	free(out->dest);
	for (size_t i = 0; i < out->nattrs; i++) {
		free(out->attrs[i].key);
		free(out->attrs[i].value);
	}
	free(out->attrs);
	memset(out, 0, sizeof(*out));
}

const char *hoist_output_get(const struct hoist_output *o, const char *key)
{
	for (size_t i = o->nattrs; i > 0; i--) {
		if (strcmp(o->attrs[i - 1].key, key) == 0)
			return o->attrs[i - 1].value;
	}
	return NULL;
}

void hoist_output_set(struct hoist_output *o, const char *key,
		      const char *value)
{
	int found = 0;

	if (strcmp(key, "type") == 0 || strcmp(key, "dest") == 0) {
		char **slot = key[0] == 't' ? &o->type : &o->dest;

		free(*slot);
		*slot = hoist_xstrdup(value);
		return;
	}
	/* Every duplicate gets the value, so no later one can shadow it. */
	for (size_t i = 0; i < o->nattrs; i++) {
		if (strcmp(o->attrs[i].key, key) == 0) {
			free(o->attrs[i].value);
			o->attrs[i].value = hoist_xstrdup(value);
			found = 1;
		}
	}
	if (!found)
		attr_add(o, hoist_xstrdup(key), hoist_xstrdup(value));
}

int hoist_output_bool(int *out, const struct hoist_output *o, const char *key,
		      int empty_true, int dflt, struct hoist_err *err)
{
	const char *v = hoist_output_get(o, key);

	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!*v && empty_true) {
		*out = 1;
		return 0;
	}
	/* An empty value for a strict key fails here, as ParseBool("") does
	 * in BuildKit. */
	return hoist_scan_bool(out, v, key, err);
}
