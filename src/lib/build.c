/*
 * build.c: from layer directories and a run configuration to manifests in
 * the store. Layers are kept per (directory, compression, level), so
 * several outputs of one build never tar a tree twice for the same
 * compression; across builds, the build cache (cache.h) reuses them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>

#include "lib/build.h"
#include "lib/imgwalk.h"
#include "lib/layer.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

struct built_layer {
	size_t dir;
	enum hoist_compression compression;
	int level;
	int64_t epoch; /* file times clamped to it, or -1 */
	struct hoist_layer layer;
	json_t *ann; /* its descriptor's annotations (estargz), or NULL */
};

struct recompressed {
	char from[HOIST_DIGEST_MAX];
	enum hoist_compression compression;
	int level;
	struct hoist_digest digest;
	uint64_t size;
	struct hoist_estargz_result esgz; /* estargz only */
	json_t *ann;                      /* estargz only, else NULL */
};

struct hoist_build {
	struct hoist_store *store;
	struct hoist_build_opts opts;
	struct hoist_img_manifest *base; /* the base's platform manifests */
	size_t *base_inherited;          /* of each (opts.base_inherited) */
	size_t nbase;
	struct recompressed **recomp; /* pointers stay valid as it grows */
	size_t nrecomp;
	int64_t created;
	struct built_layer **layers; /* pointers stay valid as it grows */
	size_t nlayers;
	pthread_mutex_t lock; /* layers, when several are built at once */
};

int hoist_build_new(struct hoist_build **out, struct hoist_store *s,
		    const struct hoist_build_opts *opts, struct hoist_err *err)
{
	struct hoist_build *b;

	if (!opts->nplatforms)
		return hoist_err_set(err, HOIST_EINVAL, "no platform given");
	b = hoist_xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->store = s;
	b->opts = *opts;
	b->created = opts->epoch >= 0 ? opts->epoch : (int64_t)time(NULL);
	for (size_t i = 0; opts->bases && i < opts->nplatforms; i++) {
		struct hoist_img_manifest *ms = NULL;
		size_t n = 0;
		int rc = hoist_imgwalk_manifests(&ms, &n, s, opts->bases[i],
						 err);
		if (rc) {
			hoist_build_free(b);
			return hoist_err_prefix(err, "base image");
		}
		b->base = hoist_xreallocarray(b->base, b->nbase + n,
					      sizeof(*b->base));
		b->base_inherited = hoist_xreallocarray(
			b->base_inherited, b->nbase + n, sizeof(size_t));
		memcpy(b->base + b->nbase, ms, n * sizeof(*ms));
		for (size_t k = 0; k < n; k++)
			b->base_inherited[b->nbase + k] =
				opts->base_inherited ? opts->base_inherited[i]
						     : SIZE_MAX;
		b->nbase += n;
		free(ms);
	}
	*out = b;
	return 0;
}

void hoist_build_free(struct hoist_build *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nlayers; i++) {
		json_decref(b->layers[i]->ann);
		free(b->layers[i]);
	}
	free(b->layers);
	hoist_imgwalk_manifests_free(b->base, b->nbase);
	free(b->base_inherited);
	for (size_t i = 0; i < b->nrecomp; i++) {
		json_decref(b->recomp[i]->ann);
		free(b->recomp[i]);
	}
	free(b->recomp);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

json_t *hoist_build_estargz_ann(const struct hoist_digest *toc, uint64_t usize)
{
	char n[24];

	snprintf(n, sizeof(n), "%llu", (unsigned long long)usize);
	return json_pack("{s:s, s:s}", HOIST_ANN_STARGZ_TOC, toc->str,
			 HOIST_ANN_ESTARGZ_USIZE, n);
}

/* The epoch an output's image uses, -1 for none. */
static int64_t spec_epoch(const struct hoist_build *b,
			  const struct hoist_image_spec *spec)
{
	return spec->has_epoch ? spec->epoch : b->opts.epoch;
}

/* A layer being written, as a pipelined push sees it (feed.h). */
struct fed_layer {
	struct hoist_feed *feed;
	char key[32];
	int announced;
};

static void fed_ingest(void *ctx, int fd)
{
	struct fed_layer *f = ctx;

	hoist_feed_add(f->feed, f->key);
	hoist_feed_ingest(f->feed, f->key, fd);
	f->announced = 1;
}

/* A push that failed stops the build: nobody would send its layers. */
static int fed_progress(void *ctx, uint64_t have, struct hoist_err *err)
{
	struct fed_layer *f = ctx;

	hoist_feed_progress(f->feed, f->key, have);
	return hoist_feed_aborted(f->feed, err);
}

/* The layer of dir already made for spec's kind, or NULL. */
static struct built_layer *find_layer(struct hoist_build *b, size_t dir,
				      const struct hoist_image_spec *spec,
				      int64_t epoch)
{
	struct built_layer *bl, *found = NULL;

	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->nlayers && !found; i++) {
		bl = b->layers[i];
		if (bl->dir == dir && bl->compression == spec->compression &&
		    bl->level == spec->level && bl->epoch == epoch)
			found = bl;
	}
	pthread_mutex_unlock(&b->lock);
	return found;
}

/* File times are clamped only with rewrite-timestamp, as BuildKit. */
static int64_t layer_epoch(const struct hoist_build *b,
			   const struct hoist_image_spec *spec)
{
	return spec->rewrite_timestamp ? spec_epoch(b, spec) : -1;
}

/*
 * The layer of dir for spec: made once, then shared. threads > 0: its
 * compressor's threads (layers built at once share the cores).
 */
static int get_layer(struct hoist_build *b, size_t dir,
		     const struct hoist_image_spec *spec, int threads,
		     const struct built_layer **out, struct hoist_err *err)
{
	struct hoist_layer_opts lo;
	struct hoist_layer_hooks hooks;
	struct fed_layer fed;
	struct built_layer *bl;
	int hit, rc;

	int64_t epoch = layer_epoch(b, spec);

	if ((*out = find_layer(b, dir, spec, epoch)) != NULL)
		return 0;
	memset(&lo, 0, sizeof(lo));
	lo.compression = spec->compression;
	lo.level = spec->level;
	lo.epoch = epoch;
	lo.threads = threads;
	if (spec->feed) {
		/* announced only if it is written, not from the cache */
		memset(&fed, 0, sizeof(fed));
		fed.feed = spec->feed;
		snprintf(fed.key, sizeof(fed.key), "layer %zu", dir + 1);
		hooks.ctx = &fed;
		hooks.ingest = fed_ingest;
		hooks.progress = fed_progress;
		lo.hooks = &hooks;
	}
	bl = hoist_xcalloc(1, sizeof(*bl));
	/* a progress step per layer, as BuildKit's "[2/3] COPY ..." */
	hoist_step_begin("[%zu/%zu] ADD %s /", dir + 1, b->opts.nlayers,
			 b->opts.layers[dir].dir);
	rc = hoist_cache_layer_from_dir(&bl->layer, &hit, b->opts.cache,
					b->store, b->opts.layers[dir].dir, &lo,
					err);
	if (spec->feed && fed.announced)
		hoist_feed_done(spec->feed, fed.key, rc, err,
				bl->layer.digest.str, bl->layer.size);
	if (rc) {
		hoist_step_end(0, hoist_err_msg(err));
		free(bl);
		return rc; /* the layer engine names the directory */
	}
	hoist_log(HOIST_LOG_INFO, "%s layer %zu from '%s' (%s)",
		  hit ? "cached" : "built", dir + 1, b->opts.layers[dir].dir,
		  hoist_compression_name(spec->compression));
	hoist_step_end(hit, NULL);
	bl->dir = dir;
	bl->epoch = epoch;
	bl->compression = spec->compression;
	bl->level = spec->level;
	if (spec->compression == HOIST_COMP_ESTARGZ)
		bl->ann = hoist_build_estargz_ann(&bl->layer.toc_digest,
						  bl->layer.tar_size);
	pthread_mutex_lock(&b->lock);
	b->layers = hoist_xreallocarray(b->layers, b->nlayers + 1,
					sizeof(*b->layers));
	b->layers[b->nlayers++] = bl;
	pthread_mutex_unlock(&b->lock);
	*out = bl;
	return 0;
}

/* ---- several layers at once ---- */

/* Layers built at once: the machine's 2 cores, one compressor each. */
#define PAR_LAYERS 2

struct par {
	struct hoist_build *b;
	const struct hoist_image_spec *spec;
	size_t *dirs, n, next;
	int step; /* the starter's progress step */
	pthread_mutex_t lock;
	int rc; /* the first failure */
	struct hoist_err err;
};

static void *par_worker(void *ctx)
{
	struct par *p = ctx;
	const struct built_layer *got;
	struct hoist_err err;
	size_t dir;
	int rc;

	hoist_step_adopt(p->step);
	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->rc || p->next == p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		dir = p->dirs[p->next++];
		pthread_mutex_unlock(&p->lock);
		hoist_err_clear(&err);
		rc = get_layer(p->b, dir, p->spec, 1, &got, &err);
		pthread_mutex_lock(&p->lock);
		if (rc && !p->rc) {
			p->rc = rc;
			p->err = err;
		}
		pthread_mutex_unlock(&p->lock);
	}
}

/*
 * Make the layers spec's image needs that are not made yet, PAR_LAYERS at
 * a time, each compressor on one thread (the output does not depend on
 * it): while one layer waits on the disk or the tar writer, the other
 * compresses, and a pipelined push gets both as they come. With fewer
 * than two to make, the manifests make them one by one as before.
 */
static int build_layers(struct hoist_build *b,
			const struct hoist_image_spec *spec,
			struct hoist_err *err)
{
	struct par p;
	pthread_t th[PAR_LAYERS];
	size_t nth = 0;
	int64_t epoch = layer_epoch(b, spec);

	memset(&p, 0, sizeof(p));
	p.dirs = hoist_xcalloc(b->opts.nlayers + 1, sizeof(*p.dirs));
	for (size_t i = 0; i < b->opts.nlayers; i++) {
		const struct hoist_platform *only = b->opts.layers[i].platform;
		int wanted = !only;
		for (size_t k = 0; only && k < b->opts.nplatforms; k++)
			wanted |= hoist_platform_equal(only,
						       &b->opts.platforms[k]);
		if (wanted && !find_layer(b, i, spec, epoch))
			p.dirs[p.n++] = i;
	}
	if (p.n >= 2) {
		p.b = b;
		p.spec = spec;
		p.step = hoist_step_current();
		pthread_mutex_init(&p.lock, NULL);
		while (nth < PAR_LAYERS && nth < p.n &&
		       pthread_create(&th[nth], NULL, par_worker, &p) == 0)
			nth++;
		if (nth == 0)
			par_worker(&p); /* no thread: here, one by one */
		for (size_t i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
		pthread_mutex_destroy(&p.lock);
		if (p.rc)
			*err = p.err;
	}
	free(p.dirs);
	return p.rc;
}

static json_t *merge_ann(const json_t *base, const json_t *extra)
{
	json_t *o = json_object();
	if (base)
		json_object_update(o, (json_t *)base);
	if (extra)
		json_object_update(o, (json_t *)extra);
	return o;
}

/* The annotations for one platform: the general ones, then its own. */
static json_t *plat_ann(const json_t *all, const json_t *by_plat,
			const struct hoist_platform *p)
{
	char name[128];
	json_t *o = merge_ann(all, NULL);
	const char *k;
	json_t *v;
	struct hoist_platform q;

	hoist_platform_format(p, name, sizeof(name));
	json_object_foreach((json_t *)by_plat, k, v)
	{
		if (hoist_platform_parse(&q, k, NULL) == 0 &&
		    hoist_platform_equal(&q, p))
			json_object_update(o, v);
	}
	return o;
}

/* Every platform named in a platform-qualified annotation must exist. */
static int check_plat_ann(const struct hoist_build *b, const json_t *by_plat,
			  struct hoist_err *err)
{
	const char *k;
	json_t *v;
	struct hoist_platform q;

	json_object_foreach((json_t *)by_plat, k, v)
	{
		size_t i;
		int rc = hoist_platform_parse(&q, k, err);
		if (rc)
			return hoist_err_prefix(err, "invalid annotation");
		for (i = 0; i < b->opts.nplatforms; i++)
			if (hoist_platform_equal(&q, &b->opts.platforms[i]))
				break;
		if (i == b->opts.nplatforms)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid annotation: no platform "
					     "%s found in source",
					     k);
	}
	return 0;
}

/* Store text as a blob and return its descriptor. */
static int put_json(struct hoist_build *b, const char *mt, char *text,
		    size_t len, json_t **desc, struct hoist_digest *dg,
		    struct hoist_err *err)
{
	struct hoist_digest d;
	int rc = hoist_store_put(b->store, text, len, &d, err);
	free(text);
	if (rc)
		return rc;
	*desc = hoist_image_desc(mt, d.str, len);
	if (dg)
		*dg = d;
	return 0;
}

/* The compression a layer media type says, or -1 for other types. */
static int mt_compression(const char *mt)
{
	size_t n;

	if (!hoist_image_mt_is_layer(mt) || strstr(mt, "nondistributable") ||
	    strstr(mt, "foreign"))
		return -1;
	n = strlen(mt);
	if (n >= 4 && strcmp(mt + n - 4, "gzip") == 0)
		return HOIST_COMP_GZIP;
	if (n >= 4 && strcmp(mt + n - 4, "zstd") == 0)
		return HOIST_COMP_ZSTD;
	if (n >= 3 && strcmp(mt + n - 3, "tar") == 0)
		return HOIST_COMP_NONE;
	return -1;
}

static int recomp_sink(void *ctx, const void *data, size_t len,
		       struct hoist_err *err)
{
	return hoist_ingest_write(ctx, data, len, err);
}

static int comp_sink(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	return hoist_compressor_write(ctx, data, len, err);
}

/*
 * force-compression: a base layer in another compression is decompressed
 * and compressed again (its digest changes; its diff_id stays, except
 * that an eStargz blob gunzips to a new stream: then r->esgz has the new
 * one). Cached, so several outputs or platforms sharing it pay once.
 */
static int recompress(struct hoist_build *b, const char *digest,
		      enum hoist_compression from,
		      const struct hoist_image_spec *spec,
		      const struct recompressed **out, struct hoist_err *err)
{
	struct hoist_ingest *in = NULL;
	struct hoist_compressor *comp = NULL;
	struct hoist_decompressor *dec = NULL;
	struct hoist_sink to_ingest, to_comp;
	struct recompressed r;
	struct hoist_err cerr;
	char *path = NULL, *buf = NULL;
	int fd = -1, rc;

	for (size_t i = 0; i < b->nrecomp; i++)
		if (strcmp(b->recomp[i]->from, digest) == 0 &&
		    b->recomp[i]->compression == spec->compression &&
		    b->recomp[i]->level == spec->level) {
			*out = b->recomp[i];
			return 0;
		}
	memset(&r, 0, sizeof(r));
	if (hoist_cache_recomp_get(b->opts.cache, digest, spec->compression,
				   spec->level, &r.digest, &r.size, &r.esgz)) {
		hoist_log(HOIST_LOG_INFO, "cached base layer %.19s in %s",
			  digest, hoist_compression_name(spec->compression));
		goto done;
	}
	hoist_log(HOIST_LOG_INFO, "recompressing base layer %.19s to %s",
		  digest, hoist_compression_name(spec->compression));
	rc = hoist_ingest_open(&in, b->store, err);
	if (rc)
		return rc;
	to_ingest.write = recomp_sink;
	to_ingest.ctx = in;
	rc = hoist_compressor_new(&comp, spec->compression, spec->level,
				  &to_ingest, err);
	if (rc)
		goto out;
	to_comp.write = comp_sink;
	to_comp.ctx = comp;
	rc = hoist_decompressor_new(&dec, from, &to_comp, err);
	if (rc)
		goto out;
	path = hoist_store_blob_path(b->store, digest);
	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "base layer '%s'", digest);
		goto out;
	}
	buf = hoist_xmalloc(1 << 18);
	for (;;) {
		size_t got;
		rc = hoist_fs_read_full(fd, buf, 1 << 18, &got, digest, err);
		if (rc || !got)
			break;
		rc = hoist_decompressor_write(dec, buf, got, err);
		if (rc)
			break;
	}
	if (!rc)
		rc = hoist_decompressor_finish(dec, err);
	if (!rc)
		rc = hoist_compressor_finish(comp, err);
	if (!rc && spec->compression == HOIST_COMP_ESTARGZ)
		(void)hoist_compressor_estargz(comp, &r.esgz);
	if (!rc) {
		rc = hoist_ingest_commit(in, NULL, &r.digest, &r.size, err);
		in = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	hoist_decompressor_free(dec);
	hoist_compressor_free(comp);
	hoist_ingest_abort(in);
	if (rc)
		return hoist_err_prefix(err, "recompress base layer '%s'",
					digest);
	if (hoist_cache_recomp_put(b->opts.cache, digest, spec->compression,
				   spec->level, &r.digest, r.size, &r.esgz,
				   &cerr))
		hoist_log(HOIST_LOG_WARN, "build cache: %s",
			  hoist_err_msg(&cerr));
done:
	snprintf(r.from, sizeof(r.from), "%s", digest);
	r.compression = spec->compression;
	r.level = spec->level;
	if (spec->compression == HOIST_COMP_ESTARGZ)
		r.ann = hoist_build_estargz_ann(&r.esgz.toc_digest,
						r.esgz.uncompressed_size);
	b->recomp = hoist_xreallocarray(b->recomp, b->nrecomp + 1,
					sizeof(*b->recomp));
	b->recomp[b->nrecomp] = hoist_xmalloc(sizeof(r));
	*b->recomp[b->nrecomp] = r;
	*out = b->recomp[b->nrecomp++];
	return 0;
}

/* The base manifest for a platform, or an error naming the platform. */
static int base_for(const struct hoist_build *b,
		    const struct hoist_platform *plat,
		    const struct hoist_img_manifest **out,
		    struct hoist_err *err)
{
	char name[128];

	*out = NULL;
	if (!b->nbase)
		return 0;
	for (size_t i = 0; i < b->nbase; i++) {
		struct hoist_platform p;
		char have[128];
		hoist_platform_format(&b->base[i].platform, have, sizeof(have));
		if (hoist_platform_parse(&p, have, NULL) == 0 &&
		    hoist_platform_equal(&p, plat)) {
			*out = &b->base[i];
			return 0;
		}
	}
	hoist_platform_format(plat, name, sizeof(name));
	return hoist_err_set(err, HOIST_ENOTFOUND,
			     "base image has no manifest for platform '%s'",
			     name);
}

/*
 * A base layer recompressed to eStargz gunzips to a new stream: the
 * config inherited from the base (copied into *cfg on first use) gets its
 * new diff_id.
 */
static int set_base_diff_id(json_t **cfg, const struct hoist_img_manifest *base,
			    size_t i, const struct hoist_digest *diff_id,
			    size_t nlayers, struct hoist_err *err)
{
	json_t *ids;

	if (!*cfg)
		*cfg = json_deep_copy(base->config);
	ids = json_object_get(json_object_get(*cfg, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != nlayers)
		return hoist_err_set(err, HOIST_EINVAL,
				     "base image config lists %zu diff_ids "
				     "for %zu layers",
				     json_array_size(ids), nlayers);
	json_array_set_new(ids, i, json_string(diff_id->str));
	return 0;
}

/*
 * Whether layer i of base is compressed again when spec asks another
 * compression: with force-compression, or when the build that made the
 * base made that layer (after its inherited ones), as BuildKit
 * compresses the layers a build creates; not for an image that is only
 * unpacked.
 */
static int recompress_base(const struct hoist_build *b,
			   const struct hoist_image_spec *spec,
			   const struct hoist_img_manifest *base, size_t i)
{
	if (spec->force_compression)
		return 1;
	return !spec->unpack_only &&
	       i >= b->base_inherited[(size_t)(base - b->base)];
}

/*
 * An output's source-date-epoch= clamps the history as BuildKit does: the
 * entries after the base image's (those of its first inherited layers;
 * none are for a --from base, whose history stays as it is) that have no
 * time or a later one get the epoch. The config inherited from the base
 * is copied into *cfg on the first change.
 */
static void clamp_history(json_t **cfg, const struct hoist_img_manifest *base,
			  size_t inherited, int64_t epoch)
{
	json_t *hist = json_object_get(*cfg ? *cfg : base->config, "history");
	json_t *h;
	size_t i, layers = 0;
	char when[32];

	if (epoch < 0 || inherited == SIZE_MAX || !json_is_array(hist))
		return;
	hoist_image_time(epoch, when);
	json_array_foreach(hist, i, h)
	{
		const char *c = hoist_json_str(h, "created");
		int64_t t = c ? hoist_scan_rfc3339(c) : -1;
		if (layers < inherited) {
			layers += !json_is_true(
				json_object_get(h, "empty_layer"));
			continue;
		}
		if (t >= 0 && t <= epoch)
			continue;
		if (!*cfg) {
			*cfg = json_deep_copy(base->config);
			hist = json_object_get(*cfg, "history");
			h = json_array_get(hist, i);
		}
		hoist_json_set_str(h, "created", when);
	}
}

static int build_manifest(struct hoist_build *b,
			  const struct hoist_image_spec *spec,
			  const struct hoist_platform *plat, json_t **desc,
			  struct hoist_digest *config_digest,
			  struct hoist_err *err)
{
	const struct hoist_img_manifest *base = NULL;
	size_t nbase = 0, nnew = 0, n = 0;
	struct hoist_image_layer *il;
	char **created_by;
	json_t *cfg_desc = NULL, *ann = NULL, *bl = NULL, *base_cfg = NULL;
	char *text = NULL;
	size_t len;
	int rc;

	rc = base_for(b, plat, &base, err);
	if (rc)
		return rc;
	if (base) {
		bl = json_object_get(base->manifest, "layers");
		nbase = json_array_size(bl);
	}
	il = hoist_xcalloc(nbase + b->opts.nlayers + 1, sizeof(*il));
	created_by = hoist_xcalloc(b->opts.nlayers + 1, sizeof(char *));

	/* the base's layers first, as they are (or recompressed) */
	for (size_t i = 0; i < nbase; i++) {
		json_t *l = json_array_get(bl, i);
		const char *mt, *digest;
		uint64_t size;
		int comp;
		rc = hoist_image_desc_get(l, &mt, &digest, &size, err);
		if (rc)
			goto out;
		comp = mt_compression(mt);
		il[n].digest = digest;
		il[n].size = size;
		il[n].media_type = mt;
		il[n].annotations = json_object_get(l, "annotations");
		if (comp == HOIST_COMP_GZIP &&
		    json_object_get(il[n].annotations, HOIST_ANN_STARGZ_TOC))
			comp = HOIST_COMP_ESTARGZ;
		if (comp >= 0) {
			/* media types follow the manifest's family */
			il[n].media_type = NULL;
			il[n].compression = (enum hoist_compression)comp;
			if (recompress_base(b, spec, base, i) &&
			    comp != (int)spec->compression) {
				const struct recompressed *r = NULL;
				rc = recompress(b, digest,
						(enum hoist_compression)comp,
						spec, &r, err);
				if (rc)
					goto out;
				il[n].digest = r->digest.str;
				il[n].size = r->size;
				il[n].compression = spec->compression;
				il[n].annotations = r->ann;
				if (r->ann &&
				    (rc = set_base_diff_id(&base_cfg, base, i,
							   &r->esgz.diff_id,
							   nbase, err)) < 0)
					goto out;
			}
		}
		n++;
	}
	/* then ours */
	for (size_t i = 0; i < b->opts.nlayers; i++) {
		const struct built_layer *got = NULL;
		const struct hoist_layer *l;
		const struct hoist_platform *only = b->opts.layers[i].platform;
		if (only && !hoist_platform_equal(only, plat))
			continue;
		rc = get_layer(b, i, spec, 0, &got, err);
		if (rc)
			goto out;
		l = &got->layer;
		created_by[nnew] =
			hoist_xasprintf("hoist build (layer %zu)", nnew + 1);
		il[n].digest = l->digest.str;
		il[n].diff_id = l->diff_id.str;
		il[n].size = l->size;
		il[n].compression = l->compression;
		il[n].annotations = got->ann;
		il[n].created_by = created_by[nnew];
		n++;
		nnew++;
	}
	if (base && spec->has_epoch)
		clamp_history(&base_cfg, base,
			      b->base_inherited[(size_t)(base - b->base)],
			      spec->epoch);
	rc = hoist_image_config_from(
		&text, &len,
		base_cfg ? base_cfg
		: base   ? base->config
			 : NULL,
		plat, &b->opts.rc, il + nbase, nnew,
		spec_epoch(b, spec) >= 0 ? spec_epoch(b, spec) : b->created,
		err);
	if (rc)
		goto out;
	rc = put_json(b,
		      spec->oci ? HOIST_MT_OCI_CONFIG : HOIST_MT_DOCKER_CONFIG,
		      text, len, &cfg_desc, config_digest, err);
	if (rc)
		goto out;
	ann = plat_ann(spec->ann_manifest, spec->ann_manifest_plat, plat);
	rc = hoist_image_manifest(&text, &len, cfg_desc, il, n, ann, spec->oci,
				  err);
	json_decref(ann);
	ann = NULL;
	if (rc)
		goto out;
	rc = put_json(
		b, spec->oci ? HOIST_MT_OCI_MANIFEST : HOIST_MT_DOCKER_MANIFEST,
		text, len, desc, NULL, err);
	if (rc)
		goto out;
	ann = plat_ann(spec->ann_manifest_desc, spec->ann_manifest_desc_plat,
		       plat);
	if (json_object_size(ann))
		json_object_set_new(*desc, "annotations",
				    hoist_json_sorted(ann));
	hoist_image_desc_set_platform(*desc, plat);
out:
	for (size_t i = 0; i < nnew; i++)
		free(created_by[i]);
	free(created_by);
	free(il);
	json_decref(cfg_desc);
	json_decref(ann);
	json_decref(base_cfg);
	return rc;
}

int hoist_build_image(struct hoist_build *b,
		      const struct hoist_image_spec *spec, json_t **root,
		      struct hoist_digest *config, struct hoist_err *err)
{
	json_t *descs = NULL, *d = NULL;
	char *text = NULL;
	size_t len;
	int rc = 0;

	*root = NULL;
	rc = check_plat_ann(b, spec->ann_manifest_plat, err);
	if (!rc)
		rc = check_plat_ann(b, spec->ann_manifest_desc_plat, err);
	if (rc)
		return rc;
	if (!spec->oci &&
	    ((spec->ann_manifest && json_object_size(spec->ann_manifest)) ||
	     (spec->ann_manifest_desc &&
	      json_object_size(spec->ann_manifest_desc)) ||
	     (spec->ann_index && json_object_size(spec->ann_index)) ||
	     (spec->ann_index_desc && json_object_size(spec->ann_index_desc))))
		return hoist_err_set(err, HOIST_EINVAL,
				     "cannot export annotations with "
				     "\"oci-mediatypes=false\"");
	rc = build_layers(b, spec, err);
	if (rc)
		return rc;
	if (b->opts.nplatforms == 1) {
		if ((spec->ann_index && json_object_size(spec->ann_index)) ||
		    (spec->ann_index_desc &&
		     json_object_size(spec->ann_index_desc)))
			return hoist_err_set(err, HOIST_EINVAL,
					     "index annotations not supported "
					     "for single platform export");
		return build_manifest(b, spec, &b->opts.platforms[0], root,
				      config, err);
	}
	if (config)
		memset(config, 0, sizeof(*config));
	descs = json_array();
	for (size_t i = 0; i < b->opts.nplatforms; i++) {
		rc = build_manifest(b, spec, &b->opts.platforms[i], &d, NULL,
				    err);
		if (rc)
			goto out;
		json_array_append_new(descs, d);
	}
	rc = hoist_image_index(&text, &len, descs, spec->ann_index, spec->oci,
			       err);
	if (rc)
		goto out;
	rc = put_json(b, spec->oci ? HOIST_MT_OCI_INDEX : HOIST_MT_DOCKER_LIST,
		      text, len, root, NULL, err);
	if (rc)
		goto out;
	if (spec->ann_index_desc && json_object_size(spec->ann_index_desc))
		json_object_set_new(*root, "annotations",
				    hoist_json_sorted(spec->ann_index_desc));
out:
	json_decref(descs);
	return rc;
}
