/*
 * store.c: opening the staging area: its root, its layout on disk (see
 * store.h), and the locks and digest checks the other store*.c files
 * share. Blobs are in store-blob.c, names in store-index.c, gc in
 * store-gc.c, fsck in store-fsck.c, the other records in store-state.c.
 *
 * Three kinds of locks keep concurrent processes apart, all flock(2) so
 * the kernel drops them when a process dies:
 *   - gc.lock: shared for as long as a store is open, exclusive while gc
 *     (or fsck --repair) runs, so gc never sees a blob that a live build
 *     has written but not named yet, nor a temporary it still uses;
 *   - index.lock: exclusive around every read-modify-write of index.json;
 *   - each ingest file: exclusive while it is being written, so a checker
 *     that does not wait for the writers can tell a live one from a stale
 *     leftover.
 * Digests are validated before they are ever turned into a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/store-int.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

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
	if (strncmp(digest, STORE_SHA256_PREFIX, STORE_SHA256_PREFIX_LEN) != 0)
		return hoist_err_set(
			err, HOIST_EUNSUPPORTED,
			"digest '%s': only sha256 blobs are stored", digest);
	return 0;
}

char *hoist_store_blob_path_of(const struct hoist_store *s, const char *digest)
{
	return hoist_xasprintf("%s/%s", s->blobs,
			       digest + STORE_SHA256_PREFIX_LEN);
}

int hoist_store_open_lock(const char *path, struct hoist_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return hoist_err_sys(err, errno, "open lock '%s'", path);
	return fd;
}

static int init_layout(struct hoist_store *s, struct hoist_err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	char *path = hoist_xasprintf("%s/oci-layout", s->root);
	int rc;

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
	rc = hoist_store_index_init(s, err);
out:
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
