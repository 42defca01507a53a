/*
 * dfbuild-cache.c: the per-instruction cache of Dockerfile builds (the
 * keys; the records are the build cache's, cache.h).
 *
 * Every stage carries a chain digest: where its filesystem comes from. It
 * starts as "scratch", the base image's manifest digest, or the chain of
 * the stage it is built on. A filesystem step's key is the SHA-256 of
 * that chain, the platform, the time options, the layers' compression
 * and level, the instruction as written
 * and with its expanded arguments and flags, the .dockerignore, and a
 * digest of each source: the chain of a --from stage, the manifest digest
 * of a --from image, or for the context the content digest of each
 * matched path through the stat index (hoist_cache_content_digest: an
 * unchanged tree is only stat'ed). Since a step's layer is a function of
 * the filesystem it lands on (which its parent chain names) and of these
 * inputs, a recorded result is the layer a cold build would write, bit
 * for bit. After the step, the chain becomes the digest of the chain and
 * the step's result (its layer's diff_id, or "empty"): the filesystem
 * that follows. So a step that ran again but made the same layer (a
 * touched file whose time the layer does not keep) lets the next steps
 * be reused, and a stage built on or copied from this one follows.
 *
 * A step with a URL source has no key (what a server sends is not known
 * before it is fetched): it always runs, and the chain continues from
 * its result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cache.h"
#include "lib/dfbuild-int.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/banned.h"

static void put_str(struct hoist_sha256 *h, const char *s)
{
	char len[24];

	/* length-prefixed, NULL apart from "" */
	snprintf(len, sizeof(len), s ? "%zu:" : "-:", s ? strlen(s) : 0);
	hoist_sha256_update(h, len, strlen(len));
	if (s)
		hoist_sha256_update(h, s, strlen(s));
}

static void put_int(struct hoist_sha256 *h, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	put_str(h, buf);
}

static void put_strs(struct hoist_sha256 *h, const struct hoist_dfstrs *l)
{
	put_int(h, l->set ? (long long)l->n : -1);
	for (size_t i = 0; i < l->n; i++)
		put_str(h, l->v[i]);
}

static void final_digest(struct hoist_sha256 *h, struct hoist_digest *out)
{
	char hex[HOIST_SHA256_HEXLEN + 1];

	hoist_sha256_final_hex(h, hex);
	hoist_digest_from_sha256_hex(out, hex);
}

void hoist_dfb_chain_start(struct hoist_digest *chain, const char *kind,
			   const char *what)
{
	struct hoist_sha256 h;

	hoist_sha256_init(&h);
	put_str(&h, "hoist-dfchain");
	put_str(&h, kind);
	put_str(&h, what);
	final_digest(&h, chain);
}

void hoist_dfb_chain_next(struct hoist_digest *chain, int empty,
			  const struct hoist_layer *l)
{
	struct hoist_sha256 h;

	hoist_sha256_init(&h);
	put_str(&h, "hoist-dfchain-step");
	put_str(&h, chain->str);
	put_str(&h, empty ? "empty" : l->diff_id.str);
	final_digest(&h, chain);
}

/* The .dockerignore as COPY applies it below a source at rel `top`: an
 * excluded entry is left out, with what is below it unless an exception
 * may keep something there. */
struct ignore_ctx {
	const struct hoist_dockerignore *ig;
	const char *top;
};

static int ignore_skip(void *ctx, const char *rel, int dir)
{
	const struct ignore_ctx *ic = ctx;
	char *full = *ic->top ? hoist_xasprintf("%s/%s", ic->top, rel)
			      : hoist_xstrdup(rel);
	int skip = hoist_dockerignore_excluded(ic->ig, full) &&
		   (!dir || hoist_dockerignore_may_skip_dir(ic->ig, full));

	free(full);
	return skip;
}

/* One context source: each path it matches, and its content digest. */
static int context_source(struct hoist_dfb *b, struct hoist_sha256 *h,
			  const char *root, const char *spec,
			  struct hoist_err *err)
{
	char *raw = hoist_xasprintf("/%s", spec);
	char *src = hoist_dockerignore_clean(raw), **m = NULL;
	size_t nm = 0;
	int rc = 0;

	free(raw);
	if (strpbrk(src + 1, "*?[")) {
		hoist_dfb_glob(&m, &nm, root, src + 1);
	} else {
		m = hoist_xcalloc(1, sizeof(*m));
		m[nm++] = hoist_xstrdup(src + 1);
	}
	put_str(h, spec);
	for (size_t k = 0; k < nm; k++) {
		char *rel = NULL, *host;
		struct hoist_digest d;
		struct stat sb;
		int read;

		if (b->ignore && *m[k] &&
		    hoist_dockerignore_excluded(b->ignore, m[k]))
			continue; /* as COPY: an excluded match is no match */
		put_str(h, m[k]);
		if (rc || hoist_dfb_resolve(&rel, root, m[k], 1)) {
			put_str(h, "loop");
			continue;
		}
		put_str(h, rel);
		host = hoist_xasprintf("%s/%s", root, rel);
		if (lstat(host, &sb) < 0) {
			put_str(h, "missing");
		} else {
			struct ignore_ctx ic = {b->ignore, rel};
			char *id = hoist_xasprintf("dockerignore %s %s",
						   b->ignore_digest.str, rel);
			struct hoist_cache_filter f = {ignore_skip, &ic, id};
			rc = hoist_cache_content_digest(
				&d, &read, b->o->cache, host,
				b->ignore ? &f : NULL, err);
			put_str(h, rc ? NULL : d.str);
			free(id);
		}
		free(host);
		free(rel);
	}
	for (size_t k = 0; k < nm; k++)
		free(m[k]);
	free(m);
	free(src);
	return rc;
}

int hoist_dfb_step_key(struct hoist_dfb *b, const struct hoist_dfb_stage *st,
		       const struct hoist_dfstep *step,
		       struct hoist_digest *key, int *keyed,
		       struct hoist_err *err)
{
	struct hoist_dfb_stage *img;
	struct hoist_sha256 h;
	char plat[128];
	int rc = 0;

	*keyed = 1;
	hoist_sha256_init(&h);
	put_str(&h, "hoist-dfstep-2");
	put_str(&h, st->chain.str);
	put_str(&h, hoist_platform_format(&b->plat, plat, sizeof(plat)));
	put_int(&h, b->o->epoch);
	put_int(&h, b->o->file_epoch);
	/* a record holds one blob: a gzip one never answers a zstd build */
	put_int(&h, b->o->compression);
	put_int(&h, b->o->level);
	put_int(&h, step->kind);
	put_str(&h, step->instr->original);
	for (size_t i = 0; i < step->instr->nflags; i++)
		put_str(&h, step->instr->flags[i]);
	put_strs(&h, &step->sources);
	put_int(&h, (long long)step->ninlines);
	for (size_t i = 0; i < step->ninlines; i++) {
		put_str(&h, step->inlines[i].name);
		put_str(&h, step->inlines[i].content);
	}
	put_str(&h, step->dest);
	put_str(&h, step->chown);
	put_str(&h, step->chmod);
	put_str(&h, step->checksum);
	put_strs(&h, &step->excludes);
	put_int(&h, step->link);
	put_int(&h, step->parents);
	put_int(&h, step->keep_git_dir);
	put_str(&h, step->user);
	put_str(&h, step->workdir);
	put_int(&h, step->from_stage);
	put_str(&h, step->from_image);
	if (step->from_stage >= 0) {
		put_str(&h, b->stages[step->from_stage].chain.str);
	} else if (step->from_image) {
		/* a named --build-context directory, when hoist has them,
		 * must be keyed as the context is (context_source on its
		 * root), never as an image of the same name */
		rc = hoist_dfb_image(b, step->from_image, &img, err);
		if (rc)
			goto out;
		put_str(&h, img->chain.str);
	} else {
		put_str(&h, b->ignore_digest.str);
		for (size_t i = 0; i < step->sources.n && !rc; i++) {
			if (strstr(step->sources.v[i], "://"))
				*keyed = 0;
			else
				rc = context_source(b, &h, b->o->context,
						    step->sources.v[i], err);
		}
	}
out:
	if (rc) {
		/* the step itself reports what is wrong with its sources */
		hoist_sha256_release(&h);
		hoist_err_clear(err);
		*keyed = 0;
		return 0;
	}
	final_digest(&h, key);
	return 0;
}
