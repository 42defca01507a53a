/*
 * export-int.h: the interface between the export plan/dispatch (export.c)
 * and the exporters, one per file: export-image.c (image, registry),
 * export-oci.c, export-docker.c, export-local.c, export-tar.c,
 * export-cacheonly.c. What several exporters share lives below them:
 * export-layout.c (OCI layout writers), export-fs.c (unpacking into a
 * private tree), export-dest.c (destination checks) and outfile.h (the
 * buffered atomic-file sink). Dependencies point one way: export.c ->
 * exporters -> shared parts.
 */
#ifndef HOIST_LIB_EXPORT_INT_H
#define HOIST_LIB_EXPORT_INT_H

#include <jansson.h>

#include "lib/export.h"
#include "lib/imgwalk.h"
#include "lib/sink.h"

struct hoist_exporter {
	const char *name; /* the --output type= */
	enum hoist_export_type type;
	const char *const *keys; /* options it knows; others are warned of */
	int image;               /* 1: the image options apply (compression,
				    annotations, names) */
	/*
	 * Fill p from o: the exporter's own options and its destination
	 * checks, touching nothing. 0 or a negative HOIST_E* code.
	 */
	int (*plan)(struct hoist_export_plan *p, const struct hoist_output *o,
		    struct hoist_err *err);
	/*
	 * Write the stored image root to p's destination, atomically. *desc
	 * (left NULL when the output has no image metadata) is a new
	 * descriptor for the metadata file. 0 or a negative HOIST_E* code.
	 */
	int (*write)(const struct hoist_export_plan *p, struct hoist_store *s,
		     const json_t *root, json_t **desc, struct hoist_err *err);
};

extern const struct hoist_exporter hoist_exporter_image;
extern const struct hoist_exporter hoist_exporter_registry;
extern const struct hoist_exporter hoist_exporter_oci;
extern const struct hoist_exporter hoist_exporter_docker;
extern const struct hoist_exporter hoist_exporter_local;
extern const struct hoist_exporter hoist_exporter_tar;
extern const struct hoist_exporter hoist_exporter_cacheonly;

/* ---- export-image.c ---- */

/*
 * The pipelined push: an image export with push=true pushes its first
 * name while the image is built, each layer as it is compressed.
 * hoist_export_pipe_start starts it on its own thread (for other exports
 * it does nothing and returns 0) and sets q->pipe; what it reports is held
 * for the export's step (util/log.h: hoist_step_later), which takes it
 * when the image is named, so the step reads as BuildKit's: naming, then
 * pushing layers, then pushing manifest. hoist_export_pipe_root hands it
 * the built image's root. The image exporter's write waits for it;
 * hoist_export_pipe_end (always called) ends one still running (rc: the
 * export's failure, which the push's own failure replaces only when rc is
 * 0), frees it and returns rc.
 */
struct hoist_export_pipe;
int hoist_export_pipe_start(struct hoist_export_plan *q, struct hoist_store *s,
			    struct hoist_err *err);
void hoist_export_pipe_root(struct hoist_export_plan *q, const json_t *root);
int hoist_export_pipe_end(struct hoist_export_plan *q, int rc,
			  struct hoist_err *err);

/* ---- export-dest.c: destinations ---- */

/*
 * A file destination ("-" is standard output, refused on a terminal): not
 * a directory, in a writable directory. HOIST_EEXIST, HOIST_EINVAL or a
 * system error.
 */
int hoist_export_check_file_dest(const char *dest, struct hoist_err *err);
/* A directory destination: a writable directory, or a file destination. */
int hoist_export_check_dir_dest(const char *dest, struct hoist_err *err);

/* ---- export-layout.c: OCI image layouts (oci, docker) ---- */

/* The options the layout exporters know. */
extern const char *const hoist_export_layout_keys[];

/* Layout options common to oci and docker: tar=, dest= and its checks. */
int hoist_export_layout_plan(struct hoist_export_plan *p,
			     const struct hoist_output *o,
			     struct hoist_err *err);

/*
 * Docker's addition to a layout tarball: manifest.json of the single
 * manifest m. *out is new (caller frees).
 */
typedef int (*hoist_layout_extra_fn)(char **out, size_t *len,
				     const struct hoist_export_plan *p,
				     const struct hoist_img_manifest *m,
				     struct hoist_err *err);

/*
 * Write root as an OCI layout to p->dest (a tarball when p->tar, else a
 * directory whose other images are kept). With extra, the image must be a
 * single manifest and extra's file goes into a tarball as manifest.json.
 * *desc: the index.json descriptor (with the created annotation).
 */
int hoist_export_layout_write(const struct hoist_export_plan *p,
			      struct hoist_store *s, const json_t *root,
			      hoist_layout_extra_fn extra, json_t **desc,
			      struct hoist_err *err);

/*
 * The same layout as a tarball written into sink (nothing on disk; the
 * docker exporter streams it to a Docker Engine). 0 or a HOIST_E* code.
 */
int hoist_export_layout_stream(const struct hoist_export_plan *p,
			       struct hoist_store *s, const json_t *root,
			       hoist_layout_extra_fn extra,
			       const struct hoist_sink *sink,
			       struct hoist_err *err);

/* ---- export-fs.c: the root file system (local, tar) ---- */

extern const char *const hoist_export_fs_keys[];

/* platform-split= and mode= (local and tar share them). */
int hoist_export_fs_plan(struct hoist_export_plan *p,
			 const struct hoist_output *o, struct hoist_err *err);

/*
 * Publish the unpacked tree tmp (one directory per manifest of ms when
 * split) at p->dest. 0 or a negative HOIST_E* code.
 */
typedef int (*hoist_export_fs_publish_fn)(const struct hoist_export_plan *p,
					  const char *tmp,
					  const struct hoist_img_manifest *ms,
					  size_t n, int split,
					  struct hoist_err *err);

/*
 * Unpack root's manifests into a new private directory near near (NULL:
 * a scratch directory of the staging area; one
 * <os>_<arch>[_<variant>] directory each when split), hand it to publish,
 * and remove what is left. err names the export and its destination.
 */
int hoist_export_fs_write(const struct hoist_export_plan *p,
			  struct hoist_store *s, const json_t *root,
			  const char *near, hoist_export_fs_publish_fn publish,
			  struct hoist_err *err);

#endif
