/*
 * fuzz-location.c: resolving a Location header against the URL it
 * answered (hoist_http_resolve_url) and splitting a URL into its origin
 * (hoist_url_origin), the two functions every redirect and upload
 * session goes through before credentials are attached.
 *
 * Input: "BASE\nLOCATION" (no newline: a fixed base). Invariants:
 *  - a failure is HOIST_EINVAL (or ENOMEM) with a one-line message;
 *  - a result is an absolute http or https URL without a fragment, with
 *    no control byte or space; taking its origin succeeds or fails
 *    cleanly (curl resolves a port 0 the origin parser refuses);
 *  - a location that is a plain absolute path ("/x", not "//host") keeps
 *    the base's scheme, host and port: it can never move the request,
 *    and with it the credentials, to another origin;
 *  - resolving is idempotent: the result resolved again is the result.
 */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "lib/http.h"
#include "util/url.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/banned.h"

#define BASE "https://registry.example:5000/v2/lib/app/blobs/uploads/"

static void check_err(int rc, const struct hoist_err *err)
{
	FUZZ_CHECK(rc == HOIST_EINVAL || rc == HOIST_ENOMEM);
	FUZZ_CHECK(err->code == rc && err->msg[0]);
	FUZZ_CHECK(!strchr(err->msg, '\n') && !strchr(err->msg, '\r'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = hoist_xstrndup((const char *)data, size);
	char *nl = strchr(in, '\n'), *base, *loc, *out = NULL, *again = NULL;
	struct hoist_url_origin bo, oo;
	struct hoist_err err;
	int rc;

	if (nl) {
		*nl = '\0';
		base = in;
		loc = nl + 1;
	} else {
		base = BASE;
		loc = in;
	}
	rc = hoist_http_resolve_url(&out, base, loc, &err);
	if (rc) {
		check_err(rc, &err);
		FUZZ_CHECK(out == NULL);
		goto origin;
	}
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(!strncasecmp(out, "http://", 7) ||
		   !strncasecmp(out, "https://", 8));
	FUZZ_CHECK(!strchr(out, '#'));
	for (const char *p = out; *p; p++)
		FUZZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
	/* curl resolves some URLs it then cannot split (port 0, say) */
	rc = hoist_url_origin(&oo, out, &err);
	if (rc)
		check_err(rc, &err);
	else
		FUZZ_CHECK(oo.port > 0 && oo.port <= 65535);
	if (!rc && loc[0] == '/' && loc[1] != '/' && loc[1] != '\\' &&
	    hoist_url_origin(&bo, base, NULL) == 0) {
		FUZZ_CHECK(strcmp(oo.scheme, bo.scheme) == 0);
		FUZZ_CHECK(strcmp(oo.host, bo.host) == 0);
		FUZZ_CHECK(oo.port == bo.port);
	}
	rc = hoist_http_resolve_url(&again, base, out, &err);
	FUZZ_CHECK(rc == 0 && strcmp(again, out) == 0);
origin:
	/* the location on its own, as a URL */
	rc = hoist_url_origin(&oo, loc, &err);
	if (rc) {
		check_err(rc, &err);
	} else {
		FUZZ_CHECK(!strcmp(oo.scheme, "http") ||
			   !strcmp(oo.scheme, "https"));
		FUZZ_CHECK(oo.host[0] && oo.port > 0 && oo.port <= 65535);
		for (const char *p = oo.host; *p; p++)
			FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
	}
	free(again);
	free(out);
	free(in);
	return 0;
}
