/*
 * dfbuild-int.h: what dfbuild.c (stages, base images, configs),
 * dfbuild-copy.c (the filesystem steps), dfbuild-path.c (reading a
 * root), dfbuild-fetch.c (URL sources) and dfbuild-cache.c (step keys)
 * share. Internal.
 */
#ifndef HOIST_LIB_DFBUILD_INT_H
#define HOIST_LIB_DFBUILD_INT_H

#include "lib/dfbuild.h"
#include "lib/digest.h"
#include "lib/dfplan.h"
#include "lib/dockerignore.h"
#include "lib/layer.h"

/* A built stage, or an image COPY --from names. */
struct hoist_dfb_stage {
	json_t *config; /* the whole image config */
	json_t *layers; /* the manifest's layer descriptors */
	char *rootfs;   /* its filesystem, unpacked, or NULL until needed */
	int built;
	int have_base;     /* on an image (not scratch, a directory context
			    * or an earlier stage) */
	int triggers_read; /* its base's ONBUILD COPY --from stages known */
	size_t inherited;  /* leading layers from its root image or
			    * directory context, not made by its steps */
	struct hoist_digest chain; /* where its filesystem comes from
				    * (dfbuild-cache.c) */
};

struct hoist_dfb {
	struct hoist_store *s;
	const struct hoist_dfbuild_opts *o;
	const struct hoist_dockerfile *df;
	struct hoist_dockerignore *ignore; /* NULL: none */
	struct hoist_dfplan *plan;
	struct hoist_platform plat;
	int multi_platform;             /* step names carry plat, as buildx's */
	struct hoist_dfb_stage *stages; /* plan->nstages */
	struct hoist_dfb_stage *images; /* COPY --from=IMAGE, by from_image */
	char **image_names;
	size_t nimages;
	int64_t created;
	struct hoist_digest ignore_digest; /* of the .dockerignore read */
};

/*
 * The --build-context called name: NULL when there is none; else its
 * directory (*ref NULL) or, for an image, its value with *ref the
 * reference hoist reads (heap: "oci:DIR:TAG" for oci-layout://DIR:TAG).
 */
const char *hoist_dfb_context(const struct hoist_dfb *b, const char *name,
			      char **ref);

/* The image name (COPY --from=NAME), read once per build: *out points
 * into b->images. */
int hoist_dfb_image(struct hoist_dfb *b, const char *name,
		    struct hoist_dfb_stage **out, struct hoist_err *err);

/* Unpack st's layers into a scratch directory, once. */
int hoist_dfb_rootfs(struct hoist_dfb *b, struct hoist_dfb_stage *st,
		     struct hoist_err *err);

/* The image named ref for the build's platform (a copy of its config
 * and layers into st; no rootfs). */
int hoist_dfb_read_image(struct hoist_dfb *b, const char *ref,
			 const struct hoist_platform *plat,
			 struct hoist_dfb_stage *st, struct hoist_err *err);

/*
 * Run one filesystem step of stage st: a layer into the store (*empty 0,
 * *out filled) or nothing to add (*empty 1). Errors name the file, line
 * and instruction.
 */
int hoist_dfb_step(struct hoist_dfb *b, struct hoist_dfb_stage *st,
		   const struct hoist_dfstep *step, struct hoist_layer *out,
		   int *empty, struct hoist_err *err);

/* The layer options of every step's layer (the build's compression and
 * level, hoist_dfbuild_opts). */
void hoist_dfb_layer_opts(const struct hoist_dfb *b,
			  struct hoist_layer_opts *lo);
/* A new descriptor of layer l, made with those options: its OCI media
 * type, and for eStargz its TOC digest and uncompressed size. */
json_t *hoist_dfb_layer_desc(const struct hoist_dfb *b,
			     const struct hoist_layer *l);

/*
 * A root as COPY reads it (dfbuild-path.c). hoist_dfb_join: "a/b" (a or
 * b alone when the other is empty), heap. hoist_dfb_resolve: path
 * (relative or absolute, from root) resolved inside root as the unpacker
 * does, the last component followed only if follow; *out (heap) is the
 * clean relative result ("" for the root); -1 on a symlink loop.
 * hoist_dfb_has_meta: 1 if s has glob characters. hoist_dfb_glob:
 * pattern (clean, relative) expanded in root component by component as
 * Go's filepath.Glob, sorted; *out and its strings heap.
 */
char *hoist_dfb_join(const char *a, const char *b);
int hoist_dfb_resolve(char **out, const char *root, const char *path,
		      int follow);
int hoist_dfb_has_meta(const char *s);
void hoist_dfb_glob(char ***out, size_t *n, const char *root,
		    const char *pattern);
/* A decimal id up to 2^32-1: 0 and *out, else -1. */
int hoist_dfb_parse_id(const char *s, uint64_t *out);
/*
 * name in root's file (/etc/passwd or /etc/group, resolved in root): 0
 * with *id its third field (and *gid its fourth, if gid), 1 if no entry
 * has it (or the file cannot be read), -1 if the path loops.
 */
int hoist_dfb_passwd_id(const char *root, const char *file, const char *name,
			uint64_t *id, uint64_t *gid);
/* 1 if the n first bytes p of a file start a gzip, bzip2, xz or zstd
 * stream or a tar (a ustar header, or a v7 one whose checksum holds, as
 * Go's tar reader takes it): what ADD and a remote context unpack.
 * hoist_dfb_is_archive: the same for the file at path. */
int hoist_dfb_archive_head(const unsigned char *p, size_t n);
int hoist_dfb_is_archive(const char *path);

/*
 * The per-instruction cache (dfbuild-cache.c). A stage's chain starts
 * from kind ("scratch", "image") and what (a manifest digest), or is
 * copied from the stage it is built on; each step moves it on with its
 * result (empty, else layer l).
 */
void hoist_dfb_chain_start(struct hoist_digest *chain, const char *kind,
			   const char *what);
void hoist_dfb_chain_next(struct hoist_digest *chain, int empty,
			  const struct hoist_layer *l);
/*
 * The key of step in stage st: *keyed 1 and *key filled, or *keyed 0
 * when the step cannot be cached (a URL source, sources that cannot be
 * read: the step itself reports those). Reads context files only when
 * their stat index changed. Returns 0 (nothing fails here).
 */
int hoist_dfb_step_key(struct hoist_dfb *b, const struct hoist_dfb_stage *st,
		       const struct hoist_dfstep *step,
		       struct hoist_digest *key, int *keyed,
		       struct hoist_err *err);

/*
 * The files of directory dir (a named build context) as one layer, as
 * COPY . / would make it without a .dockerignore: owners 0:0, modes and
 * times kept (times clamped with rewrite-timestamp). *empty 1 and no
 * layer for an empty directory. Errors: reading dir, the store's.
 */
int hoist_dfb_dir_layer(struct hoist_dfb *b, const char *dir,
			struct hoist_layer *out, int *empty,
			struct hoist_err *err);

/* 1 if an ADD source is an http(s) URL (as BuildKit: by its prefix). */
int hoist_dfb_is_url(const char *src);

/* BuildKit's name for a URL's file: path.Base of its (unescaped) path,
 * or "__unnamed__"; heap. url has "://". */
char *hoist_dfb_url_name(const char *url);

/*
 * GET url (ADD's source) into the new file path, mode 0600: TLS verified
 * with the host's certs.d CA (or --ca-cert), redirects followed (at most
 * HOIST_DOWNLOAD_MAX_REDIRECTS, never https to http), no credentials
 * sent. *mtime is Last-Modified, else 0; the file gets it. Errors name
 * the URL: HOIST_ENET, HOIST_ETLS, HOIST_ENOTFOUND (404), HOIST_EIO
 * (another status, too many redirects), HOIST_EINVAL (a bad redirect),
 * and the file's. path may be partly written on error.
 */
int hoist_dfb_fetch(const struct hoist_dfb *b, const char *url,
		    const char *path, int64_t *mtime, struct hoist_err *err);

#endif
