/*
 * store-fsck.c: checking the staging area, and repairing what a check can
 * repair without guessing: a corrupt blob is removed (its next ingest or a
 * rebuild brings it back) and leftovers of killed processes are removed by
 * gc's rule. Names are never removed: one that reaches a missing blob is
 * reported, so the user can rebuild or pull it again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/store-int.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define HASH_BUF ((size_t)1 << 20)

struct fsck {
	struct hoist_store *s;
	int repair;
	hoist_fsck_report_fn report;
	void *ctx;
	struct hoist_store_fsck_stats *st;
	json_t *present;  /* digest -> true, blob files that stay */
	json_t *corrupt;  /* digest -> why */
	const char *name; /* the name being walked */
};

static void say(struct fsck *f, enum hoist_fsck_kind kind, const char *subject,
		const char *name, const char *detail, int repaired)
{
	struct hoist_fsck_finding fd = {kind, subject, name, detail, repaired};

	if (f->report)
		f->report(f->ctx, &fd);
}

/* Hash one blob file; 0 and hex, or a reason in why. */
static int hash_file(int dirfd, const char *name, char *buf,
		     char hex[HOIST_SHA256_HEXLEN + 1], uint64_t *bytes,
		     struct hoist_err *why)
{
	struct hoist_sha256 h;
	struct stat sb;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = 0;

	if (fd < 0)
		return hoist_err_sys(why, errno, "cannot open the blob file");
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return hoist_err_set(why, HOIST_EINVAL,
				     "the blob is not a regular file");
	}
	hoist_sha256_init(&h);
	for (;;) {
		ssize_t n = read(fd, buf, HASH_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hoist_err_sys(why, errno, "cannot read the blob");
			hoist_sha256_release(&h);
			break;
		}
		if (n == 0) {
			hoist_sha256_final_hex(&h, hex);
			break;
		}
		hoist_sha256_update(&h, buf, (size_t)n);
		*bytes += (uint64_t)n;
	}
	close(fd);
	return rc;
}

/* Every blob file against its digest. */
static int check_blobs(struct fsck *f, struct hoist_err *err)
{
	char key[HOIST_DIGEST_MAX], hex[HOIST_SHA256_HEXLEN + 1];
	char *buf = hoist_xmalloc(HASH_BUF);
	struct dirent *e;
	int rc = 0, removed = 0;
	DIR *d = opendir(f->s->blobs);

	if (!d) {
		free(buf);
		return hoist_err_sys(err, errno, "open '%s'", f->s->blobs);
	}
	while ((errno = 0, e = readdir(d))) {
		struct hoist_err why;
		int bad;

		if (strlen(e->d_name) != HOIST_SHA256_HEXLEN)
			continue;
		snprintf(key, sizeof(key), STORE_SHA256_PREFIX "%s", e->d_name);
		if (hoist_store_check_digest(key, NULL))
			continue;
		f->st->blobs++;
		hoist_err_clear(&why);
		bad = hash_file(dirfd(d), e->d_name, buf, hex, &f->st->bytes,
				&why);
		if (!bad && strcmp(hex, e->d_name) != 0) {
			hoist_err_set(&why, HOIST_EDIGEST,
				      "content hashes to 'sha256:%s'", hex);
			bad = 1;
		}
		if (!bad) {
			json_object_set_new(f->present, key, json_true());
			continue;
		}
		json_object_set_new(f->corrupt, key, json_string(why.msg));
		if (f->repair && unlinkat(dirfd(d), e->d_name, 0) == 0) {
			removed = 1;
			f->st->repaired++;
			say(f, HOIST_FSCK_CORRUPT, key, NULL, why.msg, 1);
		} else {
			json_object_set_new(f->present, key, json_true());
			f->st->problems++;
			say(f, HOIST_FSCK_CORRUPT, key, NULL, why.msg, 0);
		}
	}
	if (errno)
		rc = hoist_err_sys(err, errno, "read '%s'", f->s->blobs);
	closedir(d);
	free(buf);
	if (removed && !rc)
		rc = hoist_fs_fsync_dir(f->s->blobs, err);
	return rc;
}

/* One reachable descriptor of the name being walked. */
static int name_reach(void *ctx, const json_t *desc, enum store_reach what,
		      const struct hoist_err *e)
{
	struct fsck *f = ctx;
	const char *digest = hoist_json_str(desc, "digest");
	const char *why = digest ? hoist_json_str(f->corrupt, digest) : NULL;
	enum hoist_fsck_kind kind;

	if (what == STORE_REACH_MISSING && why) {
		/* Removed above: say which name needs a rebuild. */
		char *msg = hoist_xasprintf("removed as corrupt (%s)", why);
		say(f, HOIST_FSCK_MISSING, digest, f->name, msg, 0);
		free(msg);
		f->st->problems++;
		return 0;
	}
	if (why) {
		/* Counted once already; name it here. */
		say(f, HOIST_FSCK_CORRUPT, digest, f->name, why, 0);
		return 0;
	}
	switch (what) {
	case STORE_REACH_OK:
		return 0;
	case STORE_REACH_MISSING:
		kind = HOIST_FSCK_MISSING;
		break;
	case STORE_REACH_SIZE:
		kind = HOIST_FSCK_BAD_REF;
		break;
	case STORE_REACH_CORRUPT:
		kind = HOIST_FSCK_CORRUPT;
		break;
	case STORE_REACH_BAD_DOC:
	default:
		kind = HOIST_FSCK_BAD_DOC;
		break;
	}
	say(f, kind, digest ? digest : "", f->name, e->msg, 0);
	f->st->problems++;
	return 0;
}

/* Every name's manifest graph; reached digests go into seen. */
static void check_names(struct fsck *f, json_t *seen)
{
	json_t *idx = NULL, *e;
	struct hoist_err why;
	size_t i;

	hoist_err_clear(&why);
	if (hoist_store_index_load(f->s, &idx, &why)) {
		say(f, HOIST_FSCK_BAD_INDEX, "index.json", NULL, why.msg, 0);
		f->st->problems++;
		return;
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, e)
	{
		json_t *one = json_object(), *roots = json_pack("[O]", e);

		f->name = hoist_json_str(json_object_get(e, "annotations"),
					 HOIST_ANN_IMAGE_NAME);
		f->st->names++;
		hoist_err_clear(&why);
		/* name_reach never stops it: only the walk's own limits do. */
		if (hoist_store_reach(f->s, roots, one, name_reach, f, &why)) {
			say(f, HOIST_FSCK_BAD_DOC,
			    hoist_json_str(e, "digest")
				    ? hoist_json_str(e, "digest")
				    : "",
			    f->name, why.msg, 0);
			f->st->problems++;
		}
		json_object_update(seen, one);
		json_decref(roots);
		json_decref(one);
	}
	f->name = NULL;
	json_decref(idx);
}

static void stale_found(void *ctx, enum store_stale kind, const char *path)
{
	struct fsck *f = ctx;
	static const char *const what[] = {
		"ingest file nobody writes",
		"temporary of a process that is gone",
		"upload session that can no longer be resumed",
	};

	say(f, HOIST_FSCK_STALE, path, NULL, what[kind], f->repair);
	f->st->stale++;
	if (f->repair)
		f->st->repaired++;
}

int hoist_store_fsck(struct hoist_store *s, int repair,
		     hoist_fsck_report_fn report, void *ctx,
		     struct hoist_store_fsck_stats *stats,
		     struct hoist_err *err)
{
	struct hoist_store_fsck_stats st;
	struct fsck f = {s,   repair,        report,        ctx,
			 &st, json_object(), json_object(), NULL};
	json_t *seen = json_object();
	const char *key;
	json_t *v;
	uint64_t counts[3];
	int alone, rc;

	memset(&st, 0, sizeof(st));
	/* Repair waits for the writers; a check only looks if it may. */
	alone = hoist_store_lock_alone(s, !repair, err);
	if (alone < 0) {
		rc = alone;
		goto out;
	}
	st.partial = !alone;
	rc = check_blobs(&f, err);
	if (rc)
		goto out;
	check_names(&f, seen);
	json_object_foreach(f.present, key, v)
	{
		if (json_object_get(seen, key))
			continue;
		st.orphans++;
		say(&f, HOIST_FSCK_ORPHAN, key, NULL, NULL, 0);
	}
	hoist_store_stale(s, alone, repair, stale_found, &f, counts);
out:
	if (alone > 0)
		hoist_store_unlock_alone(s);
	if (rc)
		hoist_err_prefix(err, "fsck '%s'", s->root);
	if (stats)
		*stats = st;
	json_decref(f.present);
	json_decref(f.corrupt);
	json_decref(seen);
	return rc;
}
