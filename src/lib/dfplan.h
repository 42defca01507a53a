/*
 * dfplan.h: the Dockerfile frontend's instruction semantics that need no
 * filesystem, as BuildKit's dockerfile2llb applies them.
 *
 * hoist_dfplan_new() takes a parsed Dockerfile, the target stage, the
 * build arguments and the platforms, and:
 *  - resolves the global ARGs (those before the first FROM) and expands
 *    each FROM's image and --platform with them and with the predefined
 *    TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, BUILDPLATFORM,
 *    BUILDOS, BUILDARCH and BUILDVARIANT;
 *  - finds the stages the target needs (FROM <stage>, COPY --from=<stage
 *    or index>, and COPY --from=<stage> in the ONBUILD triggers a stage
 *    runs) and orders them so each comes after what it uses, refusing
 *    cycles ("circular dependency detected on stage: a") and a --target
 *    that does not exist; a stage named as a --build-context is that
 *    context (buildx: "When Dockerfile defines a stage with the same
 *    name it's overwritten"), and nothing of its own is built;
 *  - walks each needed stage, expanding arguments where the Dockerfile
 *    reference says (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER
 *    VOLUME WORKDIR, and ARG defaults; never RUN CMD ENTRYPOINT SHELL
 *    ONBUILD), with ARG and ENV scoping, and records the image config
 *    changes, the history entries as BuildKit writes them ("ENV A=1",
 *    "COPY a /b # buildkit", "CMD [\"/bin/sh\" \"-c\" \"x\"]", with
 *    empty_layer), and the filesystem steps in order (COPY, ADD, and the
 *    directory WORKDIR creates);
 *  - refuses RUN before anything is built: "RUN needs a container
 *    runtime; hoist builds without one".
 *
 * A stage's base is given by the caller as the config it starts from
 * (hoist_dfplan_set_base): an image's Env, WorkingDir, User... for an
 * image, nothing for scratch (which gets BuildKit's default PATH). A stage
 * built on an earlier stage starts from that stage's result.
 */
#ifndef HOIST_LIB_DFPLAN_H
#define HOIST_LIB_DFPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/dockerfile.h"
#include "lib/platform.h"
#include "util/err.h"

/* A list of strings; set = 0 is "unset" (null in JSON), not "empty". */
struct hoist_dfstrs {
	char **v;
	size_t n;
	int set;
};

struct hoist_dfhealth {
	struct hoist_dfstrs test; /* ["CMD-SHELL", "x"], ["NONE"]... */
	int64_t interval, timeout, start_period, start_interval; /* ns */
	int retries;
};

/* The image config fields a Dockerfile changes. */
struct hoist_dfconfig {
	struct hoist_dfstrs env;     /* "K=V", in order */
	struct hoist_dfstrs labels;  /* "K=V", in order of first setting */
	struct hoist_dfstrs ports;   /* "80/tcp", sorted */
	struct hoist_dfstrs volumes; /* sorted */
	struct hoist_dfstrs cmd;
	struct hoist_dfstrs entrypoint;
	struct hoist_dfstrs shell;
	struct hoist_dfstrs onbuild;
	char *user;                    /* NULL: unset */
	char *workdir;                 /* NULL: unset */
	char *stopsignal;              /* NULL: unset */
	char *author;                  /* MAINTAINER */
	struct hoist_dfhealth *health; /* NULL: unset */
};

struct hoist_dfhistory {
	char *created_by;
	int empty_layer;
};

enum hoist_dfstep_kind {
	HOIST_DFSTEP_COPY,
	HOIST_DFSTEP_ADD,
	HOIST_DFSTEP_MKDIR, /* WORKDIR's directory (parents, 0755, USER) */
};

/* A heredoc source of COPY/ADD: a file named name with this content. */
struct hoist_dfinline {
	char *name;
	char *content; /* expanded unless the delimiter was quoted */
};

struct hoist_dfstep {
	enum hoist_dfstep_kind kind;
	const struct hoist_df_instr *instr;
	long from_stage;  /* --from=<stage>: its index; else -1 */
	char *from_image; /* --from=<image or context name>, or NULL */
	struct hoist_dfstrs sources; /* expanded, context-relative */
	struct hoist_dfinline *inlines;
	size_t ninlines;
	char *dest; /* expanded; MKDIR: the absolute directory */
	char *chown, *chmod, *checksum; /* expanded, or NULL */
	struct hoist_dfstrs excludes;
	int link, parents, keep_git_dir;
	char *user;    /* MKDIR: USER at that point, or NULL */
	char *workdir; /* the WORKDIR relative destinations resolve from */
};

struct hoist_dfstage {
	long index;      /* in the Dockerfile */
	char *name;      /* NULL if unnamed */
	char *base;      /* FROM's image, expanded ("scratch", a reference, or a
			  * stage name when base_stage >= 0) */
	long base_stage; /* FROM an earlier stage: its index, else -1 */
	/* a --build-context has the stage's name: the stage is that
	 * context (base is its name), its instructions are not walked */
	int context;
	/* stages the ONBUILD triggers of its base image copy from
	 * (hoist_dfplan_add_triggers) */
	long *trigger_deps;
	size_t ntrigger_deps;
	char *platform;                  /* --platform expanded, or NULL */
	struct hoist_dfconfig config;    /* after the stage */
	struct hoist_dfhistory *history; /* this stage's entries only */
	size_t nhistory;
	struct hoist_dfstep *steps;
	size_t nsteps;
	int walked;
};

struct hoist_dfplan_opts {
	const char *target; /* stage name or NULL for the last stage */
	const char *const *build_args; /* "K=V" */
	size_t nbuild_args;
	struct hoist_platform target_platform;
	struct hoist_platform build_platform;
	/* --build-context NAME=VALUE (only NAME is used here): a stage of
	 * that name is the context, as buildx documents it */
	const char *const *contexts;
	size_t ncontexts;
};

struct hoist_dfplan {
	const struct hoist_dockerfile *df;
	struct hoist_df_stages st;
	struct hoist_dfstage *stages; /* one per Dockerfile stage */
	size_t nstages;
	long *order; /* the stages to build, dependencies first */
	size_t norder;
	long target;
	struct hoist_dfstrs meta;       /* global ARGs, "K=V" */
	struct hoist_dfstrs predefined; /* TARGETPLATFORM=... */
	struct hoist_dfstrs build_args;
	struct hoist_dfstrs used_args; /* build args some ARG declared */
	/* the ONBUILD triggers of base images, parsed: steps point into
	 * them */
	struct hoist_dockerfile **triggers;
	size_t ntriggers;
};

/*
 * Plan df (which must outlive the plan) for opts: global ARGs, FROM lines,
 * stage order, and the RUN check over the stages to build. *out is a heap
 * object owned by the caller. Errors: HOIST_EINVAL ("NAME:LINE: message"
 * for Dockerfile errors; "target stage 'x' could not be found"),
 * HOIST_EUNSUPPORTED for RUN.
 */
int hoist_dfplan_new(struct hoist_dfplan **out,
		     const struct hoist_dockerfile *df,
		     const struct hoist_dfplan_opts *opts,
		     struct hoist_err *err);

/* Free a plan; NULL is a no-op. */
void hoist_dfplan_free(struct hoist_dfplan *plan);

/*
 * The ONBUILD triggers of stage index's base image (onbuild: its
 * OnBuild, the triggers the stage will run first) may copy from stages
 * (COPY --from=STAGE): make those dependencies of the stage and order
 * the stages again, as BuildKit does once it has read its base images.
 * *again is 1 when the order was made again (it may hold stages whose
 * base images the caller has not read yet). A trigger that does not parse
 * adds nothing (the walk reports it). Errors: HOIST_EINVAL for a cycle,
 * HOIST_EUNSUPPORTED for RUN in a stage now needed.
 */
int hoist_dfplan_add_triggers(struct hoist_dfplan *plan, long index,
			      const struct hoist_dfstrs *onbuild, int *again,
			      struct hoist_err *err);

/*
 * Walk stage index (which must not depend on an unwalked stage) from base:
 * the config of its base image (copied; NULL for scratch, or for a stage
 * on an earlier stage, whose result is then used). Fills
 * plan->stages[index]. The ONBUILD triggers of the base (its OnBuild)
 * run first, as if they followed the FROM line (their errors and steps
 * carry that line), as BuildKit runs them, and the stage's OnBuild
 * starts empty. A context stage only takes base (its image's config).
 * Errors: HOIST_EINVAL with the file, line and instruction;
 * HOIST_EUNSUPPORTED for a RUN trigger.
 */
int hoist_dfplan_walk(struct hoist_dfplan *plan, long index,
		      const struct hoist_dfconfig *base, struct hoist_err *err);

/* Free what a config holds; it is zeroed. */
void hoist_dfconfig_release(struct hoist_dfconfig *c);

/* Copy src into dst (which is overwritten, not released). */
void hoist_dfconfig_copy(struct hoist_dfconfig *dst,
			 const struct hoist_dfconfig *src);

/* Go's time.Duration.String for ns ("1m30s", "500ms", "0s"). buf holds
 * 40 bytes. */
const char *hoist_dfplan_duration(int64_t ns, char buf[40]);

/*
 * Go's time.ParseDuration: 0 and *ns set, or -1 for text Go refuses.
 */
int hoist_dfplan_parse_duration(int64_t *ns, const char *s);

#endif
