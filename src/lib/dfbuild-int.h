/*
 * dfbuild-int.h: what dfbuild.c (stages, base images, configs) and
 * dfbuild-copy.c (the filesystem steps) share. Internal.
 */
#ifndef HOIST_LIB_DFBUILD_INT_H
#define HOIST_LIB_DFBUILD_INT_H

#include "lib/dfbuild.h"
#include "lib/dfplan.h"
#include "lib/dockerignore.h"
#include "lib/layer.h"

/* A built stage, or an image COPY --from names. */
struct hoist_dfb_stage {
	json_t *config; /* the whole image config */
	json_t *layers; /* the manifest's layer descriptors */
	char *rootfs;   /* its filesystem, unpacked, or NULL until needed */
	int built;
};

struct hoist_dfb {
	struct hoist_store *s;
	const struct hoist_dfbuild_opts *o;
	const struct hoist_dockerfile *df;
	struct hoist_dockerignore *ignore; /* NULL: none */
	struct hoist_dfplan *plan;
	struct hoist_platform plat;
	struct hoist_dfb_stage *stages; /* plan->nstages */
	struct hoist_dfb_stage *images; /* COPY --from=IMAGE, by from_image */
	char **image_names;
	size_t nimages;
	int64_t created;
};

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

#endif
