/*
 * realm.c: which token realms hoist asks for tokens. Registries such as
 * GitLab's (realm on gitlab.com), Harbor behind a separate auth service
 * and corporate registries on private addresses name a token service on
 * another host; Docker and containerd follow it and send the registry's
 * credentials there. hoist does the same, and keeps the protections that
 * matter: https stays https, no user info in the URL. auth.c keeps the
 * registry's TLS identity and tokens to the registry's origin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/realm.h"
#include "util/url.h"
#include "util/banned.h"

static int realm_has_userinfo(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p)
		return 0;
	p += 3;
	n = strcspn(p, "/?#");
	return memchr(p, '@', n) != NULL;
}

void hoist_realm_quote(char *q, size_t qlen, const char *realm)
{
	const char *p = realm ? strstr(realm, "://") : NULL;
	char buf[HOIST_QUOTE_BUF * 2];

	if (!realm) {
		hoist_err_quote(q, qlen, "", 0, 0);
		return;
	}
	if (p && realm_has_userinfo(realm)) {
		const char *at = strchr(p + 3, '@');
		snprintf(buf, sizeof(buf), "%.*s://%s", (int)(p - realm), realm,
			 at + 1);
		realm = buf;
	}
	hoist_err_quote(q, qlen, realm, strcspn(realm, "?#"), 0);
}

int hoist_realm_check(const char *base_url, const char *realm,
		      struct hoist_err *err)
{
	struct hoist_url_origin bo, ro;
	char q[HOIST_QUOTE_BUF];

	hoist_realm_quote(q, sizeof(q), realm);
	if (hoist_url_origin(&bo, base_url, err))
		return hoist_err_prefix(err, "registry URL");
	if (!realm || !*realm)
		return hoist_err_set(err, HOIST_EAUTH,
				     "invalid token realm '%s'", q);
	if (strncasecmp(realm, "https://", 8) != 0 &&
	    strncasecmp(realm, "http://", 7) != 0)
		return hoist_err_set(err, HOIST_EAUTH,
				     "refused token realm '%s': not an "
				     "absolute http(s) URL",
				     q);
	if (hoist_url_origin(&ro, realm, NULL))
		return hoist_err_set(err, HOIST_EAUTH,
				     "invalid token realm '%s'", q);
	if (realm_has_userinfo(realm) || strchr(realm, '#'))
		return hoist_err_set(err, HOIST_EAUTH,
				     "refused token realm '%s': user info or "
				     "fragment in URL",
				     q);
	if (strcmp(ro.scheme, "https") != 0 && strcmp(bo.scheme, "https") == 0)
		return hoist_err_set(err, HOIST_EAUTH,
				     "refused token realm '%s': plain http for "
				     "an https registry",
				     q);
	return 0;
}
