/*
 * store-index.c: the names of the staging area, kept in index.json as an
 * OCI index with one descriptor per name (annotated
 * io.containerd.image.name). Every change is a read-modify-write under an
 * exclusive lock on index.lock, and index.json is only ever replaced
 * atomically, so readers need no lock and a crash never tears it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/store-int.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define INDEX_MAX ((size_t)64 << 20)
#define NAME_ANNOTATION HOIST_ANN_IMAGE_NAME

/* Take index.lock exclusively; returns the fd to close, or an error. */
int hoist_store_index_lock(struct hoist_store *s, struct hoist_err *err)
{
	int fd = hoist_store_open_lock(s->index_lock, err);

	if (fd < 0)
		return fd;
	if (hoist_store_lock_fd(fd, LOCK_EX) < 0) {
		int rc = hoist_err_sys(err, errno, "lock '%s'", s->index_lock);
		close(fd);
		return rc;
	}
	return fd;
}

void hoist_store_index_unlock(int fd)
{
	/* Closing the only descriptor of the open file drops the lock. */
	close(fd);
}

static json_t *empty_index(void)
{
	json_t *idx = json_object();

	json_object_set_new(idx, "schemaVersion", json_integer(2));
	hoist_json_set_str(idx, "mediaType", HOIST_MT_OCI_INDEX);
	json_object_set_new(idx, "manifests", json_array());
	return idx;
}

int hoist_store_index_save(struct hoist_store *s, const json_t *idx,
			   struct hoist_err *err)
{
	char *text = NULL;
	size_t len;
	int rc = hoist_json_dump(&text, &len, idx, 1, err);

	if (rc)
		goto out;
	rc = hoist_fs_write_atomic(s->index, text, len, 0644, err);
out:
	free(text);
	return rc;
}

/* Load index.json; a missing file reads as an empty index. */
int hoist_store_index_load(struct hoist_store *s, json_t **out,
			   struct hoist_err *err)
{
	char *text = NULL;
	size_t len = 0;
	json_t *idx = NULL;
	int rc;

	*out = NULL;
	rc = hoist_fs_read_file(&text, &len, s->index, INDEX_MAX, err);
	if (rc == HOIST_ENOTFOUND) {
		*out = empty_index();
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	rc = hoist_json_parse(&idx, text, len, "index.json", err);
	if (rc)
		goto out;
	if (!json_is_object(idx) ||
	    !json_is_array(json_object_get(idx, "manifests"))) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "'%s' has no manifests array", s->index);
		goto out;
	}
	*out = idx;
	idx = NULL;
out:
	json_decref(idx);
	free(text);
	return rc;
}

int hoist_store_index_begin(struct hoist_store *s, json_t **idx,
			    struct hoist_err *err)
{
	int lock = hoist_store_index_lock(s, err);
	int rc;

	*idx = NULL;
	if (lock < 0)
		return lock;
	rc = hoist_store_index_load(s, idx, err);
	if (rc) {
		hoist_store_index_unlock(lock);
		return rc;
	}
	return lock;
}

int hoist_store_index_init(struct hoist_store *s, struct hoist_err *err)
{
	int lock, rc = 0;

	if (hoist_fs_exists(s->index))
		return 0;
	lock = hoist_store_index_lock(s, err);
	if (lock < 0)
		return lock;
	if (!hoist_fs_exists(s->index)) {
		json_t *idx = empty_index();
		rc = hoist_store_index_save(s, idx, err);
		json_decref(idx);
	}
	hoist_store_index_unlock(lock);
	return rc;
}

/* Index of the entry named name in manifests, or -1. */
static ssize_t find_name(const json_t *manifests, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(manifests, i, e)
	{
		const char *n = hoist_json_str(
			json_object_get(e, "annotations"), NAME_ANNOTATION);
		if (n && strcmp(n, name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static int check_name(const char *name, struct hoist_err *err)
{
	if (!name || !*name)
		return hoist_err_set(err, HOIST_EINVAL, "empty image name");
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return hoist_err_set(err, HOIST_EINVAL,
					     "image name has a control "
					     "character");
	return 0;
}

int hoist_store_tag(struct hoist_store *s, const char *name, const json_t *desc,
		    struct hoist_err *err)
{
	json_t *entry = NULL, *idx = NULL, *ann, *manifests, *size;
	const char *digest;
	ssize_t at;
	int lock = -1;
	int rc = check_name(name, err);

	if (rc)
		goto out;
	digest = hoist_json_str(desc, "digest");
	size = json_object_get(desc, "size");
	if (!json_is_object(desc) || !hoist_json_str(desc, "mediaType") ||
	    !digest || !json_is_integer(size) || json_integer_value(size) < 0) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "descriptor needs mediaType, digest and "
				   "size");
		goto out;
	}
	rc = hoist_store_check_digest(digest, err);
	if (rc)
		goto out;
	/* A name that points at nothing could never be exported. */
	if (!hoist_store_has(s, digest)) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "blob '%s' is not in the store", digest);
		goto out;
	}
	entry = json_deep_copy(desc);
	ann = json_object_get(entry, "annotations");
	if (!ann) {
		ann = json_object();
		json_object_set_new(entry, "annotations", ann);
	} else if (!json_is_object(ann)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "descriptor annotations are not an object");
		goto out;
	}
	hoist_json_set_str(ann, NAME_ANNOTATION, name);

	lock = hoist_store_index_begin(s, &idx, err);
	if (lock < 0) {
		rc = lock;
		goto out;
	}
	manifests = json_object_get(idx, "manifests");
	at = find_name(manifests, name);
	/* Replace in place, so the order of the other names is stable. */
	if (at >= 0)
		json_array_set(manifests, (size_t)at, entry);
	else
		json_array_append(manifests, entry);
	rc = hoist_store_index_save(s, idx, err);
out:
	if (lock >= 0)
		hoist_store_index_unlock(lock);
	if (rc)
		hoist_err_prefix(err, "tag '%s'", name ? name : "");
	json_decref(idx);
	json_decref(entry);
	return rc;
}

int hoist_store_resolve(struct hoist_store *s, const char *name, json_t **desc,
			struct hoist_err *err)
{
	json_t *idx = NULL;
	ssize_t at;
	int rc = check_name(name, err);

	*desc = NULL;
	if (rc)
		return rc;
	/* index.json is only ever replaced atomically: no lock needed. */
	rc = hoist_store_index_load(s, &idx, err);
	if (rc)
		goto out;
	at = find_name(json_object_get(idx, "manifests"), name);
	if (at < 0) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "no image named '%s' in the store", name);
		goto out;
	}
	*desc = json_deep_copy(
		json_array_get(json_object_get(idx, "manifests"), (size_t)at));
out:
	json_decref(idx);
	return rc;
}

int hoist_store_untag(struct hoist_store *s, const char *name,
		      struct hoist_err *err)
{
	json_t *idx = NULL, *manifests;
	ssize_t at;
	int lock, rc = check_name(name, err);

	if (rc)
		return rc;
	lock = hoist_store_index_begin(s, &idx, err);
	if (lock < 0)
		return lock;
	manifests = json_object_get(idx, "manifests");
	at = find_name(manifests, name);
	if (at < 0) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "no image named '%s' in the store", name);
		goto out;
	}
	json_array_remove(manifests, (size_t)at);
	rc = hoist_store_index_save(s, idx, err);
out:
	hoist_store_index_unlock(lock);
	json_decref(idx);
	return rc;
}

int hoist_store_list(struct hoist_store *s, json_t **list,
		     struct hoist_err *err)
{
	json_t *idx = NULL;
	int rc = hoist_store_index_load(s, &idx, err);

	*list = NULL;
	if (rc)
		return rc;
	*list = json_deep_copy(json_object_get(idx, "manifests"));
	json_decref(idx);
	return 0;
}
