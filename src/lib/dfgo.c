/*
 * dfgo.c: Go's strconv.Quote, fmt %q/%v of string slices and
 * time.Duration text, for the history entries BuildKit writes. See dfgo.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dfgo.h"
#include "lib/shellwords.h"
#include "util/mem.h"
#include "util/banned.h"

/* strconv.Quote */
void hoist_dfgo_quote(struct hoist_buf *b, const char *s, char delim)
{
	hoist_buf_addch(b, delim, NULL);
	for (size_t i = 0, n = strlen(s); i < n;) {
		unsigned cp;
		size_t l = hoist_shellwords_rune(s + i, n - i, &cp);
		unsigned char c = (unsigned char)s[i];

		if (cp == 0xfffd && l == 1) {
			hoist_buf_printf(b, NULL, "\\x%02x", c);
		} else if (c == (unsigned char)delim || c == '\\') {
			hoist_buf_printf(b, NULL, "\\%c", c);
		} else if (c == '\n') {
			hoist_buf_adds(b, "\\n", NULL);
		} else if (c == '\t') {
			hoist_buf_adds(b, "\\t", NULL);
		} else if (c == '\r') {
			hoist_buf_adds(b, "\\r", NULL);
		} else if (c == '\a' || c == '\b' || c == '\f' || c == '\v') {
			hoist_buf_printf(b, NULL, "\\%c",
					 "abfv"[c == '\a'   ? 0
						: c == '\b' ? 1
						: c == '\f' ? 2
							    : 3]);
		} else if (cp < 0x20 || cp == 0x7f) {
			hoist_buf_printf(b, NULL, "\\x%02x", cp);
		} else if (cp >= 0x80 && cp < 0xa0) {
			hoist_buf_printf(b, NULL, "\\u%04x", cp);
		} else {
			hoist_buf_add(b, s + i, l, NULL);
		}
		i += l;
	}
	hoist_buf_addch(b, delim, NULL);
}

/* %q of a []string: ["a" "b"] */
void hoist_dfgo_quote_list(struct hoist_buf *b, char *const *v, size_t n)
{
	hoist_buf_addch(b, '[', NULL);
	for (size_t i = 0; i < n; i++) {
		if (i)
			hoist_buf_addch(b, ' ', NULL);
		hoist_dfgo_quote(b, v[i], '"');
	}
	hoist_buf_addch(b, ']', NULL);
}

/* %v of a []string: [a b] */
void hoist_dfgo_list(struct hoist_buf *b, char *const *v, size_t n)
{
	hoist_buf_addch(b, '[', NULL);
	for (size_t i = 0; i < n; i++)
		hoist_buf_printf(b, NULL, "%s%s", i ? " " : "", v[i]);
	hoist_buf_addch(b, ']', NULL);
}

/* Go's fmtFrac: prec digits of v, trailing zeros and "." omitted. */
static int fmt_frac(char *buf, int w, uint64_t *v, int prec)
{
	int printed = 0;

	for (int i = 0; i < prec; i++) {
		int digit = (int)(*v % 10);

		printed = printed || digit != 0;
		if (printed)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (printed)
		buf[--w] = '.';
	return w;
}

/* Go's fmtInt */
static int fmt_int(char *buf, int w, uint64_t v)
{
	if (v == 0)
		buf[--w] = '0';
	for (; v > 0; v /= 10)
		buf[--w] = (char)('0' + v % 10);
	return w;
}

const char *hoist_dfgo_duration(int64_t d, char buf[40])
{
	char tmp[40];
	int w = (int)sizeof(tmp);
	uint64_t u = d < 0 ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d;

	if (u == 0) {
		snprintf(buf, 40, "0s");
		return buf;
	}
	tmp[--w] = 's';
	if (u < 1000000000ull) {
		int prec = 6;

		if (u < 1000ull) {
			prec = 0;
			tmp[--w] = 'n';
		} else if (u < 1000000ull) {
			prec = 3;
			tmp[--w] = (char)0xb5; /* U+00B5 */
			tmp[--w] = (char)0xc2;
		} else {
			tmp[--w] = 'm';
		}
		w = fmt_frac(tmp, w, &u, prec);
		w = fmt_int(tmp, w, u);
	} else {
		w = fmt_frac(tmp, w, &u, 9);
		w = fmt_int(tmp, w, u % 60);
		u /= 60;
		if (u > 0) {
			tmp[--w] = 'm';
			w = fmt_int(tmp, w, u % 60);
			u /= 60;
			if (u > 0) {
				tmp[--w] = 'h';
				w = fmt_int(tmp, w, u);
			}
		}
	}
	if (d < 0)
		tmp[--w] = '-';
	snprintf(buf, 40, "%.*s", (int)sizeof(tmp) - w, tmp + w);
	return buf;
}

int hoist_dfgo_parse_duration(int64_t *ns, const char *s)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{"ns", 1},
		{"us", 1000},
		{"\xc2\xb5s", 1000},
		{"\xce\xbcs", 1000},
		{"ms", 1000000},
		{"s", 1000000000ull},
		{"m", 60000000000ull},
		{"h", 3600000000000ull},
	};
	uint64_t total = 0;
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -1;
	while (*s) {
		uint64_t v = 0, f = 0;
		double scale = 1;
		int pre = 0, post = 0, fover = 0;
		size_t ul = 0, k;

		while (*s >= '0' && *s <= '9') {
			if (v > (UINT64_C(1) << 63) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (v > (UINT64_C(1) << 63))
				return -1;
			pre = 1;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				if (!fover && f <= (UINT64_C(1) << 63) / 10) {
					f = f * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				} else {
					fover = 1;
				}
				s++;
				post = 1;
			}
		}
		if (!pre && !post)
			return -1;
		while (s[ul] && !(s[ul] >= '0' && s[ul] <= '9') && s[ul] != '.')
			ul++;
		for (k = 0; k < HOIST_ARRAY_SIZE(units); k++)
			if (strlen(units[k].name) == ul &&
			    strncmp(s, units[k].name, ul) == 0)
				break;
		if (k == HOIST_ARRAY_SIZE(units))
			return -1;
		if (v > (UINT64_C(1) << 63) / units[k].mult)
			return -1;
		v *= units[k].mult;
		if (f > 0) {
			v += (uint64_t)((double)f *
					((double)units[k].mult / scale));
			if (v > (UINT64_C(1) << 63))
				return -1;
		}
		total += v;
		if (total > (UINT64_C(1) << 63))
			return -1;
		s += ul;
	}
	if (total > (UINT64_C(1) << 63) - 1 && !neg)
		return -1;
	*ns = neg ? -(int64_t)(total - 1) - 1 : (int64_t)total;
	return 0;
}

void hoist_dfgo_quote_rune(struct hoist_buf *b, long r)
{
	char u[5] = {0};
	unsigned cp = (r < 0 || r > 0x10ffff || (r >= 0xd800 && r < 0xe000))
			      ? 0xfffd
			      : (unsigned)r;

	if (cp == 0) {
		hoist_buf_adds(b, "'\\x00'", NULL);
		return;
	}
	hoist_shellwords_encode(u, cp);
	hoist_dfgo_quote(b, u, '\'');
}
