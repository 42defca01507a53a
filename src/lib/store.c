/*
 * store.c: the staging area, a content-addressed blob store shaped like an
 * OCI image layout (see store.h for the layout and the crash-safety rules).
 *
 * Three locks keep concurrent processes apart, all flock(2) so the kernel
 * drops them when a process dies:
 *   - gc.lock: shared for as long as a store is open, exclusive while
 *     hoist_store_gc runs, so gc never sees a blob that a live build has
 *     written but not named yet;
 *   - index.lock: exclusive around every read-modify-write of index.json;
 *   - each ingest file: exclusive while it is being written, so gc can tell
 *     a stale leftover from a slow writer.
 * Digests are validated before they are ever turned into a path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/store-int.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define SHA256_PREFIX STORE_SHA256_PREFIX
#define SHA256_PREFIX_LEN STORE_SHA256_PREFIX_LEN
#define INDEX_MAX ((size_t)64 << 20)
#define INGEST_STALE_SECS 3600
#define NAME_ANNOTATION HOIST_ANN_IMAGE_NAME

struct hoist_ingest {
	struct hoist_store *s;
	int fd;
	char *path;
	struct hoist_sha256 h;
	uint64_t size;
};

char *hoist_store_default_root(void)
{
	const char *v = getenv("HOIST_ROOT");

	if (v && *v)
		return hoist_xstrdup(v);
	/* The XDG spec says relative values are invalid and must be ignored. */
	v = getenv("XDG_DATA_HOME");
	if (v && v[0] == '/')
		return hoist_xasprintf("%s/hoist", v);
	v = getenv("HOME");
	if (v && *v)
		return hoist_xasprintf("%s/.local/share/hoist", v);
	return NULL;
}

int hoist_store_lock_fd(int fd, int op)
{
	int r;

	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r;
}

/*
 * Refuse anything but a valid sha256 digest: the only algorithm whose blobs
 * this store keeps, and the only text that may become a file name.
 */
int hoist_store_check_digest(const char *digest, struct hoist_err *err)
{
	int rc = hoist_digest_validate(digest, err);

	if (rc)
		return rc;
	if (strncmp(digest, SHA256_PREFIX, SHA256_PREFIX_LEN) != 0)
		return hoist_err_set(
			err, HOIST_EUNSUPPORTED,
			"digest '%s': only sha256 blobs are stored", digest);
	return 0;
}

char *hoist_store_blob_path_of(const struct hoist_store *s, const char *digest)
{
	return hoist_xasprintf("%s/%s", s->blobs, digest + SHA256_PREFIX_LEN);
}

int hoist_store_open_lock(const char *path, struct hoist_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return hoist_err_sys(err, errno, "open lock '%s'", path);
	return fd;
}

/* Take index.lock exclusively; returns the fd to close, or an error. */
static int index_lock(struct hoist_store *s, struct hoist_err *err)
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

static void index_unlock(int fd)
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

static int save_index(struct hoist_store *s, const json_t *idx,
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
static int load_index(struct hoist_store *s, json_t **out,
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

static int init_layout(struct hoist_store *s, struct hoist_err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	char *path = hoist_xasprintf("%s/oci-layout", s->root);
	int lock = -1, rc;

	/* mkdirs treats EEXIST as success, so racing creators both win. */
	rc = hoist_fs_mkdirs(s->blobs, 0755, err);
	if (!rc)
		rc = hoist_fs_mkdirs(s->ingest, 0755, err);
	if (rc)
		goto out;
	if (!hoist_fs_exists(path)) {
		/* Atomic replace: two racing writers leave the same bytes. */
		rc = hoist_fs_write_atomic(path, layout, sizeof(layout) - 1,
					   0644, err);
		if (rc)
			goto out;
	}
	if (hoist_fs_exists(s->index))
		goto out;
	lock = index_lock(s, err);
	if (lock < 0) {
		rc = lock;
		goto out;
	}
	if (!hoist_fs_exists(s->index)) {
		json_t *idx = empty_index();
		rc = save_index(s, idx, err);
		json_decref(idx);
	}
out:
	if (lock >= 0)
		index_unlock(lock);
	free(path);
	return rc;
}

int hoist_store_open(struct hoist_store **out, const char *root,
		     struct hoist_err *err)
{
	struct hoist_store *s = hoist_xcalloc(1, sizeof(*s));
	char *gc_path = NULL;
	int rc;

	*out = NULL;
	s->gc_fd = -1;
	if (!root || !*root) {
		rc = hoist_err_set(err, HOIST_EINVAL, "no store root given");
		goto out;
	}
	s->root = hoist_xstrdup(root);
	s->blobs = hoist_xasprintf("%s/blobs/sha256", root);
	s->ingest = hoist_xasprintf("%s/ingest", root);
	s->uploads = hoist_xasprintf("%s/uploads", root);
	s->registries = hoist_xasprintf("%s/registries", root);
	s->index = hoist_xasprintf("%s/index.json", root);
	s->index_lock = hoist_xasprintf("%s/index.lock", root);
	gc_path = hoist_xasprintf("%s/gc.lock", root);

	rc = hoist_fs_mkdirs(root, 0755, err);
	if (rc)
		goto out;
	/* Take the gc lock first: a running gc finishes before we start. */
	s->gc_fd = hoist_store_open_lock(gc_path, err);
	if (s->gc_fd < 0) {
		rc = s->gc_fd;
		goto out;
	}
	if (hoist_store_lock_fd(s->gc_fd, LOCK_SH) < 0) {
		rc = hoist_err_sys(err, errno, "lock '%s'", gc_path);
		goto out;
	}
	rc = init_layout(s, err);
out:
	if (rc) {
		hoist_err_prefix(err, "open store '%s'", root ? root : "");
		hoist_store_close(s);
	} else {
		*out = s;
	}
	free(gc_path);
	return rc;
}

void hoist_store_close(struct hoist_store *s)
{
	if (!s)
		return;
	if (s->gc_fd >= 0)
		close(s->gc_fd);
	free(s->root);
	free(s->blobs);
	free(s->ingest);
	free(s->uploads);
	free(s->registries);
	free(s->index);
	free(s->index_lock);
	free(s);
}

const char *hoist_store_root(const struct hoist_store *s)
{
	return s->root;
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

char *hoist_store_blob_path(const struct hoist_store *s, const char *digest)
{
	if (hoist_store_check_digest(digest, NULL))
		return NULL;
	return hoist_store_blob_path_of(s, digest);
}

int hoist_store_has(const struct hoist_store *s, const char *digest)
{
	struct stat st;
	char *path;
	int r;

	if (hoist_store_check_digest(digest, NULL))
		return 0;
	path = hoist_store_blob_path_of(s, digest);
	r = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return r;
}

int hoist_store_blob_size(const struct hoist_store *s, const char *digest,
			  uint64_t *size, struct hoist_err *err)
{
	struct stat st;
	char *path = NULL;
	int rc = hoist_store_check_digest(digest, err);

	if (rc)
		return rc;
	path = hoist_store_blob_path_of(s, digest);
	if (stat(path, &st) < 0) {
		rc = hoist_err_sys(err, errno, "blob '%s'", digest);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "blob '%s' is not a regular file", digest);
		goto out;
	}
	*size = (uint64_t)st.st_size;
out:
	free(path);
	return rc;
}

int hoist_ingest_open(struct hoist_ingest **out, struct hoist_store *s,
		      struct hoist_err *err)
{
	struct hoist_ingest *in = hoist_xcalloc(1, sizeof(*in));
	int rc = 0;

	*out = NULL;
	in->s = s;
	in->path = hoist_xasprintf("%s/%ld-XXXXXX", s->ingest, (long)getpid());
	in->fd = mkostemp(in->path, O_CLOEXEC);
	if (in->fd < 0) {
		rc = hoist_err_sys(err, errno, "create ingest file in '%s'",
				   s->ingest);
		goto out;
	}
	/* Nobody else knows the name yet, so this cannot block. */
	if (hoist_store_lock_fd(in->fd, LOCK_EX | LOCK_NB) < 0) {
		rc = hoist_err_sys(err, errno, "lock '%s'", in->path);
		goto out;
	}
	hoist_sha256_init(&in->h);
	*out = in;
	in = NULL;
out:
	if (in) {
		if (in->fd >= 0) {
			close(in->fd);
			unlink(in->path);
		}
		free(in->path);
		free(in);
	}
	return rc;
}

int hoist_ingest_write(struct hoist_ingest *in, const void *data, size_t len,
		       struct hoist_err *err)
{
	int rc;

	if (UINT64_MAX - in->size < len)
		return hoist_err_set(err, HOIST_ELIMIT, "blob too large");
	rc = hoist_fs_write_all(in->fd, data, len, in->path, err);
	if (rc)
		return rc;
	hoist_sha256_update(&in->h, data, len);
	in->size += len;
	return 0;
}

uint64_t hoist_ingest_size(const struct hoist_ingest *in)
{
	return in->size;
}

static void ingest_free(struct hoist_ingest *in, int remove)
{
	if (in->fd >= 0) {
		if (remove)
			unlink(in->path);
		close(in->fd);
	}
	free(in->path);
	free(in);
}

int hoist_ingest_commit(struct hoist_ingest *in, const char *expected,
			struct hoist_digest *out, uint64_t *size,
			struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_digest d;
	struct stat st;
	char *dest = NULL;
	int rc = 0;

	hoist_sha256_final_hex(&in->h, hex);
	/* Built by hand so the store needs only digest validation. */
	snprintf(d.str, sizeof(d.str), SHA256_PREFIX "%s", hex);
	if (expected) {
		rc = hoist_store_check_digest(expected, err);
		if (rc)
			goto out;
		if (strcmp(expected, d.str) != 0) {
			rc = hoist_err_set(err, HOIST_EDIGEST,
					   "blob digest is '%s', expected '%s'",
					   d.str, expected);
			goto out;
		}
	}
	if (fsync(in->fd) < 0 || fstat(in->fd, &st) < 0) {
		rc = hoist_err_sys(err, errno, "write '%s'", in->path);
		goto out;
	}
	/* What reached the file must be what we hashed. */
	if ((uint64_t)st.st_size != in->size) {
		rc = hoist_err_set(
			err, HOIST_EIO,
			"ingest file '%s' has %llu bytes, wrote %llu", in->path,
			(unsigned long long)st.st_size,
			(unsigned long long)in->size);
		goto out;
	}
	if (fchmod(in->fd, 0444) < 0) {
		rc = hoist_err_sys(err, errno, "chmod '%s'", in->path);
		goto out;
	}
	dest = hoist_store_blob_path_of(in->s, d.str);
	if (hoist_fs_exists(dest))
		goto out;
	if (rename(in->path, dest) < 0) {
		rc = hoist_err_sys(err, errno, "rename into '%s'", dest);
		goto out;
	}
	rc = hoist_fs_fsync_dir(in->s->blobs, err);
	if (rc)
		goto out;
	/* Renamed: nothing left to remove. */
	in->path[0] = '\0';
out:
	if (!rc) {
		if (out)
			*out = d;
		if (size)
			*size = in->size;
	}
	ingest_free(in, in->path[0] != '\0');
	free(dest);
	return rc;
}

void hoist_ingest_abort(struct hoist_ingest *in)
{
	if (!in)
		return;
	hoist_sha256_release(&in->h);
	ingest_free(in, 1);
}

int hoist_store_put(struct hoist_store *s, const void *data, size_t len,
		    struct hoist_digest *out, struct hoist_err *err)
{
	struct hoist_ingest *in = NULL;
	int rc = hoist_ingest_open(&in, s, err);

	if (rc)
		return rc;
	rc = hoist_ingest_write(in, data, len, err);
	if (rc) {
		hoist_ingest_abort(in);
		return rc;
	}
	return hoist_ingest_commit(in, NULL, out, NULL, err);
}

int hoist_store_get(struct hoist_store *s, const char *digest, size_t max,
		    char **data, size_t *len, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *path = NULL, *buf = NULL;
	size_t n = 0;
	int rc = hoist_store_check_digest(digest, err);

	*data = NULL;
	if (rc)
		return rc;
	path = hoist_store_blob_path_of(s, digest);
	rc = hoist_fs_read_file(&buf, &n, path, max, err);
	if (rc) {
		hoist_err_prefix(err, "blob '%s'", digest);
		goto out;
	}
	hoist_sha256_hex(buf, n, hex);
	if (strcmp(hex, digest + SHA256_PREFIX_LEN) != 0) {
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "blob '%s' is corrupt: content hashes to "
				   "'sha256:%s'",
				   digest, hex);
		goto out;
	}
	*data = buf;
	buf = NULL;
	if (len)
		*len = n;
out:
	free(buf);
	free(path);
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

	lock = index_lock(s, err);
	if (lock < 0) {
		rc = lock;
		goto out;
	}
	rc = load_index(s, &idx, err);
	if (rc)
		goto out;
	manifests = json_object_get(idx, "manifests");
	at = find_name(manifests, name);
	/* Replace in place, so the order of the other names is stable. */
	if (at >= 0)
		json_array_set(manifests, (size_t)at, entry);
	else
		json_array_append(manifests, entry);
	rc = save_index(s, idx, err);
out:
	if (lock >= 0)
		index_unlock(lock);
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
	rc = load_index(s, &idx, err);
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
	lock = index_lock(s, err);
	if (lock < 0)
		return lock;
	rc = load_index(s, &idx, err);
	if (rc)
		goto out;
	manifests = json_object_get(idx, "manifests");
	at = find_name(manifests, name);
	if (at < 0) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "no image named '%s' in the store", name);
		goto out;
	}
	json_array_remove(manifests, (size_t)at);
	rc = save_index(s, idx, err);
out:
	index_unlock(lock);
	json_decref(idx);
	return rc;
}

int hoist_store_list(struct hoist_store *s, json_t **list,
		     struct hoist_err *err)
{
	json_t *idx = NULL;
	int rc = load_index(s, &idx, err);

	*list = NULL;
	if (rc)
		return rc;
	*list = json_deep_copy(json_object_get(idx, "manifests"));
	json_decref(idx);
	return 0;
}

/* Queue a descriptor: remember its digest and, if new, visit it later. */
static void mark_desc(json_t *seen, json_t *todo, const json_t *desc)
{
	const char *d = hoist_json_str(desc, "digest");

	if (!d || json_object_get(seen, d))
		return;
	json_object_set_new(seen, d, json_true());
	json_array_append(todo, (json_t *)desc);
}

static void mark_array(json_t *seen, json_t *todo, const json_t *arr)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) mark_desc(seen, todo, e);
}

/*
 * Follow one reachable descriptor. A missing blob has nothing to follow;
 * a present manifest that cannot be read or parsed stops the collection,
 * because guessing would delete what it references.
 */
static int visit(struct hoist_store *s, json_t *seen, json_t *todo,
		 const json_t *desc, struct hoist_err *err)
{
	const char *digest = hoist_json_str(desc, "digest");
	const char *mt = hoist_json_str(desc, "mediaType");
	json_t *doc = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (hoist_store_check_digest(digest, NULL) ||
	    !hoist_store_has(s, digest))
		return 0;
	/* Without a media type, the blob's own one may tell. */
	if (mt && !hoist_image_mt_is_index(mt) &&
	    !hoist_image_mt_is_manifest(mt))
		return 0;
	rc = hoist_store_get(s, digest, HOIST_MANIFEST_MAX, &data, &len, err);
	if (rc == HOIST_ELIMIT && !mt) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	if (hoist_json_parse(&doc, data, len, "manifest", err) ||
	    !json_is_object(doc)) {
		if (!mt) {
			rc = 0;
			goto out;
		}
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "manifest '%s' is not a JSON object",
				   digest);
		goto out;
	}
	if (!mt)
		mt = hoist_json_str(doc, "mediaType");
	if (hoist_image_mt_is_index(mt)) {
		mark_array(seen, todo, json_object_get(doc, "manifests"));
	} else if (hoist_image_mt_is_manifest(mt)) {
		mark_desc(seen, todo, json_object_get(doc, "config"));
		mark_array(seen, todo, json_object_get(doc, "layers"));
	}
	/* Referrers point at their subject; keep it. */
	mark_desc(seen, todo, json_object_get(doc, "subject"));
out:
	json_decref(doc);
	free(data);
	return rc;
}

static int sweep_blobs(struct hoist_store *s, const json_t *seen,
		       struct hoist_store_gc_stats *st, struct hoist_err *err)
{
	char key[HOIST_DIGEST_MAX];
	struct dirent *e;
	int rc = 0, removed = 0;
	DIR *d = opendir(s->blobs);

	if (!d)
		return hoist_err_sys(err, errno, "open '%s'", s->blobs);
	while ((errno = 0, e = readdir(d))) {
		struct stat sb;

		/* Only names that are digests; leave anything else alone. */
		if (strlen(e->d_name) != HOIST_SHA256_HEXLEN)
			continue;
		snprintf(key, sizeof(key), SHA256_PREFIX "%s", e->d_name);
		if (hoist_store_check_digest(key, NULL))
			continue;
		if (json_object_get(seen, key))
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			if (errno == ENOENT)
				continue;
			rc = hoist_err_sys(err, errno, "remove blob '%s'", key);
			goto out;
		}
		removed = 1;
		st->blobs_removed++;
		st->bytes_removed += (uint64_t)sb.st_size;
	}
	if (errno)
		rc = hoist_err_sys(err, errno, "read '%s'", s->blobs);
out:
	closedir(d);
	if (removed && !rc)
		rc = hoist_fs_fsync_dir(s->blobs, err);
	return rc;
}

/*
 * Remove files in dir older than an hour whose name want() accepts and
 * that nobody holds an flock on (a live writer would). Returns the count.
 */
static uint64_t sweep_stale(const char *dir, int (*want)(const char *))
{
	time_t now = time(NULL);
	struct dirent *e;
	uint64_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat sb;
		int fd;

		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (!want(e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(sb.st_mode) ||
		    now - sb.st_mtime < INGEST_STALE_SECS)
			continue;
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (hoist_store_lock_fd(fd, LOCK_EX | LOCK_NB) == 0 &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
		close(fd);
	}
	closedir(d);
	return n;
}

static int any_name(const char *name)
{
	(void)name;
	return 1;
}

static int tmp_name(const char *name)
{
	return strncmp(name, HOIST_TMP_PREFIX, strlen(HOIST_TMP_PREFIX)) == 0;
}

int hoist_store_gc(struct hoist_store *s, struct hoist_store_gc_stats *stats,
		   struct hoist_err *err)
{
	struct hoist_store_gc_stats st = {0, 0, 0};
	json_t *idx = NULL, *seen = json_object(), *todo = json_array();
	int lock = -1, rc = 0;

	/*
	 * flock cannot upgrade atomically; dropping our shared lock first is
	 * what lets us wait for the others without deadlocking on ourselves.
	 */
	hoist_store_lock_fd(s->gc_fd, LOCK_UN);
	if (hoist_store_lock_fd(s->gc_fd, LOCK_EX) < 0) {
		rc = hoist_err_sys(err, errno, "lock gc.lock");
		goto out;
	}
	/* Every writer is out now; the index lock is for outside tools. */
	lock = index_lock(s, err);
	if (lock < 0) {
		rc = lock;
		goto out;
	}
	rc = load_index(s, &idx, err);
	if (rc)
		goto out;
	mark_array(seen, todo, json_object_get(idx, "manifests"));
	for (size_t i = 0; i < json_array_size(todo); i++) {
		rc = visit(s, seen, todo, json_array_get(todo, i), err);
		if (rc)
			goto out;
	}
	rc = sweep_blobs(s, seen, &st, err);
	if (rc)
		goto out;
	st.ingest_removed = sweep_stale(s->ingest, any_name);
	/* Leftovers of index.json or oci-layout writes cut short. */
	sweep_stale(s->root, tmp_name);
out:
	if (lock >= 0)
		index_unlock(lock);
	hoist_store_lock_fd(s->gc_fd, LOCK_SH);
	if (rc)
		hoist_err_prefix(err, "gc '%s'", s->root);
	if (stats)
		*stats = st;
	json_decref(idx);
	json_decref(seen);
	json_decref(todo);
	return rc;
}
