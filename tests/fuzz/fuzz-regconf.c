/*
 * fuzz-regconf.c: fuzz target for the registries.conf reader
 * (lib/regconf.c).
 *
 * Checks that the reader fails with one printable line and EINVAL or
 * ELIMIT, and that what it accepts has the promised shape: every
 * registry has a prefix, every mirror a location, counts within the caps,
 * and a lookup of each prefix finds an entry with that prefix.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/regconf.h"
#include "util/banned.h"

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
		for (const char *p = err.msg; *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20 &&
				   (unsigned char)*p != 0x7f);
	} else {
		FUZZ_CHECK(c.nregs <= 1000);
		for (size_t i = 0; i < c.nregs; i++) {
			const struct hoist_regconf_registry *g = &c.regs[i];
			FUZZ_CHECK(g->prefix != NULL);
			FUZZ_CHECK(g->nmirrors <= 100);
			for (size_t j = 0; j < g->nmirrors; j++)
				FUZZ_CHECK(g->mirrors[j].location != NULL);
			if (g->prefix[0] && !strchr(g->prefix, '/')) {
				const struct hoist_regconf_registry *f =
					hoist_regconf_find(&c, g->prefix, "x");
				FUZZ_CHECK(f != NULL &&
					   strlen(f->prefix) >=
						   strlen(g->prefix));
			}
		}
	}
	hoist_regconf_release(&c);
	return 0;
}
