/*
 * pull.c: the read side of the registry client. Manifests are fetched one
 * by one with synchronous requests (they are small and each one decides
 * what comes next); then every config and layer the image needs is
 * downloaded in parallel on the HTTP event loop, each straight into a
 * store ingest that hashes it on the way, so a blob is named only once
 * its digest and size are proven (pull-blob.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/pull.h"
#include "lib/pull-int.h"
#include "lib/ref.h"
#include "lib/regconn.h"
#include "lib/retry.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define MT_SCHEMA1_PREFIX "application/vnd.docker.distribution.manifest.v1+"

/* ---- manifests ---- */

/* The Content-Type without parameters, in buf. */
static const char *content_type(const struct hoist_http_response *resp,
				char *buf, size_t len)
{
	const char *ct = hoist_http_header_get(resp, "Content-Type");
	size_t n;

	if (!ct)
		return NULL;
	n = strcspn(ct, "; \t");
	if (n >= len)
		n = len - 1;
	memcpy(buf, ct, n);
	buf[n] = '\0';
	return buf;
}

/* Network text (media types, digests not yet checked) for a message. */
static const char *qs(char *buf, size_t len, const char *s)
{
	return hoist_err_quote(buf, len, s, HOIST_QUOTE_ALL, 0);
}

static int known_mt(const char *mt)
{
	return mt &&
	       (hoist_image_mt_is_index(mt) || hoist_image_mt_is_manifest(mt));
}

/*
 * Refuse schema1: by Content-Type, by mediaType, or by schemaVersion 1
 * (schema1 manifests carry no mediaType of their own).
 */
static int check_schema1(const char *what, const char *ctype, json_t *doc,
			 struct hoist_err *err)
{
	const char *mt = hoist_json_str(doc, "mediaType");
	json_t *sv = json_object_get(doc, "schemaVersion");
	const char *why = NULL;
	char qw[HOIST_QUOTE_BUF];

	if (ctype &&
	    strncmp(ctype, MT_SCHEMA1_PREFIX, strlen(MT_SCHEMA1_PREFIX)) == 0)
		why = ctype;
	else if (mt &&
		 strncmp(mt, MT_SCHEMA1_PREFIX, strlen(MT_SCHEMA1_PREFIX)) == 0)
		why = mt;
	else if (json_is_integer(sv) && json_integer_value(sv) == 1)
		why = "schemaVersion 1";
	if (!why)
		return 0;
	return hoist_err_set(err, HOIST_EUNSUPPORTED,
			     "schema1 manifests are not supported: '%s' is a "
			     "Docker schema 1 manifest ('%s'); push it again "
			     "with a current client",
			     what, qs(qw, sizeof(qw), why));
}

/* The media type of a fetched manifest: its own, else the header's, else
 * guessed from its shape (OCI allows leaving mediaType out). */
static const char *manifest_mt(json_t *doc, const char *ctype)
{
	const char *mt = hoist_json_str(doc, "mediaType");

	if (mt)
		return mt;
	if (known_mt(ctype))
		return ctype;
	if (json_is_array(json_object_get(doc, "manifests")))
		return HOIST_MT_OCI_INDEX;
	if (json_is_object(json_object_get(doc, "config")))
		return HOIST_MT_OCI_MANIFEST;
	return ctype ? ctype : "";
}

/*
 * Fetch one manifest (by tag, or by digest when want has one), verify it
 * and store its exact bytes. *doc is the parsed manifest, *desc its new
 * descriptor {mediaType, digest, size}; both owned by the caller. want
 * (may be NULL) is the descriptor that named it: digest, size and media
 * type must match.
 */
static int get_manifest(struct pull *p, const char *ref, const json_t *want,
			json_t **doc, json_t **desc, struct hoist_err *err)
{
	struct hoist_http_response resp;
	const char *want_mt = NULL, *want_digest = NULL, *mt, *ctype = NULL;
	const char *data;
	char ctbuf[256], hex[HOIST_SHA256_HEXLEN + 1], *stored = NULL;
	char q1[HOIST_QUOTE_BUF], q2[HOIST_QUOTE_BUF];
	char *url = NULL;
	struct hoist_digest d;
	uint64_t want_size = 0;
	size_t len;
	int rc, have_resp = 0;

	*doc = NULL;
	*desc = NULL;
	memset(&resp, 0, sizeof(resp));
	if (want) {
		rc = hoist_image_desc_get(want, &want_mt, &want_digest,
					  &want_size, err);
		if (rc)
			return rc;
		ref = want_digest;
	}
	if (!want_digest && strncmp(ref, "sha", 3) == 0 && strchr(ref, ':'))
		want_digest = ref;
	if (want_digest && !hoist_digest_is_sha256(want_digest))
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "manifest '%s': only sha256 digests are "
				     "supported",
				     qs(q1, sizeof(q1), want_digest));
	if (want_digest && hoist_store_has(p->s, want_digest)) {
		/* content-addressed: what the store has is what we want */
		rc = hoist_store_get(p->s, want_digest, HOIST_MANIFEST_MAX,
				     &stored, &len, err);
		if (rc)
			return rc;
		data = stored;
	} else {
		const char *hdrs[1] = {hoist_reg_manifest_accept};
		url = hoist_xasprintf("%s/v2/%s/manifests/%s", p->c.base,
				      p->c.repo, ref);
		rc = hoist_regconn_request(&p->c, "GET", url, hdrs, 1, NULL, 0,
					   HOIST_MANIFEST_MAX, &resp, err);
		have_resp = 1;
		if (rc)
			goto out;
		if (resp.status != 200) {
			rc = hoist_regconn_http_error(err, "get manifest",
						      &resp);
			goto out;
		}
		ctype = content_type(&resp, ctbuf, sizeof(ctbuf));
		data = resp.body.data ? resp.body.data : "";
		len = resp.body.len;
	}
	/* before parsing: a signed schema1 body is JSON, but say why */
	rc = check_schema1(want ? ref : p->ref, ctype, NULL, err);
	if (rc)
		goto out;
	rc = hoist_json_parse(doc, data, len, "manifest", err);
	if (rc)
		goto out;
	rc = check_schema1(want ? ref : p->ref, ctype, *doc, err);
	if (rc)
		goto out;

	hoist_sha256_hex(data, len, hex);
	hoist_digest_from_sha256_hex(&d, hex);
	if (want_digest && strcmp(want_digest, d.str) != 0) {
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "registry sent manifest '%s' for '%s'",
				   d.str, want_digest);
		goto out;
	}
	if (want && want_size != len) {
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "manifest has %zu bytes, its descriptor "
				   "says %llu",
				   len, (unsigned long long)want_size);
		goto out;
	}
	if (!want_digest && have_resp) {
		const char *dcd =
			hoist_http_header_get(&resp, "Docker-Content-Digest");
		if (dcd && strcmp(dcd, d.str) != 0) {
			rc = hoist_err_set(err, HOIST_EDIGEST,
					   "registry says the manifest is "
					   "'%s' but its content is '%s'",
					   qs(q1, sizeof(q1), dcd), d.str);
			goto out;
		}
	}
	mt = hoist_json_str(*doc, "mediaType");
	if (mt && known_mt(ctype) && strcmp(mt, ctype) != 0) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "manifest '%s' has media type '%s' but "
				   "was served as '%s'",
				   d.str, qs(q1, sizeof(q1), mt),
				   qs(q2, sizeof(q2), ctype));
		goto out;
	}
	mt = manifest_mt(*doc, ctype);
	if (!known_mt(mt)) {
		rc = hoist_err_set(err, HOIST_EUNSUPPORTED,
				   "manifest '%s' has unsupported media type "
				   "'%s'",
				   d.str, qs(q1, sizeof(q1), mt));
		goto out;
	}
	if (want_mt && strcmp(want_mt, mt) != 0) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "manifest '%s' is '%s', its descriptor "
				   "says '%s'",
				   d.str, qs(q1, sizeof(q1), mt),
				   qs(q2, sizeof(q2), want_mt));
		goto out;
	}
	if (!stored) {
		struct hoist_digest put;
		rc = hoist_store_put(p->s, data, len, &put, err);
		if (rc)
			goto out;
	}
	*desc = hoist_image_desc(mt, d.str, len);
out:
	if (rc) {
		json_decref(*doc);
		*doc = NULL;
		hoist_err_prefix(err, "manifest '%s'", qs(q1, sizeof(q1), ref));
	}
	if (have_resp)
		hoist_http_response_release(&resp);
	free(stored);
	free(url);
	return rc;
}

/* Remember a config or layer the image needs. */
static int want_blob(struct pull *p, const json_t *desc, struct hoist_err *err)
{
	const char *digest;
	uint64_t size;
	json_t *have;
	char q[HOIST_QUOTE_BUF];
	int rc = hoist_image_desc_get(desc, NULL, &digest, &size, err);

	if (rc)
		return rc;
	if (!hoist_digest_is_sha256(digest))
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "blob '%s': only sha256 digests are "
				     "supported",
				     qs(q, sizeof(q), digest));
	have = json_object_get(p->blobs, digest);
	if (have && (uint64_t)json_integer_value(have) != size)
		return hoist_err_set(
			err, HOIST_EINVAL,
			"blob '%s' is listed with sizes %llu and "
			"%llu",
			digest, (unsigned long long)json_integer_value(have),
			(unsigned long long)size);
	if (!have)
		json_object_set_new(p->blobs, digest,
				    json_integer((json_int_t)size));
	return 0;
}

static int walk_pre(void *ctx, const struct hoist_imgwalk_node *n,
		    struct hoist_err *err)
{
	struct pull *p = ctx;
	char q1[HOIST_QUOTE_BUF], q2[HOIST_QUOTE_BUF];

	switch (n->role) {
	case HOIST_IMGWALK_CONFIG:
		return want_blob(p, n->desc, err);
	case HOIST_IMGWALK_LAYER:
		return p->opts->manifests_only ? 0 : want_blob(p, n->desc, err);
	default:
		break;
	}
	if (n->kind == HOIST_IMGWALK_BLOB)
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "manifest '%s' has unsupported media "
				     "type '%s'",
				     qs(q1, sizeof(q1), n->digest),
				     qs(q2, sizeof(q2), n->mt));
	return 0;
}

/* The root's document was fetched already; the rest from the registry. */
static int walk_load(void *ctx, const struct hoist_imgwalk_node *n,
		     json_t **doc, struct hoist_err *err)
{
	struct pull *p = ctx;
	json_t *got = NULL;
	int rc;

	if (n->desc == p->walk_root) {
		*doc = json_incref(p->walk_doc);
		return 0;
	}
	rc = get_manifest(p, NULL, n->desc, doc, &got, err);
	json_decref(got);
	return rc;
}

/*
 * Fetch everything under desc and remember the blobs it needs. doc is
 * desc's document when it was fetched already, else NULL.
 */
static int walk(struct pull *p, const json_t *desc, json_t *doc,
		struct hoist_err *err)
{
	static const struct hoist_imgwalk_ops ops = {walk_pre, walk_load, NULL};

	p->walk_root = doc ? desc : NULL;
	p->walk_doc = doc;
	return hoist_imgwalk(p->s, desc, 0, &ops, p, err);
}

/* Does an index entry's platform match one of the filter's? */
static int entry_matches(const struct hoist_pull_opts *o, const json_t *entry)
{
	json_t *pl = json_object_get(entry, "platform");
	const char *os = hoist_json_str(pl, "os");
	const char *arch = hoist_json_str(pl, "architecture");
	const char *var = hoist_json_str(pl, "variant");
	struct hoist_platform want;
	char text[128];

	if (!os || !arch || !*os || !*arch)
		return 0;
	snprintf(text, sizeof(text), "%s/%s%s%s", os, arch,
		 var && *var ? "/" : "", var && *var ? var : "");
	if (hoist_platform_parse(&want, text, NULL) != 0)
		return 0;
	for (size_t i = 0; i < o->nplatforms; i++)
		if (hoist_platform_equal(&o->platforms[i], &want))
			return 1;
	return 0;
}

static void filter_text(const struct hoist_pull_opts *o, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < o->nplatforms && at + 1 < len; i++) {
		char one[100];
		int n;
		hoist_platform_format(&o->platforms[i], one, sizeof(one));
		n = snprintf(buf + at, len - at, "%s%s", i ? "," : "", one);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

/*
 * The root index with a platform filter: one match becomes the root; a
 * few become a new index holding just them (so the store never names an
 * index whose children it lacks); all of them keep the index as it is.
 */
static int select_platforms(struct pull *p, json_t **root, const json_t *doc,
			    struct hoist_err *err)
{
	json_t *ms = json_object_get(doc, "manifests"), *sel, *e, *nroot;
	size_t i;
	int rc = 0;

	if (!json_is_array(ms))
		return hoist_err_set(err, HOIST_EINVAL,
				     "index '%s' has no manifests",
				     hoist_json_str(*root, "digest"));
	sel = json_array();
	json_array_foreach(ms, i, e)
	{
		if (entry_matches(p->opts, e))
			json_array_append(sel, e);
	}
	if (json_array_size(sel) == 0) {
		char want[512];
		filter_text(p->opts, want, sizeof(want));
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "no manifest for platform '%s' in index "
				   "'%s'",
				   want, hoist_json_str(*root, "digest"));
	} else if (json_array_size(sel) == 1) {
		json_t *one = json_array_get(sel, 0), *doc1, *got;
		rc = get_manifest(p, NULL, one, &doc1, &got, err);
		if (rc)
			goto out;
		rc = walk(p, got, doc1, err);
		json_decref(doc1);
		if (rc) {
			json_decref(got);
			goto out;
		}
		json_object_set(got, "platform",
				json_object_get(one, "platform"));
		json_decref(*root);
		*root = got;
	} else if (json_array_size(sel) < json_array_size(ms)) {
		json_t *copy = json_deep_copy(doc);
		struct hoist_digest d;
		char *text;
		size_t len;
		json_object_set(copy, "manifests", sel);
		rc = hoist_json_dump(&text, &len, copy, 1, err);
		json_decref(copy);
		if (rc)
			goto out;
		rc = hoist_store_put(p->s, text, len, &d, err);
		free(text);
		if (rc)
			goto out;
		nroot = hoist_image_desc(hoist_json_str(*root, "mediaType"),
					 d.str, len);
		json_array_foreach(sel, i, e)
		{
			rc = walk(p, e, NULL, err);
			if (rc)
				break;
		}
		if (rc) {
			json_decref(nroot);
			goto out;
		}
		json_decref(*root);
		*root = nroot;
	} else {
		rc = walk(p, *root, (json_t *)doc, err);
	}
out:
	json_decref(sel);
	return rc;
}

/* A single image with a filter it does not match: say so, as docker
 * does, but keep it (the filter selects from indexes). */
static void check_single(struct pull *p, const json_t *doc)
{
	const char *cfg =
		hoist_json_str(json_object_get(doc, "config"), "digest");
	char *data = NULL, want[512];
	json_t *c = NULL, *e = NULL, *pl;
	const char *os, *arch;
	size_t len;

	if (!cfg || !hoist_store_has(p->s, cfg) ||
	    hoist_store_get(p->s, cfg, HOIST_CONFIG_MAX, &data, &len, NULL) ||
	    hoist_json_parse(&c, data, len, "config", NULL))
		goto out;
	os = hoist_json_str(c, "os");
	arch = hoist_json_str(c, "architecture");
	e = json_object();
	pl = json_object();
	if (os)
		hoist_json_set_str(pl, "os", os);
	if (arch)
		hoist_json_set_str(pl, "architecture", arch);
	if (hoist_json_str(c, "variant"))
		hoist_json_set_str(pl, "variant", hoist_json_str(c, "variant"));
	json_object_set_new(e, "platform", pl);
	if (!entry_matches(p->opts, e)) {
		char qo[36], qa[36];
		filter_text(p->opts, want, sizeof(want));
		hoist_log(HOIST_LOG_WARN,
			  "'%s' is for platform '%s/%s', not '%s'", p->ref,
			  qs(qo, sizeof(qo), os ? os : "?"),
			  qs(qa, sizeof(qa), arch ? arch : "?"), want);
	}
out:
	json_decref(e);
	json_decref(c);
	free(data);
}

struct root_probe {
	struct pull *p;
	json_t *doc, *desc;
};

/* On each endpoint registries.conf names (mirrors first): the manifest. */
static int probe_root(struct hoist_regconn *c, const struct hoist_ref *r,
		      void *arg, struct hoist_err *err)
{
	struct root_probe *rp = arg;
	struct pull *p = rp->p;

	(void)c; /* it is p->c */
	p->foreign_tls.ca_file = p->c.tls.ca_file;
	p->foreign_tls.ca_dir = p->c.tls.ca_dir;
	json_decref(rp->doc);
	json_decref(rp->desc);
	rp->doc = rp->desc = NULL;
	return get_manifest(p, r->digest ? r->digest : r->tag, NULL, &rp->doc,
			    &rp->desc, err);
}

/*
 * Set p up for ref (parsed into r) and connect to the first source that
 * has its manifest (mirrors first, see hoist_regconn_open_pull), which
 * probe holds: blobs (taken) is what hoist_pull_fetch_blobs() will want.
 * *opened says whether p.c needs closing.
 */
static int pull_open(struct pull *p, struct hoist_ref *r, int *opened,
		     struct root_probe *probe, struct hoist_store *s,
		     const char *ref, json_t *blobs,
		     const struct hoist_pull_opts *opts,
		     struct hoist_pull_stats *stats, struct hoist_err *err)
{
	char *name;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(stats, 0, sizeof(*stats));
	memset(r, 0, sizeof(*r));
	memset(probe, 0, sizeof(*probe));
	*opened = 0;
	p->s = s;
	p->opts = opts;
	p->stats = stats;
	p->ref = ref;
	p->blobs = blobs;
	probe->p = p;
	hoist_retry_normalize(&p->pol, opts->retry);
	rc = hoist_ref_parse(r, ref,
			     HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG, err);
	if (rc)
		return rc;
	name = hoist_ref_string(r);
	rc = hoist_regconn_open_pull(&p->c, name, &opts->reg.conn, probe_root,
				     probe, err);
	*opened = 1;
	free(name);
	return rc;
}

static void pull_close(struct pull *p, struct hoist_ref *r,
		       struct root_probe *probe, int opened)
{
	p->stats->retries += p->c.retries;
	/* the client first: its dropped transfers still point at jobs */
	if (opened)
		hoist_regconn_close(&p->c);
	hoist_pull_jobs_free(p);
	json_decref(p->blobs);
	json_decref(probe->doc);
	json_decref(probe->desc);
	hoist_ref_release(r);
}

int hoist_pull_image(json_t **root, struct hoist_store *s, const char *ref,
		     const struct hoist_pull_opts *opts,
		     struct hoist_pull_stats *stats, struct hoist_err *err)
{
	struct pull p;
	struct hoist_ref r;
	struct root_probe probe;
	json_t *doc, *desc;
	int rc, opened;

	*root = NULL;
	rc = pull_open(&p, &r, &opened, &probe, s, ref, json_object(), opts,
		       stats, err);
	doc = probe.doc;
	desc = probe.desc;
	if (rc)
		goto out;
	if (opts->nplatforms &&
	    hoist_image_mt_is_index(hoist_json_str(desc, "mediaType")))
		rc = select_platforms(&p, &desc, doc, err);
	else
		rc = walk(&p, desc, doc, err);
	probe.desc = desc; /* select_platforms may replace it */
	if (rc)
		goto out;
	stats->blobs = json_object_size(p.blobs);
	rc = hoist_pull_fetch_blobs(&p, err);
	if (rc)
		goto out;
	if (opts->nplatforms &&
	    hoist_image_mt_is_manifest(hoist_json_str(desc, "mediaType")) &&
	    !json_object_get(desc, "platform"))
		check_single(&p, doc);
	*root = json_incref(desc);
out:
	if (rc)
		hoist_err_prefix(err, "pull '%s'", ref);
	pull_close(&p, &r, &probe, opened);
	return rc;
}

int hoist_pull_blobs(struct hoist_store *s, const char *ref,
		     const json_t *blobs, const struct hoist_pull_opts *opts,
		     struct hoist_pull_stats *stats, struct hoist_err *err)
{
	struct pull p;
	struct hoist_ref r;
	struct root_probe probe;
	int rc, opened;

	/* the manifest again: the source hoist_pull_image chose has the blobs
	 */
	rc = pull_open(&p, &r, &opened, &probe, s, ref, json_deep_copy(blobs),
		       opts, stats, err);
	if (!rc) {
		stats->blobs = json_object_size(p.blobs);
		rc = hoist_pull_fetch_blobs(&p, err);
	}
	if (rc)
		hoist_err_prefix(err, "pull from '%s'", ref);
	pull_close(&p, &r, &probe, opened);
	return rc;
}
