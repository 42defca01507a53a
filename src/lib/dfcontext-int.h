/*
 * dfcontext-int.h: what dfcontext.c and dfcontext-git.c share.
 */
#ifndef HOIST_LIB_DFCONTEXT_INT_H
#define HOIST_LIB_DFCONTEXT_INT_H

#include "lib/dfcontext.h"

/* url with its userinfo (a token, a password) replaced by "xxxxx", for
 * messages; heap. */
char *hoist_dfctx_redact(const char *url);

/*
 * c->dockerfile for the -f value dockerfile (NULL: "Dockerfile") of the
 * context c->dir: "-" and an absolute path as they are, else the path
 * resolved inside c->dir (NULL when that is c->dir/Dockerfile itself).
 */
int hoist_dfctx_dockerfile(struct hoist_dfcontext *c, const char *dockerfile,
			   struct hoist_err *err);

/*
 * Check out the Git URL (with its #REF:SUBDIR) into c->scratch/repo and
 * set c->dir and c->dockerfile (dfcontext.h says how).
 */
int hoist_dfctx_git(struct hoist_dfcontext *c, const char *url,
		    const char *dockerfile, struct hoist_err *err);

#endif
