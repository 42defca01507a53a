/*
 * dfplan.c: what BuildKit's dockerfile2llb does with a parsed Dockerfile
 * before touching a filesystem: ARG scoping, FROM expansion, stage
 * dependencies and order, the image config changes of each instruction
 * and the history entries it writes, and the list of COPY/ADD/WORKDIR
 * filesystem steps with their arguments expanded. See dfplan.h.
 *
 * History texts follow dockerfile2llb's commitToHistory calls: "ENV k=v",
 * "LABEL k=v", "ARG k=v", "USER u", "WORKDIR /d" (with a layer),
 * "EXPOSE map[80/tcp:{}]", "VOLUME [/a /b]", "STOPSIGNAL s", "SHELL [a
 * b]", "MAINTAINER m", "CMD %q" of the command with its shell, "ENTRYPOINT
 * %q" of the command as written, "HEALTHCHECK %q" of the config struct,
 * "COPY a b /d # buildkit" with a layer. Go's %q and %v are reproduced
 * by go_quote_list and the joins below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dfplan.h"
#include "lib/dfplan-int.h"
#include "lib/dfgo.h"
#include "lib/dockerignore.h"
#include "lib/shellwords.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

#define DEFAULT_PATH                                                           \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- string lists ---- */

void hoist_dfstrs_push(struct hoist_dfstrs *l, char *s)
{
	l->v = hoist_xreallocarray(l->v, l->n + 2, sizeof(*l->v));
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	l->set = 1;
}

void hoist_dfstrs_free(struct hoist_dfstrs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void hoist_dfstrs_copy(struct hoist_dfstrs *dst, const struct hoist_dfstrs *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		hoist_dfstrs_push(dst, hoist_xstrdup(src->v[i]));
	dst->set = src->set;
}

long hoist_dfstrs_kv_find(const struct hoist_dfstrs *l, const char *key,
			  size_t kl)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i], key, kl) == 0 && l->v[i][kl] == '=')
			return (long)i;
	return -1;
}

void hoist_dfstrs_kv_set(struct hoist_dfstrs *l, const char *key,
			 const char *value)
{
	long i = hoist_dfstrs_kv_find(l, key, strlen(key));
	char *kv = hoist_xasprintf("%s=%s", key, value);

	if (i < 0) {
		hoist_dfstrs_push(l, kv);
		return;
	}
	free(l->v[i]);
	l->v[i] = kv;
}

void hoist_dfstrs_set_add(struct hoist_dfstrs *l, const char *s)
{
	size_t i = 0;

	while (i < l->n && strcmp(l->v[i], s) < 0)
		i++;
	if (i < l->n && strcmp(l->v[i], s) == 0)
		return;
	hoist_dfstrs_push(l, NULL);
	memmove(l->v + i + 1, l->v + i, (l->n - 1 - i) * sizeof(*l->v));
	l->v[i] = hoist_xstrdup(s);
}

void hoist_dfconfig_release(struct hoist_dfconfig *c)
{
	hoist_dfstrs_free(&c->env);
	hoist_dfstrs_free(&c->labels);
	hoist_dfstrs_free(&c->ports);
	hoist_dfstrs_free(&c->volumes);
	hoist_dfstrs_free(&c->cmd);
	hoist_dfstrs_free(&c->entrypoint);
	hoist_dfstrs_free(&c->shell);
	hoist_dfstrs_free(&c->onbuild);
	free(c->user);
	free(c->workdir);
	free(c->stopsignal);
	free(c->author);
	if (c->health) {
		hoist_dfstrs_free(&c->health->test);
		free(c->health);
	}
	memset(c, 0, sizeof(*c));
}

static char *dup_or_null(const char *s)
{
	return s ? hoist_xstrdup(s) : NULL;
}

void hoist_dfconfig_copy(struct hoist_dfconfig *dst,
			 const struct hoist_dfconfig *src)
{
	memset(dst, 0, sizeof(*dst));
	hoist_dfstrs_copy(&dst->env, &src->env);
	hoist_dfstrs_copy(&dst->labels, &src->labels);
	hoist_dfstrs_copy(&dst->ports, &src->ports);
	hoist_dfstrs_copy(&dst->volumes, &src->volumes);
	hoist_dfstrs_copy(&dst->cmd, &src->cmd);
	hoist_dfstrs_copy(&dst->entrypoint, &src->entrypoint);
	hoist_dfstrs_copy(&dst->shell, &src->shell);
	hoist_dfstrs_copy(&dst->onbuild, &src->onbuild);
	dst->user = dup_or_null(src->user);
	dst->workdir = dup_or_null(src->workdir);
	dst->stopsignal = dup_or_null(src->stopsignal);
	dst->author = dup_or_null(src->author);
	if (src->health) {
		dst->health = hoist_xmalloc(sizeof(*dst->health));
		*dst->health = *src->health;
		hoist_dfstrs_copy(&dst->health->test, &src->health->test);
	}
}

/* ---- expansion ---- */

/* The variables a stage's words expand with: its ARGs, then its ENV. */
struct vars {
	const char **v;
	size_t n;
	struct hoist_shellwords_env env;
	struct hoist_shellwords lex;
};

static void vars_build(struct vars *vs, char escape,
		       const struct hoist_dfstrs *args,
		       const struct hoist_dfstrs *env)
{
	vs->n = 0;
	vs->v = hoist_xcalloc(args->n + (env ? env->n : 0) + 1, sizeof(*vs->v));
	for (size_t i = 0; i < args->n; i++)
		vs->v[vs->n++] = args->v[i];
	for (size_t i = 0; env && i < env->n; i++)
		vs->v[vs->n++] = env->v[i];
	vs->env.vars = vs->v;
	vs->env.n = vs->n;
	vs->lex.escape = escape;
	vs->lex.flags = 0;
	vs->lex.env = &vs->env;
}

static void vars_release(struct vars *vs)
{
	free(vs->v);
	vs->v = NULL;
}

int hoist_dfwalk_err(struct hoist_dfwalk *w, int code, const char *msg)
{
	return hoist_dockerfile_error(w->err, code, w->plan->df, w->in, 0, "%s",
				      msg);
}

/* ProcessWord with the stage's variables; *out is heap, NULL on error. */
int hoist_dfwalk_expand(struct hoist_dfwalk *w, char **out, const char *word)
{
	struct vars vs;
	struct hoist_err e;
	int rc;

	vars_build(&vs, w->plan->df->escape, &w->args, &w->sg->config.env);
	rc = hoist_shellwords_word(out, &vs.lex, word, &e);
	vars_release(&vs);
	if (rc)
		return hoist_dfwalk_err(w, rc, e.msg);
	return 0;
}

static void history(struct hoist_dfstage *sg, char *text, int empty)
{
	sg->history = hoist_xreallocarray(sg->history, sg->nhistory + 1,
					  sizeof(*sg->history));
	sg->history[sg->nhistory].created_by = text;
	sg->history[sg->nhistory++].empty_layer = empty;
}

int hoist_dfwalk_split(struct hoist_dfwalk *w, char ***out, size_t *n,
		       const char *word)
{
	struct vars vs;
	struct hoist_err e;
	int rc;

	vars_build(&vs, w->plan->df->escape, &w->args, &w->sg->config.env);
	rc = hoist_shellwords_split(out, n, &vs.lex, word, &e);
	vars_release(&vs);
	if (rc)
		return hoist_dfwalk_err(w, rc, e.msg);
	return 0;
}

void hoist_dfwalk_vars(struct hoist_dfwalk *w, char ***out, size_t *n)
{
	struct vars vs;

	vars_build(&vs, w->plan->df->escape, &w->args, &w->sg->config.env);
	*out = (char **)vs.v;
	*n = vs.n;
}

const char *hoist_dfwalk_build_arg(struct hoist_dfwalk *w, const char *key)
{
	struct hoist_dfplan *plan = w->plan;
	long i = hoist_dfstrs_kv_find(&plan->build_args, key, strlen(key));

	if (i < 0)
		return NULL;
	if (hoist_dfstrs_kv_find(&plan->used_args, key, strlen(key)) < 0)
		hoist_dfstrs_push(&plan->used_args,
				  hoist_xasprintf("%s=", key));
	return plan->build_args.v[i] + strlen(key) + 1;
}

long hoist_dfplan_stage_ref(const struct hoist_dfplan *plan, const char *ref)
{
	char *end;
	long n;

	if (!*ref)
		return -1;
	if ((n = hoist_dockerfile_stage_find(&plan->st, ref)) >= 0)
		return n;
	n = strtol(ref, &end, 10);
	if (*end || end == ref || n < 0 || (size_t)n >= plan->nstages)
		return -1;
	return n;
}

/* ---- the plan ---- */

static void platform_args(struct hoist_dfstrs *l, const char *prefix,
			  const struct hoist_platform *p)
{
	char buf[100];

	hoist_platform_format(p, buf, sizeof(buf));
	hoist_dfstrs_push(l, hoist_xasprintf("%sPLATFORM=%s", prefix, buf));
	hoist_dfstrs_push(l, hoist_xasprintf("%sOS=%s", prefix, p->os));
	hoist_dfstrs_push(l, hoist_xasprintf("%sARCH=%s", prefix, p->arch));
	hoist_dfstrs_push(l,
			  hoist_xasprintf("%sVARIANT=%s", prefix, p->variant));
}

/* The global ARGs, in the scope of FROM lines only. */
static int meta_args(struct hoist_dfplan *plan, struct hoist_err *err)
{
	struct hoist_dfwalk w = {plan, NULL, {0}, 0, NULL, err};
	struct hoist_dfstage scratch;
	int rc = 0;

	memset(&scratch, 0, sizeof(scratch));
	w.sg = &scratch;
	hoist_dfstrs_copy(&w.args, &plan->predefined);
	for (size_t i = 0; i < plan->st.nmeta_args && !rc; i++) {
		const struct hoist_df_instr *in = plan->st.meta_args[i];

		w.in = in;
		for (size_t k = 0; k < in->nargs && !rc; k++) {
			const char *word = in->args[k], *eq = strchr(word, '=');
			char *rawk =
				eq ? hoist_xstrndup(word, (size_t)(eq - word))
				   : hoist_xstrdup(word);
			char *key = NULL, *val = NULL;
			const char *bv;

			rc = hoist_dfwalk_expand(&w, &key, rawk);
			if (!rc && eq)
				rc = hoist_dfwalk_expand(&w, &val, eq + 1);
			free(rawk);
			if (!rc && (bv = hoist_dfwalk_build_arg(&w, key))) {
				free(val);
				val = hoist_xstrdup(bv);
			}
			if (!rc && val) {
				hoist_dfstrs_kv_set(&plan->meta, key, val);
				hoist_dfstrs_kv_set(&w.args, key, val);
			}
			free(key);
			free(val);
		}
	}
	hoist_dfstrs_free(&w.args);
	return rc;
}

/* 1 if a --build-context is called name. */
static int is_context(const struct hoist_dfplan_opts *opts, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < opts->ncontexts; i++)
		if (!strncmp(opts->contexts[i], name, nl) &&
		    opts->contexts[i][nl] == '=')
			return 1;
	return 0;
}

/* Expand FROM's image and --platform with the global ARGs; a stage
 * named as a --build-context is that context. */
static int from_line(struct hoist_dfplan *plan,
		     const struct hoist_dfplan_opts *opts, size_t i,
		     struct hoist_err *err)
{
	const struct hoist_df_stage *s = &plan->st.stages[i];
	struct hoist_dfstage *sg = &plan->stages[i];
	struct hoist_dfwalk w = {plan, sg, {0}, 0, s->from, err};
	int rc;

	hoist_dfstrs_copy(&w.args, &plan->predefined);
	for (size_t k = 0; k < plan->meta.n; k++) {
		char *eq = strchr(plan->meta.v[k], '=');
		char *key = hoist_xstrndup(plan->meta.v[k],
					   (size_t)(eq - plan->meta.v[k]));

		hoist_dfstrs_kv_set(&w.args, key, eq + 1);
		free(key);
	}
	sg->index = (long)i;
	sg->name = s->name ? hoist_xstrdup(s->name) : NULL;
	sg->base_stage = -1;
	rc = hoist_dfwalk_expand(&w, &sg->base, s->base);
	if (!rc && !*sg->base) {
		char q[HOIST_QUOTE_BUF], m[HOIST_QUOTE_BUF + 64];

		hoist_err_quote(q, sizeof(q), s->base, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		snprintf(m, sizeof(m), "base name (%s) should not be blank", q);
		rc = hoist_dfwalk_err(&w, HOIST_EINVAL, m);
	}
	if (!rc && s->platform)
		rc = hoist_dfwalk_expand(&w, &sg->platform, s->platform);
	hoist_dfstrs_free(&w.args);
	if (!rc && sg->name && is_context(opts, sg->name)) {
		sg->context = 1;
		free(sg->base);
		sg->base = hoist_xstrdup(sg->name);
	} else if (!rc) {
		sg->base_stage =
			hoist_dockerfile_stage_find(&plan->st, sg->base);
	}
	return rc;
}

/* The stage instruction in copies from (COPY --from=STAGE), or -1. */
static long copy_from(const struct hoist_dfplan *plan,
		      const struct hoist_df_instr *in)
{
	struct hoist_df_flag *fl = NULL;
	size_t nfl = 0;
	const char *from;
	long n = -1;

	if (!in || in->cmd != HOIST_DF_COPY ||
	    hoist_dockerfile_flags(&fl, &nfl, in, NULL))
		return -1;
	from = hoist_dockerfile_flag(fl, nfl, "from");
	if (from)
		n = hoist_dfplan_stage_ref(plan, from);
	free(fl);
	return n;
}

/* How many stages stage i may use at most (the size deps needs). */
static size_t deps_max(const struct hoist_dfplan *plan, size_t i)
{
	const struct hoist_dfstage *sg = &plan->stages[i];

	return 1 + plan->st.stages[i].ninstrs + sg->ntrigger_deps +
	       (sg->base_stage >= 0 ? plan->st.stages[sg->base_stage].ninstrs
				    : 0);
}

/*
 * The stages stage i uses: its base, every COPY --from, and those the
 * triggers it runs copy from: its base stage's ONBUILD COPY --from, or
 * its base image's (trigger_deps). A context stage uses none.
 */
static size_t deps(const struct hoist_dfplan *plan, size_t i, long *out)
{
	const struct hoist_df_stage *s = &plan->st.stages[i];
	const struct hoist_dfstage *sg = &plan->stages[i];
	size_t n = 0;
	long d;

	if (sg->context)
		return 0;
	if (sg->base_stage >= 0) {
		const struct hoist_df_stage *bs =
			&plan->st.stages[sg->base_stage];

		out[n++] = sg->base_stage;
		for (size_t k = 0;
		     !plan->stages[sg->base_stage].context && k < bs->ninstrs;
		     k++)
			if (bs->instrs[k]->cmd == HOIST_DF_ONBUILD &&
			    (d = copy_from(plan, bs->instrs[k]->sub)) >= 0)
				out[n++] = d;
	}
	for (size_t k = 0; k < sg->ntrigger_deps; k++)
		out[n++] = sg->trigger_deps[k];
	for (size_t k = 0; k < s->ninstrs; k++)
		if ((d = copy_from(plan, s->instrs[k])) >= 0)
			out[n++] = d;
	return n;
}

/* Depth-first: 1 in progress, 2 done. Appends to plan->order. */
static int visit(struct hoist_dfplan *plan, size_t i, char *mark, int order,
		 struct hoist_err *err)
{
	long *d;
	size_t nd;
	int rc = 0;

	if (mark[i] == 2)
		return 0;
	/* BuildKit names an unnamed stage "stage-N" */
	if (mark[i] == 1 && plan->stages[i].name)
		return hoist_err_set(err, HOIST_EINVAL,
				     "circular dependency detected on stage: "
				     "%s",
				     plan->stages[i].name);
	if (mark[i] == 1)
		return hoist_err_set(err, HOIST_EINVAL,
				     "circular dependency detected on stage: "
				     "stage-%zu",
				     i);
	mark[i] = 1;
	d = hoist_xcalloc(deps_max(plan, i) + 1, sizeof(*d));
	nd = deps(plan, i, d);
	for (size_t k = 0; k < nd && !rc; k++)
		rc = visit(plan, (size_t)d[k], mark, order, err);
	free(d);
	mark[i] = 2;
	if (!rc && order)
		plan->order[plan->norder++] = (long)i;
	return rc;
}

/* The stages the target needs, dependencies first; RUN in one of them
 * fails before anything is built. */
static int make_order(struct hoist_dfplan *plan, struct hoist_err *err)
{
	char *mark = hoist_xcalloc(plan->nstages, 1);
	int rc;

	plan->norder = 0;
	rc = visit(plan, (size_t)plan->target, mark, 1, err);
	free(mark);
	for (size_t k = 0; !rc && k < plan->norder; k++) {
		const struct hoist_df_stage *s =
			&plan->st.stages[plan->order[k]];

		for (size_t i = 0;
		     !plan->stages[plan->order[k]].context && i < s->ninstrs;
		     i++)
			if (s->instrs[i]->cmd == HOIST_DF_RUN)
				return hoist_dockerfile_error(
					err, HOIST_EUNSUPPORTED, plan->df,
					s->instrs[i], 0,
					"RUN needs a container runtime; "
					"hoist builds without one");
	}
	return rc;
}

int hoist_dfplan_add_triggers(struct hoist_dfplan *plan, long index,
			      const struct hoist_dfstrs *onbuild, int *again,
			      struct hoist_err *err)
{
	struct hoist_dfstage *sg = &plan->stages[index];
	size_t added = 0;
	int rc;

	*again = 0;
	for (size_t i = 0; i < onbuild->n; i++) {
		char *text =
			hoist_xasprintf("FROM scratch\n%s\n", onbuild->v[i]);
		struct hoist_dockerfile *tdf = NULL;
		struct hoist_df_stages tst;
		struct hoist_err e;
		long d = -1;

		memset(&tst, 0, sizeof(tst));
		if (!hoist_dockerfile_parse(&tdf, "ONBUILD", text, strlen(text),
					    &e) &&
		    !hoist_dockerfile_stages(&tst, tdf, &e) &&
		    tst.nstages == 1 && tst.stages[0].ninstrs == 1)
			d = copy_from(plan, tst.stages[0].instrs[0]);
		hoist_dockerfile_stages_free(&tst);
		hoist_dockerfile_free(tdf);
		free(text);
		if (d < 0)
			continue;
		sg->trigger_deps = hoist_xreallocarray(
			sg->trigger_deps, sg->ntrigger_deps + 1,
			sizeof(*sg->trigger_deps));
		sg->trigger_deps[sg->ntrigger_deps++] = d;
		added++;
	}
	if (!added)
		return 0;
	rc = make_order(plan, err);
	*again = !rc;
	return rc;
}

int hoist_dfplan_new(struct hoist_dfplan **out,
		     const struct hoist_dockerfile *df,
		     const struct hoist_dfplan_opts *opts,
		     struct hoist_err *err)
{
	struct hoist_dfplan *plan = hoist_xcalloc(1, sizeof(*plan));
	char *mark = NULL;
	int rc;

	*out = NULL;
	plan->df = df;
	if ((rc = hoist_dockerfile_stages(&plan->st, df, err)))
		goto out;
	for (size_t i = 0; i < opts->nbuild_args; i++)
		hoist_dfstrs_push(&plan->build_args,
				  hoist_xstrdup(opts->build_args[i]));
	platform_args(&plan->predefined, "TARGET", &opts->target_platform);
	platform_args(&plan->predefined, "BUILD", &opts->build_platform);
	if ((rc = meta_args(plan, err)))
		goto out;
	plan->nstages = plan->st.nstages;
	plan->stages = hoist_xcalloc(plan->nstages, sizeof(*plan->stages));
	for (size_t i = 0; i < plan->nstages; i++)
		if ((rc = from_line(plan, opts, i, err)))
			goto out;
	plan->target = (long)plan->nstages - 1;
	if (opts->target && (plan->target = hoist_dockerfile_stage_find(
				     &plan->st, opts->target)) < 0) {
		char q[HOIST_QUOTE_BUF];

		hoist_err_quote(q, sizeof(q), opts->target, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "target stage \"%s\" could not be found", q);
		goto out;
	}
	/* cycles anywhere are errors, as in BuildKit; then the order */
	mark = hoist_xcalloc(plan->nstages, 1);
	for (size_t i = 0; i < plan->nstages; i++)
		if ((rc = visit(plan, i, mark, 0, err)))
			goto out;
	plan->order = hoist_xcalloc(plan->nstages, sizeof(*plan->order));
	rc = make_order(plan, err);
out:
	free(mark);
	if (rc) {
		hoist_dfplan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/* An error about trigger t of stage s: at its FROM line. */
static int trigger_error(struct hoist_dfplan *plan,
			 const struct hoist_df_stage *s, const char *t,
			 int code, const char *msg, struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];

	hoist_err_quote(q, sizeof(q), t, HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	return hoist_dockerfile_error(err, code, plan->df, s->from, 0,
				      "ONBUILD trigger '%s' of the base: %s", q,
				      msg);
}

/* Parse trigger t into plan->triggers; *in its instruction. */
static int parse_trigger(struct hoist_dfplan *plan,
			 const struct hoist_df_stage *s, const char *t,
			 const struct hoist_df_instr **in,
			 struct hoist_err *err)
{
	char *text = hoist_xasprintf("FROM scratch\n%s\n", t);
	struct hoist_dockerfile *tdf = NULL;
	struct hoist_df_stages tst;
	struct hoist_err e;
	int rc;

	memset(&tst, 0, sizeof(tst));
	rc = hoist_dockerfile_parse(&tdf, "ONBUILD", text, strlen(text), &e);
	free(text);
	if (rc)
		return trigger_error(plan, s, t, rc, e.msg, err);
	plan->triggers = hoist_xreallocarray(
		plan->triggers, plan->ntriggers + 1, sizeof(*plan->triggers));
	plan->triggers[plan->ntriggers++] = tdf;
	if ((rc = hoist_dockerfile_stages(&tst, tdf, &e)))
		return trigger_error(plan, s, t, rc, e.msg, err);
	if (tst.nstages != 1 || tst.stages[0].ninstrs != 1) {
		rc = trigger_error(plan, s, t, HOIST_EINVAL,
				   tst.nstages != 1 ? "FROM isn't allowed as "
						      "an ONBUILD trigger"
						    : "onbuild trigger should "
						      "be a single expression",
				   err);
	} else if (tst.stages[0].instrs[0]->cmd == HOIST_DF_ONBUILD ||
		   tst.stages[0].instrs[0]->cmd == HOIST_DF_MAINTAINER) {
		char m[64];
		snprintf(m, sizeof(m), "%s isn't allowed as an ONBUILD trigger",
			 hoist_dockerfile_cmd_name(
				 tst.stages[0].instrs[0]->cmd));
		rc = trigger_error(plan, s, t, HOIST_EINVAL, m, err);
	}
	*in = rc ? NULL : tst.stages[0].instrs[0];
	hoist_dockerfile_stages_free(&tst);
	/* as if it followed the FROM line */
	for (size_t i = 0; i < tdf->ninstrs; i++)
		tdf->instrs[i].line = tdf->instrs[i].end_line = s->from->line;
	return rc;
}

/* BuildKit's initOnBuildTriggers: the base's triggers, then no OnBuild. */
static int run_triggers(struct hoist_dfwalk *w, const struct hoist_df_stage *s)
{
	struct hoist_dfplan *plan = w->plan;
	struct hoist_dfstrs trig = w->sg->config.onbuild;
	int rc = 0;

	memset(&w->sg->config.onbuild, 0, sizeof(trig));
	for (size_t i = 0; i < trig.n && !rc; i++) {
		const struct hoist_df_instr *in;
		struct hoist_buf msg;
		size_t nsteps = w->sg->nsteps;
		int empty;

		if ((rc = parse_trigger(plan, s, trig.v[i], &in, w->err)))
			break;
		if (in->cmd == HOIST_DF_RUN) {
			rc = hoist_dockerfile_error(
				w->err, HOIST_EUNSUPPORTED, plan->df, in, 0,
				"RUN needs a container runtime; hoist builds "
				"without one");
			break;
		}
		w->in = in;
		hoist_buf_init(&msg, HOIST_BUF_UNLIMITED);
		rc = hoist_dfwalk_instr(w, &msg, &empty);
		if (!rc && empty >= 0)
			history(w->sg, hoist_buf_detach(&msg, NULL), empty);
		hoist_buf_release(&msg);
		/* a stage a trigger copies from must be built already */
		if (!rc && w->sg->nsteps > nsteps &&
		    w->sg->steps[nsteps].from_stage >= 0 &&
		    !plan->stages[w->sg->steps[nsteps].from_stage].walked)
			rc = hoist_dfwalk_err(w, HOIST_EUNSUPPORTED,
					      "an ONBUILD trigger copies from "
					      "a stage not built before this "
					      "one");
	}
	hoist_dfstrs_free(&trig);
	return rc;
}

int hoist_dfplan_walk(struct hoist_dfplan *plan, long index,
		      const struct hoist_dfconfig *base, struct hoist_err *err)
{
	struct hoist_dfstage *sg = &plan->stages[index];
	const struct hoist_df_stage *s = &plan->st.stages[index];
	struct hoist_dfwalk w = {plan, sg, {0}, 0, NULL, err};
	int rc = 0;

	if (sg->walked)
		return hoist_err_set(err, HOIST_EINVAL,
				     "stage %ld walked twice", index);
	if (sg->base_stage >= 0) {
		if (!plan->stages[sg->base_stage].walked)
			return hoist_err_set(err, HOIST_EINVAL,
					     "stage %ld before its base",
					     index);
		hoist_dfconfig_copy(&sg->config,
				    &plan->stages[sg->base_stage].config);
	} else if (base) {
		hoist_dfconfig_copy(&sg->config, base);
	} else {
		/* BuildKit's empty image: PATH, WorkingDir "/" */
		hoist_dfstrs_push(&sg->config.env, hoist_xstrdup(DEFAULT_PATH));
		sg->config.workdir = hoist_xstrdup("/");
	}
	if (sg->config.onbuild.n && !sg->context)
		rc = run_triggers(&w, s);
	for (size_t i = 0; i < s->ninstrs && !rc && !sg->context; i++) {
		struct hoist_buf msg;
		int empty;

		w.in = s->instrs[i];
		hoist_buf_init(&msg, HOIST_BUF_UNLIMITED);
		rc = hoist_dfwalk_instr(&w, &msg, &empty);
		if (!rc && empty >= 0)
			history(sg, hoist_buf_detach(&msg, NULL), empty);
		hoist_buf_release(&msg);
	}
	hoist_dfstrs_free(&w.args);
	sg->walked = !rc;
	return rc;
}

static void step_release(struct hoist_dfstep *st)
{
	free(st->from_image);
	hoist_dfstrs_free(&st->sources);
	for (size_t i = 0; i < st->ninlines; i++) {
		free(st->inlines[i].name);
		free(st->inlines[i].content);
	}
	free(st->inlines);
	free(st->dest);
	free(st->chown);
	free(st->chmod);
	free(st->checksum);
	hoist_dfstrs_free(&st->excludes);
	free(st->user);
	free(st->workdir);
}

void hoist_dfplan_free(struct hoist_dfplan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->nstages; i++) {
		struct hoist_dfstage *sg = &plan->stages[i];

		free(sg->name);
		free(sg->base);
		free(sg->platform);
		hoist_dfconfig_release(&sg->config);
		for (size_t k = 0; k < sg->nhistory; k++)
			free(sg->history[k].created_by);
		free(sg->history);
		for (size_t k = 0; k < sg->nsteps; k++)
			step_release(&sg->steps[k]);
		free(sg->steps);
		free(sg->trigger_deps);
	}
	free(plan->stages);
	free(plan->order);
	hoist_dockerfile_stages_free(&plan->st);
	hoist_dfstrs_free(&plan->meta);
	hoist_dfstrs_free(&plan->predefined);
	hoist_dfstrs_free(&plan->build_args);
	hoist_dfstrs_free(&plan->used_args);
	for (size_t i = 0; i < plan->ntriggers; i++)
		hoist_dockerfile_free(plan->triggers[i]);
	free(plan->triggers);
	free(plan);
}
