/*
 * base.c: the base image of a build: resolve `--from REF` to a transport,
 * read it into the store, and pick each platform's manifest (the policy
 * for a build without --platform lives here, not in the CLI).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/base.h"
#include "lib/imgwalk.h"
#include "lib/transport.h"
#include "util/mem.h"
#include "util/banned.h"

/*
 * A transport, or a name: the staging area's image of that name if there
 * is one, else the registry's.
 */
static int from_transport(struct hoist_transport *t, struct hoist_store *s,
			  const char *from, struct hoist_err *err)
{
	int rc = hoist_transport_parse(t, from, err);
	json_t *d = NULL;
	char *ref;

	if (rc || t->kind != HOIST_TR_STORE)
		return rc;
	if (hoist_store_resolve(s, t->ref, &d, NULL) == 0) {
		json_decref(d);
		return 0;
	}
	ref = t->ref;
	t->ref = NULL;
	hoist_transport_release(t);
	memset(t, 0, sizeof(*t));
	t->kind = HOIST_TR_DOCKER;
	t->ref = ref;
	return 0;
}

/* The platform of base's only manifest; HOIST_ENOTFOUND when not one. */
static int only_platform(struct hoist_platform *p, int *single,
			 struct hoist_store *s, const json_t *base,
			 struct hoist_err *err)
{
	struct hoist_img_manifest *ms = NULL;
	size_t n = 0;
	int rc = hoist_imgwalk_manifests(&ms, &n, s, base, err);

	*single = !rc && n == 1;
	if (*single)
		*p = ms[0].platform;
	hoist_imgwalk_manifests_free(ms, n);
	return rc;
}

int hoist_base_read(json_t ***bases, struct hoist_platform *plats,
		    size_t nplats, int platform_given, struct hoist_store *s,
		    const char *from, const struct hoist_registry_opts *ro,
		    struct hoist_err *err)
{
	struct hoist_transport t;
	struct hoist_copy_opts co;
	struct hoist_platform p;
	json_t **b = hoist_xcalloc(nplats + 1, sizeof(*b));
	int choose = !platform_given && nplats == 1, single, rc;

	memset(&t, 0, sizeof(t));
	memset(&co, 0, sizeof(co));
	co.reg = *ro;
	rc = from_transport(&t, s, from, err);
	for (size_t i = 0; i < nplats && !rc; i++) {
		co.platform = &plats[i];
		rc = hoist_transport_read(&b[i], s, &t, &co, err);
		if (!rc && choose) {
			/* a single-manifest base of another platform (a pull
			 * keeps it): build for the base's platform */
			rc = only_platform(&p, &single, s, b[i], err);
			if (!rc && single && p.os[0] &&
			    !hoist_platform_equal(&p, &plats[0]))
				plats[0] = p;
		} else if (rc == HOIST_ENOTFOUND && choose) {
			/* not for the host: take a single-platform base as is
			 */
			co.platform = NULL;
			rc = hoist_transport_read(&b[i], s, &t, &co, err);
			if (!rc)
				rc = only_platform(&p, &single, s, b[i], err);
			if (!rc && !single)
				rc = hoist_err_set(
					err, HOIST_ENOTFOUND,
					"the base image has no manifest for "
					"this machine's platform: give "
					"--platform");
			if (!rc)
				plats[0] = p;
		}
	}
	hoist_transport_release(&t);
	if (rc) {
		for (size_t i = 0; i < nplats; i++)
			json_decref(b[i]);
		free(b);
		return hoist_err_prefix(err, "--from");
	}
	*bases = b;
	return 0;
}
