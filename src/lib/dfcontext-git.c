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
#include "lib/dockerfile-json.h"
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
		size_t v = 1; /* the subcommand, after -C DIR and -c K=V */
		while (argv[v] && argv[v + 1] &&
		       (!strcmp(argv[v], "-C") || !strcmp(argv[v], "-c")))
			v += 2;
		if (*line)
			return hoist_err_set(err, HOIST_EIO,
					     "git clone of '%s' failed: %s",
					     shown, line);
		return hoist_err_set(err, HOIST_EIO,
				     "git clone of '%s' failed: git %s "
				     "exited with status %d",
				     shown, argv[v] ? argv[v] : "", status);
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

/* .git dropped, every time the commit's (BuildKit's git.mtime=commit);
 * with a checksum, the commit checked out must be that one. */
static int settle(const char *repo, const char *checksum, struct hoist_buf *out,
		  const char *shown, struct hoist_err *err)
{
	char *argv[] = {"git",  "-C", (char *)repo,
			"show", "-s", "--format=%H %ct",
			"HEAD", NULL};
	char *dotgit = hoist_xasprintf("%s/.git", repo), *end;
	const char *line, *sp;
	struct timespec ts[2];
	long long t = 0;
	int rc, dfd;

	rc = git_run(out, shown, argv, err);
	if (!rc) {
		line = last_line(out);
		sp = strchr(line, ' ');
		errno = 0;
		if (sp)
			t = strtoll(sp + 1, &end, 10);
		if (!sp || errno || *end || end == sp + 1)
			rc = hoist_err_set(err, HOIST_EIO,
					   "git clone of '%s': no commit time",
					   shown);
		else if (checksum && strncmp(line, checksum, strlen(checksum)))
			rc = hoist_err_set(err, HOIST_EDIGEST,
					   "git context '%s': checked out "
					   "commit %.*s, not checksum %s",
					   shown, (int)(sp - line), line,
					   checksum);
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

/* What a Git context names: the URL git fetches, the ref ("" for the
 * remote's HEAD), the subdirectory and the commit it must be. */
struct gitspec {
	char *base;
	char *ref;
	char *subdir;   /* NULL: the root */
	char *checksum; /* NULL: any */
};

static void gitspec_release(struct gitspec *g)
{
	free(g->base);
	free(g->ref);
	free(g->subdir);
	free(g->checksum);
}

/* A query value, %XX and '+' decoded (heap). */
static char *query_value(const char *v, size_t n)
{
	char *out = hoist_xstrndup(v, n), *w = out;

	for (size_t i = 0; i < n; i++) {
		if (v[i] == '%' && i + 2 < n &&
		    hoist_dockerfile_hexval(v[i + 1]) >= 0 &&
		    hoist_dockerfile_hexval(v[i + 2]) >= 0) {
			*w++ = (char)(hoist_dockerfile_hexval(v[i + 1]) * 16 +
				      hoist_dockerfile_hexval(v[i + 2]));
			i += 2;
		} else {
			*w++ = v[i] == '+' ? ' ' : v[i];
		}
	}
	*w = '\0';
	return out;
}

/* buildx 0.28's ?ref=|branch=|tag=&checksum=|commit=&subdir= (q after
 * the '?'), into g. */
static int parse_query(struct gitspec *g, const char *q, const char *shown,
		       struct hoist_err *err)
{
	while (*q) {
		size_t n = strcspn(q, "&"), kl = strcspn(q, "=");
		const char *v = q + kl + 1;
		char *val, **slot = NULL;
		const char *prefix = "";

		if (kl >= n)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid git context '%s': query "
					     "'%.*s' is not KEY=VALUE",
					     shown, (int)n, q);
		val = query_value(v, n - kl - 1);
		if (!strncmp(q, "ref=", 4)) {
			slot = &g->ref;
		} else if (!strncmp(q, "branch=", 7)) {
			slot = &g->ref;
			prefix = "refs/heads/";
		} else if (!strncmp(q, "tag=", 4)) {
			slot = &g->ref;
			prefix = "refs/tags/";
		} else if (!strncmp(q, "checksum=", 9) ||
			   !strncmp(q, "commit=", 7)) {
			slot = &g->checksum;
		} else if (!strncmp(q, "subdir=", 7)) {
			slot = &g->subdir;
		}
		if (!slot || (*slot && **slot) || !*val) {
			int rc = hoist_err_set(
				err, slot ? HOIST_EINVAL : HOIST_EUNSUPPORTED,
				"invalid git context '%s': %s query '%.*s'",
				shown,
				!slot  ? "hoist takes ref, branch, tag, "
					 "checksum, commit and subdir, not"
				: *val ? "one ref, branch or tag; a second"
				       : "an empty",
				(int)n, q);
			free(val);
			return rc;
		}
		free(*slot);
		*slot = *prefix ? hoist_xasprintf("%s%s", prefix, val)
				: hoist_xstrdup(val);
		free(val);
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* URL#REF:SUBDIR or URL?QUERY into g; shown is the URL for messages. */
static int parse_spec(struct gitspec *g, const char *url, const char *shown,
		      struct hoist_err *err)
{
	const char *hash = strchr(url, '#'), *q = strchr(url, '?');
	char *colon;

	memset(g, 0, sizeof(*g));
	if (q && hash)
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid git context '%s': a fragment "
				     "(#REF:SUBDIR) or a query, not both",
				     shown);
	if (q) {
		g->base = hoist_xstrndup(url, (size_t)(q - url));
		g->ref = hoist_xstrdup("");
		return parse_query(g, q + 1, shown, err);
	}
	g->base = hash ? hoist_xstrndup(url, (size_t)(hash - url))
		       : hoist_xstrdup(url);
	g->ref = hoist_xstrdup(hash ? hash + 1 : "");
	colon = strchr(g->ref, ':');
	if (colon) {
		*colon = '\0';
		g->subdir = hoist_xstrdup(colon + 1);
	}
	return 0;
}

int hoist_dfctx_git(struct hoist_dfcontext *c, const char *url,
		    const char *dockerfile, struct hoist_err *err)
{
	struct gitspec g;
	char *repo = hoist_xasprintf("%s/repo", c->scratch), *rel = NULL;
	char *shown = hoist_dfctx_redact(url), *ref, *subdir;
	struct hoist_buf out;
	int rc;

	hoist_buf_init(&out, GIT_OUTPUT_MAX);
	rc = parse_spec(&g, url, shown, err);
	free(shown);
	shown = hoist_dfctx_redact(g.base ? g.base : url);
	if (rc)
		goto out;
	if (!*g.ref && g.checksum) {
		free(g.ref);
		g.ref = hoist_xstrdup(g.checksum);
	}
	ref = g.ref;
	subdir = g.subdir;
	if (g.base[0] == '-' || ref[0] == '-') {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "invalid git context '%s': a %s cannot "
				   "start with '-'",
				   shown, g.base[0] == '-' ? "URL" : "ref");
		goto out;
	}
	rc = checkout(repo, g.base, *ref ? ref : "HEAD", &out, shown, err);
	if (!rc)
		rc = settle(repo, g.checksum, &out, shown, err);
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
	gitspec_release(&g);
	free(repo);
	free(rel);
	free(shown);
	return rc;
}
