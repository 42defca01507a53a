/*
 * test-attest.c: in-toto statements, SLSA provenance, attestation
 * manifests (lib/attest.c) and the SPDX SBOM of a rootfs (lib/sbom.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/attest.h"
#include "lib/image.h"
#include "lib/layer.h"
#include "lib/sbom.h"
#include "lib/store.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"

#define D1                                                                     \
	"sha256:"                                                              \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
	"sha256:"                                                              \
	"2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
	"sha256:"                                                              \
	"3333333333333333333333333333333333333333333333333333333333333333"

static void purl_forms(void **state)
{
	struct hoist_platform p = {"linux", "arm", "v7"};
	struct hoist_err err;
	char *s;
	(void)state;

	assert_int_equal(
		hoist_attest_purl(&s, "localhost:5000/me/app:1.0", &p, &err),
		0);
	assert_string_equal(s, "pkg:docker/localhost:5000/me/"
			       "app@1.0?platform=linux%2Farm%2Fv7");
	free(s);
	assert_int_equal(hoist_attest_purl(&s, "alpine", NULL, &err), 0);
	assert_string_equal(s, "pkg:docker/alpine@latest");
	free(s);
	assert_int_equal(
		hoist_attest_purl(&s, "docker.io/me/app:1", NULL, &err), 0);
	assert_string_equal(s, "pkg:docker/me/app@1");
	free(s);
	assert_int_equal(hoist_attest_purl(&s, "Bad/Name", NULL, &err),
			 HOIST_EINVAL);
	assert_null(s);
}

static const struct hoist_attest_param params[] = {
	{"platform", "linux/amd64", 0},
	{"layer", "rootfs", 0},
	{"env", "TOKEN=secret", 1},
};
static const struct hoist_attest_material mats[] = {
	{"pkg:docker/alpine@3.19?platform=linux%2Famd64", D2, NULL},
	{"file:rootfs", D3, NULL},
};

static json_t *statement(enum hoist_prov_mode mode, int64_t epoch)
{
	struct hoist_provenance p = {mode,   NULL,  mats,          2,
				     params, 3,     "linux/amd64", 100,
				     200,    epoch, "0.1.0",       0};
	struct hoist_attest_subject subj = {"pkg:docker/me/app@1", D1};
	json_t *pred = hoist_attest_provenance(&p), *st;
	struct hoist_err err;
	char *out;
	size_t len;

	assert_int_equal(hoist_attest_statement(&out, &len, HOIST_PRED_SLSA02,
						&subj, 1, pred, &err),
			 0);
	json_decref(pred);
	/* compact, in BuildKit's field order */
	assert_true(strncmp(out,
			    "{\"_type\":\"https://in-toto.io/Statement/v1\","
			    "\"predicateType\":\"https://slsa.dev/provenance/"
			    "v0.2\",\"subject\":[{\"name\":\"pkg:docker/me/"
			    "app@1\",\"digest\":{\"sha256\":\"1111",
			    120) == 0);
	assert_int_equal(hoist_json_parse(&st, out, len, "statement", &err), 0);
	free(out);
	return st;
}

/* version=v1: BuildKit's SLSA v1 layout with the same inputs */
static void provenance_v1(void **state)
{
	struct hoist_provenance p = {HOIST_PROV_MIN,
				     "https://ci/1",
				     mats,
				     2,
				     params,
				     3,
				     "linux/amd64",
				     100,
				     200,
				     7,
				     "0.1.0",
				     1};
	json_t *pred = hoist_attest_provenance(&p), *def, *run, *o;
	(void)state;

	def = json_object_get(pred, "buildDefinition");
	run = json_object_get(pred, "runDetails");
	assert_non_null(def);
	assert_non_null(run);
	assert_null(json_object_get(pred, "invocation"));
	assert_string_equal(hoist_json_str(def, "buildType"), HOIST_BUILD_TYPE);
	o = json_object_get(json_object_get(def, "externalParameters"),
			    "request");
	assert_string_equal(hoist_json_str(o, "layer"), "rootfs");
	assert_null(json_object_get(o, "env")); /* secrets: max only */
	o = json_object_get(def, "internalParameters");
	assert_string_equal(hoist_json_str(o, "builderPlatform"),
			    "linux/amd64");
	assert_null(json_object_get(o, "buildConfig"));
	o = json_object_get(def, "resolvedDependencies");
	assert_int_equal(json_array_size(o), 2);
	assert_string_equal(hoist_json_str(json_array_get(o, 0), "uri"),
			    mats[0].uri);
	assert_string_equal(
		hoist_json_str(json_object_get(run, "builder"), "id"),
		"https://ci/1");
	o = json_object_get(run, "metadata");
	assert_string_equal(hoist_json_str(o, "startedOn"),
			    "1970-01-01T00:00:07Z");
	assert_true(json_is_true(json_object_get(o, "buildkit_reproducible")));
	assert_true(json_is_false(json_object_get(
		json_object_get(o, "buildkit_completeness"), "request")));
	json_decref(pred);
}

static void provenance_min_max(void **state)
{
	json_t *st, *pred, *par, *meta;
	(void)state;

	st = statement(HOIST_PROV_MIN, -1);
	pred = json_object_get(st, "predicate");
	assert_string_equal(
		hoist_json_str(json_object_get(pred, "builder"), "id"), "");
	assert_string_equal(hoist_json_str(pred, "buildType"),
			    HOIST_BUILD_TYPE);
	par = json_object_get(json_object_get(pred, "invocation"),
			      "parameters");
	assert_string_equal(hoist_json_str(par, "layer"), "rootfs");
	assert_null(json_object_get(par, "env")); /* secrets: max only */
	assert_null(json_object_get(pred, "buildConfig"));
	meta = json_object_get(pred, "metadata");
	assert_string_equal(hoist_json_str(meta, "buildStartedOn"),
			    "1970-01-01T00:01:40Z");
	assert_string_equal(hoist_json_str(meta, "buildFinishedOn"),
			    "1970-01-01T00:03:20Z");
	assert_true(json_is_false(json_object_get(
		json_object_get(meta, "completeness"), "parameters")));
	assert_true(json_is_false(json_object_get(meta, "reproducible")));
	assert_string_equal(
		hoist_json_str(
			json_object_get(meta, HOIST_BUILD_TYPE "#metadata"),
			"version"),
		"0.1.0");
	assert_int_equal(json_array_size(json_object_get(pred, "materials")),
			 2);
	{
		json_t *m =
			json_array_get(json_object_get(pred, "materials"), 1);
		assert_string_equal(hoist_json_str(m, "uri"), "file:rootfs");
		assert_string_equal(
			hoist_json_str(json_object_get(m, "digest"), "sha256"),
			D3 + 7);
	}
	json_decref(st);

	st = statement(HOIST_PROV_MAX, 50);
	pred = json_object_get(st, "predicate");
	par = json_object_get(json_object_get(pred, "invocation"),
			      "parameters");
	assert_string_equal(hoist_json_str(par, "env"), "TOKEN=secret");
	assert_int_equal(
		json_array_size(json_object_get(
			json_object_get(pred, "buildConfig"), "definition")),
		3);
	meta = json_object_get(pred, "metadata");
	assert_string_equal(hoist_json_str(meta, "buildStartedOn"),
			    "1970-01-01T00:00:50Z");
	assert_true(json_is_true(json_object_get(
		json_object_get(meta, "completeness"), "parameters")));
	assert_true(json_is_true(json_object_get(meta, "reproducible")));
	json_decref(st);
}

static void statement_bad_subject(void **state)
{
	struct hoist_attest_subject subj = {"x", "sha256:nothex"};
	json_t *pred = json_object();
	struct hoist_err err;
	char *out;
	size_t len;
	(void)state;

	assert_int_equal(hoist_attest_statement(&out, &len, HOIST_PRED_SPDX,
						&subj, 1, pred, &err),
			 HOIST_EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "subject 'x'"));
	json_decref(pred);
}

static void manifest_forms(void **state)
{
	struct hoist_attest_layer l[2] = {{D2, 10, HOIST_PRED_SLSA02},
					  {D3, 20, HOIST_PRED_SPDX}};
	json_t *subject = hoist_image_desc(HOIST_MT_OCI_MANIFEST, D1, 500);
	struct hoist_err err;
	char *out, *cfg, hex[HOIST_SHA256_HEXLEN + 1], *want;
	size_t len, clen;
	json_t *m, *d;
	(void)state;

	assert_int_equal(hoist_attest_manifest(&out, &len, &cfg, &clen, subject,
					       l, 2, 1, &err),
			 0);
	assert_null(cfg);
	assert_int_equal(hoist_json_parse(&m, out, len, "m", &err), 0);
	free(out);
	assert_string_equal(hoist_json_str(m, "artifactType"),
			    HOIST_MT_ATTEST_ARTIFACT);
	d = json_object_get(m, "config");
	assert_string_equal(hoist_json_str(d, "digest"),
			    HOIST_DIGEST_OCI_EMPTY);
	assert_string_equal(hoist_json_str(d, "data"), "e30=");
	hoist_sha256_hex("{}", 2, hex);
	assert_string_equal(HOIST_DIGEST_OCI_EMPTY + 7, hex);
	d = json_array_get(json_object_get(m, "layers"), 1);
	assert_string_equal(hoist_json_str(d, "mediaType"), HOIST_MT_INTOTO);
	assert_string_equal(hoist_json_str(json_object_get(d, "annotations"),
					   HOIST_ANN_PREDICATE_TYPE),
			    HOIST_PRED_SPDX);
	assert_string_equal(
		hoist_json_str(json_object_get(m, "subject"), "digest"), D1);
	json_decref(m);

	assert_int_equal(hoist_attest_manifest(&out, &len, &cfg, &clen, subject,
					       l, 2, 0, &err),
			 0);
	assert_string_equal(cfg, "{\"architecture\":\"unknown\",\"os\":"
				 "\"unknown\",\"config\":{},\"rootfs\":{"
				 "\"type\":\"layers\",\"diff_ids\":[\"" D2
				 "\",\"" D3 "\"]}}");
	hoist_sha256_hex(cfg, clen, hex);
	want = hoist_xasprintf("sha256:%s", hex);
	assert_int_equal(hoist_json_parse(&m, out, len, "m", &err), 0);
	assert_null(json_object_get(m, "subject"));
	assert_null(json_object_get(m, "artifactType"));
	assert_string_equal(
		hoist_json_str(json_object_get(m, "config"), "digest"), want);
	json_decref(m);
	free(want);
	free(out);
	free(cfg);
	json_decref(subject);

	/* the index entry, byte for byte */
	d = hoist_attest_index_desc(D2, 42, D1, 0);
	assert_int_equal(hoist_json_dump(&out, &len, d, 1, &err), 0);
	assert_string_equal(out,
			    "{\n"
			    "  \"mediaType\": "
			    "\"application/vnd.oci.image.manifest.v1+json\",\n"
			    "  \"digest\": \"" D2 "\",\n"
			    "  \"size\": 42,\n"
			    "  \"annotations\": {\n"
			    "    \"vnd.docker.reference.digest\": \"" D1 "\",\n"
			    "    \"vnd.docker.reference.type\": "
			    "\"attestation-manifest\"\n"
			    "  },\n"
			    "  \"platform\": {\n"
			    "    \"architecture\": \"unknown\",\n"
			    "    \"os\": \"unknown\"\n"
			    "  }\n"
			    "}");
	free(out);
	json_decref(d);
}

#define DPKG                                                                   \
	"Package: libc6\n"                                                     \
	"Status: install ok installed\n"                                       \
	"Architecture: amd64\n"                                                \
	"Source: glibc (2.36-9)\n"                                             \
	"Version: 2.36-9+deb12u4\n"                                            \
	"Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"   \
	"Description: GNU C Library\n"                                         \
	" more text: with a colon\n"                                           \
	"\n"                                                                   \
	"Package: removed\n"                                                   \
	"Status: deinstall ok config-files\n"                                  \
	"Version: 1\n"                                                         \
	"\n"                                                                   \
	"Package: base-files\n"                                                \
	"Status: install ok installed\n"                                       \
	"Architecture: amd64\n"                                                \
	"Version: 12.4+deb12u5\n"

#define APK                                                                    \
	"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n"              \
	"m:Timo <timo@alpinelinux.org>\nF:lib\nR:ld-musl-x86_64.so.1\n\n"      \
	"P:busybox\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\n"

static void sbom_parsers(void **state)
{
	struct hoist_sbom s;
	struct hoist_err err;
	(void)state;

	hoist_sbom_init(&s);
	assert_int_equal(
		hoist_sbom_parse_dpkg(&s, DPKG, strlen(DPKG), "status", &err),
		0);
	assert_int_equal(s.npkgs, 2);
	assert_string_equal(s.pkgs[0].name, "libc6");
	assert_string_equal(s.pkgs[0].version, "2.36-9+deb12u4");
	assert_string_equal(s.pkgs[0].source, "glibc");
	assert_string_equal(s.pkgs[1].name, "base-files");
	assert_int_equal(
		hoist_sbom_parse_apk(&s, APK, strlen(APK), "installed", &err),
		0);
	assert_int_equal(s.npkgs, 4);
	assert_string_equal(s.pkgs[2].license, "MIT");
	assert_string_equal(s.pkgs[3].name, "busybox");

	/* errors name the file and line; nothing of the bad file stays */
	assert_int_equal(hoist_sbom_parse_dpkg(&s,
					       "Package: a\nVersion: 1\n\n"
					       "Package: b\nVersion 2\n",
					       22 + 20, "status", &err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg,
			    "'status' line 5: expected 'Field: value'");
	assert_int_equal(s.npkgs, 4);
	assert_int_equal(hoist_sbom_parse_dpkg(&s, " x\n", 3, "status", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_sbom_parse_dpkg(&s, "Package: a b\nVersion: 1\n",
					       24, "status", &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "line 1: invalid package name"));
	assert_int_equal(hoist_sbom_parse_apk(&s, "P:x\nnonsense\n", 13,
					      "installed", &err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg, "'installed' line 2: expected 'K:value'");
	assert_int_equal(s.npkgs, 4);
	hoist_sbom_release(&s);

	/* a kept field is bounded */
	{
		size_t n = HOIST_SBOM_FIELD_MAX + 40;
		char *big = hoist_xmalloc(n + 1);
		memset(big, 'a', n);
		memcpy(big, "Package: x\nVersion: ", 20);
		big[n - 1] = '\n';
		big[n] = '\0';
		hoist_sbom_init(&s);
		assert_int_equal(
			hoist_sbom_parse_dpkg(&s, big, n, "status", &err),
			HOIST_ELIMIT);
		assert_int_equal(s.npkgs, 0);
		free(big);
	}
}

static void sbom_spdx(void **state)
{
	struct hoist_sbom s;
	struct hoist_err err;
	const char *osr = "NAME=\"Debian\"\nID=debian\nVERSION_ID=\"12\"\n";
	char *a, *b;
	size_t alen, blen;
	json_t *doc, *pkgs, *p;
	(void)state;

	hoist_sbom_init(&s);
	hoist_sbom_parse_os_release(&s, osr, strlen(osr));
	assert_string_equal(s.distro, "debian");
	assert_string_equal(s.distro_version, "12");
	assert_int_equal(
		hoist_sbom_parse_dpkg(&s, DPKG, strlen(DPKG), "status", &err),
		0);
	/* listed twice: one package in the document */
	assert_int_equal(
		hoist_sbom_parse_dpkg(&s, DPKG, strlen(DPKG), "status", &err),
		0);
	doc = hoist_sbom_spdx(&s, "me/app:1", 0, "0.1.0");
	assert_int_equal(hoist_json_dump(&a, &alen, doc, 0, &err), 0);
	assert_string_equal(hoist_json_str(doc, "spdxVersion"), "SPDX-2.3");
	assert_string_equal(
		hoist_json_str(json_object_get(doc, "creationInfo"), "created"),
		"1970-01-01T00:00:00Z");
	pkgs = json_object_get(doc, "packages");
	assert_int_equal(json_array_size(pkgs), 3); /* root + 2 */
	p = json_array_get(pkgs, 1);                /* sorted by name */
	assert_string_equal(hoist_json_str(p, "name"), "base-files");
	p = json_array_get(pkgs, 2);
	assert_string_equal(hoist_json_str(p, "name"), "libc6");
	assert_string_equal(hoist_json_str(p, "versionInfo"), "2.36-9+deb12u4");
	assert_string_equal(hoist_json_str(p, "supplier"),
			    "Person: GNU Libc Maintainers "
			    "(debian-glibc@lists.debian.org)");
	assert_string_equal(
		hoist_json_str(
			json_array_get(json_object_get(p, "externalRefs"), 0),
			"referenceLocator"),
		"pkg:deb/debian/"
		"libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
	assert_int_equal(json_array_size(json_object_get(doc, "relationships")),
			 3);
	json_decref(doc);
	doc = hoist_sbom_spdx(&s, "me/app:1", 0, "0.1.0");
	assert_int_equal(hoist_json_dump(&b, &blen, doc, 0, &err), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	json_decref(doc);
	free(a);
	free(b);
	hoist_sbom_release(&s);
}

static void sbom_scan_rootfs(void **state)
{
	char *dir = tl_mkdtemp("attest"), path[4096];
	const char *roots[2];
	struct hoist_sbom s;
	struct hoist_err err;
	(void)state;

	assert_non_null(dir);
	/* top layer: os-release; bottom layer: the dpkg database, reached
	 * through an absolute symlink that must stay inside the root */
	snprintf(path, sizeof(path), "%s/top/etc/os-release", dir);
	tl_write_file(path, "ID=debian\nVERSION_ID=12\n", 0644);
	snprintf(path, sizeof(path), "%s/bottom/real-status", dir);
	tl_write_file(path, DPKG, 0644);
	snprintf(path, sizeof(path), "%s/bottom/var/lib/dpkg", dir);
	tl_must_run("mkdir -p '%s' && ln -s /real-status '%s/status'", path,
		    path);
	snprintf(path, sizeof(path), "%s/top", dir);
	roots[0] = hoist_xstrdup(path);
	snprintf(path, sizeof(path), "%s/bottom", dir);
	roots[1] = hoist_xstrdup(path);
	hoist_sbom_init(&s);
	assert_int_equal(hoist_sbom_scan(&s, roots, 2, &err), 0);
	assert_string_equal(s.distro, "debian");
	/* without openat2 the symlink is refused rather than followed */
	if (s.npkgs)
		assert_int_equal(s.npkgs, 2);
	hoist_sbom_release(&s);

	/* a symlink out of the root reads nothing of the host */
	tl_must_run("ln -sf /../../../../../etc/passwd "
		    "'%s/var/lib/dpkg/status'",
		    roots[1]);
	hoist_sbom_init(&s);
	assert_int_equal(hoist_sbom_scan(&s, roots + 1, 1, &err), 0);
	assert_int_equal(s.npkgs, 0);
	hoist_sbom_release(&s);

	/* a FIFO is refused without blocking; so is an oversized file */
	tl_must_run("rm '%s/var/lib/dpkg/status' && mkfifo "
		    "'%s/var/lib/dpkg/status'",
		    roots[1], roots[1]);
	hoist_sbom_init(&s);
	assert_int_equal(hoist_sbom_scan(&s, roots + 1, 1, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	tl_must_run("rm '%s/var/lib/dpkg/status' && truncate -s 65M "
		    "'%s/var/lib/dpkg/status'",
		    roots[1], roots[1]);
	assert_int_equal(hoist_sbom_scan(&s, roots + 1, 1, &err), HOIST_ELIMIT);
	hoist_sbom_release(&s);

	/* no database at all: an empty list, not an error */
	hoist_sbom_init(&s);
	assert_int_equal(hoist_sbom_scan(&s, roots, 1, &err), 0);
	assert_int_equal(s.npkgs, 0);
	hoist_sbom_release(&s);
	free((char *)roots[0]);
	free((char *)roots[1]);
	tl_rm_rf(dir);
	free(dir);
}

static json_t *get_json(struct hoist_store *st, const char *digest)
{
	struct hoist_err err;
	char *data;
	size_t len;
	json_t *v;

	assert_int_equal(
		hoist_store_get(st, digest, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(hoist_json_parse(&v, data, len, "blob", &err), 0);
	free(data);
	return v;
}

/* Store a layer of the tree dir (gzip) and fill *l with it. */
static void put_layer(struct hoist_store *st, const char *dir,
		      struct hoist_layer *got, struct hoist_image_layer *l)
{
	struct hoist_layer_opts lo = {
		HOIST_COMP_GZIP, HOIST_COMP_LEVEL_DEFAULT, -1, NULL, NULL, 0};
	struct hoist_err err;

	assert_int_equal(hoist_layer_from_dir(got, st, dir, &lo, &err), 0);
	memset(l, 0, sizeof(*l));
	l->digest = got->digest.str;
	l->diff_id = got->diff_id.str;
	l->size = got->size;
	l->compression = HOIST_COMP_GZIP;
}

/* Store a manifest of layers l[0..n): its digest into md, its size back. */
static size_t put_manifest(struct hoist_store *st,
			   const struct hoist_image_layer *l, size_t n,
			   struct hoist_digest *md)
{
	struct hoist_digest cd;
	struct hoist_err err;
	json_t *cdesc;
	char *m;
	size_t mlen;

	assert_int_equal(hoist_store_put(st, "{}", 2, &cd, &err), 0);
	cdesc = hoist_image_desc(HOIST_MT_OCI_CONFIG, cd.str, 2);
	assert_int_equal(
		hoist_image_manifest(&m, &mlen, cdesc, l, n, NULL, 1, &err), 0);
	assert_int_equal(hoist_store_put(st, m, mlen, md, &err), 0);
	free(m);
	json_decref(cdesc);
	return mlen;
}

static size_t image_pkgs(struct hoist_store *st,
			 const struct hoist_image_layer *l, size_t n)
{
	struct hoist_digest md;
	struct hoist_sbom s;
	struct hoist_err err;
	size_t np;

	put_manifest(st, l, n, &md);
	hoist_sbom_init(&s);
	assert_int_equal(hoist_sbom_scan_image(&s, st, md.str, &err), 0);
	np = s.npkgs;
	hoist_sbom_release(&s);
	return np;
}

/*
 * The image's final rootfs: the topmost layer holding a database wins; a
 * whiteout of it or of a parent, or an opaque parent, hides it below.
 */
static void sbom_scan_image(void **state)
{
	char *dir = tl_mkdtemp("attest"), path[4096];
	struct hoist_layer got[4];
	struct hoist_image_layer l[4];
	struct hoist_store *st;
	struct hoist_err err;
	(void)state;

	snprintf(path, sizeof(path), "%s/store", dir);
	assert_int_equal(hoist_store_open(&st, path, &err), 0);
	snprintf(path, sizeof(path), "%s/deb/var/lib/dpkg/status", dir);
	tl_write_file(path, DPKG, 0644);
	snprintf(path, sizeof(path), "%s/apk/lib/apk/db/installed", dir);
	tl_write_file(path, APK, 0644);
	snprintf(path, sizeof(path), "%s/wh/var/lib/.wh.dpkg", dir);
	tl_write_file(path, "", 0644);
	snprintf(path, sizeof(path), "%s/opq/var/lib/dpkg/.wh..wh..opq", dir);
	tl_write_file(path, "", 0644);
	snprintf(path, sizeof(path), "%s/deb", dir);
	put_layer(st, path, &got[0], &l[0]);
	snprintf(path, sizeof(path), "%s/apk", dir);
	put_layer(st, path, &got[1], &l[1]);
	snprintf(path, sizeof(path), "%s/wh", dir);
	put_layer(st, path, &got[2], &l[2]);
	snprintf(path, sizeof(path), "%s/opq", dir);
	put_layer(st, path, &got[3], &l[3]);

	assert_int_equal(image_pkgs(st, l, 1), 2);     /* dpkg */
	assert_int_equal(image_pkgs(st, l, 2), 2 + 2); /* dpkg and apk */
	assert_int_equal(image_pkgs(st, l + 1, 1), 2); /* apk */
	{
		struct hoist_image_layer w[3] = {l[0], l[2], l[1]};
		assert_int_equal(image_pkgs(st, w, 3), 2); /* apk only */
		w[1] = l[3];                               /* opaque dpkg dir */
		assert_int_equal(image_pkgs(st, w, 2), 0);
		w[0] = l[3]; /* the opaque layer below: dpkg above stays */
		w[1] = l[0];
		assert_int_equal(image_pkgs(st, w, 2), 2);
	}
	hoist_store_close(st);
	tl_rm_rf(dir);
	free(dir);
}

static void attach_to_image(void **state)
{
	char *dir = tl_mkdtemp("attest"), path[4096];
	struct hoist_platform amd = {"linux", "amd64", ""};
	struct hoist_attest_material pmats[] = {
		{"pkg:docker/base@1?platform=linux%2Famd64", D2, &amd},
		{"pkg:docker/base@1?platform=linux%2Farm64", D3, NULL}};
	const char *names[] = {"localhost:5000/me/app:1"};
	const char *dirs[1];
	struct hoist_attest_opts o;
	struct hoist_store *st;
	struct hoist_err err;
	struct hoist_digest md;
	struct hoist_image_layer none[1];
	struct hoist_layer lgot;
	json_t *root, *out, *meta, *ix, *e, *am, *stmt;
	size_t mlen;
	(void)state;

	snprintf(path, sizeof(path), "%s/store", dir);
	assert_int_equal(hoist_store_open(&st, path, &err), 0);
	snprintf(path, sizeof(path), "%s/rootfs/var/lib/dpkg/status", dir);
	tl_write_file(path, DPKG, 0644);
	snprintf(path, sizeof(path), "%s/rootfs", dir);
	dirs[0] = path;
	/* the SBOM reads the image's layer, not the directory */
	put_layer(st, path, &lgot, &none[0]);
	mlen = put_manifest(st, none, 1, &md);
	root = hoist_image_desc(HOIST_MT_OCI_MANIFEST, md.str, mlen);
	hoist_image_desc_set_platform(root, &amd);

	memset(&o, 0, sizeof(o));
	o.provenance = 1;
	o.prov.mode = HOIST_PROV_MAX;
	o.prov.materials = pmats;
	o.prov.nmaterials = 2;
	o.prov.epoch = 7;
	o.prov.version = "0.1.0";
	o.sbom = 1;
	o.dirs = dirs;
	o.ndirs = 1;
	o.names = names;
	o.nnames = 1;
	o.artifact = 1;
	assert_int_equal(hoist_attest_attach(st, root, &o, &out, &meta, &err),
			 0);
	assert_string_equal(hoist_json_str(out, "mediaType"),
			    HOIST_MT_OCI_INDEX);
	/* one manifest: buildx's single buildx.build.provenance key */
	assert_int_equal(json_object_size(meta), 1);
	assert_string_equal(
		hoist_json_str(
			json_object_get(
				json_object_get(
					json_object_get(meta,
							HOIST_META_PROVENANCE),
					"invocation"),
				"environment"),
			"platform"),
		"linux/amd64");
	json_decref(meta);

	ix = get_json(st, hoist_json_str(out, "digest"));
	assert_int_equal(json_array_size(json_object_get(ix, "manifests")), 2);
	e = json_array_get(json_object_get(ix, "manifests"), 0);
	assert_string_equal(hoist_json_str(e, "digest"), md.str);
	e = json_array_get(json_object_get(ix, "manifests"), 1);
	assert_string_equal(hoist_json_str(json_object_get(e, "annotations"),
					   HOIST_ANN_REF_DIGEST),
			    md.str);
	assert_string_equal(
		hoist_json_str(json_object_get(e, "platform"), "os"),
		"unknown");
	am = get_json(st, hoist_json_str(e, "digest"));
	assert_int_equal(json_array_size(json_object_get(am, "layers")), 2);
	assert_true(hoist_store_has(st, HOIST_DIGEST_OCI_EMPTY));

	/* the provenance lists this platform's materials only */
	stmt = get_json(
		st,
		hoist_json_str(json_array_get(json_object_get(am, "layers"), 0),
			       "digest"));
	assert_string_equal(
		hoist_json_str(
			json_array_get(json_object_get(stmt, "subject"), 0),
			"name"),
		"pkg:docker/localhost:5000/me/app@1?platform=linux%2Famd64");
	assert_int_equal(
		json_array_size(json_object_get(
			json_object_get(stmt, "predicate"), "materials")),
		2);
	json_decref(stmt);
	/* the SBOM lists the rootfs's packages */
	stmt = get_json(
		st,
		hoist_json_str(json_array_get(json_object_get(am, "layers"), 1),
			       "digest"));
	assert_string_equal(hoist_json_str(stmt, "predicateType"),
			    HOIST_PRED_SPDX);
	assert_int_equal(
		json_array_size(json_object_get(
			json_object_get(stmt, "predicate"), "packages")),
		3);
	json_decref(stmt);
	json_decref(am);

	/* attaching again to the index replaces, not adds */
	{
		json_t *again;
		assert_int_equal(
			hoist_attest_attach(st, out, &o, &again, NULL, &err),
			0);
		assert_string_equal(hoist_json_str(again, "digest"),
				    hoist_json_str(out, "digest"));
		json_decref(again);
	}
	json_decref(ix);
	json_decref(out);

	/* Docker media types cannot carry attestations */
	json_object_set_new(root, "mediaType",
			    json_string(HOIST_MT_DOCKER_MANIFEST));
	assert_int_equal(hoist_attest_attach(st, root, &o, &out, NULL, &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "oci-mediatypes=false"));
	json_decref(root);
	hoist_store_close(st);
	tl_rm_rf(dir);
	free(dir);
}

static void req_flags(void **state)
{
	struct hoist_attest_req r;
	struct hoist_err err;
	(void)state;

	hoist_attest_req_init(&r);
	assert_int_equal(
		hoist_attest_req_parse(&r, "provenance", "false", &err), 0);
	assert_int_equal(r.provenance, 0);
	assert_int_equal(hoist_attest_req_parse(&r, "provenance", "true", &err),
			 0);
	assert_int_equal(r.provenance, 1);
	assert_int_equal(r.mode, HOIST_PROV_MAX);
	assert_int_equal(hoist_attest_req_parse(&r, "provenance",
						"mode=min,builder-id=ci://x",
						&err),
			 0);
	assert_int_equal(r.mode, HOIST_PROV_MIN);
	assert_string_equal(r.builder_id, "ci://x");
	assert_int_equal(hoist_attest_req_parse(&r, "sbom", "true", &err), 0);
	assert_int_equal(r.sbom, 1);
	assert_int_equal(hoist_attest_req_parse(
				 &r, "attest", "type=sbom,disabled=true", &err),
			 0);
	assert_int_equal(r.sbom, 0);
	assert_int_equal(hoist_attest_req_parse(&r, "attest",
						"type=provenance,mode=max",
						&err),
			 0);
	assert_int_equal(r.mode, HOIST_PROV_MAX);
	assert_int_equal(hoist_attest_req_parse(&r, "attest", "mode=max", &err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg,
			    "invalid --attest 'mode=max': type= is required");
	assert_int_equal(hoist_attest_req_parse(&r, "attest", "type=vex", &err),
			 HOIST_EINVAL);
	assert_int_equal(
		hoist_attest_req_parse(&r, "provenance", "mode=huge", &err),
		HOIST_EINVAL);
	assert_int_equal(
		hoist_attest_req_parse(&r, "provenance", "version=v2", &err),
		HOIST_EUNSUPPORTED);
	assert_int_equal(hoist_attest_req_parse(&r, "provenance",
						"mode=max,version=v0.2", &err),
			 0);
	assert_int_equal(r.v1, 0);
	assert_int_equal(hoist_attest_req_parse(&r, "provenance",
						"mode=max,version=v1", &err),
			 0);
	assert_int_equal(r.v1, 1);
	hoist_attest_req_release(&r);
	/* SLSA v1 unless asked otherwise (BuildKit >= v0.29) */
	assert_int_equal(hoist_attest_req_parse(&r, "provenance", "true", &err),
			 0);
	assert_int_equal(r.v1, 1);
	hoist_attest_req_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(purl_forms),
		cmocka_unit_test(provenance_min_max),
		cmocka_unit_test(provenance_v1),
		cmocka_unit_test(statement_bad_subject),
		cmocka_unit_test(manifest_forms),
		cmocka_unit_test(sbom_parsers),
		cmocka_unit_test(sbom_spdx),
		cmocka_unit_test(sbom_scan_rootfs),
		cmocka_unit_test(sbom_scan_image),
		cmocka_unit_test(attach_to_image),
		cmocka_unit_test(req_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
