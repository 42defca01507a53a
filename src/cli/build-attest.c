/*
 * build-attest.c: the attestations `hoist build` was asked for (see
 * build-attest.h). The provenance's parameters are the build's options;
 * its materials are the base images by manifest digest (--from, or every
 * image a Dockerfile read) and, added when the image is attached, the
 * layer trees by diff ID. The SBOM reads the built image's layers.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/build-attest.h"
#include "lib/dfcontext-int.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

/* Add a parameter: ba takes key and value (heap strings). */
static void param(struct hoist_build_attest *ba, char *key, char *value,
		  int secret)
{
	if (ba->nparams == ba->maxparams) {
		ba->maxparams = ba->maxparams ? 2 * ba->maxparams : 16;
		ba->params = hoist_xreallocarray(ba->params, ba->maxparams,
						 sizeof(*ba->params));
	}
	ba->params[ba->nparams].key = key;
	ba->params[ba->nparams].value = value;
	ba->params[ba->nparams++].max_only = secret;
}

/* Add a material (uri a heap string ba takes) unless it is there. */
static void material(struct hoist_build_attest *ba, char *uri,
		     const char *digest, const struct hoist_platform *p)
{
	for (size_t i = 0; i < ba->nmats; i++)
		if (!strcmp(ba->mats[i].uri, uri) &&
		    !strcmp(ba->mats[i].digest, digest) &&
		    ba->mats[i].platform == p) {
			free(uri);
			return;
		}
	ba->mats =
		hoist_xreallocarray(ba->mats, ba->nmats + 1, sizeof(*ba->mats));
	ba->mats[ba->nmats].uri = uri;
	ba->mats[ba->nmats].digest = digest;
	ba->mats[ba->nmats++].platform = p;
}

/* ref as a package URL for platform p, or ref itself (a transport) */
static char *image_uri(const char *ref, const struct hoist_platform *p)
{
	char *uri = NULL;

	if (hoist_attest_purl(&uri, ref, p, NULL))
		uri = hoist_xstrdup(ref);
	return uri;
}

static void flags_params(struct hoist_build_attest *ba,
			 const struct hoist_build_opts *bo, const char *from)
{
	const struct hoist_image_runconfig *rc = &bo->rc;

	if (from)
		param(ba, hoist_xstrdup("from"), hoist_xstrdup(from), 0);
	for (size_t i = 0; i < bo->nlayers; i++) {
		char pl[100] = "";
		if (bo->layers[i].platform)
			hoist_platform_format(bo->layers[i].platform, pl,
					      sizeof(pl));
		param(ba, hoist_xasprintf("layer:%zu", i),
		      hoist_xasprintf("%s%s%s", pl, pl[0] ? "=" : "",
				      bo->layers[i].dir),
		      0);
	}
	if (rc->workdir)
		param(ba, hoist_xstrdup("workdir"), hoist_xstrdup(rc->workdir),
		      0);
	if (rc->user)
		param(ba, hoist_xstrdup("user"), hoist_xstrdup(rc->user), 0);
	if (rc->stop_signal)
		param(ba, hoist_xstrdup("stop-signal"),
		      hoist_xstrdup(rc->stop_signal), 0);
	for (size_t i = 0; i < rc->nexposed; i++)
		param(ba, hoist_xasprintf("expose:%zu", i),
		      hoist_xstrdup(rc->exposed[i]), 0);
	for (size_t i = 0; i < rc->nvolumes; i++)
		param(ba, hoist_xasprintf("volume:%zu", i),
		      hoist_xstrdup(rc->volumes[i]), 0);
	for (size_t i = 0; i < rc->nenv; i++)
		param(ba, hoist_xasprintf("env:%zu", i),
		      hoist_xstrdup(rc->env[i]), 1);
	for (size_t i = 0; i < rc->nlabels; i++)
		param(ba, hoist_xasprintf("label:%zu", i),
		      hoist_xstrdup(rc->labels[i]), 1);
}

/* "K=V" or "K" (from the environment, skipped when unset) as buildx */
static void build_arg(struct hoist_build_attest *ba, const char *a)
{
	const char *eq = strchr(a, '=');
	const char *v = eq ? eq + 1 : getenv(a);
	size_t n = eq ? (size_t)(eq - a) : strlen(a);

	if (v)
		param(ba, hoist_xasprintf("build-arg:%.*s", (int)n, a),
		      hoist_xstrdup(v), 1);
}

static void dockerfile_inputs(struct hoist_build_attest *ba,
			      const struct hoist_build_opts *bo,
			      const struct hoist_dfbuild_opts *dfo,
			      const char *context)
{
	size_t i;
	json_t *im;

	param(ba, hoist_xstrdup("context"), hoist_dfctx_redact(context), 0);
	param(ba, hoist_xstrdup("filename"),
	      hoist_xstrdup(dfo->dockerfile_name ? dfo->dockerfile_name
			    : dfo->dockerfile    ? dfo->dockerfile
						 : "Dockerfile"),
	      0);
	if (dfo->target)
		param(ba, hoist_xstrdup("target"), hoist_xstrdup(dfo->target),
		      0);
	for (i = 0; i < dfo->nbuild_args; i++)
		build_arg(ba, dfo->build_args[i]);
	for (i = 0; i < dfo->ncontexts; i++) {
		const char *c = dfo->contexts[i], *eq = strchr(c, '=');
		if (eq)
			param(ba,
			      hoist_xasprintf("build-context:%.*s",
					      (int)(eq - c), c),
			      hoist_dfctx_redact(eq + 1), 0);
	}
	json_array_foreach(dfo->images, i, im)
	{
		const char *ref = hoist_json_str(im, "ref");
		const char *plat = hoist_json_str(im, "platform");
		const char *d = hoist_json_str(im, "digest");
		for (size_t k = 0; ref && plat && d && k < bo->nplatforms;
		     k++) {
			char txt[100];
			hoist_platform_format(&bo->platforms[k], txt,
					      sizeof(txt));
			if (strcmp(txt, plat))
				continue;
			material(ba, image_uri(ref, &bo->platforms[k]), d,
				 &bo->platforms[k]);
			break;
		}
	}
}

void hoist_build_attest_setup(struct hoist_build_attest *ba,
			      const struct hoist_attest_req *r,
			      const struct hoist_build_opts *bo,
			      const char *from, const char *platform,
			      const struct hoist_dfbuild_opts *dfo,
			      const char *context)
{
	struct hoist_attest_opts *ao = &ba->opts;

	if (platform)
		param(ba, hoist_xstrdup("platform"), hoist_xstrdup(platform),
		      0);
	if (dfo)
		dockerfile_inputs(ba, bo, dfo, context);
	flags_params(ba, bo, from);
	for (size_t i = 0; from && bo->bases && i < bo->nplatforms; i++) {
		const char *d = bo->bases[i]
					? hoist_json_str(bo->bases[i], "digest")
					: NULL;
		if (d)
			material(ba, image_uri(from, &bo->platforms[i]), d,
				 &bo->platforms[i]);
	}
	ba->dirs = hoist_xcalloc(bo->nlayers + 1, sizeof(*ba->dirs));
	ba->dplats = hoist_xcalloc(bo->nlayers + 1, sizeof(*ba->dplats));
	for (size_t i = 0; i < bo->nlayers; i++) {
		ba->dirs[i] = bo->layers[i].dir;
		ba->dplats[i] = bo->layers[i].platform;
	}
	ao->provenance = r->provenance == 1;
	ao->prov.mode = r->mode;
	ao->prov.builder_id = r->builder_id;
	ao->prov.v1 = r->v1;
	ao->prov.materials = ba->mats;
	ao->prov.nmaterials = ba->nmats;
	ao->prov.params = ba->params;
	ao->prov.nparams = ba->nparams;
	ao->prov.started = time(NULL);
	ao->prov.finished = ao->prov.started;
	ao->prov.epoch = bo->epoch;
	ao->prov.version = PACKAGE_VERSION;
	ao->sbom = r->sbom == 1;
	ao->dirs = ba->dirs;
	ao->dir_platforms = ba->dplats;
	ao->ndirs = bo->nlayers;
	ao->artifact = 1;
	ao->created = bo->epoch >= 0 ? bo->epoch : ao->prov.started;
}

void hoist_build_attest_release(struct hoist_build_attest *ba)
{
	for (size_t i = 0; i < ba->nparams; i++) {
		free((char *)ba->params[i].key);
		free((char *)ba->params[i].value);
	}
	for (size_t i = 0; i < ba->nmats; i++)
		free((char *)ba->mats[i].uri);
	free(ba->params);
	free(ba->mats);
	free(ba->dirs);
	free(ba->dplats);
	memset(ba, 0, sizeof(*ba));
}
