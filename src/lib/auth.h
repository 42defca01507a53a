/*
 * auth.h: the authentication state of one registry: Basic credentials, or
 * Bearer tokens from the realm the registry names.
 *
 * Tokens: Bearer tokens from the realm, by GET (?service=&scope=...&
 * account=) with Basic credentials or anonymously, or by OAuth2 POST
 * (grant_type=refresh_token with an identity token, or password) falling
 * back to GET on 400/401/403/404/405. Tokens are cached per scope set and
 * shared by every hoist_auth of the process with the same registry
 * origin, realm, service and credentials (thread-safe; one fetch at a
 * time, so concurrent users of a scope set fetch it once; a token a
 * registry refuses is no longer shared), and refreshed before they
 * expire (expires_in clamped to >= 60 s; renewed when less than the
 * caller's margin is left), so a long upload never sends an expired
 * token.
 *
 * Security: credentials are only ever attached to requests whose scheme,
 * host and port equal the registry's (hoist_auth_header_for checks the
 * URL). Which realms may be asked, and with which credentials, is
 * realm.h's policy. Token-server redirects are not followed. A realm on
 * another host gets neither the registry's client certificate nor its
 * "insecure" TLS setting. Secrets never appear in error messages.
 */
#ifndef HOIST_LIB_AUTH_H
#define HOIST_LIB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "lib/creds.h"
#include "lib/http.h"

struct hoist_auth;

/*
 * Authentication state for one registry, base_url "https://host:port".
 * creds may be NULL (anonymous); they are copied. tls is borrowed.
 */
int hoist_auth_new(struct hoist_auth **out, struct hoist_http *http,
		   const char *base_url, const struct hoist_creds *creds,
		   const struct hoist_http_tls *tls, struct hoist_err *err);
void hoist_auth_free(struct hoist_auth *a);

/*
 * Record the challenge(s) of a 401 response (the joined WWW-Authenticate
 * values). Returns 1 if retrying with fresh credentials makes sense (new
 * or changed challenge, insufficient_scope, invalid_token, or a cached
 * token that must be dropped), 0 if the same credentials were already
 * refused (the caller then fails with the registry's error).
 *
 * In detail: a challenge whose scheme, realm or service differs from the
 * last one drops every cached token and returns 1 (for Basic only when a
 * user and password are held). For the same Basic challenge, or a Bearer
 * one while a registrytoken is used, it returns 0. For the same Bearer
 * challenge the token of this scope set is dropped and 1 returned, unless
 * that token was itself fetched to answer a 401 less than 60 s ago: then
 * 0, so a refused fresh token (insufficient_scope for a read-only user)
 * ends after one token fetch instead of looping. Bearer is chosen over
 * Basic; a header with neither is HOIST_EUNSUPPORTED, a Bearer challenge
 * without realm HOIST_EAUTH, an unparsable header HOIST_EINVAL. An empty
 * or NULL header returns 0.
 */
int hoist_auth_on_401(struct hoist_auth *a, const char *www_authenticate,
		      const char *const *scopes, size_t nscopes,
		      struct hoist_err *err);

/*
 * 1 if a request refused with 401 went out with other credentials than
 * the ones held now: sent (its "Authorization: ..." line, NULL when it
 * had none) differs from the line hoist_auth_header_for would give for
 * scopes from what is cached, and that line exists (no fetch is done
 * here). The caller then sends the request again without calling
 * hoist_auth_on_401, so concurrent requests challenged at once all retry
 * with the one token the first of them fetched. 0 otherwise.
 */
int hoist_auth_superseded(struct hoist_auth *a, const char *sent,
			  const char *const *scopes, size_t nscopes);

/*
 * The Authorization header line to send for a request to url needing
 * scopes ("repository:foo/bar:pull,push", ...), fetching or refreshing a
 * token when needed so that it stays valid for at least margin_s seconds.
 * *line is "Authorization: ..." (caller frees) or NULL when the request
 * must go without credentials (anonymous, no challenge seen yet, or a URL
 * on another origin than the registry).
 *
 * Scopes are a set: order and duplicates do not matter, and a scope string
 * may hold several separated by spaces. With no scopes, the last
 * challenge's scope parameter is used. The token request sends every
 * scope as its own scope= (a single space-separated field in the OAuth2
 * POST). A token is fetched anew when less than margin_s seconds of its
 * life are left; when margin_s exceeds the lifetime itself, every call
 * fetches, and the fresh token is used all the same. Token-server answers
 * other than 200 are HOIST_EAUTH (401, 403) or HOIST_EHTTP with
 * err->http_status set (503 and the like, for the caller's retry policy).
 */
int hoist_auth_header_for(struct hoist_auth *a, const char *url,
			  const char *const *scopes, size_t nscopes,
			  long margin_s, char **line, struct hoist_err *err);

#endif
