/*
 * dfbuild-copy.c: the filesystem steps of a Dockerfile stage (COPY, ADD,
 * and the directory WORKDIR creates), each turned into one layer.
 *
 * A step first collects its entries (image path, type, mode, owner,
 * mtime, and where the bytes come from) from the context, from another
 * stage's unpacked filesystem or from an archive unpacked by the
 * hostile-tar-safe unpacker; then it adds the missing parent directories
 * and writes them, sorted, through the deterministic tar writer. Paths
 * are resolved inside their root as the unpacker does (dfbuild-path.c:
 * symlinks followed, an absolute target starting again from the root),
 * so nothing is read from outside the context or the stage, and
 * destinations through symlinks of the image (lib -> usr/lib) land where
 * they point.
 *
 * Owners: context files are root's (0:0) as BuildKit makes them; files
 * of a stage or an archive keep theirs; --chown=USER[:GROUP] sets both,
 * names looked up in the stage's /etc/passwd and /etc/group.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/dfbuild-int.h"
#include "lib/dfchmod.h"
#include "lib/dockerfile.h"
#include "lib/tar.h"
#include "lib/unpack.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

struct ent {
	char *name; /* image path, relative, no trailing '/' */
	enum hoist_tar_type type;
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	uint64_t size;
	char *link;        /* symlink target */
	char *src;         /* host path of a regular file's bytes */
	const char *data;  /* or inline bytes */
	uint32_t maj, min; /* devices */
	size_t seq;        /* order added: a later entry wins */
};

struct owner {
	int set;
	uint64_t uid, gid;
};

struct cp {
	char **tmps; /* scratch directories read by the writer */
	size_t ntmps;
	struct hoist_dfb *b;
	struct hoist_dfb_stage *st;
	const struct hoist_dfstep *step;
	struct ent *v;
	size_t n;
	struct owner own;
	const char *chmod; /* --chmod, checked, or NULL */
	int shallow;       /* add_tree adds a directory, not its contents */
	struct hoist_dockerignore *excl; /* --exclude */
	struct hoist_err *err;
};

/* An error about the step's instruction: "Dockerfile:3: ... (in '...')" */
#define fail(c, code, ...)                                                     \
	hoist_dockerfile_error((c)->err, code, (c)->b->df, (c)->step->instr,   \
			       0, __VA_ARGS__)

/* Put the step's location before an error from below. */
static int locate(struct cp *c, int code)
{
	char msg[HOIST_ERR_MSG_MAX];
	memcpy(msg, c->err->msg, sizeof(msg));
	return fail(c, code, "%s", msg);
}

/* ---- entries ---- */

static struct ent *ent_new(struct cp *c, const char *name)
{
	struct ent *e;
	c->v = hoist_xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->name = hoist_xstrdup(name);
	e->seq = c->n++;
	return e;
}

/* The time of what a step makes (parents, heredoc files, a stage's
 * root): SOURCE_DATE_EPOCH, else 0, so two builds agree. */
static int64_t made_time(const struct cp *c)
{
	return c->b->o->epoch >= 0 ? c->b->o->epoch : 0;
}

/* A copied file's time: clamped only with rewrite-timestamp=true. */
static int64_t clamp(const struct cp *c, int64_t t)
{
	int64_t epoch = c->b->o->file_epoch;
	return epoch >= 0 && t > epoch ? epoch : t;
}

static int add_children(struct cp *c, const char *host, const char *dst,
			const char *rel, const struct hoist_dockerignore *ig,
			int keep);

/*
 * Add host (lstat'd as sb) at image path dst, and a directory's
 * contents below it. rel is the path relative to the source root for
 * the .dockerignore and --exclude (NULL: no filtering). keep: owners as
 * found, else 0:0. self: add an entry for host itself (a directory
 * source's contents go to dst, and dst gets its metadata).
 */
static int add_tree(struct cp *c, const char *host, const struct stat *sb,
		    const char *dst, const char *rel,
		    const struct hoist_dockerignore *ig, int keep)
{
	struct ent *e;
	int rc = 0;

	if (S_ISSOCK(sb->st_mode))
		return 0;
	if (*dst) {
		e = ent_new(c, dst);
		e->mode = sb->st_mode & 07777;
		/* without root the unpacker could not keep them */
		keep = keep && geteuid() == 0;
		e->uid = keep ? sb->st_uid : 0;
		e->gid = keep ? sb->st_gid : 0;
		if (c->own.set) {
			e->uid = c->own.uid;
			e->gid = c->own.gid;
		}
		if (c->chmod && !S_ISLNK(sb->st_mode))
			hoist_dfchmod_apply(c->chmod, e->mode,
					    S_ISDIR(sb->st_mode), &e->mode);
		e->mtime = clamp(c, (int64_t)sb->st_mtime);
		if (S_ISREG(sb->st_mode)) {
			e->type = HOIST_TAR_REG;
			e->size = (uint64_t)sb->st_size;
			e->src = hoist_xstrdup(host);
		} else if (S_ISDIR(sb->st_mode)) {
			e->type = HOIST_TAR_DIR;
		} else if (S_ISLNK(sb->st_mode)) {
			size_t tl;
			e->type = HOIST_TAR_SYMLINK;
			rc = hoist_fs_readlinkat(&e->link, &tl, AT_FDCWD, host,
						 (size_t)sb->st_size, host,
						 c->err);
			if (rc)
				return rc;
		} else if (S_ISFIFO(sb->st_mode)) {
			e->type = HOIST_TAR_FIFO;
		} else {
			e->type = S_ISCHR(sb->st_mode) ? HOIST_TAR_CHR
						       : HOIST_TAR_BLK;
			e->maj = major(sb->st_rdev);
			e->min = minor(sb->st_rdev);
		}
	}
	if (S_ISDIR(sb->st_mode) && !c->shallow)
		rc = add_children(c, host, dst, rel, ig, keep);
	return rc;
}

static int add_children(struct cp *c, const char *host, const char *dst,
			const char *rel, const struct hoist_dockerignore *ig,
			int keep)
{
	struct dirent **names = NULL;
	int n = scandir(host, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		return hoist_err_sys(c->err, errno, "read '%s'", host);
	{
		for (int i = 0; i < n; i++) {
			const char *nm = names[i]->d_name;
			char *h, *d, *r;
			struct stat cs;
			if (rc || !strcmp(nm, ".") || !strcmp(nm, "..")) {
				free(names[i]);
				continue;
			}
			h = hoist_xasprintf("%s/%s", host, nm);
			d = hoist_dfb_join(dst, nm);
			r = rel ? hoist_dfb_join(rel, nm) : NULL;
			if (r && ((ig && hoist_dockerignore_excluded(ig, r)) ||
				  (c->excl &&
				   hoist_dockerignore_excluded(c->excl, r)))) {
				/* an exception may keep something inside */
				if (!lstat(h, &cs) && S_ISDIR(cs.st_mode) &&
				    ig &&
				    !hoist_dockerignore_may_skip_dir(ig, r))
					rc = add_tree(c, h, &cs, d, r, ig,
						      keep);
			} else if (lstat(h, &cs) < 0) {
				rc = hoist_err_sys(c->err, errno, "lstat '%s'",
						   h);
			} else {
				rc = add_tree(c, h, &cs, d, r, ig, keep);
			}
			free(h);
			free(d);
			free(r);
			free(names[i]);
		}
		free(names);
	}
	return rc;
}

/* ---- users ---- */

/* Look name up in the stage's /etc/passwd or /etc/group. */
static int lookup(struct cp *c, const char *file, const char *name,
		  uint64_t *id, uint64_t *gid)
{
	int rc;

	if ((rc = hoist_dfb_rootfs(c->b, c->st, c->err)))
		return rc;
	rc = hoist_dfb_passwd_id(c->st->rootfs, file, name, id, gid);
	if (rc < 0)
		return fail(c, HOIST_EINVAL, "unable to find user %s: %s loops",
			    name, file);
	if (rc)
		return fail(c, HOIST_EINVAL,
			    "unable to find %s %s: no matching entries in the "
			    "image's file",
			    strstr(file, "passwd") ? "user" : "group", name);
	return 0;
}

/* USER[:GROUP] to ids, as BuildKit: a numeric user alone is its group. */
static int resolve_owner(struct cp *c, const char *spec, struct owner *o)
{
	char *u = hoist_xstrdup(spec), *g = strchr(u, ':');
	uint64_t pgid = 0;
	int rc = 0;

	if (g)
		*g++ = '\0';
	o->set = 1;
	if (!*u) {
		o->uid = 0;
	} else if (!hoist_dfb_parse_id(u, &o->uid)) {
		pgid = o->uid;
	} else if ((rc = lookup(c, "/etc/passwd", u, &o->uid, &pgid))) {
		goto out;
	}
	o->gid = pgid;
	if (g && *g && hoist_dfb_parse_id(g, &o->gid))
		rc = lookup(c, "/etc/group", g, &o->gid, NULL);
out:
	free(u);
	return rc;
}

/* ---- sources ---- */

/* By name (NULL last), then in the order added. */
static int ent_cmp_null(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int r;
	if (!x->name || !y->name)
		return !x->name - !y->name;
	r = strcmp(x->name, y->name);
	if (r)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int verify_checksum(struct cp *c, const char *path, const char *src)
{
	const char *want = c->step->checksum;
	char hex[HOIST_SHA256_HEXLEN + 1], buf[65536];
	struct hoist_sha256 h;
	ssize_t got;
	int fd;

	if (strncmp(want, "sha256:", 7) != 0)
		return fail(c, HOIST_EINVAL,
			    "invalid checksum '%s': want sha256:HEX", want);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_sys(c->err, errno, "open '%s'", src);
	hoist_sha256_init(&h);
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		hoist_sha256_update(&h, buf, (size_t)got);
	close(fd);
	hoist_sha256_final_hex(&h, hex);
	if (got < 0)
		return hoist_err_sys(c->err, EIO, "read '%s'", src);
	if (strcmp(hex, want + 7) != 0)
		return fail(c, HOIST_EDIGEST,
			    "digest mismatch for '%s': got sha256:%s", src,
			    hex);
	return 0;
}

static int step_tmp(struct cp *c, char **out);

/* ADD of a local archive: unpacked, then its tree goes under dst. */
static int add_archive(struct cp *c, const char *host, const char *dst)
{
	struct hoist_unpack_opts uo = {-1, 1};
	char *tmp = NULL;
	int fd, rc;

	if ((rc = step_tmp(c, &tmp)))
		return rc;
	fd = open(host, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_sys(c->err, errno, "open '%s'", host);
	rc = hoist_unpack_fd(fd, tmp, &uo, host, c->err);
	close(fd);
	if (rc)
		return rc;
	return add_children(c, tmp, dst, NULL, NULL, 1);
}

/* The root a step reads from, and whether its owners are kept. */
static int source_root(struct cp *c, const char **root,
		       const struct hoist_dockerignore **ig, int *keep)
{
	const struct hoist_dfstep *step = c->step;
	struct hoist_dfb *b = c->b;
	struct hoist_dfb_stage *from;
	const char *dir;
	char *ref = NULL;
	int rc;

	*ig = NULL;
	*keep = 1;
	if (step->from_stage >= 0) {
		from = &b->stages[step->from_stage];
	} else if (step->from_image &&
		   (dir = hoist_dfb_context(b, step->from_image, &ref)) &&
		   !ref) {
		*root = dir; /* a directory context: read in place */
		*keep = 0;
		return 0;
	} else if (step->from_image) {
		free(ref);
		if ((rc = hoist_dfb_image(b, step->from_image, &from, c->err)))
			return locate(c, rc);
	} else {
		*root = b->o->context;
		*ig = b->ignore;
		*keep = 0;
		return 0;
	}
	if ((rc = hoist_dfb_rootfs(b, from, c->err)))
		return rc;
	*root = from->rootfs;
	return 0;
}

/* Copy one matched source (clean, relative to root) to the destination. */
static int copy_one(struct cp *c, const char *root, const char *src,
		    const struct hoist_dockerignore *ig, int keep,
		    const char *dest, int into_dir)
{
	char *rel = NULL, *host = NULL, *dst = NULL;
	struct stat sb;
	int rc = 0;

	if (hoist_dfb_resolve(&rel, root, src, 1)) {
		rc = fail(c, HOIST_EINVAL,
			  "source '%s': too many levels of "
			  "symbolic links",
			  src);
		goto out;
	}
	host = hoist_xasprintf("%s/%s", root, rel);
	if ((ig && *rel && hoist_dockerignore_excluded(ig, rel)) ||
	    lstat(host, &sb) < 0) {
		rc = fail(c, HOIST_ENOTFOUND, "'%s': not found%s", src,
			  ig ? " in the build context (or excluded by "
			       ".dockerignore)"
			     : "");
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		/* a root (the context's, a stage's scratch directory) is
		 * an image's "/": 0755; a scratch directory's time is the
		 * build's, so it gets the time of made directories */
		if (!*rel)
			sb.st_mode = S_IFDIR | 0755;
		if (!*rel && root != c->b->o->context)
			sb.st_mtime = made_time(c);
		rc = add_tree(c, host, &sb, dest, rel, ig, keep);
		goto out;
	}
	if (c->step->kind == HOIST_DFSTEP_ADD && c->step->checksum &&
	    (rc = verify_checksum(c, host, src)))
		goto out;
	if (c->step->kind == HOIST_DFSTEP_ADD && S_ISREG(sb.st_mode) &&
	    c->step->from_stage < 0 && !c->step->from_image &&
	    hoist_dfb_is_archive(host)) {
		rc = add_archive(c, host, dest);
		goto out;
	}
	{
		const char *base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		dst = into_dir ? hoist_dfb_join(dest, base)
			       : hoist_xstrdup(dest);
	}
	rc = add_tree(c, host, &sb, dst, NULL, NULL, keep);
out:
	free(rel);
	free(host);
	free(dst);
	return rc;
}

/* A scratch directory of the store, removed after the step. */
static int step_tmp(struct cp *c, char **out)
{
	char *tmp = NULL;
	int rc;

	if ((rc = hoist_store_mkdtemp(c->b->s, &tmp, c->err)))
		return rc;
	hoist_fs_tmp_register(tmp, 1);
	c->tmps = hoist_xreallocarray(c->tmps, c->ntmps + 1, sizeof(*c->tmps));
	c->tmps[c->ntmps++] = tmp;
	*out = tmp;
	return 0;
}

/* ADD https://...: fetched, checked, copied as a 0600 file (no unpacking:
 * BuildKit never extracts a remote archive). */
static int copy_url(struct cp *c, const char *url, const char *dest,
		    int into_dir)
{
	char *tmp, *path, *name = hoist_dfb_url_name(url), *dst;
	int64_t mtime;
	struct stat sb;
	int rc;

	if ((rc = step_tmp(c, &tmp))) {
		free(name);
		return rc;
	}
	path = hoist_xasprintf("%s/%s", tmp, "fetched");
	hoist_log(HOIST_LOG_INFO, "fetching %s", url);
	rc = hoist_dfb_fetch(c->b, url, path, &mtime, c->err);
	if (rc)
		rc = locate(c, rc);
	else if (c->step->checksum)
		rc = verify_checksum(c, path, url);
	if (!rc && lstat(path, &sb) < 0)
		rc = hoist_err_sys(c->err, errno, "lstat '%s'", path);
	if (!rc) {
		dst = into_dir ? hoist_dfb_join(dest, name)
			       : hoist_xstrdup(dest);
		rc = add_tree(c, path, &sb, dst, NULL, NULL, 0);
		free(dst);
	}
	free(path);
	free(name);
	return rc;
}

/* The matches of pattern in root that the .dockerignore keeps; none is
 * an error about src (as written). */
static int glob_sources(struct cp *c, const char *root, const char *pattern,
			const struct hoist_dockerignore *ig, const char *src,
			char ***out, size_t *n)
{
	char **m;
	size_t nm;

	hoist_dfb_glob(&m, &nm, root, pattern);
	for (size_t k = 0; k < nm; k++)
		if (ig && hoist_dockerignore_excluded(ig, m[k])) {
			free(m[k]);
			memmove(m + k, m + k + 1, (nm - k - 1) * sizeof(*m));
			nm--;
			k--;
		}
	*out = m;
	*n = nm;
	if (!nm)
		return fail(c, HOIST_ENOTFOUND,
			    "no source files were specified: '%s' matches "
			    "nothing",
			    src);
	return 0;
}

/*
 * COPY --parents SRC: the source's path is kept under the destination,
 * from the root or from the pivot "/./" (the part before it is
 * dropped), with the directories on the way copied too, as BuildKit's
 * include patterns copy them.
 */
static int copy_parents(struct cp *c, const char *root, const char *src,
			const struct hoist_dockerignore *ig, int keep,
			const char *dest)
{
	const char *cut = strstr(src, "/./");
	char *pre = cut ? hoist_xstrndup(src, (size_t)(cut - src))
			: hoist_xstrdup("");
	char *raw = hoist_xasprintf("/%s", pre), *pivot, *pattern, *full;
	char **m = NULL;
	size_t nm = 0, pl;
	int rc = 0;

	pivot = hoist_dockerignore_clean(raw);
	free(raw);
	raw = hoist_xasprintf("/%s", cut ? cut + 3 : src);
	pattern = hoist_dockerignore_clean(raw);
	free(raw);
	full = pivot[1] ? hoist_xasprintf("%s%s", pivot + 1,
					  strcmp(pattern, "/") ? pattern : "")
			: hoist_xstrdup(pattern + 1);
	pl = strlen(pivot + 1);
	if (hoist_dfb_has_meta(full)) {
		rc = glob_sources(c, root, full, ig, src, &m, &nm);
	} else {
		m = hoist_xcalloc(1, sizeof(*m));
		m[nm++] = hoist_xstrdup(full);
	}
	for (size_t k = 0; !rc && k < nm; k++) {
		const char *r = m[k] + pl + (pl && m[k][pl] == '/');
		char *d = hoist_xstrdup(r), *slash = d, *dst;

		/* the directories between the pivot and the match */
		while (!rc && (slash = strchr(slash, '/'))) {
			char *host, *part;
			struct stat sb;

			*slash = '\0';
			part = pl ? hoist_xasprintf("%s/%s", pivot + 1, d)
				  : hoist_xstrdup(d);
			host = hoist_xasprintf("%s/%s", root, part);
			if (lstat(host, &sb) == 0 && S_ISDIR(sb.st_mode)) {
				char *dd = hoist_dfb_join(dest, d);
				c->shallow = 1;
				rc = add_tree(c, host, &sb, dd, NULL, NULL,
					      keep);
				c->shallow = 0;
				free(dd);
			}
			free(host);
			free(part);
			*slash++ = '/';
		}
		dst = hoist_dfb_join(dest, r);
		if (!rc)
			rc = copy_one(c, root, m[k], ig, keep, dst, 0);
		free(dst);
		free(d);
	}
	for (size_t k = 0; k < nm; k++)
		free(m[k]);
	free(m);
	free(full);
	free(pattern);
	free(pivot);
	free(pre);
	return rc;
}

static int copy_step(struct cp *c)
{
	const struct hoist_dfstep *step = c->step;
	const struct hoist_dockerignore *ig;
	const char *root = NULL, *d = step->dest;
	char *abs, *dest = NULL, *full;
	size_t nsrc = step->sources.n + step->ninlines, dl = strlen(d);
	int trailing, keep, into_dir, rc;

	if (step->keep_git_dir)
		return fail(c, HOIST_EUNSUPPORTED,
			    "--keep-git-dir applies to git sources, which "
			    "hoist does not fetch");
	if (step->excludes.n &&
	    (rc = hoist_dockerignore_new(&c->excl,
					 (const char *const *)step->excludes.v,
					 step->excludes.n, c->err)))
		return rc;
	for (size_t i = 0; i < step->sources.n; i++) {
		const char *s = step->sources.v[i];
		if (hoist_dfb_is_url(s) && step->kind != HOIST_DFSTEP_ADD)
			return fail(c, HOIST_EINVAL,
				    "source can't be a URL for COPY");
		if (strstr(s, "://") && !hoist_dfb_is_url(s))
			return fail(c, HOIST_EUNSUPPORTED,
				    "source '%s': hoist fetches only http(s) "
				    "URLs",
				    s);
	}
	trailing = dl && (d[dl - 1] == '/' || !strcmp(d, ".") ||
			  (dl >= 2 && !strcmp(d + dl - 2, "/.")));
	if (nsrc > 1 && !trailing)
		return fail(c, HOIST_EINVAL,
			    "when using %s with more than one source file, the "
			    "destination must be a directory and end with a "
			    "/",
			    step->kind == HOIST_DFSTEP_ADD ? "ADD" : "COPY");
	if ((rc = source_root(c, &root, &ig, &keep)) ||
	    (rc = hoist_dfb_rootfs(c->b, c->st, c->err)))
		return rc;
	if (step->chown && (rc = resolve_owner(c, step->chown, &c->own)))
		return rc;
	if (step->chmod) {
		uint32_t m;
		if (hoist_dfchmod_apply(step->chmod, 0, 0, &m))
			return fail(c, HOIST_EINVAL,
				    "invalid --chmod '%s': want an octal mode "
				    "up to 7777 or a symbolic one (u+x, go-w, "
				    "a=rX)",
				    step->chmod);
		c->chmod = step->chmod;
	}
	abs = d[0] == '/'
		      ? hoist_xstrdup(d)
		      : hoist_xasprintf("%s/%s",
					step->workdir ? step->workdir : "", d);
	if (hoist_dfb_resolve(&dest, c->st->rootfs, abs, 1)) {
		free(abs);
		return fail(c, HOIST_EINVAL,
			    "destination '%s': too many levels of symbolic "
			    "links",
			    d);
	}
	free(abs);
	full = hoist_xasprintf("%s/%s", c->st->rootfs, dest);
	into_dir = trailing || hoist_fs_is_dir(full);
	free(full);
	rc = 0;
	for (size_t i = 0; !rc && i < step->sources.n; i++) {
		char *raw, *src, **m = NULL;
		size_t nm = 0;

		if (hoist_dfb_is_url(step->sources.v[i])) {
			rc = copy_url(c, step->sources.v[i], dest, into_dir);
			continue;
		}
		raw = hoist_xasprintf("/%s", step->sources.v[i]);
		src = hoist_dockerignore_clean(raw);
		free(raw);
		raw = hoist_dockerignore_clean(step->sources.v[i]);
		/* "/" keeps the clean path inside: ".." stops at the root */
		if (step->from_stage < 0 && !step->from_image &&
		    (!strcmp(raw, "..") || !strncmp(raw, "../", 3))) {
			rc = fail(c, HOIST_EINVAL,
				  "source '%s' is outside the build context",
				  step->sources.v[i]);
		} else if (step->parents) {
			rc = copy_parents(c, root, step->sources.v[i], ig, keep,
					  dest);
		} else if (hoist_dfb_has_meta(src + 1)) {
			rc = glob_sources(c, root, src + 1, ig,
					  step->sources.v[i], &m, &nm);
			for (size_t k = 0; !rc && k < nm; k++)
				rc = copy_one(c, root, m[k], ig, keep, dest,
					      into_dir || nm > 1);
			for (size_t k = 0; k < nm; k++)
				free(m[k]);
			free(m);
		} else {
			rc = copy_one(c, root, src + 1, ig, keep, dest,
				      into_dir);
		}
		free(raw);
		free(src);
	}
	for (size_t i = 0; !rc && i < step->ninlines; i++) {
		const struct hoist_dfinline *il = &step->inlines[i];
		struct ent *e;
		char *name = into_dir ? hoist_dfb_join(dest, il->name)
				      : hoist_xstrdup(dest);
		e = ent_new(c, name);
		free(name);
		e->type = HOIST_TAR_REG;
		e->mode = 0644;
		if (c->chmod)
			hoist_dfchmod_apply(c->chmod, 0644, 0, &e->mode);
		e->uid = c->own.uid;
		e->gid = c->own.gid;
		e->mtime = made_time(c);
		e->data = il->content ? il->content : "";
		e->size = strlen(e->data);
	}
	free(dest);
	return rc;
}

/* WORKDIR's directory: missing components, 0755, owned by USER. */
static int mkdir_step(struct cp *c)
{
	char *dest = NULL;
	int rc;

	if ((rc = hoist_dfb_rootfs(c->b, c->st, c->err)))
		return rc;
	if (c->step->user && *c->step->user &&
	    (rc = resolve_owner(c, c->step->user, &c->own)))
		return rc;
	if (hoist_dfb_resolve(&dest, c->st->rootfs, c->step->dest, 1))
		return fail(c, HOIST_EINVAL,
			    "'%s': too many levels of symbolic links",
			    c->step->dest);
	if (*dest) {
		struct ent *e = ent_new(c, dest);
		e->type = HOIST_TAR_DIR;
		e->mode = 0755;
	}
	free(dest);
	return 0;
}

/*
 * Sort, keep the last of each name, drop a directory the stage already
 * has when this step adds it only as a parent, add missing parents.
 */
static void finish_entries(struct cp *c)
{
	size_t out = 0;
	int64_t t = made_time(c);

	for (size_t i = 0, n = c->n; i < n; i++) {
		char *p = hoist_xstrdup(c->v[i].name), *slash;
		while ((slash = strrchr(p, '/'))) {
			char *full;
			int have = 0;
			*slash = '\0';
			for (size_t k = 0; k < c->n && !have; k++)
				have = !strcmp(c->v[k].name, p);
			/* no rootfs: a layer of its own (a named context) */
			full = c->st->rootfs ? hoist_xasprintf("%s/%s",
							       c->st->rootfs, p)
					     : NULL;
			if (!have && !(full && hoist_fs_exists(full))) {
				struct ent *e = ent_new(c, p);
				e->type = HOIST_TAR_DIR;
				e->mode = 0755;
				e->uid = c->own.uid;
				e->gid = c->own.gid;
				e->mtime = t;
				e->seq = 0; /* a real entry of that name wins */
			}
			free(full);
		}
		free(p);
	}
	/* a WORKDIR that exists already changes nothing */
	if (c->step->kind == HOIST_DFSTEP_MKDIR) {
		for (size_t i = 0; i < c->n; i++) {
			char *full = hoist_xasprintf("%s/%s", c->st->rootfs,
						     c->v[i].name);
			if (hoist_fs_is_dir(full)) {
				free(c->v[i].name);
				c->v[i].name = NULL;
			} else {
				c->v[i].uid = c->own.uid;
				c->v[i].gid = c->own.gid;
				c->v[i].mtime = t;
			}
			free(full);
		}
	}
	qsort(c->v, c->n, sizeof(*c->v), ent_cmp_null);
	for (size_t i = 0; i < c->n; i++) {
		if (!c->v[i].name ||
		    (i + 1 < c->n && c->v[i + 1].name &&
		     !strcmp(c->v[i].name, c->v[i + 1].name))) {
			free(c->v[i].name);
			free(c->v[i].link);
			free(c->v[i].src);
			continue;
		}
		c->v[out++] = c->v[i];
	}
	c->n = out;
}

static int write_entries(void *ctx, struct hoist_tar_writer *w,
			 struct hoist_err *err)
{
	struct cp *c = ctx;
	char buf[65536];
	int rc = 0;

	for (size_t i = 0; i < c->n && !rc; i++) {
		const struct ent *e = &c->v[i];
		struct hoist_tar_entry te;
		char *name = e->type == HOIST_TAR_DIR
				     ? hoist_xasprintf("%s/", e->name)
				     : hoist_xstrdup(e->name);
		memset(&te, 0, sizeof(te));
		te.name = name;
		te.type = e->type;
		te.mode = e->mode;
		te.uid = e->uid;
		te.gid = e->gid;
		te.mtime = e->mtime;
		te.size = e->type == HOIST_TAR_REG ? e->size : 0;
		te.linkname = e->link;
		te.devmajor = e->maj;
		te.devminor = e->min;
		rc = hoist_tar_write_header(w, &te, err);
		free(name);
		if (rc || e->type != HOIST_TAR_REG)
			continue;
		if (e->data) {
			rc = hoist_tar_write_data(w, e->data, e->size, err);
			continue;
		}
		{
			int fd =
				open(e->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			uint64_t left = e->size;
			if (fd < 0) {
				rc = hoist_err_sys(err, errno, "open '%s'",
						   e->src);
				continue;
			}
			while (!rc && left) {
				ssize_t got =
					read(fd, buf,
					     left < sizeof(buf) ? left
								: sizeof(buf));
				if (got <= 0) {
					rc = hoist_err_sys(
						err, got < 0 ? errno : EIO,
						"read '%s' (changed while "
						"building?)",
						e->src);
					break;
				}
				rc = hoist_tar_write_data(w, buf, (size_t)got,
							  err);
				left -= (uint64_t)got;
			}
			close(fd);
		}
	}
	return rc;
}

/* Free what a step collected; its scratch directories are removed. */
static void cp_release(struct cp *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].link);
		free(c->v[i].src);
	}
	free(c->v);
	for (size_t i = 0; i < c->ntmps; i++) {
		hoist_fs_rm_rf(c->tmps[i], NULL);
		hoist_fs_tmp_unregister(c->tmps[i]);
		free(c->tmps[i]);
	}
	free(c->tmps);
	hoist_dockerignore_free(c->excl);
}

/* The collected entries as one layer (*empty 0), or none (*empty 1). */
static int write_layer(struct cp *c, const char *what, struct hoist_layer *out,
		       int *empty)
{
	struct hoist_layer_opts lo;
	int rc;

	*empty = 1;
	finish_entries(c);
	if (!c->n)
		return 0;
	hoist_dfb_layer_opts(c->b, &lo);
	rc = hoist_layer_from_fn(out, c->b->s, write_entries, c, what, &lo,
				 c->err);
	if (!rc)
		*empty = 0;
	return rc;
}

/* A step's state: nothing collected yet, and no layer (*empty 1). */
static void cp_init(struct cp *c, struct hoist_dfb *b,
		    struct hoist_dfb_stage *st, const struct hoist_dfstep *step,
		    int *empty, struct hoist_err *err)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->st = st;
	c->step = step;
	c->err = err;
	*empty = 1;
}

int hoist_dfb_step(struct hoist_dfb *b, struct hoist_dfb_stage *st,
		   const struct hoist_dfstep *step, struct hoist_layer *out,
		   int *empty, struct hoist_err *err)
{
	struct cp c;
	int rc;

	cp_init(&c, b, st, step, empty, err);
	rc = step->kind == HOIST_DFSTEP_MKDIR ? mkdir_step(&c) : copy_step(&c);
	if (!rc && (rc = write_layer(&c, step->instr->original, out, empty)))
		rc = locate(&c, rc);
	cp_release(&c);
	return rc;
}

int hoist_dfb_dir_layer(struct hoist_dfb *b, const char *dir,
			struct hoist_layer *out, int *empty,
			struct hoist_err *err)
{
	struct hoist_dfstep step;
	struct hoist_dfb_stage none;
	struct cp c;
	int rc;

	memset(&step, 0, sizeof(step));
	memset(&none, 0, sizeof(none));
	step.kind = HOIST_DFSTEP_COPY;
	cp_init(&c, b, &none, &step, empty, err);
	rc = add_children(&c, dir, "", NULL, NULL, 0);
	if (!rc)
		rc = write_layer(&c, dir, out, empty);
	cp_release(&c);
	return rc;
}
