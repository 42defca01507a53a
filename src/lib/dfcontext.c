/*
 * dfcontext.c: a remote build CONTEXT made a local directory (dfcontext.h
 * says what each form gives). The Git part is dfcontext-git.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/dfbuild-int.h"
#include "lib/dfcontext-int.h"
#include "lib/unpack.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

/* The forms docker's urlutil.IsGitURL takes (but its legacy github.com/
 * prefix), and ssh:// as BuildKit's git URLs. */
enum hoist_dfcontext_kind hoist_dfcontext_kind(const char *context)
{
	size_t n;

	if (!strcmp(context, "-"))
		return HOIST_DFCONTEXT_STDIN;
	if (!strncmp(context, "git://", 6) || !strncmp(context, "git@", 4) ||
	    !strncmp(context, "ssh://", 6))
		return HOIST_DFCONTEXT_GIT;
	if (!hoist_dfb_is_url(context))
		return HOIST_DFCONTEXT_DIR;
	n = strcspn(context, "#?");
	if (n > 4 && !memcmp(context + n - 4, ".git", 4))
		return HOIST_DFCONTEXT_GIT;
	return HOIST_DFCONTEXT_URL;
}

char *hoist_dfctx_redact(const char *url)
{
	const char *h = strstr(url, "://");
	const char *end, *at;

	if (!h)
		return hoist_xstrdup(url);
	h += 3;
	end = h + strcspn(h, "/?#");
	at = memchr(h, '@', (size_t)(end - h));
	if (!at)
		return hoist_xstrdup(url);
	return hoist_xasprintf("%.*sxxxxx%s", (int)(h - url), url, at);
}

int hoist_dfctx_dockerfile(struct hoist_dfcontext *c, const char *dockerfile,
			   struct hoist_err *err)
{
	char *rel = NULL;
	const char *want = dockerfile ? dockerfile : "Dockerfile";

	if (dockerfile && (!strcmp(dockerfile, "-") || dockerfile[0] == '/')) {
		c->dockerfile = hoist_xstrdup(dockerfile);
		return 0;
	}
	if (hoist_dfb_resolve(&rel, c->dir, want, 1))
		return hoist_err_set(err, HOIST_EINVAL,
				     "Dockerfile '%s' of the build context: "
				     "too many levels of symbolic links",
				     want);
	/* the plain name keeps messages reading "Dockerfile:LINE" */
	if (!dockerfile && !strcmp(rel, "Dockerfile"))
		c->dockerfile = NULL;
	else
		c->dockerfile = hoist_xasprintf("%s/%s", c->dir, rel);
	free(rel);
	return 0;
}

/* The fetched (or read) body at scratch/body: an archive is unpacked into
 * scratch/ctx, anything else is scratch/Dockerfile with ctx empty. The
 * unpacker leaves the root's time alone: ctx gets mtime (the URL's
 * Last-Modified, or 0), so its digest, and the steps' keys, do not
 * depend on when it was unpacked. */
static int body_context(struct hoist_dfcontext *c, const char *dockerfile,
			int64_t mtime, const char *what, struct hoist_err *err)
{
	struct timespec ts[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
	struct hoist_unpack_opts uo = {-1, 0};
	unsigned char head[512];
	char *body = hoist_xasprintf("%s/body", c->scratch);
	char *df = NULL;
	ssize_t n;
	int fd, rc;

	c->dir = hoist_xasprintf("%s/ctx", c->scratch);
	if (mkdir(c->dir, 0755) < 0) {
		rc = hoist_err_sys(err, errno, "mkdir '%s'", c->dir);
		goto out;
	}
	fd = open(body, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "open '%s'", body);
		goto out;
	}
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0) {
		rc = hoist_err_sys(err, errno, "read '%s'", body);
		close(fd);
		goto out;
	}
	if (hoist_dfb_archive_head(head, (size_t)n)) {
		rc = hoist_unpack_fd(fd, c->dir, &uo, what, err);
		close(fd);
		if (!rc && utimensat(AT_FDCWD, c->dir, ts, 0) < 0)
			rc = hoist_err_sys(err, errno, "set times of '%s'",
					   c->dir);
		if (!rc)
			rc = hoist_dfctx_dockerfile(c, dockerfile, err);
		goto out;
	}
	close(fd);
	if (utimensat(AT_FDCWD, c->dir, ts, 0) < 0) {
		rc = hoist_err_sys(err, errno, "set times of '%s'", c->dir);
		goto out;
	}
	/* a Dockerfile (buildx: a text file context), whatever -f says */
	if (dockerfile && !strcmp(dockerfile, "-")) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "%s is a Dockerfile: -f - cannot be "
				   "another",
				   what);
		goto out;
	}
	df = hoist_xasprintf("%s/Dockerfile", c->scratch);
	if (rename(body, df) < 0) {
		rc = hoist_err_sys(err, errno, "rename '%s'", body);
		goto out;
	}
	c->dockerfile = df;
	df = NULL;
	rc = 0;
out:
	free(body);
	free(df);
	return rc;
}

/* Standard input into scratch/body. */
static int read_stdin(const char *path, struct hoist_err *err)
{
	char chunk[65536];
	ssize_t got;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return hoist_err_sys(err, errno, "create '%s'", path);
	while (!rc && (got = read(0, chunk, sizeof(chunk))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = hoist_err_sys(err, errno, "read standard input");
		else
			rc = hoist_fs_write_all(fd, chunk, (size_t)got, path,
						err);
	}
	if (close(fd) < 0 && !rc)
		rc = hoist_err_sys(err, errno, "close '%s'", path);
	return rc;
}

/* An http(s) URL into scratch/body, as ADD fetches. */
static int fetch_url(const char *url, const char *path, int64_t *mtime,
		     const struct hoist_registry_opts *ro,
		     struct hoist_err *err)
{
	struct hoist_dfbuild_opts fo;
	struct hoist_dfb fb;

	/* hoist_dfb_fetch reads only the build's registry options */
	memset(&fo, 0, sizeof(fo));
	memset(&fb, 0, sizeof(fb));
	fo.ro = ro;
	fb.o = &fo;
	return hoist_dfb_fetch(&fb, url, path, mtime, err);
}

int hoist_dfcontext_open(struct hoist_dfcontext *c, const char *context,
			 const char *dockerfile, struct hoist_store *s,
			 const struct hoist_registry_opts *ro,
			 struct hoist_err *err)
{
	enum hoist_dfcontext_kind kind = hoist_dfcontext_kind(context);
	char *body = NULL, *shown = NULL;
	int64_t mtime = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (kind == HOIST_DFCONTEXT_DIR) {
		c->dir = hoist_xstrdup(context);
		c->dockerfile = dockerfile ? hoist_xstrdup(dockerfile) : NULL;
		return 0;
	}
	if (kind == HOIST_DFCONTEXT_STDIN && dockerfile &&
	    !strcmp(dockerfile, "-"))
		return hoist_err_set(err, HOIST_EINVAL,
				     "the build context and the Dockerfile "
				     "cannot both be standard input ('-')");
	if ((rc = hoist_store_mkdtemp(s, &c->scratch, err)))
		return rc;
	hoist_fs_tmp_register(c->scratch, 1);
	c->name = dockerfile ? dockerfile : "Dockerfile";
	shown = hoist_dfctx_redact(context);
	body = hoist_xasprintf("%s/body", c->scratch);
	if (kind == HOIST_DFCONTEXT_GIT) {
		rc = hoist_dfctx_git(c, context, dockerfile, err);
	} else if (kind == HOIST_DFCONTEXT_STDIN) {
		rc = read_stdin(body, err);
		if (!rc)
			rc = body_context(c, dockerfile, 0, "standard input",
					  err);
		if (rc)
			hoist_err_prefix(err, "build context '-'");
	} else {
		rc = fetch_url(context, body, &mtime, ro, err);
		if (!rc)
			rc = body_context(c, dockerfile, mtime, shown, err);
		if (rc)
			hoist_err_prefix(err, "context URL");
	}
	free(body);
	free(shown);
	if (rc)
		hoist_dfcontext_close(c);
	return rc;
}

void hoist_dfcontext_close(struct hoist_dfcontext *c)
{
	if (c->scratch) {
		hoist_fs_rm_rf(c->scratch, NULL);
		hoist_fs_tmp_unregister(c->scratch);
	}
	free(c->scratch);
	free(c->dir);
	free(c->dockerfile);
	memset(c, 0, sizeof(*c));
}
