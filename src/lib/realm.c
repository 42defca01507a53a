/*
 * realm.c: which token realms hoist talks to, and which get the
 * registry's credentials. Every decision about where a credential may go
 * before a token exists is made here; auth.c keeps tokens to the
 * registry's own origin.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/realm.h"
#include "util/banned.h"

#define HUB_REALM_HOST "auth.docker.io"

static int is_hub(const char *host)
{
	return strcasecmp(host, "docker.io") == 0 ||
	       strcasecmp(host, "index.docker.io") == 0 ||
	       strcasecmp(host, "registry-1.docker.io") == 0;
}

/* 1 for addresses a remote registry has no business sending us to. */
static int ip4_internal(uint32_t a)
{
	return (a >> 24) == 0 ||                     /* 0/8, "this network" */
	       (a >> 24) == 10 ||                    /* 10/8 */
	       (a >> 24) == 127 ||                   /* loopback */
	       (a >> 16) == 0xa9fe ||                /* 169.254/16 link-local */
	       (a >> 20) == 0xac1 ||                 /* 172.16/12 */
	       (a >> 16) == 0xc0a8 ||                /* 192.168/16 */
	       (a >> 22) == (100 << 2 | 1) ||        /* 100.64/10 shared */
	       (a >> 28) == 0xe || a == 0xffffffffu; /* multicast, bcast */
}

/*
 * 1 if host is an IP literal (in any form the resolver would accept, such
 * as "127.1" or "0x7f.0.0.1") that is loopback, private, link-local or
 * unspecified. IPv6 literals come in brackets.
 */
static int host_is_internal_ip(const char *host)
{
	char buf[256];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (n >= sizeof(buf))
		return 0;
	if (host[0] == '[') {
		if (n < 2 || host[n - 1] != ']')
			return 1; /* not a host we can judge: refuse */
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		buf[strcspn(buf, "%")] = '\0'; /* zone id */
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return 1;
		const unsigned char *b = a6.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a6) || IN6_IS_ADDR_V4COMPAT(&a6) ||
		    (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff &&
		     b[3] == 0x9b)) {
			uint32_t v = (uint32_t)b[12] << 24 |
				     (uint32_t)b[13] << 16 |
				     (uint32_t)b[14] << 8 | b[15];
			if (ip4_internal(v))
				return 1;
		}
		return IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		       IN6_IS_ADDR_LOOPBACK(&a6) ||
		       IN6_IS_ADDR_LINKLOCAL(&a6) ||
		       IN6_IS_ADDR_SITELOCAL(&a6) || (b[0] & 0xfe) == 0xfc ||
		       IN6_IS_ADDR_MULTICAST(&a6);
	}
	memcpy(buf, host, n + 1);
	if (n && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	if (inet_aton(buf, &a4) == 1)
		return ip4_internal(ntohl(a4.s_addr));
	return 0;
}

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

int hoist_realm_check(const char *base_url, const char *realm, int *send_creds,
		      struct hoist_err *err)
{
	char *rs = NULL, *rh = NULL, *bs = NULL, *bh = NULL;
	char q[HOIST_QUOTE_BUF];
	int rp = 0, bp = 0, rc;
	struct hoist_err uerr;

	*send_creds = 0;
	hoist_err_quote(q, sizeof(q), realm, HOIST_QUOTE_ALL, 0);
	if (hoist_http_url_origin(base_url, &bs, &bh, &bp, err)) {
		rc = hoist_err_prefix(err, "registry URL");
		goto out;
	}
	if (!realm || !*realm ||
	    hoist_http_url_origin(realm, &rs, &rh, &rp, &uerr)) {
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
	if (strcasecmp(rs, "https") != 0 &&
	    !(strcasecmp(rs, "http") == 0 && strcasecmp(bs, "http") == 0)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': scheme '%s' "
				   "for an %s registry",
				   q, rs, bs);
		goto out;
	}
	if (host_is_internal_ip(rh) && !(strcasecmp(rh, bh) == 0 && rp == bp)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "refused token realm '%s': internal address "
				   "that is not the registry's",
				   q);
		goto out;
	}
	*send_creds = strcasecmp(rh, bh) == 0 ||
		      (is_hub(bh) && strcasecmp(rh, HUB_REALM_HOST) == 0);
	rc = 0;
out:
	free(rs);
	free(rh);
	free(bs);
	free(bh);
	return rc;
}
