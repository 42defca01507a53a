/*
 * import-docker.c: importing `docker save` archives
 * (docker-archive:FILE[:REF]): read twice, because manifest.json must be
 * known before the config and the layers can be told apart (and
 * symlinked members resolved); a v2s2 manifest is made for the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/compress.h"
#include "lib/digest.h"
#include "lib/image.h"
#include "lib/import.h"
#include "lib/import-int.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

/* Members remembered while reading a docker archive's first pass. */
#define MEMBERS_MAX 200000
/* Layers of one docker-archive image (each holds an ingest open). */
#define LAYERS_MAX 512
/* Symlinks followed from one name inside a docker archive. */
#define LINKS_MAX 16

/* ---------------------------------------------------------------------
 * docker-archive:FILE
 */

/*
 * Where a symlink member points: its target read relative to the link's
 * directory, with ".." resolved but never above the archive's root.
 * HOIST_EINVAL for absolute or escaping targets.
 */
static int link_target(const char *link, const char *target, char **out)
{
	const char *slash = strrchr(link, '/');
	char *path, *p, *q, **parts;
	struct hoist_buf o;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (!target || !*target || target[0] == '/')
		return HOIST_EINVAL;
	path = hoist_xasprintf("%.*s%s%s", slash ? (int)(slash - link) : 0,
			       link, slash ? "/" : "", target);
	parts = hoist_xcalloc(strlen(path) / 2 + 2, sizeof(*parts));
	for (p = path; p && *p; p = q) {
		q = strchr(p, '/');
		if (q)
			*q++ = '\0';
		if (strcmp(p, "..") == 0) {
			if (!n) {
				rc = HOIST_EINVAL;
				break;
			}
			n--;
		} else if (*p && strcmp(p, ".") != 0) {
			parts[n++] = p;
		}
	}
	hoist_buf_init(&o, HOIST_BUF_UNLIMITED);
	for (size_t i = 0; !rc && i < n; i++) {
		if (i)
			hoist_buf_addch(&o, '/', NULL);
		hoist_buf_adds(&o, parts[i], NULL);
	}
	if (!rc)
		*out = hoist_buf_detach(&o, NULL);
	hoist_buf_release(&o);
	free(parts);
	free(path);
	return rc;
}

/*
 * The first pass remembers every member: name -> "" for a regular file,
 * the normalised target for a link, null for anything else, and false for
 * a name that appears twice (refused if the image needs it).
 */
static int member_record(json_t *members, const char *name,
			 struct archive_entry *e, struct hoist_err *err)
{
	const char *target;
	json_t *v;
	char *t = NULL;

	if (json_object_get(members, name)) {
		json_object_set_new(members, name, json_false());
		return 0;
	}
	if (json_object_size(members) >= MEMBERS_MAX)
		return hoist_err_set(err, HOIST_ELIMIT, "more than %d members",
				     MEMBERS_MAX);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		target = archive_entry_hardlink(e);
		if (!target) {
			v = json_string("");
			break;
		}
		/* Hard link targets are named from the archive's root. */
		if (hoist_import_norm_member(target, &t))
			return hoist_err_set(err, HOIST_EINVAL,
					     "hard link leaves the archive");
		v = json_string(t);
		break;
	case AE_IFLNK:
		target = archive_entry_symlink(e);
		if (link_target(name, target, &t))
			return hoist_err_set(err, HOIST_EINVAL,
					     "symlink leaves the archive");
		v = json_string(t);
		break;
	default:
		v = json_null();
		break;
	}
	free(t);
	/* Non-UTF-8 names cannot be keys; manifest.json cannot name them. */
	json_object_set_new(members, name, v ? v : json_null());
	return 0;
}

/*
 * Follow links from name to a regular member. *out borrows from members
 * (or is name itself).
 */
static int resolve_member(const char **out, json_t *members, const char *name,
			  struct hoist_err *err)
{
	struct quoted q;
	const char *cur = name;

	for (int i = 0; i <= LINKS_MAX; i++) {
		json_t *v = json_object_get(members, cur);

		if (!v)
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "member '%s' is missing",
					     hoist_import_quote(&q, cur));
		if (json_is_false(v))
			return hoist_err_set(err, HOIST_EINVAL,
					     "member '%s' appears more than "
					     "once",
					     hoist_import_quote(&q, cur));
		if (!json_is_string(v))
			return hoist_err_set(
				err, HOIST_EINVAL,
				"member '%s' is not a regular file",
				hoist_import_quote(&q, cur));
		if (!*json_string_value(v)) {
			/* The key lives as long as members does. */
			*out = json_object_iter_key(
				json_object_iter_at(members, cur));
			return 0;
		}
		cur = json_string_value(v);
	}
	return hoist_err_set(err, HOIST_ELIMIT,
			     "member '%s': too many levels of links",
			     hoist_import_quote(&q, name));
}

/* A layer being read in the second pass. */
struct dlayer {
	const char *member; /* resolved name (borrowed from members) */
	int expect_name;    /* blobs/sha256/<hex>: digest must match */
	struct hoist_ingest *in;
	struct hoist_decompressor *dec;
	struct hoist_sha256 h;
	int hashing;
	unsigned char head[4];
	size_t nhead;
	enum hoist_compression comp;
	char diff_id[HOIST_DIGEST_MAX];
	int done;
	struct hoist_digest digest;
	uint64_t size;
};

static int hash_sink(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	(void)err;
	hoist_sha256_update(ctx, data, len);
	return 0;
}

/* Start decompressing once the first bytes say how. */
static int dlayer_start(struct dlayer *l, struct hoist_err *err)
{
	struct hoist_sink sink = {hash_sink, &l->h};
	int rc;

	l->comp = hoist_compression_detect(l->head, l->nhead);
	rc = hoist_decompressor_new(&l->dec, l->comp, &sink, err);
	if (!rc)
		rc = hoist_decompressor_write(l->dec, l->head, l->nhead, err);
	return rc;
}

static int dlayer_write(void *ctx, const void *data, size_t n,
			struct hoist_err *err)
{
	struct dlayer *l = ctx;
	const unsigned char *p = data;
	int rc = hoist_ingest_write(l->in, p, n, err);

	if (rc)
		return rc;
	if (!l->dec) {
		size_t take = sizeof(l->head) - l->nhead;
		if (take > n)
			take = n;
		memcpy(l->head + l->nhead, p, take);
		l->nhead += take;
		p += take;
		n -= take;
		if (l->nhead < sizeof(l->head))
			return 0;
		rc = dlayer_start(l, err);
		if (rc)
			return rc;
	}
	return n ? hoist_decompressor_write(l->dec, p, n, err) : 0;
}

static int dlayer_read(struct dlayer *l, struct hoist_store *s,
		       struct archive *a, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_sink sink = {dlayer_write, l};
	int rc = hoist_ingest_open(&l->in, s, err);

	if (rc)
		goto out;
	hoist_sha256_init(&l->h);
	l->hashing = 1;
	rc = hoist_import_copy_member(a, &sink, err);
	if (rc)
		goto out;
	if (!l->dec) {
		rc = dlayer_start(l, err);
		if (rc)
			goto out;
	}
	rc = hoist_decompressor_finish(l->dec, err);
	if (rc)
		goto out;
	hoist_sha256_final_hex(&l->h, hex);
	l->hashing = 0;
	snprintf(l->diff_id, sizeof(l->diff_id), HOIST_SHA256_PREFIX "%s", hex);
	l->done = 1;
out:
	return rc;
}

static void dlayer_release(struct dlayer *l)
{
	hoist_ingest_abort(l->in);
	l->in = NULL;
	hoist_decompressor_free(l->dec);
	l->dec = NULL;
	if (l->hashing)
		hoist_sha256_release(&l->h);
	l->hashing = 0;
}

/* The digest a config or layer name promises, or "" if none. */
static void name_digest(const char *name, const char *suffix,
			struct hoist_digest *out)
{
	const char *base = strrchr(name, '/');
	size_t sl = strlen(suffix), n;

	out->str[0] = '\0';
	if (strncmp(name, BLOB_PREFIX, BLOB_PREFIX_LEN) == 0 &&
	    hoist_digest_is_sha256_hex(name + BLOB_PREFIX_LEN,
				       strlen(name + BLOB_PREFIX_LEN))) {
		hoist_digest_from_sha256_hex(out, name + BLOB_PREFIX_LEN);
		return;
	}
	if (base)
		return;
	n = strlen(name);
	if (n > sl && strcmp(name + n - sl, suffix) == 0 &&
	    hoist_digest_is_sha256_hex(name, n - sl)) {
		char hex[HOIST_SHA256_HEXLEN + 1];
		memcpy(hex, name, HOIST_SHA256_HEXLEN);
		hex[HOIST_SHA256_HEXLEN] = '\0';
		hoist_digest_from_sha256_hex(out, hex);
	}
}

/* Pick the manifest.json entry for ref: a RepoTag, or "@N". */
static int select_docker(const json_t **out, const json_t *list,
			 const char *ref, struct hoist_err *err)
{
	const json_t *d, *t;
	char *want = NULL;
	struct quoted q;
	size_t i, j;
	int rc = 0;

	*out = NULL;
	if (!json_is_array(list))
		return hoist_err_set(err, HOIST_EINVAL,
				     "manifest.json is not an array");
	if (!ref) {
		if (json_array_size(list) != 1)
			return hoist_err_set(err, HOIST_EINVAL,
					     "manifest.json has %zu entries; "
					     "name one with :REF",
					     json_array_size(list));
		*out = json_array_get(list, 0);
		return 0;
	}
	if (ref[0] == '@' && ref[1] >= '0' && ref[1] <= '9') {
		/* skopeo's docker-archive:FILE:@N */
		char *end;
		unsigned long n = strtoul(ref + 1, &end, 10);
		if (*end || n >= json_array_size(list))
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "manifest.json has no entry '%s'",
					     hoist_import_quote(&q, ref));
		*out = json_array_get(list, n);
		return 0;
	}
	want = hoist_import_normalize_ref(ref);
	if (!want)
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid reference '%s'",
				     hoist_import_quote(&q, ref));
	json_array_foreach(list, i, d)
	{
		json_array_foreach(json_object_get(d, "RepoTags"), j, t)
		{
			char *have;
			if (!json_is_string(t))
				continue;
			have = hoist_import_normalize_ref(json_string_value(t));
			if (have && strcmp(have, want) == 0 && !*out)
				*out = d;
			free(have);
		}
	}
	if (!*out)
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "reference '%s' not found in manifest.json",
				   hoist_import_quote(&q, ref));
	free(want);
	return rc;
}

struct docker_import {
	struct hoist_store *s;
	json_t *members;
	const char *config_member;
	struct hoist_buf config;
	int have_config;
	struct dlayer *layers; /* distinct members */
	size_t nlayers;
	size_t *order; /* manifest.json's Layers -> index in layers */
	size_t norder;
};

/* Pass 1: manifest.json and the member table. */
static int docker_pass1(struct docker_import *di, struct archive *a,
			struct hoist_buf *mj, struct hoist_err *err)
{
	struct archive_entry *e;
	struct quoted q;
	int rc, have = 0;

	while ((rc = hoist_import_reader_next(a, &e, err)) == 0) {
		const char *raw = hoist_import_entry_name(e);
		char *name = NULL;

		if (hoist_import_norm_member(raw, &name))
			return hoist_err_set(
				err, HOIST_EINVAL,
				"member '%s': name is absolute "
				"or has '..'",
				hoist_import_quote(&q, raw ? raw : "?"));
		if (strcmp(name, "manifest.json") == 0) {
			if (have)
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "appears more than once");
			else if (archive_entry_filetype(e) != AE_IFREG ||
				 archive_entry_hardlink(e))
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "not a regular file");
			else
				rc = hoist_import_read_member(a, e, DOC_MAX, mj,
							      err);
			have = !rc;
		}
		if (!rc && *name)
			rc = member_record(di->members, name, e, err);
		if (rc)
			hoist_err_prefix(err, "member '%s'",
					 hoist_import_quote(&q, name));
		free(name);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!have)
		return hoist_err_set(err, HOIST_EINVAL,
				     "no member 'manifest.json'");
	return 0;
}

/* Work out which members pass 2 must read. */
static int docker_plan(struct docker_import *di, const json_t *entry,
		       struct hoist_err *err)
{
	const json_t *cfg = json_object_get(entry, "Config");
	const json_t *ls = json_object_get(entry, "Layers"), *v;
	char *name = NULL;
	const char *res;
	struct quoted q;
	size_t i, k;
	int rc;

	if (!json_is_object(entry) || !json_is_string(cfg) ||
	    !json_is_array(ls))
		return hoist_err_set(err, HOIST_EINVAL,
				     "manifest.json entry needs Config and "
				     "Layers");
	if (json_array_size(ls) > LAYERS_MAX)
		return hoist_err_set(err, HOIST_ELIMIT, "more than %d layers",
				     LAYERS_MAX);
	if (hoist_import_norm_member(json_string_value(cfg), &name))
		return hoist_err_set(
			err, HOIST_EINVAL,
			"config '%s' is absolute or has '..'",
			hoist_import_quote(&q, json_string_value(cfg)));
	rc = resolve_member(&di->config_member, di->members, name, err);
	free(name);
	if (rc)
		return rc;
	di->order = hoist_xcalloc(json_array_size(ls) + 1, sizeof(size_t));
	di->layers =
		hoist_xcalloc(json_array_size(ls) + 1, sizeof(*di->layers));
	json_array_foreach(ls, i, v)
	{
		if (!json_is_string(v))
			return hoist_err_set(err, HOIST_EINVAL,
					     "manifest.json: a layer is not "
					     "a string");
		if (hoist_import_norm_member(json_string_value(v), &name))
			return hoist_err_set(
				err, HOIST_EINVAL,
				"layer '%s' is absolute or has "
				"'..'",
				hoist_import_quote(&q, json_string_value(v)));
		rc = resolve_member(&res, di->members, name, err);
		free(name);
		if (rc)
			return rc;
		if (strcmp(res, di->config_member) == 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "member '%s' is both config and "
					     "layer",
					     hoist_import_quote(&q, res));
		for (k = 0; k < di->nlayers; k++)
			if (strcmp(di->layers[k].member, res) == 0)
				break;
		if (k == di->nlayers) {
			struct hoist_digest d;
			di->layers[k].member = res;
			name_digest(res, ".tar", &d);
			/* Only blobs/sha256/<hex> names promise the bytes;
			 * skopeo's <diffid>.tar names the uncompressed
			 * content, checked as the diff_id. */
			di->layers[k].expect_name =
				strncmp(res, BLOB_PREFIX, BLOB_PREFIX_LEN) ==
					0 &&
				d.str[0];
			di->nlayers++;
		}
		di->order[di->norder++] = k;
	}
	return 0;
}

/* Pass 2: the config and the layers. */
static int docker_pass2(struct docker_import *di, struct archive *a,
			struct hoist_err *err)
{
	struct archive_entry *e;
	struct quoted q;
	int rc;

	while ((rc = hoist_import_reader_next(a, &e, err)) == 0) {
		char *name = NULL;
		size_t k;

		if (hoist_import_norm_member(hoist_import_entry_name(e), &name))
			return hoist_err_set(err, HOIST_EINVAL,
					     "archive changed while read");
		if (archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e)) {
			free(name);
			continue;
		}
		/* Pass 1 refused duplicates; a second copy now means the
		 * file changed under us. */
		if (strcmp(name, di->config_member) == 0) {
			if (di->have_config)
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "appears more than once");
			else
				rc = hoist_import_read_member(a, e, DOC_MAX,
							      &di->config, err);
			di->have_config = 1;
		} else {
			for (k = 0; k < di->nlayers; k++)
				if (strcmp(di->layers[k].member, name) == 0)
					break;
			if (k < di->nlayers && di->layers[k].in)
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "appears more than once");
			else if (k < di->nlayers)
				rc = dlayer_read(&di->layers[k], di->s, a, err);
		}
		if (rc)
			hoist_err_prefix(err, "member '%s'",
					 hoist_import_quote(&q, name));
		free(name);
		if (rc)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

/* Check the config, store everything and make the v2s2 manifest. */
static int docker_finish(struct docker_import *di, json_t **root,
			 struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_image_layer *il = NULL;
	struct hoist_digest want, cfgd, md;
	struct hoist_platform plat;
	json_t *cfg = NULL, *cdesc = NULL, *ids, *desc;
	char *mtext = NULL;
	size_t mlen, i;
	struct quoted q;
	int rc;

	if (!di->have_config)
		return hoist_err_set(err, HOIST_ENOTFOUND,
				     "member '%s' is missing",
				     hoist_import_quote(&q, di->config_member));
	for (i = 0; i < di->nlayers; i++)
		if (!di->layers[i].done)
			return hoist_err_set(
				err, HOIST_ENOTFOUND, "member '%s' is missing",
				hoist_import_quote(&q, di->layers[i].member));
	hoist_sha256_hex(di->config.data, di->config.len, hex);
	name_digest(di->config_member, ".json", &want);
	if (want.str[0] && strcmp(want.str + 7, hex) != 0)
		return hoist_err_set(err, HOIST_EDIGEST,
				     "member '%s': digest mismatch: config "
				     "is 'sha256:%s'",
				     hoist_import_quote(&q, di->config_member),
				     hex);
	rc = hoist_json_parse(&cfg, di->config.data, di->config.len,
			      di->config_member, err);
	if (rc)
		goto out;
	ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != di->norder) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "member '%s': config lists %zu diff_ids "
				   "for %zu layers",
				   hoist_import_quote(&q, di->config_member),
				   json_array_size(ids), di->norder);
		goto out;
	}
	for (i = 0; i < di->norder; i++) {
		struct dlayer *l = &di->layers[di->order[i]];
		const char *id = json_string_value(json_array_get(ids, i));
		if (!id || strcmp(id, l->diff_id) != 0) {
			struct quoted q2;
			rc = hoist_err_set(
				err, HOIST_EDIGEST,
				"member '%s': diff_id mismatch: "
				"layer %zu is '%s', the config says "
				"'%s'",
				hoist_import_quote(&q, l->member), i,
				l->diff_id,
				hoist_import_quote(&q2, id ? id : "?"));
			goto out;
		}
	}
	/* Everything checked: now the blobs may land. */
	for (i = 0; i < di->nlayers; i++) {
		struct dlayer *l = &di->layers[i];
		struct hoist_digest nd;
		name_digest(l->member, ".tar", &nd);
		rc = hoist_import_commit_blob(l->in,
					      l->expect_name ? nd.str : NULL,
					      &l->digest, &l->size, err);
		l->in = NULL;
		if (rc) {
			hoist_err_prefix(err, "member '%s'",
					 hoist_import_quote(&q, l->member));
			goto out;
		}
	}
	rc = hoist_store_put(di->s, di->config.data, di->config.len, &cfgd,
			     err);
	if (rc)
		goto out;
	il = hoist_xcalloc(di->norder + 1, sizeof(*il));
	for (i = 0; i < di->norder; i++) {
		struct dlayer *l = &di->layers[di->order[i]];
		il[i].digest = l->digest.str;
		il[i].diff_id = l->diff_id;
		il[i].size = l->size;
		il[i].compression = l->comp;
	}
	cdesc = hoist_image_desc(HOIST_MT_DOCKER_CONFIG, cfgd.str,
				 di->config.len);
	rc = hoist_image_manifest(&mtext, &mlen, cdesc, il, di->norder, NULL, 0,
				  err);
	if (!rc)
		rc = hoist_store_put(di->s, mtext, mlen, &md, err);
	if (rc)
		goto out;
	desc = hoist_image_desc(HOIST_MT_DOCKER_MANIFEST, md.str, mlen);
	hoist_image_platform_from_json(&plat, cfg);
	if (plat.os[0] && plat.arch[0])
		hoist_image_desc_set_platform(desc, &plat);
	*root = desc;
out:
	free(mtext);
	free(il);
	json_decref(cdesc);
	json_decref(cfg);
	return rc;
}

int hoist_import_docker_archive(json_t **root, struct hoist_store *s,
				const char *file, const char *ref,
				struct hoist_err *err)
{
	struct docker_import di;
	struct hoist_buf mj = HOIST_BUF_INIT(DOC_MAX);
	struct archive *a = NULL;
	json_t *list = NULL;
	const json_t *entry;
	struct quoted q;
	int fd, rc;

	*root = NULL;
	memset(&di, 0, sizeof(di));
	di.s = s;
	di.members = json_object();
	hoist_buf_init(&di.config, DOC_MAX);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "open");
		goto out;
	}
	rc = hoist_import_reader_open(&a, fd, err);
	if (!rc)
		rc = docker_pass1(&di, a, &mj, err);
	if (rc)
		goto out;
	rc = hoist_json_parse(&list, mj.data, mj.len, "manifest.json", err);
	if (!rc)
		rc = select_docker(&entry, list, ref, err);
	if (!rc)
		rc = docker_plan(&di, entry, err);
	if (rc)
		goto out;
	archive_read_free(a);
	a = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = hoist_err_sys(err, errno,
				   "rewind (a docker archive is "
				   "read twice)");
		goto out;
	}
	rc = hoist_import_reader_open(&a, fd, err);
	if (!rc)
		rc = docker_pass2(&di, a, err);
	if (!rc)
		rc = docker_finish(&di, root, err);
out:
	if (rc)
		hoist_err_prefix(err, "import '%s'",
				 hoist_import_quote(&q, file));
	for (size_t i = 0; i < di.nlayers; i++)
		dlayer_release(&di.layers[i]);
	free(di.layers);
	free(di.order);
	hoist_buf_release(&di.config);
	json_decref(di.members);
	json_decref(list);
	hoist_buf_release(&mj);
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	return rc;
}
