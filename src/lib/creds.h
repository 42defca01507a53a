/*
 * creds.h: registry credentials, looked up per registry host in this
 * order:
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
 * Secrets never appear in error messages, and are wiped before they are
 * freed.
 */
#ifndef HOIST_LIB_CREDS_H
#define HOIST_LIB_CREDS_H

#include "util/err.h"

struct hoist_creds {
	char *username;
	char *password;
	char *identity_token; /* OAuth2 refresh token */
	char *registry_token; /* ready bearer token */
};

/* Wipe and free the strings of c and zero it; NULL is fine. */
void hoist_creds_release(struct hoist_creds *c);

/*
 * Look up credentials for a registry host ("127.0.0.1:5000", "docker.io")
 * and optionally a repository path (for auth.json namespace keys).
 * Returns 0 when found (out is the caller's, hoist_creds_release),
 * HOIST_ENOTFOUND when there are none, HOIST_EINVAL for broken files,
 * HOIST_EAUTH for failing helpers, HOIST_EIO for unreadable files; out is
 * zeroed on failure.
 */
int hoist_creds_lookup(struct hoist_creds *out, const char *host,
		       const char *repo, struct hoist_err *err);

/*
 * `docker login` / `docker logout` for config.json: store (or remove)
 * auths[key].auth = base64(user:password) in $DOCKER_CONFIG/config.json
 * (default ~/.docker/config.json), atomically, mode 0600, keeping every
 * other key of the file. When credsStore or credHelpers[host] name a
 * helper, it is used instead (store/erase). Returns 0, HOIST_EINVAL (no
 * HOME/DOCKER_CONFIG, bad user name, broken file), HOIST_ENOTFOUND (erase:
 * not logged in), HOIST_EAUTH (helper failed) or HOIST_EIO.
 */
int hoist_creds_store(const char *host, const char *user, const char *password,
		      struct hoist_err *err);
int hoist_creds_erase(const char *host, struct hoist_err *err);

/*
 * How long a credential helper may run before it is killed (default
 * 30000 ms; ms <= 0 restores it). For tests; process-wide.
 */
void hoist_creds_set_helper_timeout(long ms);

#endif
