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

#include "lib/http.h"
#include "lib/realm.h"
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
	char *rs = NULL, *bs = NULL;
	char q[HOIST_QUOTE_BUF];
	int rc;
	struct hoist_err uerr;

	hoist_realm_quote(q, sizeof(q), realm);
	if (hoist_http_url_origin(base_url, &bs, NULL, NULL, err)) {
		rc = hoist_err_prefix(err, "registry URL");
		goto out;
	}
	if (!realm || !*realm ||
	    hoist_http_url_origin(realm, &rs, NULL, NULL, &uerr)) {
		rc = hoist_err_set(err, HOIST_EAUTH, "invalid token realm '%s'",
				   q);
		goto out;
	}
	/* the parser would default to https where the transport guesses */
	if (strncasecmp(realm, "https://", 8) != 0 &&
	    strncasecmp(realm, "http://", 7) != 0) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': not an absolute "
				   "http(s) URL",
				   q);
		goto out;
	}
	if (realm_has_userinfo(realm) || strchr(realm, '#')) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': user info or "
				   "fragment in URL",
				   q);
		goto out;
	}
	if (strcasecmp(rs, "https") != 0 && strcasecmp(bs, "https") == 0) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': plain http for "
				   "an https registry",
				   q);
		goto out;
	}
	rc = 0;
out:
	free(rs);
	free(bs);
	return rc;
}
