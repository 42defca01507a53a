/*
 * fuzz-auth.c: fuzz target for WWW-Authenticate parsing (lib/auth.c).
 *
 * Checks the shape of what the parser returns (lower-case schemes and
 * keys from the token alphabet, bounded counts, no duplicate keys, a
 * token68 only on its own), that errors are one printable line, and that
 * printing the challenges canonically (every value quoted) parses back to
 * the same challenges.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/challenge.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

static int tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void check_shape(const struct hoist_challenge *c, size_t n)
{
	FUZZ_CHECK(n >= 1 && n <= 16);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(c[i].scheme[0]);
		for (const char *p = c[i].scheme; *p; p++)
			FUZZ_CHECK(tchar((unsigned char)*p));
		FUZZ_CHECK(c[i].nparams <= 32);
		for (size_t j = 0; j < c[i].nparams; j++) {
			const char *k = c[i].params[j].key;
			if (!k[0]) {
				/* token68: the only parameter */
				FUZZ_CHECK(c[i].nparams == 1);
				FUZZ_CHECK(c[i].params[j].value[0]);
			}
			for (const char *p = k; *p; p++)
				FUZZ_CHECK(tchar((unsigned char)*p));
			for (size_t l = 0; l < j; l++)
				FUZZ_CHECK(strcmp(c[i].params[l].key, k));
			FUZZ_CHECK(hoist_challenge_get(&c[i], k) ==
				   c[i].params[j].value);
			for (const unsigned char *p =
				     (const unsigned char *)c[i]
					     .params[j]
					     .value;
			     *p; p++)
				FUZZ_CHECK(*p == '\t' ||
					   (*p >= 0x20 && *p != 0x7f));
		}
	}
}

static char *format(const struct hoist_challenge *c, size_t n)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);

	for (size_t i = 0; i < n; i++) {
		hoist_buf_printf(&b, NULL, "%s%s", i ? ", " : "", c[i].scheme);
		for (size_t j = 0; j < c[i].nparams; j++) {
			const char *v = c[i].params[j].value;
			if (!c[i].params[j].key[0]) {
				hoist_buf_printf(&b, NULL, " %s", v);
				continue;
			}
			hoist_buf_printf(&b, NULL, "%s%s=\"", j ? ", " : " ",
					 c[i].params[j].key);
			for (; *v; v++) {
				if (*v == '"' || *v == '\\')
					hoist_buf_addch(&b, '\\', NULL);
				hoist_buf_addch(&b, *v, NULL);
			}
			hoist_buf_addch(&b, '"', NULL);
		}
	}
	return hoist_buf_detach(&b, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = hoist_xstrndup((const char *)data, size), *f;
	struct hoist_challenge *c, *c2;
	struct hoist_err err;
	size_t n, n2;
	int rc;

	hoist_err_clear(&err);
	rc = hoist_challenge_parse(&c, &n, s, &err);
	if (rc) {
		FUZZ_CHECK(c == NULL && n == 0);
		FUZZ_CHECK(rc == HOIST_EINVAL || rc == HOIST_ELIMIT);
		FUZZ_CHECK(err.code == rc && err.msg[0]);
		for (const char *p = err.msg; *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20 &&
				   (unsigned char)*p < 0x7f);
		free(s);
		return 0;
	}
	check_shape(c, n);
	f = format(c, n);
	/* quoting can make the text longer than the 8 KiB input cap */
	if (strlen(f) <= 8192) {
		rc = hoist_challenge_parse(&c2, &n2, f, &err);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(n2 == n);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(strcmp(c[i].scheme, c2[i].scheme) == 0);
			FUZZ_CHECK(c[i].nparams == c2[i].nparams);
			for (size_t j = 0; j < c[i].nparams; j++) {
				FUZZ_CHECK(strcmp(c[i].params[j].key,
						  c2[i].params[j].key) == 0);
				FUZZ_CHECK(strcmp(c[i].params[j].value,
						  c2[i].params[j].value) == 0);
			}
		}
		hoist_challenge_free(c2, n2);
	}
	free(f);
	hoist_challenge_free(c, n);
	free(s);
	return 0;
}
