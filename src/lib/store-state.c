/*
 * store-state.c: what the store keeps besides blobs and names: upload
 * sessions of interrupted pushes, what was learned about each registry,
 * and scratch files and directories on the store's file system. Callers
 * name these by keys; only this file turns keys into paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/store-int.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define RECORD_MAX ((size_t)64 * 1024)

int hoist_store_tmpfile(struct hoist_store *s, int *fd, struct hoist_err *err)
{
	char *path;

	*fd = open(s->ingest, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (*fd >= 0)
		return 0;
	/* No O_TMPFILE on this file system: create and unlink at once. */
	path = hoist_xasprintf("%s/tmp-%ld-XXXXXX", s->ingest, (long)getpid());
	*fd = mkostemp(path, O_CLOEXEC);
	if (*fd >= 0)
		unlink(path);
	free(path);
	if (*fd < 0)
		return hoist_err_sys(err, errno, "create a file in '%s'",
				     s->ingest);
	return 0;
}

int hoist_store_mkdtemp(struct hoist_store *s, char **path,
			struct hoist_err *err)
{
	/* ROOT/.hoist-tmp-unpack.XXXXXX: the name gc knows as a temporary. */
	char *near = hoist_xasprintf("%s/unpack", s->root);
	int rc = hoist_fs_mkdtemp_near(path, near, err);

	free(near);
	return rc;
}

int hoist_store_cache_dir(char **out, const struct hoist_store *s,
			  struct hoist_err *err)
{
	char *path = hoist_xasprintf("%s/cache", s->root);
	int rc = hoist_fs_mkdirs(path, 0755, err);

	if (rc) {
		free(path);
		return rc;
	}
	*out = path;
	return 0;
}

/*
 * Read a small JSON record; anything unreadable is HOIST_ENOTFOUND.
 * Frees path.
 */
static int load_record(char *path, json_t **doc)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	*doc = NULL;
	rc = hoist_fs_read_file(&data, &len, path, RECORD_MAX, NULL);
	if (!rc && (hoist_json_parse(doc, data, len, path, NULL) ||
		    !json_is_object(*doc))) {
		json_decref(*doc);
		*doc = NULL;
		rc = HOIST_ENOTFOUND;
	}
	free(data);
	free(path);
	return rc ? HOIST_ENOTFOUND : 0;
}

static int save_record(const char *dir, const char *path, const json_t *doc,
		       mode_t mode, struct hoist_err *err)
{
	char *text = NULL;
	size_t len;
	int rc = hoist_fs_mkdirs(dir, 0755, err);

	if (!rc)
		rc = hoist_json_dump(&text, &len, doc, 1, err);
	if (!rc)
		rc = hoist_fs_write_atomic(path, text, len, mode, err);
	free(text);
	return rc;
}

/* Keys are arbitrary text: hash them into a file name. */
static char *session_path(const struct hoist_store *s, const char *key)
{
	char hex[HOIST_SHA256_HEXLEN + 1];

	hoist_sha256_hex(key, strlen(key), hex);
	return hoist_xasprintf("%s/%s.json", s->uploads, hex);
}

int hoist_store_session_load(struct hoist_store *s, const char *key,
			     json_t **doc)
{
	return load_record(session_path(s, key), doc);
}

int hoist_store_session_save(struct hoist_store *s, const char *key,
			     const json_t *doc, struct hoist_err *err)
{
	char *path;
	int rc;

	if (hoist_store_check_digest(hoist_json_str(doc, "digest"), NULL))
		return hoist_err_set(err, HOIST_EINVAL,
				     "upload session '%s' names no blob", key);
	path = session_path(s, key);
	/* 0600: the record holds the registry's upload URL. */
	rc = save_record(s->uploads, path, doc, 0600, err);
	free(path);
	return rc;
}

void hoist_store_session_drop(struct hoist_store *s, const char *key)
{
	char *path = session_path(s, key);

	unlink(path);
	free(path);
}

/* "host:port" -> "host_port": readable, and never a path separator. */
static char *registry_path(const struct hoist_store *s, const char *host)
{
	char *name = hoist_xstrdup(host);
	char *p;

	for (char *c = name; *c; c++)
		if (*c == ':' || *c == '/' || *c == '[' || *c == ']')
			*c = '_';
	if (name[0] == '.')
		name[0] = '_';
	p = hoist_xasprintf("%s/%s.json", s->registries, name);
	free(name);
	return p;
}

int hoist_store_registry_load(struct hoist_store *s, const char *host,
			      json_t **doc)
{
	return load_record(registry_path(s, host), doc);
}

int hoist_store_registry_save(struct hoist_store *s, const char *host,
			      const json_t *doc, struct hoist_err *err)
{
	char *path = registry_path(s, host);
	int rc = save_record(s->registries, path, doc, 0644, err);

	free(path);
	return rc;
}
