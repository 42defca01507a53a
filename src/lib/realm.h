/*
 * realm.h: the policy for Bearer token realms: where hoist may ask for a
 * token, and whether the registry's credentials may go there.
 */
#ifndef HOIST_LIB_REALM_H
#define HOIST_LIB_REALM_H

#include "util/err.h"

/*
 * 0 if a token may be fetched from realm for the registry at base_url,
 * HOIST_EAUTH (the message names the realm and the rule) if not.
 * *send_creds is set to 1 when the registry's credentials may go to the
 * realm: its host equals the registry's, or the registry is Docker Hub
 * (docker.io, index.docker.io, registry-1.docker.io) and the realm is
 * auth.docker.io, Hub's documented token service. HOIST_EINVAL (or the
 * URL parser's code) for a base_url that is not a URL.
 */
int hoist_realm_check(const char *base_url, const char *realm, int *send_creds,
		      struct hoist_err *err);

#endif
