/*
 * fuzz-sbom.c: fuzz target for the package-database parsers of
 * lib/sbom.c (dpkg status, apk installed, os-release).
 *
 * The first byte picks the parser (0: dpkg, 1: apk, 2: os-release, 3:
 * all three on the same text). Checks: a failed parse leaves no package
 * behind and says which file and why in one printable line; every kept
 * package has a name and version; the SPDX document always serialises and
 * is the same bytes when made twice.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/sbom.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

static void check_err(int ret, const struct hoist_sbom *s,
		      const struct hoist_err *err)
{
	FUZZ_CHECK(ret == HOIST_EINVAL || ret == HOIST_ELIMIT);
	FUZZ_CHECK(s->npkgs == 0);
	FUZZ_CHECK(strncmp(err->msg, "'fuzz'", 6) == 0);
	FUZZ_CHECK(!strchr(err->msg, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_sbom s;
	struct hoist_err err;
	const char *text = (const char *)data + 1;
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	json_t *doc;
	int ret = 0;

	if (size < 1)
		return 0;
	size--;
	hoist_sbom_init(&s);
	hoist_err_clear(&err);
	switch (data[0] & 3) {
	case 0:
		ret = hoist_sbom_parse_dpkg(&s, text, size, "fuzz", &err);
		break;
	case 1:
		ret = hoist_sbom_parse_apk(&s, text, size, "fuzz", &err);
		break;
	case 2:
		hoist_sbom_parse_os_release(&s, text, size);
		break;
	default:
		hoist_sbom_parse_os_release(&s, text, size);
		if (hoist_sbom_parse_dpkg(&s, text, size, "fuzz", &err) == 0)
			(void)hoist_sbom_parse_apk(&s, text, size, "fuzz",
						   &err);
		break;
	}
	if (ret) {
		check_err(ret, &s, &err);
		hoist_sbom_release(&s);
		return 0;
	}
	for (size_t i = 0; i < s.npkgs; i++)
		FUZZ_CHECK(s.pkgs[i].name[0] && s.pkgs[i].version[0]);
	doc = hoist_sbom_spdx(&s, "fuzz", 0, "0");
	FUZZ_CHECK(hoist_json_dump(&a, &alen, doc, 0, &err) == 0);
	FUZZ_CHECK(json_array_size(json_object_get(doc, "packages")) >= 1);
	FUZZ_CHECK(json_array_size(json_object_get(doc, "packages")) <=
		   s.npkgs + 1);
	json_decref(doc);
	doc = hoist_sbom_spdx(&s, "fuzz", 0, "0");
	FUZZ_CHECK(hoist_json_dump(&b, &blen, doc, 0, &err) == 0);
	json_decref(doc);
	FUZZ_CHECK(alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
	hoist_sbom_release(&s);
	return 0;
}
