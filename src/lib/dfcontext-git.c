/*
 * dfcontext-git.c: a Git build context (URL#REF:SUBDIR) checked out with
 * the git program, as BuildKit's git source does it: a fresh repository,
 * a shallow fetch of the one ref, a detached checkout, submodules; then
 * .git is dropped and every time set to the commit's.
 *
 * git runs from argv (never a shell) with GIT_TERMINAL_PROMPT=0, so a
 * URL that wants a password fails instead of waiting for one; a URL or
 * REF starting with '-' is refused before git sees it (it would read as
 * an option), and REF goes to checkout after --detach, so it is never a
 * pathspec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/dfbuild-int.h"
#include "lib/dfcontext-int.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/spawn.h"
#include "util/banned.h"

#define GIT_TIMEOUT_MS (30L * 60 * 1000) /* a fetch of a big repository */
#define GIT_OUTPUT_MAX (1u << 20)        /* -q: only errors are printed */

/* The last non-empty line of what git printed, trimmed (into buf). */
static const char *last_line(struct hoist_buf *out)
{
	char *s = out->data ? out->data : "";
	size_t n = out->len;
	char *start;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		     s[n - 1] == '\t'))
		n--;
	s[n] = '\0';
	start = s + n;
	while (start > s && start[-1] != '\n')
		start--;
	return start;
}

/*
 * Run git with argv (argv[0] "git"); its output (stdout and stderr) in
 * *out. A failure reads "git clone of 'SHOWN' failed: <git's last line>".
 */
static int git_run(struct hoist_buf *out, const char *shown, char *const argv[],
		   struct hoist_err *err)
{
	static const char *const env[] = {"GIT_TERMINAL_PROMPT=0", NULL};
	struct hoist_spawn_opts so = {env, 1};
	int status = 0, rc;

	hoist_buf_release(out);
	hoist_buf_init(out, GIT_OUTPUT_MAX);
	rc = hoist_spawn_run_opts(argv, &so, NULL, 0, out, GIT_TIMEOUT_MS,
				  &status, err);
	if (rc)
		return hoist_err_prefix(err, "git clone of '%s' failed", shown);
	if (status != 0) {
		const char *line = last_line(out);
		if (*line)
			return hoist_err_set(err, HOIST_EIO,
					     "git clone of '%s' failed: %s",
					     shown, line);
		return hoist_err_set(err, HOIST_EIO,
				     "git clone of '%s' failed: git %s "
				     "exited with status %d",
				     shown, argv[3] ? argv[3] : "", status);
	}
	return 0;
}

static int is_commit_hash(const char *ref)
{
	size_t n = strspn(ref, "0123456789abcdef");
	return (n == 40 || n == 64) && !ref[n];
}

/* Set the times of everything below dfd (named path) to ts. */
static int set_times(int dfd, const char *path, const struct timespec ts[2],
		     struct hoist_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if ((rc = hoist_fs_dir_names(&names, &n, dfd, path, err)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		struct stat sb;
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = hoist_err_sys(err, errno, "stat '%s/%s'", path,
					   names[i]);
			break;
		}
		if (S_ISDIR(sb.st_mode)) {
			char *sp = hoist_xasprintf("%s/%s", path, names[i]);
			int sub = openat(dfd, names[i],
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			if (sub < 0) {
				rc = hoist_err_sys(err, errno, "open '%s'", sp);
			} else {
				rc = set_times(sub, sp, ts, err);
				close(sub);
			}
			free(sp);
		}
		if (!rc &&
		    utimensat(dfd, names[i], ts, AT_SYMLINK_NOFOLLOW) < 0)
			rc = hoist_err_sys(err, errno, "set times of '%s/%s'",
					   path, names[i]);
	}
	hoist_fs_names_free(names, n);
	return rc;
}

/* .git dropped, every time the commit's (BuildKit's git.mtime=commit). */
static int settle(const char *repo, struct hoist_buf *out, const char *shown,
		  struct hoist_err *err)
{
	char *argv[] = {"git", "-C",           (char *)repo, "show",
			"-s",  "--format=%ct", "HEAD",       NULL};
	char *dotgit = hoist_xasprintf("%s/.git", repo), *end;
	struct timespec ts[2];
	long long t;
	int rc, dfd;

	rc = git_run(out, shown, argv, err);
	if (!rc) {
		errno = 0;
		t = strtoll(last_line(out), &end, 10);
		if (errno || *end || end == last_line(out))
			rc = hoist_err_set(err, HOIST_EIO,
					   "git clone of '%s': no commit time",
					   shown);
	}
	if (!rc)
		rc = hoist_fs_rm_rf(dotgit, err);
	free(dotgit);
	if (rc)
		return rc;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	dfd = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hoist_err_sys(err, errno, "open '%s'", repo);
	rc = set_times(dfd, repo, ts, err);
	close(dfd);
	if (!rc && utimensat(AT_FDCWD, repo, ts, 0) < 0)
		rc = hoist_err_sys(err, errno, "set times of '%s'", repo);
	return rc;
}

/* init, fetch REF (a commit hash the server will not give by name: every
 * branch and tag), checkout, submodules. */
static int checkout(const char *repo, const char *url, const char *ref,
		    struct hoist_buf *out, const char *shown,
		    struct hoist_err *err)
{
	char *r = (char *)repo, *u = (char *)url, *f = (char *)ref;
	char *init[] = {"git", "init", "-q", r, NULL};
	char *remote[] = {"git", "-C", r, "remote", "add", "origin", u, NULL};
	char *fetch[] = {"git", "-C",        r,        "fetch", "-q", "--depth",
			 "1",   "--no-tags", "origin", f,       NULL};
	char *all[] = {"git", "-C", r, "fetch", "-q", "--tags", "origin", NULL};
	char *co[] = {"git",
		      "-C",
		      r,
		      "-c",
		      "advice.detachedHead=false",
		      "checkout",
		      "-q",
		      "--detach",
		      "FETCH_HEAD",
		      NULL};
	char *sub[] = {"git",     "-C",     r,        "submodule",
		       "-q",      "update", "--init", "--recursive",
		       "--depth", "1",      NULL};
	char *gm = hoist_xasprintf("%s/.gitmodules", repo);
	int rc;

	rc = git_run(out, shown, init, err);
	if (!rc)
		rc = git_run(out, shown, remote, err);
	if (!rc) {
		rc = git_run(out, shown, fetch, err);
		if (rc && is_commit_hash(ref)) {
			hoist_err_clear(err);
			rc = git_run(out, shown, all, err);
			co[8] = f;
		}
	}
	if (!rc)
		rc = git_run(out, shown, co, err);
	if (!rc && hoist_fs_exists(gm))
		rc = git_run(out, shown, sub, err);
	free(gm);
	return rc;
}

int hoist_dfctx_git(struct hoist_dfcontext *c, const char *url,
		    const char *dockerfile, struct hoist_err *err)
{
	const char *hash = strchr(url, '#');
	char *base = hash ? hoist_xstrndup(url, (size_t)(hash - url))
			  : hoist_xstrdup(url);
	char *ref = hoist_xstrdup(hash ? hash + 1 : ""), *subdir;
	char *repo = hoist_xasprintf("%s/repo", c->scratch), *rel = NULL;
	char *shown = hoist_dfctx_redact(base);
	struct hoist_buf out;
	int rc;

	hoist_buf_init(&out, GIT_OUTPUT_MAX);
	subdir = strchr(ref, ':');
	if (subdir)
		*subdir++ = '\0';
	if (base[0] == '-' || ref[0] == '-') {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "invalid git context '%s': a %s cannot "
				   "start with '-'",
				   shown, base[0] == '-' ? "URL" : "ref");
		goto out;
	}
	rc = checkout(repo, base, *ref ? ref : "HEAD", &out, shown, err);
	if (!rc)
		rc = settle(repo, &out, shown, err);
	if (rc)
		goto out;
	if (hoist_dfb_resolve(&rel, repo, subdir ? subdir : "", 1) < 0) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "git context '%s': subdirectory '%s': too "
				   "many levels of symbolic links",
				   shown, subdir);
		goto out;
	}
	c->dir = *rel ? hoist_xasprintf("%s/%s", repo, rel)
		      : hoist_xstrdup(repo);
	if (!hoist_fs_is_dir(c->dir)) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "git context '%s': subdirectory '%s' is "
				   "not a directory at '%s'",
				   shown, subdir, *ref ? ref : "HEAD");
		goto out;
	}
	rc = hoist_dfctx_dockerfile(c, dockerfile, err);
out:
	hoist_buf_release(&out);
	free(base);
	free(ref);
	free(repo);
	free(rel);
	free(shown);
	return rc;
}
