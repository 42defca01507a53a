/*
 * transport.c: skopeo-style transports on top of the staging area. Reading
 * means pull or import into the store; writing means push or export from
 * it. Nothing here touches manifest bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/copy.h"
#include "lib/export.h"
#include "lib/image.h"
#include "lib/import.h"
#include "lib/imgwalk.h"
#include "lib/pull.h"
#include "lib/ref.h"
#include "lib/regconn.h"
#include "lib/transport.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define TAG_PAGES_MAX 100

static const struct {
	const char *prefix;
	enum hoist_transport_kind kind;
} prefixes[] = {
	{"docker://", HOIST_TR_DOCKER},
	{"oci:", HOIST_TR_OCI},
	{"oci-archive:", HOIST_TR_OCI_ARCHIVE},
	{"docker-archive:", HOIST_TR_DOCKER_ARCHIVE},
};

/* skopeo transports hoist does not read or write */
static const char *const unsupported[] = {
	"dir:", "containers-storage:", "docker-daemon:", "ostree:", "sif:",
	NULL};

void hoist_transport_release(struct hoist_transport *t)
{
	free(t->path);
	free(t->ref);
	memset(t, 0, sizeof(*t));
}

static int norm_ref(char **out, const char *s, int flags, struct hoist_err *err)
{
	struct hoist_ref r;
	int rc = hoist_ref_parse(&r, s, flags, err);
	if (rc)
		return rc;
	*out = hoist_ref_string(&r);
	hoist_ref_release(&r);
	return 0;
}

int hoist_transport_parse(struct hoist_transport *out, const char *s,
			  struct hoist_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	for (int i = 0; unsupported[i]; i++)
		if (strncmp(s, unsupported[i], strlen(unsupported[i])) == 0)
			return hoist_err_set(
				err, HOIST_EUNSUPPORTED,
				"transport '%.*s' is not supported: "
				"use docker://, oci:, oci-archive:, "
				"docker-archive: or an image name",
				(int)strlen(unsupported[i]) - 1,
				unsupported[i]);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i].prefix);
		const char *rest, *colon;
		if (strncmp(s, prefixes[i].prefix, n) != 0)
			continue;
		out->kind = prefixes[i].kind;
		rest = s + n;
		if (out->kind == HOIST_TR_DOCKER) {
			rc = norm_ref(&out->ref, rest,
				      HOIST_REF_NORMALIZE |
					      HOIST_REF_DEFAULT_TAG,
				      err);
			if (rc)
				hoist_err_prefix(err, "'%s'", s);
			return rc;
		}
		/* like skopeo: the path ends at the first ':' */
		colon = strchr(rest, ':');
		out->path = colon ? hoist_xstrndup(rest, (size_t)(colon - rest))
				  : hoist_xstrdup(rest);
		if (!*out->path) {
			hoist_transport_release(out);
			return hoist_err_set(err, HOIST_EINVAL,
					     "'%s': empty path", s);
		}
		if (colon && colon[1]) {
			/* docker-archive:FILE:@N picks the Nth image */
			if (out->kind == HOIST_TR_DOCKER_ARCHIVE &&
			    colon[1] != '@') {
				rc = norm_ref(&out->ref, colon + 1,
					      HOIST_REF_NORMALIZE |
						      HOIST_REF_DEFAULT_TAG,
					      err);
				if (rc) {
					hoist_err_prefix(err, "'%s'", s);
					hoist_transport_release(out);
					return rc;
				}
			} else {
				out->ref = hoist_xstrdup(colon + 1);
			}
		}
		return 0;
	}
	out->kind = HOIST_TR_STORE;
	rc = norm_ref(&out->ref, s, HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG,
		      err);
	if (rc)
		hoist_err_prefix(err, "image name '%s'", s);
	return rc;
}

char *hoist_transport_string(const struct hoist_transport *t)
{
	switch (t->kind) {
	case HOIST_TR_DOCKER:
		return hoist_xasprintf("docker://%s", t->ref);
	case HOIST_TR_STORE:
		return hoist_xstrdup(t->ref);
	default:
		return hoist_xasprintf(
			"%s%s%s%s",
			t->kind == HOIST_TR_OCI           ? "oci:"
			: t->kind == HOIST_TR_OCI_ARCHIVE ? "oci-archive:"
							  : "docker-archive:",
			t->path, t->ref ? ":" : "", t->ref ? t->ref : "");
	}
}

/* Narrow root to the manifest of one platform. */
static int select_platform(json_t **root, struct hoist_store *s,
			   const struct hoist_platform *want,
			   struct hoist_err *err)
{
	struct hoist_img_manifest *ms = NULL;
	size_t n = 0;
	char name[128];
	int rc = hoist_imgwalk_manifests(&ms, &n, s, *root, err);

	if (rc)
		return rc;
	hoist_platform_format(want, name, sizeof(name));
	for (size_t i = 0; i < n; i++) {
		struct hoist_platform p;
		char have[128];
		hoist_platform_format(&ms[i].platform, have, sizeof(have));
		if (hoist_platform_parse(&p, have, NULL) != 0 ||
		    !hoist_platform_equal(&p, want))
			continue;
		json_t *d = hoist_image_desc(
			hoist_json_str(ms[i].desc, "mediaType"),
			hoist_json_str(ms[i].desc, "digest"),
			(uint64_t)json_integer_value(
				json_object_get(ms[i].desc, "size")));
		hoist_image_desc_set_platform(d, &ms[i].platform);
		json_decref(*root);
		*root = d;
		hoist_imgwalk_manifests_free(ms, n);
		return 0;
	}
	hoist_imgwalk_manifests_free(ms, n);
	return hoist_err_set(err, HOIST_ENOTFOUND,
			     "no image for platform '%s' in the source", name);
}

int hoist_transport_read(json_t **root, struct hoist_store *s,
			 const struct hoist_transport *t,
			 const struct hoist_copy_opts *o, struct hoist_err *err)
{
	struct hoist_pull_opts po;
	struct hoist_pull_stats ps;
	int rc;

	*root = NULL;
	switch (t->kind) {
	case HOIST_TR_DOCKER:
		memset(&po, 0, sizeof(po));
		po.reg = o->reg;
		po.platforms = o->platform;
		po.nplatforms = o->platform ? 1 : 0;
		rc = hoist_pull_image(root, s, t->ref, &po, &ps, err);
		if (!rc)
			hoist_log(HOIST_LOG_INFO,
				  "pulled %s: %llu blobs, %llu already "
				  "there, %.1f MiB",
				  t->ref, (unsigned long long)ps.blobs,
				  (unsigned long long)ps.blobs_present,
				  (double)ps.bytes / (1 << 20));
		return rc;
	case HOIST_TR_OCI:
		rc = hoist_import_oci_dir(root, s, t->path, t->ref, err);
		break;
	case HOIST_TR_OCI_ARCHIVE:
		rc = hoist_import_oci_archive(root, s, t->path, t->ref, err);
		break;
	case HOIST_TR_DOCKER_ARCHIVE:
		rc = hoist_import_docker_archive(root, s, t->path, t->ref, err);
		break;
	case HOIST_TR_STORE:
	default:
		rc = hoist_store_resolve(s, t->ref, root, err);
		break;
	}
	if (!rc && o->platform)
		rc = select_platform(root, s, o->platform, err);
	if (rc) {
		json_decref(*root);
		*root = NULL;
	}
	return rc;
}

static int write_layout(struct hoist_store *s, const json_t *root,
			const struct hoist_transport *t, struct hoist_err *err)
{
	struct hoist_export_plan p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.type = t->kind == HOIST_TR_DOCKER_ARCHIVE ? HOIST_EXPORT_DOCKER
						    : HOIST_EXPORT_OCI;
	p.type_name = t->kind == HOIST_TR_DOCKER_ARCHIVE ? "docker-archive"
		      : t->kind == HOIST_TR_OCI          ? "oci"
							 : "oci-archive";
	p.tar = t->kind != HOIST_TR_OCI;
	p.dest = hoist_xstrdup(t->path);
	p.epoch = -1;
	p.created = (int64_t)time(NULL);
	p.platform_split = -1;
	if (t->ref && t->kind == HOIST_TR_DOCKER_ARCHIVE) {
		p.names = hoist_xcalloc(1, sizeof(char *));
		p.names[0] = hoist_xstrdup(t->ref);
		p.nnames = 1;
	} else if (t->ref) {
		p.layout_ref = hoist_xstrdup(t->ref);
	}
	rc = hoist_export_write(&p, s, root, err);
	hoist_export_plan_release(&p);
	return rc;
}

/* The source repository when src and t are on the same registry (blobs
 * are mounted from it), else NULL. Caller frees. */
static char *mount_source(const struct hoist_transport *src,
			  const struct hoist_transport *t)
{
	struct hoist_ref a, b;
	char *mount = NULL;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (src && src->kind == HOIST_TR_DOCKER &&
	    hoist_ref_parse(&a, src->ref, HOIST_REF_NORMALIZE, NULL) == 0 &&
	    hoist_ref_parse(&b, t->ref, HOIST_REF_NORMALIZE, NULL) == 0 &&
	    strcmp(a.domain, b.domain) == 0 && strcmp(a.path, b.path) != 0)
		mount = hoist_xstrdup(a.path);
	hoist_ref_release(&a);
	hoist_ref_release(&b);
	return mount;
}

static void log_pushed(int rc, const struct hoist_transport *t,
		       const struct hoist_push_stats *st)
{
	if (!rc)
		hoist_log(HOIST_LOG_INFO,
			  "pushed %s@%s: %llu blobs, %llu already there, "
			  "%.1f MiB sent",
			  t->ref, st->digest, (unsigned long long)st->blobs,
			  (unsigned long long)st->blobs_present,
			  (double)st->bytes_sent / (1 << 20));
}

int hoist_transport_write(struct hoist_store *s, const json_t *root,
			  const struct hoist_transport *t,
			  const struct hoist_transport *src,
			  const struct hoist_copy_opts *o,
			  struct hoist_err *err)
{
	struct hoist_registry_opts ro = o->reg;
	struct hoist_push_stats st;
	char *mount = NULL;
	int rc;

	switch (t->kind) {
	case HOIST_TR_STORE:
		return hoist_store_tag(s, t->ref, root, err);
	case HOIST_TR_DOCKER:
		break;
	case HOIST_TR_DOCKER_ARCHIVE:
		if (!o->platform && hoist_image_mt_is_index(hoist_json_str(
					    root, "mediaType"))) {
			/* docker load takes one image: the host's, as skopeo */
			struct hoist_platform host;
			json_t *one = json_incref((json_t *)root);
			hoist_platform_host(&host);
			rc = select_platform(&one, s, &host, err);
			if (rc) {
				json_decref(one);
				return hoist_err_prefix(
					err, "docker-archive holds one image: "
					     "give --platform");
			}
			hoist_log(HOIST_LOG_INFO,
				  "docker-archive: writing the %s/%s image of "
				  "the index",
				  host.os, host.arch);
			rc = write_layout(s, one, t, err);
			json_decref(one);
			return rc;
		}
		return write_layout(s, root, t, err);
	default:
		return write_layout(s, root, t, err);
	}
	mount = mount_source(src, t);
	ro.mount_from = mount;
	rc = hoist_registry_push(s, root, t->ref, o->by_digest, &ro, &st, err);
	log_pushed(rc, t, &st);
	free(mount);
	return rc;
}

int hoist_transport_copy(struct hoist_store *s,
			 const struct hoist_transport *src,
			 const struct hoist_transport *dst,
			 const struct hoist_copy_opts *o, int *present,
			 struct hoist_err *err)
{
	struct hoist_registry_opts ro = o->reg;
	struct hoist_pull_opts po;
	struct hoist_push_stats st;
	json_t *root = NULL;
	char *mount;
	int rc;

	if (present)
		*present = 0;
	if (src->kind != HOIST_TR_DOCKER || dst->kind != HOIST_TR_DOCKER) {
		rc = hoist_transport_read(&root, s, src, o, err);
		if (!rc)
			rc = hoist_transport_write(s, root, dst, src, o, err);
		json_decref(root);
		return rc;
	}
	/* registry to registry: streamed (copy.h) */
	memset(&po, 0, sizeof(po));
	po.reg = o->reg;
	po.platforms = o->platform;
	po.nplatforms = o->platform ? 1 : 0;
	mount = mount_source(src, dst);
	ro.mount_from = mount;
	rc = hoist_copy_registry(&root, s, src->ref, dst->ref, o->by_digest,
				 &po, &ro, &st, err);
	log_pushed(rc, dst, &st);
	if (present)
		*present = !rc && st.present;
	free(mount);
	json_decref(root);
	return rc;
}

int hoist_transport_list_tags(json_t **tags, const char *repo_ref,
			      const struct hoist_registry_opts *o,
			      struct hoist_err *err)
{
	struct hoist_regconn c;
	struct hoist_ref r;
	char *url = NULL;
	int rc, pages = 0;

	*tags = NULL;
	rc = hoist_ref_parse(&r, repo_ref, HOIST_REF_NORMALIZE, err);
	if (rc)
		return rc;
	rc = hoist_regconn_open(&c, r.domain, r.path, "pull", NULL, &o->conn,
				err);
	if (rc)
		goto out;
	*tags = json_array();
	url = hoist_xasprintf("%s/v2/%s/tags/list?n=1000", c.base, r.path);
	while (url && pages++ < TAG_PAGES_MAX) {
		struct hoist_http_response resp;
		json_t *doc = NULL, *v;
		const char *link;
		size_t i;

		rc = hoist_regconn_request(&c, "GET", url, NULL, 0, NULL, 0,
					   HOIST_MANIFEST_MAX, &resp, err);
		if (rc) {
			/* filled also on failure (a body over the cap) */
			hoist_http_response_release(&resp);
			break;
		}
		if (resp.status != 200) {
			rc = hoist_regconn_http_error(err, "list tags", &resp);
			hoist_http_response_release(&resp);
			break;
		}
		rc = hoist_json_parse(&doc, resp.body.data, resp.body.len,
				      "tag list", err);
		if (!rc)
			json_array_foreach(json_object_get(doc, "tags"), i,
					   v) if (json_is_string(v))
				json_array_append(*tags, v);
		json_decref(doc);
		/* Link: </v2/...?last=x&n=1000>; rel="next" */
		link = hoist_http_header_get(&resp, "Link");
		free(url);
		url = NULL;
		if (!rc && link && strstr(link, "rel=\"next\"") &&
		    link[0] == '<' && strchr(link, '>')) {
			char *rel = hoist_xstrndup(
				link + 1,
				(size_t)(strchr(link, '>') - link - 1));
			rc = hoist_http_resolve_url(&url, c.base, rel, err);
			free(rel);
		}
		hoist_http_response_release(&resp);
		if (rc)
			break;
	}
	if (!rc && url)
		hoist_log(HOIST_LOG_WARN,
			  "tags of '%s': stopped after %d pages; the tags "
			  "after them are left out",
			  repo_ref, TAG_PAGES_MAX);
	free(url);
out:
	hoist_regconn_close(&c);
	hoist_ref_release(&r);
	if (rc) {
		json_decref(*tags);
		*tags = NULL;
		hoist_err_prefix(err, "tags of '%s'", repo_ref);
	}
	return rc;
}
