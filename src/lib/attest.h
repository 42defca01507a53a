/*
 * attest.h: build attestations as BuildKit attaches them to an image.
 *
 * Three pieces, all with stable bytes:
 *  - in-toto statements (`_type` https://in-toto.io/Statement/v1, as
 *    BuildKit >= v0.31 writes them) around a predicate, with image
 *    subjects as package URLs (pkg:docker/NS/NAME@TAG?platform=OS%2FARCH);
 *  - a SLSA provenance v1 (or v0.2) predicate describing hoist's real inputs
 *    (input trees and base images by digest, build options, hoist's
 *    version), in BuildKit's mode=min / mode=max shapes;
 *  - the attestation manifest of one platform: one layer per statement
 *    (application/vnd.in-toto+json with an in-toto.io/predicate-type
 *    annotation), and its index descriptor with platform unknown/unknown
 *    and the vnd.docker.reference.{type,digest} annotations.
 * The SPDX SBOM predicate lives in lib/sbom.h. Nothing here touches the
 * store: callers put the returned bytes where they belong.
 */
#ifndef HOIST_LIB_ATTEST_H
#define HOIST_LIB_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"
#include "lib/platform.h"

struct hoist_store;

#define HOIST_INTOTO_STATEMENT "https://in-toto.io/Statement/v1"
#define HOIST_MT_INTOTO "application/vnd.in-toto+json"
#define HOIST_ANN_PREDICATE_TYPE "in-toto.io/predicate-type"
#define HOIST_PRED_SLSA02 "https://slsa.dev/provenance/v0.2"
#define HOIST_PRED_SLSA1 "https://slsa.dev/provenance/v1"
#define HOIST_PRED_SPDX "https://spdx.dev/Document"
#define HOIST_META_PROVENANCE "buildx.build.provenance"
#define HOIST_ANN_REF_TYPE "vnd.docker.reference.type"
#define HOIST_ANN_REF_DIGEST "vnd.docker.reference.digest"
#define HOIST_REF_TYPE_ATTEST "attestation-manifest"
#define HOIST_MT_ATTEST_ARTIFACT                                               \
	"application/vnd.docker.attestation.manifest.v1+json"
#define HOIST_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define HOIST_DIGEST_OCI_EMPTY                                                 \
	"sha256:"                                                              \
	"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
/* hoist's buildType URI in provenance predicates. */
#define HOIST_BUILD_TYPE "https://hoist.invalid/build@v1"
/* BuildKit's limit on one attestation file. */
#define HOIST_ATTEST_MAX (40u << 20)

enum hoist_prov_mode {
	HOIST_PROV_MIN = 0,
	HOIST_PROV_MAX = 1,
};

/* A statement subject: name and "sha256:..." digest. */
struct hoist_attest_subject {
	const char *name;
	const char *digest;
};

/* A material: uri and "sha256:..." digest. */
struct hoist_attest_material {
	const char *uri;
	const char *digest;
	/* the platform it went into, or NULL for every platform */
	const struct hoist_platform *platform;
};

/* A build option as it appears in invocation.parameters. */
struct hoist_attest_param {
	const char *key;
	const char *value;
	/* 1: values that may carry secrets (env, labels): mode=max only */
	int max_only;
};

struct hoist_provenance {
	enum hoist_prov_mode mode;
	const char *builder_id; /* may be NULL: "" as BuildKit's default */
	const struct hoist_attest_material *materials;
	size_t nmaterials;
	const struct hoist_attest_param *params;
	size_t nparams;
	/* invocation.environment.platform: "linux/amd64" (may be NULL) */
	const char *platform;
	/*
	 * Start and end of the build (seconds since the epoch). With
	 * epoch >= 0 (SOURCE_DATE_EPOCH) both are the epoch and the
	 * statement is marked reproducible, so two builds give one digest.
	 */
	int64_t started, finished, epoch;
	const char *version; /* hoist's version */
	int v1;              /* SLSA v1 (BuildKit's version=v1), else v0.2 */
};

/*
 * The package URL BuildKit uses as a subject name for ref ("registry/
 * ns/name:tag", normalised or not) on platform p (may be NULL), e.g.
 * "pkg:docker/me/app@1.0?platform=linux%2Famd64". HOIST_EINVAL for a bad
 * reference. *out is owned by the caller.
 */
int hoist_attest_purl(char **out, const char *ref,
		      const struct hoist_platform *p, struct hoist_err *err);

/*
 * Append s to b escaped as packageurl-go does for a purl component:
 * unreserved characters and ':' stay, '/' too with keep_slash, the rest
 * become %XX. 0, or -1 when b is full.
 */
int hoist_attest_purl_add(struct hoist_buf *b, const char *s, int keep_slash);

/*
 * The SLSA v0.2 provenance predicate (a new object owned by the caller),
 * or with p->v1 the SLSA v1 one in BuildKit's layout (buildDefinition,
 * runDetails; the same parameters, materials as resolvedDependencies).
 * mode=min leaves out max_only parameters and sets completeness.parameters
 * to false, as BuildKit drops build args and labels; mode=max keeps them
 * and adds buildConfig (the parameters in order, as hoist's "definition").
 */
json_t *hoist_attest_provenance(const struct hoist_provenance *p);

/*
 * An in-toto statement: _type, predicateType, subject, predicate; compact
 * JSON (BuildKit uses json.Marshal). predicate is borrowed. *out is owned
 * by the caller. HOIST_ELIMIT above HOIST_ATTEST_MAX, HOIST_EINVAL for a
 * subject with a malformed digest.
 */
int hoist_attest_statement(char **out, size_t *len, const char *pred_type,
			   const struct hoist_attest_subject *subjects,
			   size_t nsubjects, const json_t *predicate,
			   struct hoist_err *err);

/* One statement blob as the attestation manifest lists it. */
struct hoist_attest_layer {
	const char *digest; /* of the statement bytes */
	uint64_t size;
	const char *pred_type;
};

/*
 * The attestation manifest for the image manifest subject (its OCI
 * descriptor, borrowed). artifact selects BuildKit's oci-artifact=true
 * form (empty config, artifactType, subject); otherwise the legacy form
 * whose config is an unknown/unknown image config listing the layers as
 * diff_ids: that config's compact bytes are returned in *config (owned
 * by the caller; NULL in the artifact form, whose config is the 2-byte
 * "{}" blob of HOIST_DIGEST_OCI_EMPTY, which the caller must store).
 * *out (indented JSON) is owned by the caller.
 */
int hoist_attest_manifest(char **out, size_t *len, char **config,
			  size_t *config_len, const json_t *subject,
			  const struct hoist_attest_layer *layers,
			  size_t nlayers, int artifact, struct hoist_err *err);

/*
 * The index entry of an attestation manifest (digest and size of the
 * bytes made by hoist_attest_manifest) attached to the image manifest
 * image_digest. A new descriptor owned by the caller.
 */
json_t *hoist_attest_index_desc(const char *digest, uint64_t size,
				const char *image_digest, int artifact);

/* What --provenance, --sbom and --attest asked for (buildx's syntax). */
struct hoist_attest_req {
	int provenance; /* -1 not given, 0 off, 1 on */
	enum hoist_prov_mode mode;
	char *builder_id; /* NULL: "" */
	int v1;           /* version=v1 */
	int sbom;         /* -1 not given, 0 off, 1 on */
};

/* An empty request (nothing given). */
void hoist_attest_req_init(struct hoist_attest_req *r);
void hoist_attest_req_release(struct hoist_attest_req *r);

/*
 * Apply one flag: flag is "provenance", "sbom" or "attest". For the first
 * two a boolean (true/false, 1/0) switches the attestation on (provenance:
 * mode=max, as buildx documents) or off, anything else is a CSV of its
 * attributes; --attest takes type=provenance|sbom and attributes. Known
 * attributes: disabled=BOOL; provenance mode=min|max, builder-id=ID,
 * version=v0.2|v1; sbom generator= (only hoist's own scanner: ignored).
 * HOIST_EINVAL with the flag and the bad part, HOIST_EUNSUPPORTED for a
 * provenance version other than v0.2 and v1.
 */
int hoist_attest_req_parse(struct hoist_attest_req *r, const char *flag,
			   const char *value, struct hoist_err *err);

/* What hoist_attest_attach adds to every platform of an image. */
struct hoist_attest_opts {
	int provenance; /* attach SLSA provenance built from prov */
	/* template: materials of other platforms are left out per
	 * platform, and environment.platform is set per platform */
	struct hoist_provenance prov;
	/* attach an SPDX SBOM of the platform's final rootfs, read from
	 * the image's layers in the store (base and Dockerfile ones too) */
	int sbom;
	/* the layer directories, bottom first, each for every platform
	 * (platform NULL) or one: provenance materials with their digests */
	const char *const *dirs;
	const struct hoist_platform *const *dir_platforms;
	size_t ndirs;
	const char *const *names; /* image names, for statement subjects */
	size_t nnames;
	int artifact;    /* oci-artifact=true form (else legacy config) */
	int64_t created; /* SBOM creation time */
};

/*
 * Attach attestations to the image whose root (a manifest with platform,
 * or an OCI index of manifests) is in s: for each platform manifest the
 * statements, their attestation manifest (and config) are stored, and a
 * new OCI index lists the platform manifests and then, in the same
 * order, one attestation manifest each (BuildKit's layout; the root's
 * index annotations are kept). *out is the new root descriptor, owned by
 * the caller. With prov_meta non-NULL and provenance asked for it
 * receives buildx's metadata keys: buildx.build.provenance with the
 * predicate of a single manifest, else buildx.build.provenance/OS/ARCH
 * for each platform (else NULL). HOIST_EINVAL for a Docker media-type root
 * ("cannot export attestations with \"oci-mediatypes=false\"", as BuildKit
 * >= v0.31 says), store and
 * SBOM errors.
 */
int hoist_attest_attach(struct hoist_store *s, const json_t *root,
			const struct hoist_attest_opts *o, json_t **out,
			json_t **prov_meta, struct hoist_err *err);

#endif
