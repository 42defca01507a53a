/*
 * dfplan-int.h: what dfplan.c (plan and walk) and dfplan-instr.c (one
 * function per instruction) share. Internal to the Dockerfile frontend.
 */
#ifndef HOIST_LIB_DFPLAN_INT_H
#define HOIST_LIB_DFPLAN_INT_H

#include "lib/dfplan.h"
#include "lib/shellwords.h"
#include "util/buf.h"

/* String lists (struct hoist_dfstrs). */
void hoist_dfstrs_push(struct hoist_dfstrs *l, char *s); /* takes s */
void hoist_dfstrs_free(struct hoist_dfstrs *l);
void hoist_dfstrs_copy(struct hoist_dfstrs *dst,
		       const struct hoist_dfstrs *src);
/* Index of "key=..." in l, or -1. */
long hoist_dfstrs_kv_find(const struct hoist_dfstrs *l, const char *key,
			  size_t kl);
/* Set key=value, in place when key is there (Docker's addEnv). */
void hoist_dfstrs_kv_set(struct hoist_dfstrs *l, const char *key,
			 const char *value);
/* Insert s into the sorted set l (no duplicates; s is copied). */
void hoist_dfstrs_set_add(struct hoist_dfstrs *l, const char *s);

/* One stage being walked. */
struct hoist_dfwalk {
	struct hoist_dfplan *plan;
	struct hoist_dfstage *sg;
	struct hoist_dfstrs args; /* this stage's ARGs that have a value */
	int cmd_set;              /* CMD given in this stage */
	const struct hoist_df_instr *in;
	struct hoist_err *err;
};

/* Set w->err about the current instruction; returns code. */
int hoist_dfwalk_err(struct hoist_dfwalk *w, int code, const char *msg);
/* ProcessWord with the stage's ARGs and ENV; *out heap. */
int hoist_dfwalk_expand(struct hoist_dfwalk *w, char **out, const char *word);
/* ProcessWords likewise; *out from hoist_shellwords_split. */
int hoist_dfwalk_split(struct hoist_dfwalk *w, char ***out, size_t *n,
		       const char *word);
/* The variables of w (ARGs then ENV) as "K=V" (borrowed strings; free
 * *out only). */
void hoist_dfwalk_vars(struct hoist_dfwalk *w, char ***out, size_t *n);
/* The stage a COPY --from names (name, case-insensitive, or index), or
 * -1 for an image. */
long hoist_dfplan_stage_ref(const struct hoist_dfplan *plan, const char *ref);
/* The value of build arg key (marking it used), or NULL. */
const char *hoist_dfwalk_build_arg(struct hoist_dfwalk *w, const char *key);

/*
 * Apply w->in to w->sg: config, steps, and the history text in msg
 * (empty_layer in *empty). Returns 0 or an error with the location.
 */
int hoist_dfwalk_instr(struct hoist_dfwalk *w, struct hoist_buf *msg,
		       int *empty);

#endif
