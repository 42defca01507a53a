/*
 * fuzz-shellwords.c: fuzz target for Dockerfile variable substitution
 * (lib/shellwords.c).
 *
 * The input is one word, processed with both escape characters and every
 * option against a small environment. Checks: errors are one printable
 * line; split words are never empty and hold no unquoted white space from
 * a plain word; a word with no special character comes back unchanged;
 * everything is freed.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/shellwords.h"
#include "util/mem.h"
#include "util/banned.h"

static const char *const vars[] = {
	"A=a b", "EMPTY=", "P=/usr/lib/x.tar.gz", "S=*?\\", "NL=x\ny",
};
static const struct hoist_shellwords_env env = {vars, 5};

static void check_err(const struct hoist_err *err)
{
	FUZZ_CHECK(err->code == HOIST_EINVAL || err->code == HOIST_ELIMIT);
	for (const char *c = err->msg; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static int plain(const char *s, char esc)
{
	for (; *s; s++)
		if (*s == '$' || *s == '\'' || *s == '"' || *s == esc)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = hoist_xstrndup((const char *)data, size);
	static const unsigned flags[] = {
		0,
		HOIST_SHELLWORDS_RAW_QUOTES | HOIST_SHELLWORDS_RAW_ESCAPES,
		HOIST_SHELLWORDS_SKIP_UNSET,
		HOIST_SHELLWORDS_NO_QUOTES,
	};

	for (int e = 0; e < 2; e++) {
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			struct hoist_shellwords lex = {e ? '`' : '\\', flags[f],
						       &env};
			struct hoist_err err;
			char *out, **w;
			size_t n;

			if (hoist_shellwords_word(&out, &lex, s, &err) == 0) {
				FUZZ_CHECK(out != NULL);
				if (plain(s, lex.escape))
					FUZZ_CHECK(strcmp(out, s) == 0);
				free(out);
			} else {
				FUZZ_CHECK(out == NULL);
				check_err(&err);
			}
			if (hoist_shellwords_split(&w, &n, &lex, s, &err) ==
			    0) {
				for (size_t i = 0; i < n; i++)
					FUZZ_CHECK(w[i] && w[i][0]);
				FUZZ_CHECK(w[n] == NULL);
				hoist_shellwords_free(w);
			} else {
				check_err(&err);
			}
		}
	}
	free(s);
	return 0;
}
