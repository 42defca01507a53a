/*
 * ref.h: image references, with distribution/reference's grammar and
 * Docker's normalisation.
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path
 *
 * Normalisation (HOIST_REF_NORMALIZE): a first component is a domain only
 * if it is "localhost" or contains '.' or ':' or an upper-case letter;
 * otherwise the domain is docker.io. "index.docker.io" becomes docker.io.
 * On docker.io a one-component path gets "library/". A 64-hex name alone is
 * refused. Without HOIST_REF_NORMALIZE the text is parsed as given (no
 * default domain), as `docker buildx -t` validates tags.
 *
 * Limits: path <= 255 characters (domain excluded), tag <= 128.
 * Upper case is allowed in the domain, refused in the path.
 */
#ifndef HOIST_LIB_REF_H
#define HOIST_LIB_REF_H

#include "util/err.h"

#define HOIST_REF_NORMALIZE 0x1   /* docker.io / library/ defaults */
#define HOIST_REF_DEFAULT_TAG 0x2 /* add ":latest" if no tag and no digest */

struct hoist_ref {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000"; or NULL */
	char *path;   /* "library/alpine" */
	char *tag;    /* "3.19", or NULL */
	char *digest; /* "sha256:...", or NULL */
};

/*
 * Parse s. 0, and out owns heap strings (release with hoist_ref_release);
 * or HOIST_EINVAL, the only error, with out zeroed and err saying what is
 * wrong with which part, e.g. "invalid reference 'Foo/bar': repository
 * name must be lowercase". The other functions cannot fail.
 */
int hoist_ref_parse(struct hoist_ref *out, const char *s, int flags,
		    struct hoist_err *err);
void hoist_ref_release(struct hoist_ref *ref);

/*
 * Check a registry name as the domain of a reference: "host[:port]", a
 * host being dot-separated components of letters, digits and '-', or an
 * IPv6 address in brackets. 0, or HOIST_EINVAL with err saying
 * "invalid registry 'S': why".
 */
int hoist_ref_check_domain(const char *s, struct hoist_err *err);

/* "domain/path" (or "path" without domain). Caller frees. */
char *hoist_ref_name(const struct hoist_ref *ref);
/* The full form "domain/path[:tag][@digest]". Caller frees. */
char *hoist_ref_string(const struct hoist_ref *ref);
/*
 * Docker's familiar form: "docker.io/library/foo:latest" -> "foo:latest",
 * "docker.io/me/app:1" -> "me/app:1"; other domains unchanged. Caller frees.
 */
char *hoist_ref_familiar(const struct hoist_ref *ref);

#endif
