/*
 * dockerfile-json.c: the JSON (exec) form of Dockerfile instructions, read
 * as BuildKit's parseJSON reads it with Go's encoding/json: a JSON array
 * whose elements must all be strings. Valid JSON of another shape in the
 * array is an error; text that is not JSON is the shell form. A small
 * validating reader rather than jansson, so that what counts as JSON is
 * Go's (duplicate object keys and "\u0000" are valid JSON to Go).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dockerfile-json.h"
#include "lib/shellwords.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

/* JSON nested deeper than Go's decoder allows is not JSON. */
#define JSON_DEPTH_MAX 10000

/* ---- JSON: Go's encoding/json, enough to tell a string array ---- */

struct json {
	const char *s;
	size_t n, pos;
	int depth;
};

static void json_ws(struct json *j)
{
	while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				 j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

int hoist_dockerfile_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int json_hex4(struct json *j, unsigned *v)
{
	*v = 0;
	if (j->n - j->pos < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hoist_dockerfile_hexval(
			(unsigned char)j->s[j->pos + i]);

		if (h < 0)
			return -1;
		*v = *v * 16 + (unsigned)h;
	}
	j->pos += 4;
	return 0;
}

static void put_utf8(struct hoist_buf *b, unsigned cp)
{
	char u[4];

	hoist_buf_add(b, u, hoist_shellwords_encode(u, cp), NULL);
}

/* A string at j->pos (on the '"'); into b when b is not NULL. */
static int json_string(struct json *j, struct hoist_buf *b)
{
	j->pos++;
	for (;;) {
		unsigned char c;
		unsigned cp, lo;

		if (j->pos >= j->n)
			return -1;
		c = (unsigned char)j->s[j->pos++];
		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (b)
				hoist_buf_addch(b, (char)c, NULL);
			continue;
		}
		if (j->pos >= j->n)
			return -1;
		c = (unsigned char)j->s[j->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			cp = c;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if (json_hex4(j, &cp))
				return -1;
			if (cp >= 0xd800 && cp < 0xdc00) {
				size_t save = j->pos;

				if (j->n - j->pos >= 6 &&
				    j->s[j->pos] == '\\' &&
				    j->s[j->pos + 1] == 'u') {
					j->pos += 2;
					if (json_hex4(j, &lo))
						return -1;
					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 +
						     ((cp - 0xd800) << 10) +
						     (lo - 0xdc00);
						break;
					}
				}
				j->pos = save;
				cp = 0xfffd;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				cp = 0xfffd;
			}
			break;
		default:
			return -1;
		}
		if (b)
			put_utf8(b, cp);
	}
}

static int json_value(struct json *j);

static int json_number(struct json *j)
{
	size_t start;

	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->pos >= j->n)
		return -1;
	if (j->s[j->pos] == '0') {
		j->pos++;
	} else if (j->s[j->pos] >= '1' && j->s[j->pos] <= '9') {
		while (j->pos < j->n && isdigit((unsigned char)j->s[j->pos]))
			j->pos++;
	} else {
		return -1;
	}
	if (j->pos < j->n && j->s[j->pos] == '.') {
		start = ++j->pos;
		while (j->pos < j->n && isdigit((unsigned char)j->s[j->pos]))
			j->pos++;
		if (j->pos == start)
			return -1;
	}
	if (j->pos < j->n && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->n &&
		    (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		start = j->pos;
		while (j->pos < j->n && isdigit((unsigned char)j->s[j->pos]))
			j->pos++;
		if (j->pos == start)
			return -1;
	}
	return 0;
}

static int json_lit(struct json *j, const char *lit)
{
	size_t l = strlen(lit);

	if (j->n - j->pos < l || memcmp(j->s + j->pos, lit, l) != 0)
		return -1;
	j->pos += l;
	return 0;
}

/* An array or object at j->pos: open and close are its brackets. */
static int json_container(struct json *j, char close)
{
	int first = 1;

	if (++j->depth > JSON_DEPTH_MAX)
		return -1;
	j->pos++;
	for (;;) {
		json_ws(j);
		if (j->pos >= j->n)
			return -1;
		if (j->s[j->pos] == close && first) {
			j->pos++;
			break;
		}
		if (close == '}') {
			if (j->s[j->pos] != '"' || json_string(j, NULL))
				return -1;
			json_ws(j);
			if (j->pos >= j->n || j->s[j->pos++] != ':')
				return -1;
		}
		if (json_value(j))
			return -1;
		json_ws(j);
		if (j->pos >= j->n)
			return -1;
		if (j->s[j->pos] == ',') {
			j->pos++;
			first = 0;
			json_ws(j);
			if (j->pos < j->n && j->s[j->pos] == close)
				return -1;
			first = 1;
			continue;
		}
		if (j->s[j->pos++] != close)
			return -1;
		break;
	}
	j->depth--;
	return 0;
}

static int json_value(struct json *j)
{
	json_ws(j);
	if (j->pos >= j->n)
		return -1;
	switch (j->s[j->pos]) {
	case '"':
		return json_string(j, NULL);
	case '[':
		return json_container(j, ']');
	case '{':
		return json_container(j, '}');
	case 't':
		return json_lit(j, "true");
	case 'f':
		return json_lit(j, "false");
	case 'n':
		return json_lit(j, "null");
	default:
		return json_number(j);
	}
}

int hoist_dockerfile_json(char ***out, size_t *nout, const char *rest, size_t n)
{
	struct json j = {rest, n, 0, 0};
	int not_strings = 0;
	size_t l, k = 0;

	*out = NULL;
	*nout = 0;

	while (n && (l = hoist_shellwords_space(rest, n)))
		rest += l, n -= l;
	j.s = rest, j.n = n;
	if (!n || rest[0] != '[')
		return HOIST_DFJSON_NOT;
	if (json_container(&j, ']'))
		return HOIST_DFJSON_NOT;
	json_ws(&j);
	if (j.pos != j.n)
		return HOIST_DFJSON_NOT;
	/* valid: walk it again to collect the strings */
	j.pos = 1;
	j.depth = 0;
	for (;;) {
		struct hoist_buf b;

		json_ws(&j);
		if (j.s[j.pos] == ']')
			break;
		if (j.s[j.pos] != '"') {
			not_strings = 1;
			json_value(&j);
		} else {
			hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
			json_string(&j, &b);
			*out = hoist_xreallocarray(*out, k + 2, sizeof(**out));
			(*out)[k++] = hoist_buf_detach(&b, NULL);
			(*out)[k] = NULL;
			*nout = k;
		}
		json_ws(&j);
		if (j.s[j.pos] == ',')
			j.pos++;
	}
	return not_strings ? HOIST_DFJSON_NOT_STRINGS : HOIST_DFJSON_OK;
}
