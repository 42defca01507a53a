/*
 * base.h: the base image of a build (`--from REF`): where it comes from,
 * and which of its manifests each built platform stands on.
 */
#ifndef HOIST_LIB_BASE_H
#define HOIST_LIB_BASE_H

#include <stddef.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/platform.h"
#include "lib/registry.h"
#include "lib/store.h"

/*
 * Read the base image from into the store. from is a transport
 * (docker://, oci:, oci-archive:, docker-archive:) or a name: the staging
 * area's image of that name if there is one, else the registry's.
 *
 * *bases is a new array of nplats descriptors (one per platform, same
 * order): each a manifest, or an index holding that platform's manifest.
 * The caller json_decref()s each and free()s the array.
 *
 * With platform_given 0 and one platform (the host's), the base chooses
 * it: a base whose only manifest is of another platform sets plats[0] to
 * that platform; a base without a manifest for the host and with more
 * than one is HOIST_ENOTFOUND ("give --platform").
 *
 * Returns 0, or the HOIST_E* code of the transport (HOIST_EINVAL for a
 * bad reference, HOIST_ENOTFOUND, network and verification errors),
 * with err prefixed "--from".
 */
int hoist_base_read(json_t ***bases, struct hoist_platform *plats,
		    size_t nplats, int platform_given, struct hoist_store *s,
		    const char *from, const struct hoist_registry_opts *ro,
		    struct hoist_err *err);

#endif
