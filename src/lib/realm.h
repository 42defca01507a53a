/*
 * realm.h: the policy for Bearer token realms, as Docker and containerd
 * apply it: the registry names its token service, on any host, and hoist
 * asks that realm for a token with the registry's stored credentials.
 */
#ifndef HOIST_LIB_REALM_H
#define HOIST_LIB_REALM_H

#include <stddef.h>

#include "util/err.h"

/*
 * 0 if a token may be fetched from realm for the registry at base_url,
 * with the registry's credentials; HOIST_EAUTH (the message names the
 * realm, query cut, and the rule) if not. The rules, the same for host
 * names and IP literals of any kind:
 *   - the realm is an absolute http:// or https:// URL;
 *   - it has no user information ("https://u:p@host/") and no fragment;
 *   - it is https whenever the registry is https (no downgrade); an http
 *     registry may have an http or https realm.
 * What the caller must add (auth.c does): no redirects of the token
 * request are followed, a realm on another host gets neither the
 * registry's client certificate nor its "insecure" setting, and tokens
 * go only to the registry's own origin. A base_url that is not a URL is
 * HOIST_EINVAL.
 */
int hoist_realm_check(const char *base_url, const char *realm,
		      struct hoist_err *err);

/*
 * The realm as messages show it: quoted (hoist_err_quote), without user
 * information, query or fragment, cut to fit qlen (HOIST_QUOTE_BUF is
 * enough). realm may be NULL.
 */
void hoist_realm_quote(char *q, size_t qlen, const char *realm);

#endif
