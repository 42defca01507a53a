/*
 * base64.c: RFC 4648 base64 encoding and strict decoding.
 */
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/banned.h"

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *hoist_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = hoist_xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = b64chars[v >> 6 & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < len) {
		unsigned v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0);
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

int hoist_base64_decode(char **out, size_t *outlen, const char *s)
{
	size_t len = strlen(s), n = 0;
	unsigned v = 0;
	int bits = 0;
	char *o;

	while (len && s[len - 1] == '=')
		len--;
	if (strlen(s) - len > 2 || len % 4 == 1)
		return HOIST_EINVAL;
	o = hoist_xmalloc(len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		int d = b64_val(s[i]);
		if (d < 0) {
			explicit_bzero(o, n);
			free(o);
			return HOIST_EINVAL;
		}
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (char)(v >> bits & 0xff);
		}
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}
