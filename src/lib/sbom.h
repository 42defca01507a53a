/*
 * sbom.h: a software bill of materials of a root filesystem, as an SPDX
 * 2.3 JSON document (the predicate of BuildKit's `--sbom` attestation,
 * predicate type https://spdx.dev/Document).
 *
 * The packages come from the package databases the rootfs holds: dpkg's
 * var/lib/dpkg/status (installed stanzas only) and apk's
 * lib/apk/db/installed; etc/os-release names the distribution for the
 * package URLs. Those files are untrusted input: they are opened without
 * leaving the root (openat2 RESOLVE_IN_ROOT, else a no-symlink walk),
 * must be regular files of at most HOIST_SBOM_DB_MAX bytes, and are
 * parsed with bounded fields and package counts.
 */
#ifndef HOIST_LIB_SBOM_H
#define HOIST_LIB_SBOM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"

#define HOIST_SBOM_DB_MAX (64u << 20) /* one database file */
#define HOIST_SBOM_PKG_MAX 100000     /* packages in one document */
#define HOIST_SBOM_FIELD_MAX 4096     /* one kept field value */

struct hoist_sbom_pkg {
	const char *type; /* "deb" or "apk" (static) */
	char *name;
	char *version;
	char *arch;     /* may be NULL */
	char *source;   /* source package / apk origin; may be NULL */
	char *supplier; /* Maintainer; may be NULL */
	char *license;  /* apk L:; may be NULL */
};

struct hoist_sbom {
	struct hoist_sbom_pkg *pkgs;
	size_t npkgs;
	char *distro;         /* os-release ID, or NULL */
	char *distro_version; /* os-release VERSION_ID, or NULL */
};

/* An empty SBOM; release with hoist_sbom_release. */
void hoist_sbom_init(struct hoist_sbom *s);
void hoist_sbom_release(struct hoist_sbom *s);

/*
 * Add the installed packages of a dpkg status file / an apk installed
 * database held in data (len bytes, need not be NUL-terminated). what
 * names the file in errors. HOIST_EINVAL for malformed text (with the
 * line), HOIST_ELIMIT past HOIST_SBOM_PKG_MAX packages or
 * HOIST_SBOM_FIELD_MAX bytes in a kept field. On error s keeps the
 * packages of earlier calls only.
 */
int hoist_sbom_parse_dpkg(struct hoist_sbom *s, const char *data, size_t len,
			  const char *what, struct hoist_err *err);
int hoist_sbom_parse_apk(struct hoist_sbom *s, const char *data, size_t len,
			 const char *what, struct hoist_err *err);
/* Take ID and VERSION_ID from an os-release text (malformed lines skip). */
void hoist_sbom_parse_os_release(struct hoist_sbom *s, const char *data,
				 size_t len);

/*
 * Scan a root filesystem given as directories stacked topmost first (the
 * layer directories of a build, reversed): each database is read from the
 * topmost directory that has it. A rootfs without databases gives an empty
 * package list. Errors: unreadable or non-regular database files, files
 * above HOIST_SBOM_DB_MAX (HOIST_ELIMIT), parse errors.
 */
int hoist_sbom_scan(struct hoist_sbom *s, const char *const *roots,
		    size_t nroots, struct hoist_err *err);

/* The files a scan reads: os-release (etc/, then usr/lib/), dpkg, apk. */
#define HOIST_SBOM_DPKG "var/lib/dpkg/status"
#define HOIST_SBOM_APK "lib/apk/db/installed"
#define HOIST_SBOM_NDB 4
extern const char *const hoist_sbom_db_paths[HOIST_SBOM_NDB];

/*
 * Read path (one of hoist_sbom_db_paths) of a root filesystem: 0 with
 * *data (malloc'd, the caller frees it) and *len, HOIST_ENOTFOUND when
 * it has no such file, or an error.
 */
typedef int (*hoist_sbom_read_fn)(void *ctx, const char *path, char **data,
				  size_t *len, struct hoist_err *err);

/* hoist_sbom_scan over any root filesystem rd reads. */
int hoist_sbom_scan_fn(struct hoist_sbom *s, hoist_sbom_read_fn rd, void *ctx,
		       struct hoist_err *err);

struct hoist_store;

/*
 * Scan the final root filesystem of the image manifest manifest_digest
 * (in the store s, with its layer blobs): each database is taken from the
 * topmost layer that has it as a regular file; a whiteout or an opaque
 * directory above hides it, as when the image is unpacked. Base-image and
 * Dockerfile layers count as much as --rootfs trees. Errors: a missing or
 * unreadable manifest or layer, a database above HOIST_SBOM_DB_MAX
 * (HOIST_ELIMIT), the parsers' errors.
 */
int hoist_sbom_scan_image(struct hoist_sbom *s, struct hoist_store *st,
			  const char *manifest_digest, struct hoist_err *err);

/*
 * The SPDX 2.3 document (a new object owned by the caller): a root package
 * named name that CONTAINS every package, sorted by type, name, version and
 * architecture, each with a purl; created (seconds since the epoch) is the
 * creation time; version is hoist's. The document namespace is derived
 * from the content, so equal inputs give equal bytes.
 */
json_t *hoist_sbom_spdx(const struct hoist_sbom *s, const char *name,
			int64_t created, const char *version);

#endif
