/*
 * transport.h: where images come from and go to, in skopeo's notation:
 *
 *   docker://REF              a registry (REF normalised: docker.io, :latest)
 *   oci:DIR[:REF]             an OCI layout directory (REF = ref.name)
 *   oci-archive:FILE[:REF]    an OCI layout tarball
 *   docker-archive:FILE[:REF] a docker save tarball (REF = a RepoTag)
 *   NAME                      an image name in the staging area
 *
 * Every image passes through the staging area: read() fetches or imports
 * it (verifying every blob) and returns its root descriptor; write() sends
 * a stored image out. Manifest bytes are never rewritten on the way, so a
 * registry-to-registry copy keeps every digest.
 */
#ifndef HOIST_LIB_TRANSPORT_H
#define HOIST_LIB_TRANSPORT_H

#include <jansson.h>

#include "util/err.h"
#include "lib/platform.h"
#include "lib/registry.h"
#include "lib/store.h"

enum hoist_transport_kind {
	HOIST_TR_DOCKER,
	HOIST_TR_OCI,
	HOIST_TR_OCI_ARCHIVE,
	HOIST_TR_DOCKER_ARCHIVE,
	HOIST_TR_STORE,
};

struct hoist_transport {
	enum hoist_transport_kind kind;
	char *path; /* directory or file; NULL for docker and store */
	char *ref;  /* normalised reference, ref.name, or NULL */
};

/*
 * Parse a transport string. 0 and out owns its strings (release with
 * hoist_transport_release), or HOIST_EINVAL (unknown transport, bad
 * reference) or HOIST_EUNSUPPORTED (a transport hoist knows but does not
 * do). The read/write/list functions return 0, or the codes of the side
 * they talk to: import.h for layouts and archives, registry.h and pull.h
 * for docker:// (HOIST_ENET, HOIST_ETLS, HOIST_EAUTH, HOIST_EHTTP,
 * HOIST_EDIGEST), HOIST_ENOTFOUND for a name missing from the store.
 */
int hoist_transport_parse(struct hoist_transport *out, const char *s,
			  struct hoist_err *err);
void hoist_transport_release(struct hoist_transport *t);
/* The transport as text (for messages). Caller frees. */
char *hoist_transport_string(const struct hoist_transport *t);

struct hoist_copy_opts {
	struct hoist_registry_opts reg; /* for docker:// at either end */
	/* NULL: every platform. One platform: only that manifest. */
	const struct hoist_platform *platform;
	int by_digest; /* docker:// destination: push by digest */
};

/* Bring the image at t into the store; *root is a new descriptor. */
int hoist_transport_read(json_t **root, struct hoist_store *s,
			 const struct hoist_transport *t,
			 const struct hoist_copy_opts *o,
			 struct hoist_err *err);
/*
 * Write the stored image root to t. src (may be NULL) is where it came
 * from: a docker:// source on the same registry lets blobs be mounted.
 */
int hoist_transport_write(struct hoist_store *s, const json_t *root,
			  const struct hoist_transport *t,
			  const struct hoist_transport *src,
			  const struct hoist_copy_opts *o,
			  struct hoist_err *err);

/*
 * Read src and write it to dst (read() then write()); registry to
 * registry streams instead (copy.h): layers go from the download into the
 * upload as they arrive, and within one registry they are mounted without
 * being downloaded. Codes as read() and write(). *present (may be NULL)
 * is set to 1 when a registry destination held the image already (one
 * manifest HEAD there was the whole write), else 0.
 */
int hoist_transport_copy(struct hoist_store *s,
			 const struct hoist_transport *src,
			 const struct hoist_transport *dst,
			 const struct hoist_copy_opts *o, int *present,
			 struct hoist_err *err);

/*
 * The tags of a registry repository (GET /v2/<repo>/tags/list, following
 * Link pagination). *tags is a new JSON array of strings.
 */
int hoist_transport_list_tags(json_t **tags, const char *repo_ref,
			      const struct hoist_registry_opts *o,
			      struct hoist_err *err);

#endif
