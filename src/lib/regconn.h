/*
 * regconn.h: one authenticated connection to a registry repository, shared
 * by push (registry.c) and pull (pull.c): the HTTP client, TLS material
 * from certs.d, credentials and tokens, the /v2/ ping (with the insecure
 * fallback to plain http), and synchronous requests with 401 handling and
 * transient retries.
 *
 * Sharing: a closed connection's HTTP client, idle, goes to a small pool
 * per registry host, and the next connection to that host takes it with
 * its open TCP/TLS connections (threads may share the pool: a sync copies
 * several images at once); bearer tokens are shared the same way (auth.h).
 */
#ifndef HOIST_LIB_REGCONN_H
#define HOIST_LIB_REGCONN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"
#include "lib/auth.h"
#include "lib/http.h"
#include "lib/ref.h"

#define HOIST_REG_AUTH_RETRIES 3
#define HOIST_REG_TOKEN_MARGIN_S 120
#define HOIST_REG_ERROR_BODY_MAX (64 * 1024)

/* The connection settings of a registry (push and pull alike). */
struct hoist_regconn_opts {
	const char *ca_file; /* extra CA bundle (--ca-cert), or NULL */
	int insecure;        /* registry.insecure */
	int max_concurrent;  /* requests in flight per host; 0: 4 */
	enum hoist_http_version http_version; /* for blob bodies */
};

/* The Accept header for manifest requests (every type hoist reads). */
extern const char hoist_reg_manifest_accept[];

struct hoist_regconn {
	const struct hoist_regconn_opts *opts; /* &own */
	struct hoist_regconn_opts own; /* the caller's, registries.conf's
					* insecure added */
	struct hoist_http *http;
	struct hoist_auth *auth;
	struct hoist_http_tls tls;
	char *ca_file, *cert_file, *key_file;
	char *host; /* as in the reference: "127.0.0.1:5000", "docker.io" */
	char *base; /* "https://host:port" (or http:// when insecure) */
	char *repo;
	char *scope;
	const char *scopes[2];
	char *challenge; /* the last WWW-Authenticate handed to auth */
	size_t nscopes;
	uint64_t retries;        /* retries done by hoist_regconn_request */
	uint64_t waits;          /* its resends after a 429 */
	uint64_t last_remaining; /* ratelimit-remaining last shown */
	int shown_remaining;
	int max_attempts; /* > 0: overrides the retry policy's attempts */
};

/*
 * The TLS files for host ("127.0.0.1:5000", as in a reference) as a
 * connection to it finds them: certs.d ($HOIST_CERTS_D, a colon list,
 * else /etc/docker/certs.d and /etc/containers/certs.d) HOST/ca.crt (or
 * the first *.crt) and client.cert with client.key; extra_ca (--ca-cert,
 * may be NULL) replaces the CA found. Each *out is heap or NULL, the
 * caller's to free.
 */
void hoist_regconn_certs(const char *host, const char *extra_ca, char **ca_file,
			 char **cert_file, char **key_file);

/*
 * Connect to host for repo with the given actions ("pull" or
 * "pull,push"): TLS setup, credentials, and a ping of /v2/. extra_scope
 * (may be NULL) is added to every token request, e.g. the pull scope of a
 * mount source. registries.conf (regconf.h) applies by host/repo: a
 * blocked registry is HOIST_EUNSUPPORTED, its insecure adds to opts'.
 * No mirror, no location rewriting (as podman pushes). c is released by
 * hoist_regconn_close, also on failure.
 */
int hoist_regconn_open(struct hoist_regconn *c, const char *host,
		       const char *repo, const char *actions,
		       const char *extra_scope,
		       const struct hoist_regconn_opts *opts,
		       struct hoist_err *err);
void hoist_regconn_close(struct hoist_regconn *c);

/*
 * Called on each endpoint hoist_regconn_open_pull tries, with the
 * reference as rewritten for it: 0 when the image is there (the caller
 * fetches its manifest), else an error.
 */
typedef int (*hoist_regconn_probe_fn)(struct hoist_regconn *c,
				      const struct hoist_ref *r, void *arg,
				      struct hoist_err *err);

/*
 * Connect for pulling ref (normalised "host/repo:tag" or "@digest") as
 * containers/image does: the registries.conf mirrors that serve this
 * kind of reference in order, then the registry (at its location), each
 * opened and probed; the first that probe accepts is kept in c. A
 * mirror's failure is logged (info) and the next one is tried, except
 * after HOIST_ETIMEDOUT or HOIST_EINTR. The registry's own failure is
 * returned (prefixed "N mirrors failed, then"). A blocked registry is
 * HOIST_EUNSUPPORTED and a broken registries.conf its error (EINVAL),
 * before any connection. c is released by hoist_regconn_close, also on
 * failure. (hoist_regconn_open, for pushes and tag lists, uses no mirror
 * and no location: only blocked and insecure.)
 */
int hoist_regconn_open_pull(struct hoist_regconn *c, const char *ref,
			    const struct hoist_regconn_opts *opts,
			    hoist_regconn_probe_fn probe, void *arg,
			    struct hoist_err *err);

/*
 * One request with credentials, 401 handling and transient retries (a
 * backoff sleep between attempts). rc 0 with resp filled for any HTTP
 * answer (the caller checks the status); negative codes for transport
 * failures that outlived the retries.
 */
int hoist_regconn_request(struct hoist_regconn *c, const char *method,
			  const char *url, const char *const *extra,
			  size_t nextra, const void *body, size_t len,
			  size_t max_body, struct hoist_http_response *resp,
			  struct hoist_err *err);

/*
 * Look at an answer's Docker Hub rate-limit headers: when
 * ratelimit-remaining is low (under 10, or under a tenth of
 * ratelimit-limit) and lower than last shown, log it once as progress.
 * hoist_regconn_request calls it; asynchronous callers call it too.
 */
void hoist_regconn_observe(struct hoist_regconn *c,
			   const struct hoist_http_response *resp);

/* The Authorization header line for url, or NULL (see auth.h). */
int hoist_regconn_auth_line(struct hoist_regconn *c, const char *url,
			    char **line, struct hoist_err *err);
/*
 * After a 401 on an asynchronous request that carried sent_auth (its
 * Authorization line, NULL for none): 1 if it should be sent again, with
 * the credentials held now when they differ from what it carried (a
 * concurrent request fetched them), else with fresh ones the challenge
 * asks for (one token fetch, shared by the requests that follow).
 */
int hoist_regconn_on_401(struct hoist_regconn *c,
			 const struct hoist_http_response *resp,
			 const char *sent_auth);

/*
 * The registry's error from a response: "what: HTTP 400 DIGEST_INVALID:
 * provided digest did not match uploaded content". Sets http_status;
 * HOIST_EAUTH for 401/403, HOIST_ENOTFOUND for 404, else HOIST_EHTTP.
 */
int hoist_regconn_http_error(struct hoist_err *err, const char *what,
			     const struct hoist_http_response *resp);
/*
 * The first errors[].code and .message of a JSON error body. *doc holds
 * the strings (json_decref it); all NULL when the body is not JSON.
 */
void hoist_regconn_error_body(const struct hoist_http_response *resp,
			      const char **code, const char **msg,
			      json_t **doc);

/*
 * 1 if host ("name[:port]", "[v6]:port") is a loopback registry: the name
 * "localhost", an IPv4 address in 127.0.0.0/8 written as a dotted quad, or
 * [::1]. Such registries may be plain http without --insecure.
 */
int hoist_regconn_is_loopback(const char *host);

/* Randomness for jitter (a generator per thread). */
uint32_t hoist_regconn_rnd32(void);

#endif
