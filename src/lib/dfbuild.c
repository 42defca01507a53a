/*
 * dfbuild.c: a Dockerfile to images in the store, stage by stage: the
 * Dockerfile and .dockerignore read, the plan made per platform, each
 * stage's base read, its config converted to and from the plan's
 * struct hoist_dfconfig, its filesystem steps run (dfbuild-copy.c), and
 * its config, history and manifest stored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/base.h"
#include "lib/build.h"
#include "lib/dfbuild-int.h"
#include "lib/dockerfile.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/mediatype.h"
#include "lib/unpack.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

/* ---- config <-> struct hoist_dfconfig ---- */

static void strs_from_array(struct hoist_dfstrs *l, const json_t *a)
{
	size_t i;
	json_t *v;

	memset(l, 0, sizeof(*l));
	if (!json_is_array(a))
		return;
	l->set = 1;
	json_array_foreach(a, i, v) if (json_is_string(v))
	{
		l->v = hoist_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = hoist_xstrdup(json_string_value(v));
	}
}

/* The keys of an object ("80/tcp": {}), or "K=V" of a string map. */
static void strs_from_object(struct hoist_dfstrs *l, const json_t *o, int kv)
{
	const char *k;
	json_t *v;

	memset(l, 0, sizeof(*l));
	if (!json_is_object(o))
		return;
	l->set = 1;
	json_object_foreach((json_t *)o, k, v)
	{
		l->v = hoist_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] =
			kv ? hoist_xasprintf("%s=%s", k,
					     json_is_string(v)
						     ? json_string_value(v)
						     : "")
			   : hoist_xstrdup(k);
	}
}

static char *opt_str(const json_t *o, const char *key)
{
	const char *s = hoist_json_str(o, key);
	return s && *s ? hoist_xstrdup(s) : NULL;
}

static void config_to_df(struct hoist_dfconfig *c, const json_t *img)
{
	const json_t *cfg = json_object_get(img, "config");
	const json_t *h = json_object_get(cfg, "Healthcheck");

	memset(c, 0, sizeof(*c));
	strs_from_array(&c->env, json_object_get(cfg, "Env"));
	strs_from_object(&c->labels, json_object_get(cfg, "Labels"), 1);
	strs_from_object(&c->ports, json_object_get(cfg, "ExposedPorts"), 0);
	strs_from_object(&c->volumes, json_object_get(cfg, "Volumes"), 0);
	strs_from_array(&c->cmd, json_object_get(cfg, "Cmd"));
	strs_from_array(&c->entrypoint, json_object_get(cfg, "Entrypoint"));
	strs_from_array(&c->shell, json_object_get(cfg, "Shell"));
	strs_from_array(&c->onbuild, json_object_get(cfg, "OnBuild"));
	c->user = opt_str(cfg, "User");
	c->workdir = opt_str(cfg, "WorkingDir");
	c->stopsignal = opt_str(cfg, "StopSignal");
	c->author = opt_str(img, "author");
	if (json_is_object(h)) {
		c->health = hoist_xcalloc(1, sizeof(*c->health));
		strs_from_array(&c->health->test, json_object_get(h, "Test"));
		c->health->interval =
			json_integer_value(json_object_get(h, "Interval"));
		c->health->timeout =
			json_integer_value(json_object_get(h, "Timeout"));
		c->health->start_period =
			json_integer_value(json_object_get(h, "StartPeriod"));
		c->health->start_interval =
			json_integer_value(json_object_get(h, "StartInterval"));
		c->health->retries =
			(int)json_integer_value(json_object_get(h, "Retries"));
	}
}

static json_t *strs_array(const struct hoist_dfstrs *l)
{
	json_t *a = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static json_t *strs_set(const struct hoist_dfstrs *l)
{
	json_t *o = json_object();
	for (size_t i = 0; i < l->n; i++)
		json_object_set_new(o, l->v[i], json_object());
	return o;
}

static void set_ns(json_t *o, const char *key, int64_t ns)
{
	if (ns)
		json_object_set_new(o, key, json_integer(ns));
}

/* The image config's "config" object for c (Go's field order). */
static json_t *df_to_config(const struct hoist_dfconfig *c)
{
	json_t *o = json_object();

	if (c->user)
		hoist_json_set_str(o, "User", c->user);
	if (c->ports.n)
		json_object_set_new(o, "ExposedPorts", strs_set(&c->ports));
	if (c->env.set || c->env.n)
		json_object_set_new(o, "Env", strs_array(&c->env));
	if (c->entrypoint.set)
		json_object_set_new(o, "Entrypoint",
				    strs_array(&c->entrypoint));
	if (c->cmd.set)
		json_object_set_new(o, "Cmd", strs_array(&c->cmd));
	if (c->volumes.n)
		json_object_set_new(o, "Volumes", strs_set(&c->volumes));
	if (c->workdir)
		hoist_json_set_str(o, "WorkingDir", c->workdir);
	if (c->labels.n) {
		json_t *l = json_object();
		for (size_t i = 0; i < c->labels.n; i++) {
			const char *eq = strchr(c->labels.v[i], '=');
			char *k = eq ? hoist_xstrndup(
					       c->labels.v[i],
					       (size_t)(eq - c->labels.v[i]))
				     : hoist_xstrdup(c->labels.v[i]);
			json_object_set_new(l, k,
					    json_string(eq ? eq + 1 : ""));
			free(k);
		}
		json_object_set_new(o, "Labels", l);
	}
	if (c->stopsignal)
		hoist_json_set_str(o, "StopSignal", c->stopsignal);
	if (c->health) {
		json_t *h = json_object();
		json_object_set_new(h, "Test", strs_array(&c->health->test));
		set_ns(h, "Interval", c->health->interval);
		set_ns(h, "Timeout", c->health->timeout);
		set_ns(h, "StartPeriod", c->health->start_period);
		set_ns(h, "StartInterval", c->health->start_interval);
		set_ns(h, "Retries", c->health->retries);
		json_object_set_new(o, "Healthcheck", h);
	}
	if (c->onbuild.n)
		json_object_set_new(o, "OnBuild", strs_array(&c->onbuild));
	if (c->shell.set)
		json_object_set_new(o, "Shell", strs_array(&c->shell));
	return o;
}

/* ---- stages ---- */

static void stage_release(struct hoist_dfb_stage *st)
{
	json_decref(st->config);
	json_decref(st->layers);
	if (st->rootfs) {
		hoist_fs_rm_rf(st->rootfs, NULL);
		hoist_fs_tmp_unregister(st->rootfs);
		free(st->rootfs);
	}
	memset(st, 0, sizeof(*st));
}

/*
 * Apply the layer of descriptor l onto dir. An eStargz layer's TOC and
 * landmark file are the format's, not the image's: gone from dir after.
 */
static int unpack_desc(struct hoist_dfb *b, const json_t *l, size_t i,
		       const char *dir, struct hoist_err *err)
{
	static const char *const esgz[] = {HOIST_ESTARGZ_TOC_NAME,
					   HOIST_ESTARGZ_PREFETCH,
					   HOIST_ESTARGZ_NO_PREFETCH};
	struct hoist_unpack_opts uo = {-1, 1};
	const char *d = hoist_json_str(l, "digest");
	int rc;

	if (!d)
		return hoist_err_set(err, HOIST_EINVAL,
				     "layer %zu has no digest", i);
	if ((rc = hoist_unpack_layer(b->s, d, dir, &uo, err)))
		return rc;
	if (!json_object_get(json_object_get(l, "annotations"),
			     HOIST_ANN_STARGZ_TOC))
		return 0;
	for (size_t k = 0; k < sizeof(esgz) / sizeof(*esgz); k++) {
		char *p = hoist_xasprintf("%s/%s", dir, esgz[k]);
		struct stat sb;

		if (!lstat(p, &sb) && S_ISREG(sb.st_mode) && unlink(p) < 0)
			rc = hoist_err_sys(err, errno, "'%s'", p);
		free(p);
	}
	return rc;
}

int hoist_dfb_rootfs(struct hoist_dfb *b, struct hoist_dfb_stage *st,
		     struct hoist_err *err)
{
	char *dir = NULL;
	size_t i;
	json_t *l;
	int rc;

	if (st->rootfs)
		return 0;
	if ((rc = hoist_store_mkdtemp(b->s, &dir, err)))
		return rc;
	hoist_fs_tmp_register(dir, 1);
	st->rootfs = dir;
	json_array_foreach(st->layers, i, l)
	{
		if ((rc = unpack_desc(b, l, i, dir, err)))
			return rc;
	}
	return 0;
}

const char *hoist_dfb_context(const struct hoist_dfb *b, const char *name,
			      char **ref)
{
	size_t nl = strlen(name);

	*ref = NULL;
	for (size_t i = b->o->ncontexts; i-- > 0;) {
		const char *c = b->o->contexts[i], *v = c + nl + 1;
		const char *at;

		if (strncmp(c, name, nl) || c[nl] != '=')
			continue;
		if (!strncmp(v, "docker-image://", 15)) {
			*ref = hoist_xstrdup(v + 15);
		} else if (!strncmp(v, "oci-layout://", 13)) {
			v += 13;
			/* DIR@DIGEST, DIR:TAG (a ':' after the last '/'),
			 * else DIR with buildx's default tag */
			at = strrchr(v, '@');
			if (at)
				*ref = hoist_xasprintf("oci:%.*s:%s",
						       (int)(at - v), v,
						       at + 1);
			else if (strrchr(v, ':') &&
				 (!strrchr(v, '/') ||
				  strrchr(v, ':') > strrchr(v, '/')))
				*ref = hoist_xasprintf("oci:%s", v);
			else
				*ref = hoist_xasprintf("oci:%s:latest", v);
		}
		return v;
	}
	return NULL;
}

/* A directory context as an image: no config, its files one layer. */
static int context_dir_image(struct hoist_dfb *b, const char *dir,
			     struct hoist_dfb_stage *st, struct hoist_err *err)
{
	struct hoist_layer l;
	json_t *rootfs = json_object(), *diffs = json_array();
	int empty, rc;

	st->config = json_object();
	st->layers = json_array();
	hoist_json_set_str(rootfs, "type", "layers");
	json_object_set_new(rootfs, "diff_ids", diffs);
	json_object_set_new(st->config, "rootfs", rootfs);
	rc = hoist_dfb_dir_layer(b, dir, &l, &empty, err);
	if (rc)
		return hoist_err_prefix(err, "build context '%s'", dir);
	if (!empty) {
		json_array_append_new(st->layers, hoist_dfb_layer_desc(b, &l));
		json_array_append_new(diffs, json_string(l.diff_id.str));
	}
	hoist_dfb_chain_start(&st->chain, "context", empty ? "" : l.digest.str);
	return 0;
}

int hoist_dfb_read_image(struct hoist_dfb *b, const char *ref,
			 const struct hoist_platform *plat,
			 struct hoist_dfb_stage *st, struct hoist_err *err)
{
	struct hoist_platform p = *plat;
	struct hoist_img_manifest *ms = NULL;
	json_t **bases = NULL;
	size_t n = 0, k;
	char *cref = NULL;
	const char *ctx = hoist_dfb_context(b, ref, &cref);
	int rc;

	if (ctx && !cref)
		return context_dir_image(b, ctx, st, err);
	if (cref)
		ref = cref;
	rc = hoist_base_read(&bases, &p, 1, 1, b->s, ref, b->o->ro, err);
	if (!rc)
		rc = hoist_imgwalk_manifests(&ms, &n, b->s, bases[0], err);
	if (rc)
		goto out;
	for (k = 0; k < n; k++) {
		struct hoist_platform have;
		char txt[128];
		hoist_platform_format(&ms[k].platform, txt, sizeof(txt));
		if (n == 1 || (!hoist_platform_parse(&have, txt, NULL) &&
			       hoist_platform_equal(&have, &p)))
			break;
	}
	if (k == n) {
		char txt[128];
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "image '%s' has no manifest for '%s'", ref,
				   hoist_platform_format(&p, txt, sizeof(txt)));
		goto out;
	}
	if (b->o->images) {
		json_t *im = json_object();
		char txt[128];
		hoist_json_set_str(im, "ref", ref);
		hoist_json_set_str(im, "platform",
				   hoist_platform_format(&p, txt, sizeof(txt)));
		hoist_json_set_str(im, "digest",
				   hoist_json_str(ms[k].desc, "digest"));
		json_array_append_new(b->o->images, im);
	}
	st->config = json_deep_copy(ms[k].config);
	st->layers = json_deep_copy(json_object_get(ms[k].manifest, "layers"));
	hoist_dfb_chain_start(&st->chain, "image",
			      hoist_json_str(ms[k].desc, "digest"));
	if (!json_is_object(st->config) || !json_is_array(st->layers)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "image '%s': no config or layers", ref);
		goto out;
	}
out:
	hoist_imgwalk_manifests_free(ms, n);
	if (bases)
		json_decref(bases[0]);
	free(bases);
	free(cref);
	return rc;
}

int hoist_dfb_image(struct hoist_dfb *b, const char *name,
		    struct hoist_dfb_stage **out, struct hoist_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < b->nimages; i++)
		if (!strcmp(b->image_names[i], name)) {
			*out = &b->images[i];
			return 0;
		}
	b->images = hoist_xreallocarray(b->images, i + 1, sizeof(*b->images));
	b->image_names =
		hoist_xreallocarray(b->image_names, i + 1, sizeof(char *));
	memset(&b->images[i], 0, sizeof(b->images[i]));
	rc = hoist_dfb_read_image(b, name, &b->plat, &b->images[i], err);
	if (rc) {
		stage_release(&b->images[i]);
		return rc;
	}
	b->image_names[i] = hoist_xstrdup(name);
	b->nimages++;
	*out = &b->images[i];
	return 0;
}

static void history_add(json_t *hist, const char *when,
			const struct hoist_dfhistory *h)
{
	json_t *e = json_object();
	hoist_json_set_str(e, "created", when);
	hoist_json_set_str(e, "created_by", h->created_by);
	hoist_json_set_str(e, "comment", "buildkit.dockerfile.v0");
	if (h->empty_layer)
		json_object_set_new(e, "empty_layer", json_true());
	json_array_append_new(hist, e);
}

/* An error about stage idx's FROM line; the message so far follows. */
static int from_error(struct hoist_dfb *b, long idx, int code,
		      struct hoist_err *err)
{
	char msg[HOIST_ERR_MSG_MAX];
	const char *m = err->msg;

	if (!strncmp(m, "--from: ", 8))
		m += 8; /* base.c speaks of the option */
	memmove(msg, m, strlen(m) + 1);
	/* say why a registry was asked at all (offline: no network) */
	if (!strncmp(msg, "pull '", 6))
		return hoist_dockerfile_error(
			err, code, b->df, b->plan->st.stages[idx].from, 0,
			"image '%s' is not in the staging area, and %s",
			b->plan->stages[idx].base, msg);
	return hoist_dockerfile_error(
		err, code, b->df, b->plan->st.stages[idx].from, 0, "%s", msg);
}

void hoist_dfb_layer_opts(const struct hoist_dfb *b,
			  struct hoist_layer_opts *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->compression = b->o->compression;
	lo->level = b->o->level;
	lo->epoch = b->o->file_epoch; /* rewrite-timestamp=true */
}

json_t *hoist_dfb_layer_desc(const struct hoist_dfb *b,
			     const struct hoist_layer *l)
{
	json_t *d = hoist_image_desc(hoist_image_layer_mt(b->o->compression, 1),
				     l->digest.str, l->size);

	if (b->o->compression == HOIST_COMP_ESTARGZ)
		json_object_set_new(
			d, "annotations",
			hoist_build_estargz_ann(&l->toc_digest, l->tar_size));
	return d;
}

/* buildx's name for instruction k of total in stage idx: "[2/4] ", or
 * "[build 2/4] " when the Dockerfile has more than one stage, with the
 * platform in front when several are built: "[linux/arm64 build 2/4] ". */
static char *step_prefix(const struct hoist_dfb *b, long idx, size_t k,
			 size_t total)
{
	const struct hoist_dfstage *sg = &b->plan->stages[idx];
	char *label = NULL, *out, plat[100] = "";
	int width = 1;

	for (size_t t = total; t >= 10; t /= 10)
		width++;
	if (b->multi_platform)
		hoist_platform_format(&b->plat, plat, sizeof(plat));
	if (b->plan->nstages > 1)
		label = sg->name ? hoist_xasprintf("%s ", sg->name)
				 : hoist_xasprintf("stage-%ld ", idx);
	out = hoist_xasprintf("[%s%s%s%*zu/%zu] ", plat, plat[0] ? " " : "",
			      label ? label : "", width, k, total);
	free(label);
	return out;
}

/*
 * Run one filesystem step as a progress step: from the cache when its key
 * has a record (*cached 1), else built and recorded. The stage's chain
 * moves on either way.
 */
static int run_step(struct hoist_dfb *b, struct hoist_dfb_stage *st, long idx,
		    size_t k, const struct hoist_dfstep *step,
		    struct hoist_layer *l, int *empty, struct hoist_err *err)
{
	const struct hoist_dfstage *sg = &b->plan->stages[idx];
	char *prefix = step_prefix(b, idx, k, sg->nsteps + 1);
	struct hoist_layer_opts lo;
	struct hoist_digest key;
	struct hoist_err cerr;
	int keyed = 0, cached = 0, rc = 0;

	hoist_step_begin("%s%s", prefix, step->instr->original);
	free(prefix);
	memset(&lo, 0, sizeof(lo));
	hoist_dfb_layer_opts(b, &lo);
	if (b->o->cache)
		hoist_dfb_step_key(b, st, step, &key, &keyed, err);
	if (keyed)
		cached = hoist_cache_step_get(b->o->cache, &key, &lo, empty, l);
	if (!cached) {
		rc = hoist_dfb_step(b, st, step, l, empty, err);
		hoist_err_clear(&cerr);
		/* sources changed while the step read them: no record (the
		 * check is a stat walk when they did not) */
		if (!rc && keyed) {
			struct hoist_digest again;
			hoist_dfb_step_key(b, st, step, &again, &keyed, &cerr);
			keyed = keyed && !strcmp(again.str, key.str);
		}
		if (!rc && keyed &&
		    hoist_cache_step_put(b->o->cache, &key, &lo, *empty, l,
					 &cerr))
			hoist_log(HOIST_LOG_WARN, "build cache: %s",
				  hoist_err_msg(&cerr));
	}
	if (!rc)
		hoist_dfb_chain_next(&st->chain, *empty, l);
	hoist_step_end(cached, rc ? hoist_err_msg(err) : NULL);
	return rc;
}

/*
 * Read the base of stage idx, once, unless it is an earlier stage (taken
 * when the stage is built): scratch, or an image or --build-context (a
 * context stage's is its own name). A directory context starts as
 * scratch does, its files a first layer. The base's layers are the
 * stage's inherited ones.
 */
static int read_base(struct hoist_dfb *b, long idx, struct hoist_err *err)
{
	const struct hoist_dfstage *sg = &b->plan->stages[idx];
	struct hoist_dfb_stage *st = &b->stages[idx];
	struct hoist_platform plat = b->plat;
	char *cref = NULL;
	int rc;

	if (st->config || sg->base_stage >= 0)
		return 0;
	if (sg->platform && hoist_platform_parse(&plat, sg->platform, err))
		return from_error(b, idx, HOIST_EINVAL, err);
	if (!sg->context && !strcmp(sg->base, "scratch")) {
		st->config = json_object();
		st->layers = json_array();
		hoist_dfb_chain_start(&st->chain, "scratch", "");
		return 0;
	}
	st->have_base = !(hoist_dfb_context(b, sg->base, &cref) && !cref);
	free(cref);
	rc = hoist_dfb_read_image(b, sg->base, &plat, st, err);
	if (rc) {
		stage_release(st);
		return from_error(b, idx, rc, err);
	}
	st->inherited = json_array_size(st->layers);
	return 0;
}

/*
 * The base of every stage to build, read before any is built, as BuildKit
 * resolves its base images first: the ONBUILD triggers a stage runs (its
 * base image's, or those of a context stage it is built on) may copy
 * from stages, which then come first (and may be new to the order, their
 * bases read in turn). A base stage's own ONBUILD lines the plan knew.
 */
static int read_bases(struct hoist_dfb *b, struct hoist_err *err)
{
	int again = 1, rc = 0;

	while (again && !rc) {
		again = 0;
		for (size_t k = 0; k < b->plan->norder && !rc && !again; k++) {
			long idx = b->plan->order[k];
			const struct hoist_dfstage *sg = &b->plan->stages[idx];
			long from = sg->base_stage >= 0 ? sg->base_stage : idx;
			struct hoist_dfconfig c;

			if ((rc = read_base(b, idx, err)) || sg->context ||
			    b->stages[idx].triggers_read)
				continue;
			b->stages[idx].triggers_read = 1;
			if (sg->base_stage >= 0 ? !b->plan->stages[from].context
						: !b->stages[idx].have_base)
				continue;
			config_to_df(&c, b->stages[from].config);
			rc = hoist_dfplan_add_triggers(b->plan, idx, &c.onbuild,
						       &again, err);
			hoist_dfconfig_release(&c);
		}
	}
	return rc;
}

static int build_stage(struct hoist_dfb *b, long idx, struct hoist_err *err)
{
	struct hoist_dfstage *sg = &b->plan->stages[idx];
	struct hoist_dfb_stage *st = &b->stages[idx];
	struct hoist_platform plat = b->plat;
	struct hoist_dfconfig base;
	json_t *hist, *diffs, *rootfs;
	char when[32];
	int have_base = 0, rc = 0;
	size_t step = 0;

	memset(&base, 0, sizeof(base));
	if (sg->platform && hoist_platform_parse(&plat, sg->platform, err))
		return from_error(b, idx, HOIST_EINVAL, err);
	if (sg->base_stage >= 0) {
		const struct hoist_dfb_stage *from = &b->stages[sg->base_stage];
		st->config = json_deep_copy(from->config);
		st->layers = json_deep_copy(from->layers);
		st->chain = from->chain;
		st->inherited = from->inherited;
	} else if ((rc = read_base(b, idx, err))) {
		return rc;
	} else if (st->have_base) {
		config_to_df(&base, st->config);
		have_base = 1;
	}
	rc = hoist_dfplan_walk(b->plan, idx, have_base ? &base : NULL, err);
	if (rc)
		goto out;
	if (have_base) { /* read above; a step for buildx's "FROM" line */
		char *prefix = step_prefix(b, idx, 1, sg->nsteps + 1);
		hoist_step_begin("%sFROM %s", prefix, sg->base);
		hoist_step_end(0, NULL);
		free(prefix);
	}
	hoist_image_time(b->created, when);
	hist = json_object_get(st->config, "history");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(st->config, "history", hist);
	}
	rootfs = json_object_get(st->config, "rootfs");
	if (!json_is_object(rootfs)) {
		rootfs = json_object();
		hoist_json_set_str(rootfs, "type", "layers");
		json_object_set_new(st->config, "rootfs", rootfs);
	}
	diffs = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(diffs)) {
		diffs = json_array();
		json_object_set_new(rootfs, "diff_ids", diffs);
	}
	/* each history entry with a layer is the next filesystem step */
	for (size_t h = 0; h < sg->nhistory; h++) {
		struct hoist_layer l;
		int empty = 1;

		if (!sg->history[h].empty_layer) {
			if (step >= sg->nsteps) {
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "stage %ld: history and "
						   "steps disagree",
						   idx);
				goto out;
			}
			rc = run_step(b, st, idx, step + 2, &sg->steps[step],
				      &l, &empty, err);
			step++;
			if (rc)
				goto out;
		}
		if (empty) {
			sg->history[h].empty_layer = 1;
		} else {
			json_t *d = hoist_dfb_layer_desc(b, &l);

			json_array_append_new(st->layers, d);
			json_array_append_new(diffs,
					      json_string(l.diff_id.str));
			if (st->rootfs &&
			    (rc = unpack_desc(b, d, json_array_size(st->layers),
					      st->rootfs, err)))
				goto out;
		}
		history_add(hist, when, &sg->history[h]);
	}
	json_object_set_new(st->config, "config", df_to_config(&sg->config));
	if (sg->config.author)
		hoist_json_set_str(st->config, "author", sg->config.author);
	hoist_json_set_str(st->config, "architecture", plat.arch);
	hoist_json_set_str(st->config, "os", plat.os);
	if (plat.variant[0])
		hoist_json_set_str(st->config, "variant", plat.variant);
	else
		json_object_del(st->config, "variant");
	hoist_json_set_str(st->config, "created", when);
	json_object_del(st->config, "container_config");
	json_object_del(st->config, "container");
	st->built = 1;
out:
	hoist_dfconfig_release(&base);
	return rc;
}

/* Store stage st's config and manifest; *desc is the manifest's. */
static int put_image(struct hoist_dfb *b, const struct hoist_dfb_stage *st,
		     json_t **desc, struct hoist_err *err)
{
	struct hoist_image_layer *il;
	struct hoist_digest d;
	json_t *cdesc = NULL, *l;
	char *text = NULL;
	size_t len, n = json_array_size(st->layers), i;
	int rc;

	*desc = NULL;
	il = hoist_xcalloc(n + 1, sizeof(*il));
	json_array_foreach(st->layers, i, l)
	{
		const char *mt, *digest;
		uint64_t size;
		if ((rc = hoist_image_desc_get(l, &mt, &digest, &size, err)))
			goto out;
		il[i].digest = digest;
		il[i].size = size;
		il[i].media_type = mt;
		il[i].annotations = json_object_get(l, "annotations");
	}
	if ((rc = hoist_json_dump(&text, &len, st->config, 0, err)) ||
	    (rc = hoist_store_put(b->s, text, len, &d, err)))
		goto out;
	cdesc = hoist_image_desc(HOIST_MT_OCI_CONFIG, d.str, len);
	free(text);
	text = NULL;
	if ((rc = hoist_image_manifest(&text, &len, cdesc, il, n, NULL, 1,
				       err)) ||
	    (rc = hoist_store_put(b->s, text, len, &d, err)))
		goto out;
	*desc = hoist_image_desc(HOIST_MT_OCI_MANIFEST, d.str, len);
	hoist_image_desc_set_platform(*desc, &b->plat);
out:
	free(text);
	free(il);
	json_decref(cdesc);
	return rc;
}

static int read_inputs(struct hoist_dockerfile **df,
		       struct hoist_dockerignore **ig,
		       struct hoist_digest *igdigest,
		       const struct hoist_dfbuild_opts *o,
		       struct hoist_err *err)
{
	char *path = NULL, *data = NULL, *igpath = NULL;
	const char *name;
	size_t len = 0;
	int rc;

	if (!hoist_fs_is_dir(o->context))
		return hoist_err_set(err, HOIST_ENOTFOUND,
				     "build context '%s' is not a directory",
				     o->context);
	if (o->dockerfile && !strcmp(o->dockerfile, "-")) {
		struct hoist_buf in;
		char chunk[65536];
		ssize_t got;
		hoist_buf_init(&in, HOIST_DOCKERFILE_MAX);
		while ((got = read(0, chunk, sizeof(chunk))) > 0)
			if ((rc = hoist_buf_add(&in, chunk, (size_t)got,
						err))) {
				hoist_buf_release(&in);
				return hoist_err_prefix(err, "Dockerfile "
							     "from stdin");
			}
		data = hoist_buf_detach(&in, &len);
		hoist_buf_release(&in);
		name = "Dockerfile";
	} else {
		path = o->dockerfile
			       ? hoist_xstrdup(o->dockerfile)
			       : hoist_xasprintf("%s/Dockerfile", o->context);
		rc = hoist_fs_read_file(&data, &len, path, HOIST_DOCKERFILE_MAX,
					err);
		if (rc)
			goto out;
		name = o->dockerfile_name ? o->dockerfile_name
		       : o->dockerfile    ? o->dockerfile
					  : "Dockerfile";
		igpath = hoist_xasprintf("%s.dockerignore", path);
	}
	rc = hoist_dockerfile_parse(df, name, data, len, err);
	if (rc)
		goto out;
	free(data);
	data = NULL;
	/* Dockerfile.dockerignore next to the Dockerfile wins */
	if (!igpath || !hoist_fs_exists(igpath)) {
		free(igpath);
		igpath = hoist_xasprintf("%s/.dockerignore", o->context);
	}
	if (hoist_fs_exists(igpath)) {
		rc = hoist_fs_read_file(&data, &len, igpath,
					HOIST_DOCKERIGNORE_MAX, err);
		if (!rc)
			rc = hoist_dockerignore_parse(ig, igpath, data, len,
						      err);
		if (!rc) { /* a step's key covers what it leaves out */
			char hex[HOIST_SHA256_HEXLEN + 1];
			hoist_sha256_hex(data, len, hex);
			hoist_digest_from_sha256_hex(igdigest, hex);
		}
	}
out:
	free(path);
	free(igpath);
	free(data);
	return rc;
}

/* --build-context NAME=VALUE, each checked before anything is read. */
static int check_contexts(const struct hoist_dfbuild_opts *o,
			  struct hoist_err *err)
{
	for (size_t i = 0; i < o->ncontexts; i++) {
		const char *c = o->contexts[i], *eq = strchr(c, '=');
		const char *v = eq ? eq + 1 : "";
		int bad = !eq || eq == c || !*v;

		if (!bad && !strncmp(v, "docker-image://", 15))
			bad = !v[15];
		else if (!bad && !strncmp(v, "oci-layout://", 13))
			bad = !v[13] || v[13] == ':' || v[13] == '@';
		else if (!bad && strstr(v, "://"))
			return hoist_err_set(err, HOIST_EUNSUPPORTED,
					     "--build-context '%s': hoist "
					     "takes a directory, "
					     "docker-image:// or oci-layout://",
					     c);
		else if (!bad && !hoist_fs_is_dir(v))
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "--build-context '%s': '%s' is "
					     "not a directory",
					     c, v);
		if (bad)
			return hoist_err_set(
				err, HOIST_EINVAL,
				"invalid --build-context '%s': want "
				"NAME=DIR|docker-image://REF|oci-layout://"
				"DIR[:TAG|@DIGEST]",
				c);
	}
	return 0;
}

int hoist_dfbuild_run(json_t ***bases, size_t **inherited,
		      const struct hoist_platform *plats, size_t nplats,
		      struct hoist_store *s, const struct hoist_dfbuild_opts *o,
		      struct hoist_err *err)
{
	struct hoist_dockerfile *df = NULL;
	struct hoist_dockerignore *ig = NULL;
	struct hoist_dfplan_opts po;
	struct hoist_dfb b;
	const char **args;
	size_t nargs = 0;
	int rc;

	*bases = hoist_xcalloc(nplats + 1, sizeof(**bases));
	*inherited = hoist_xcalloc(nplats + 1, sizeof(**inherited));
	args = hoist_xcalloc(o->nbuild_args + 1, sizeof(*args));
	memset(&b, 0, sizeof(b));
	rc = check_contexts(o, err);
	if (!rc)
		rc = read_inputs(&df, &ig, &b.ignore_digest, o, err);
	if (rc)
		goto out;
	/* --build-arg K takes K from the environment, when it is set */
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		if (strchr(a, '=')) {
			args[nargs++] = hoist_xstrdup(a);
		} else if (getenv(a)) {
			args[nargs++] = hoist_xasprintf("%s=%s", a, getenv(a));
		}
	}
	b.s = s;
	b.o = o;
	b.df = df;
	b.ignore = ig;
	b.created = o->epoch >= 0 ? o->epoch : (int64_t)time(NULL);
	for (size_t p = 0; p < nplats && !rc; p++) {
		memset(&po, 0, sizeof(po));
		po.target = o->target;
		po.build_args = args;
		po.nbuild_args = nargs;
		po.target_platform = plats[p];
		po.contexts = o->contexts;
		po.ncontexts = o->ncontexts;
		hoist_platform_host(&po.build_platform);
		b.plat = plats[p];
		b.multi_platform = nplats > 1;
		rc = hoist_dfplan_new(&b.plan, df, &po, err);
		if (rc)
			break;
		b.stages =
			hoist_xcalloc(b.plan->nstages + 1, sizeof(*b.stages));
		rc = read_bases(&b, err);
		for (size_t k = 0; k < b.plan->norder && !rc; k++)
			rc = build_stage(&b, b.plan->order[k], err);
		if (!rc)
			rc = put_image(&b, &b.stages[b.plan->target],
				       &(*bases)[p], err);
		(*inherited)[p] = b.stages[b.plan->target].inherited;
		for (size_t k = 0; k < b.plan->nstages; k++)
			stage_release(&b.stages[k]);
		free(b.stages);
		b.stages = NULL;
		for (size_t k = 0; k < b.nimages; k++) {
			stage_release(&b.images[k]);
			free(b.image_names[k]);
		}
		free(b.images);
		free(b.image_names);
		b.images = NULL;
		b.image_names = NULL;
		b.nimages = 0;
		hoist_dfplan_free(b.plan);
		b.plan = NULL;
	}
out:
	if (rc) {
		for (size_t p = 0; p < nplats; p++)
			json_decref((*bases)[p]);
		free(*bases);
		*bases = NULL;
		free(*inherited);
		*inherited = NULL;
	}
	for (size_t i = 0; i < nargs; i++)
		free((char *)args[i]);
	free(args);
	hoist_dockerignore_free(ig);
	hoist_dockerfile_free(df);
	return rc;
}
