/*
 * fuzz-platform.c: fuzz target for platform parsing (lib/platform.c).
 *
 * Checks that normalisation is a fixed point (the printed form parses back
 * to the same platform), that both printed forms fit and stay within the
 * component alphabet, and that lists never hold duplicates.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/platform.h"
#include "util/mem.h"
#include "util/banned.h"

static int terminated(const char *field)
{
	return memchr(field, '\0', 32) != NULL;
}

static void check_one(const struct hoist_platform *p)
{
	struct hoist_platform back;
	struct hoist_err err;
	char buf[100], id[100];

	FUZZ_CHECK(terminated(p->os) && terminated(p->arch) &&
		   terminated(p->variant));
	FUZZ_CHECK(p->os[0] && p->arch[0]);
	hoist_platform_format(p, buf, sizeof(buf));
	hoist_platform_id(p, id, sizeof(id));
	FUZZ_CHECK(!strchr(id, '/'));
	FUZZ_CHECK(hoist_platform_parse(&back, buf, &err) == 0);
	FUZZ_CHECK(strcmp(back.os, p->os) == 0);
	FUZZ_CHECK(strcmp(back.arch, p->arch) == 0);
	FUZZ_CHECK(strcmp(back.variant, p->variant) == 0);
	FUZZ_CHECK(hoist_platform_equal(p, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = hoist_xstrndup((const char *)data, size);
	struct hoist_platform p, *list;
	struct hoist_err err;
	size_t n;

	hoist_err_clear(&err);
	if (hoist_platform_parse(&p, s, &err) == 0) {
		check_one(&p);
	} else {
		FUZZ_CHECK(err.code == HOIST_EINVAL);
		FUZZ_CHECK(strncmp(err.msg, "invalid platform '", 18) == 0);
		for (const char *c = err.msg; *c; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 &&
				   (unsigned char)*c < 0x7f);
	}

	if (hoist_platform_parse_list(&list, &n, s, &err) == 0) {
		FUZZ_CHECK(n >= 1);
		for (size_t i = 0; i < n; i++) {
			check_one(&list[i]);
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(!hoist_platform_equal(&list[i],
								 &list[j]));
		}
		free(list);
	} else {
		FUZZ_CHECK(list == NULL && n == 0);
	}
	free(s);
	return 0;
}
