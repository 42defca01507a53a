/*
 * auth.h: registry authentication.
 *
 * Challenges: RFC 7235 WWW-Authenticate parsing (several challenges in one
 * header or in several joined with ", ", quoted strings with \ escapes,
 * bare tokens, Basic with parameters, space-separated scopes, error=).
 *
 * Credentials, looked up per registry host in this order:
 *   1. $REGISTRY_AUTH_FILE, then ${XDG_RUNTIME_DIR}/containers/auth.json,
 *      then ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json (auths keys
 *      may be namespaces: host/org/repo, host/org, host)
 *   2. $DOCKER_CONFIG/config.json or ~/.docker/config.json:
 *      credHelpers[host] > credsStore > auths[host] ("auth" base64
 *      user:password, "identitytoken", "registrytoken"). Docker Hub's key
 *      is "https://index.docker.io/v1/"; URL-shaped keys are matched by
 *      host.
 *   A helper is run as docker-credential-<suffix> get (server on stdin,
 *   JSON {"ServerURL","Username","Secret"} on stdout; Username "<token>"
 *   means Secret is an identity token; "credentials not found" is not an
 *   error).
 *
 * Tokens: Bearer tokens from the realm, by GET (?service=&scope=...&
 * account=) with Basic credentials or anonymously, or by OAuth2 POST
 * (grant_type=refresh_token with an identity token, or password) falling
 * back to GET on 400/401/403/404/405. Tokens are cached per scope set and
 * refreshed before they expire (expires_in clamped to >= 60 s; renewed
 * when less than the caller's margin is left), so a long upload never
 * sends an expired token.
 *
 * Security: credentials are only ever attached to requests whose scheme,
 * host and port equal the registry's (hoist_auth_header_for checks the
 * URL). The realm must be https unless the registry itself is http; a
 * realm on a loopback, link-local, private or unspecified IP literal is
 * refused unless it is the registry's own host:port. Basic credentials are
 * sent to the realm only when it has the registry's host (or is Docker
 * Hub's auth.docker.io for Docker Hub). A realm with user info is refused
 * and token-server redirects are not followed. A realm on another host
 * gets neither the registry's client certificate nor its "insecure" TLS
 * setting. Secrets never appear in error messages.
 */
#ifndef HOIST_LIB_AUTH_H
#define HOIST_LIB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "lib/http.h"

struct hoist_auth_param {
	char *key; /* lower-cased */
	char *value;
};

struct hoist_auth_challenge {
	char *scheme; /* lower-cased: "basic", "bearer", ... */
	struct hoist_auth_param *params;
	size_t nparams;
};

/*
 * Parse a WWW-Authenticate value. *out is an array of *n challenges owned
 * by the caller (hoist_auth_challenges_free). Input is capped at 8 KiB
 * (HOIST_ELIMIT), at most 16 challenges of at most 32 parameters each.
 * A token68 credential ("Negotiate abc==") is stored as the challenge's
 * only parameter, with the key "". Duplicate parameters, unterminated
 * quoted strings, control characters and missing commas are HOIST_EINVAL;
 * on failure *out is NULL and *n 0. Bare parameter values may hold any
 * visible character but ',' and '"' (servers send unquoted URLs).
 */
int hoist_auth_parse_challenges(struct hoist_auth_challenge **out, size_t *n,
				const char *value, struct hoist_err *err);
void hoist_auth_challenges_free(struct hoist_auth_challenge *c, size_t n);
/* A challenge's parameter (key lower-case), or NULL. */
const char *hoist_auth_param(const struct hoist_auth_challenge *c,
			     const char *key);

struct hoist_creds {
	char *username;
	char *password;
	char *identity_token; /* OAuth2 refresh token */
	char *registry_token; /* ready bearer token */
};
void hoist_creds_release(struct hoist_creds *c);

/*
 * Look up credentials for a registry host ("127.0.0.1:5000", "docker.io")
 * and optionally a repository path (for auth.json namespace keys).
 * Returns 0 when found, HOIST_ENOTFOUND when there are none, other codes
 * for broken files or helpers.
 */
int hoist_creds_lookup(struct hoist_creds *out, const char *host,
		       const char *repo, struct hoist_err *err);

/*
 * `docker login` / `docker logout` for config.json: store (or remove)
 * auths[key].auth = base64(user:password) in $DOCKER_CONFIG/config.json
 * (default ~/.docker/config.json), atomically, mode 0600, keeping every
 * other key of the file. When credsStore or credHelpers[host] name a
 * helper, it is used instead (store/erase).
 */
int hoist_creds_store(const char *host, const char *user, const char *password,
		      struct hoist_err *err);
int hoist_creds_erase(const char *host, struct hoist_err *err);

/*
 * How long a credential helper may run before it is killed (default
 * 30000 ms; ms <= 0 restores it). For tests; process-wide.
 */
void hoist_creds_set_helper_timeout(long ms);

/*
 * The realm rules of hoist_auth_header_for, on their own (for callers
 * that report them early, and for tests): 0 if a token may be fetched
 * from realm for the registry at base_url, HOIST_EAUTH (message names the
 * realm and the rule) if not. *send_creds is set to 1 when the registry's
 * credentials may go to the realm: its host equals the registry's, or the
 * registry is Docker Hub (docker.io, index.docker.io, registry-1.docker.io)
 * and the realm is auth.docker.io, Hub's documented token service.
 */
int hoist_auth_realm_check(const char *base_url, const char *realm,
			   int *send_creds, struct hoist_err *err);

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
