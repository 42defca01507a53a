/*
 * fuzz-ref.c: fuzz target for image reference parsing (lib/ref.c).
 *
 * Beyond "does not crash or leak", it checks the properties the rest of
 * hoist relies on: a refusal leaves nothing allocated and says why in one
 * printable line; an accepted reference respects the limits, prints to a
 * form that parses back to itself, normalisation is idempotent, and the
 * familiar form normalises back to the same reference.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/ref.h"
#include "util/mem.h"
#include "util/banned.h"

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_refused(const struct hoist_ref *r,
			  const struct hoist_err *err)
{
	FUZZ_CHECK(!r->domain && !r->path && !r->tag && !r->digest);
	FUZZ_CHECK(err->code == HOIST_EINVAL);
	FUZZ_CHECK(strncmp(err->msg, "invalid reference '", 19) == 0);
	for (const char *p = err->msg; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 &&
			   (unsigned char)*p < 0x7f);
}

static void check_accepted(const struct hoist_ref *r, int flags)
{
	struct hoist_ref again;
	struct hoist_err err;
	char *s, *s2, *fam;

	FUZZ_CHECK(r->path && *r->path);
	FUZZ_CHECK(strlen(r->path) <= 255);
	for (const char *p = r->path; *p; p++)
		FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
	FUZZ_CHECK(!r->tag || (*r->tag && strlen(r->tag) <= 128));
	FUZZ_CHECK(!r->digest || strchr(r->digest, ':'));
	if (flags & HOIST_REF_NORMALIZE)
		FUZZ_CHECK(r->domain && strcmp(r->domain, "index.docker.io"));
	if (flags & HOIST_REF_DEFAULT_TAG)
		FUZZ_CHECK(r->tag || r->digest);

	/* the full form is a fixed point, raw and with the same flags */
	s = hoist_ref_string(r);
	FUZZ_CHECK(hoist_ref_parse(&again, s, 0, &err) == 0);
	FUZZ_CHECK(same(again.domain, r->domain) && same(again.path, r->path) &&
		   same(again.tag, r->tag) && same(again.digest, r->digest));
	hoist_ref_release(&again);
	FUZZ_CHECK(hoist_ref_parse(&again, s, flags, &err) == 0);
	s2 = hoist_ref_string(&again);
	FUZZ_CHECK(strcmp(s, s2) == 0);
	free(s2);
	hoist_ref_release(&again);

	if (flags & HOIST_REF_NORMALIZE) {
		fam = hoist_ref_familiar(r);
		FUZZ_CHECK(hoist_ref_parse(&again, fam, flags, &err) == 0);
		s2 = hoist_ref_string(&again);
		FUZZ_CHECK(strcmp(s, s2) == 0);
		free(s2);
		hoist_ref_release(&again);
		free(fam);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = hoist_xstrndup((const char *)data, size);

	for (int flags = 0; flags < 4; flags++) {
		struct hoist_ref r;
		struct hoist_err err;

		hoist_err_clear(&err);
		if (hoist_ref_parse(&r, s, flags, &err) == 0) {
			check_accepted(&r, flags);
			hoist_ref_release(&r);
		} else {
			check_refused(&r, &err);
		}
	}
	free(s);
	return 0;
}
