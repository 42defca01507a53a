/*
 * dfcontext.h: the CONTEXT of `hoist build`, as buildx takes it: a local
 * directory, a Git repository URL, an http(s) URL of a tarball or of a
 * Dockerfile, or "-" (a tarball or a Dockerfile on standard input).
 *
 * A remote context is made a directory in a scratch directory of the
 * store (registered for removal on SIGINT/SIGTERM), which the Dockerfile
 * build then reads as it reads a local one:
 *  - Git (https://HOST/PATH.git, http://HOST/PATH.git, git://...,
 *    ssh://..., git@HOST:PATH, each with an optional #REF[:SUBDIR] or
 *    buildx 0.28's ?ref=|branch=|tag=&checksum=&subdir= query): the
 *    git program is run (never a shell) with GIT_TERMINAL_PROMPT=0: init,
 *    fetch --depth 1 of REF (a branch, a tag, a full commit hash; default
 *    the remote's HEAD), checkout, submodules when there are any; .git is
 *    removed and every file, symlink and directory gets the commit's time
 *    (as BuildKit's git.mtime=commit), so an unchanged commit gives the
 *    same files, the same cache keys and the same layers. The context is
 *    SUBDIR, resolved inside the checkout.
 *  - Any other http(s) URL and "-": fetched (hoist's HTTP client, as ADD
 *    fetches) or read; an archive (tar, or tar compressed with gzip,
 *    bzip2, xz or zstd, told by its first bytes) is unpacked with the
 *    hostile-tar-safe unpacker and is the context, entries' times kept;
 *    anything else is the Dockerfile, with an empty context.
 * The Dockerfile of a remote context (-f) is, as with buildx: "-" for
 * standard input, an absolute path for a local file, else a path inside
 * the context (resolved inside it: a symlink cannot reach out).
 */
#ifndef HOIST_LIB_DFCONTEXT_H
#define HOIST_LIB_DFCONTEXT_H

#include "lib/registry.h"
#include "lib/store.h"
#include "util/err.h"

enum hoist_dfcontext_kind {
	HOIST_DFCONTEXT_DIR,   /* a local directory */
	HOIST_DFCONTEXT_GIT,   /* a Git repository URL */
	HOIST_DFCONTEXT_URL,   /* an http(s) URL: a tarball or a Dockerfile */
	HOIST_DFCONTEXT_STDIN, /* "-" */
};

/* The kind of CONTEXT, by its form alone (as buildx tells them). */
enum hoist_dfcontext_kind hoist_dfcontext_kind(const char *context);

struct hoist_dfcontext {
	char *dir;        /* the context directory to build from */
	char *dockerfile; /* the Dockerfile to read: NULL for dir/Dockerfile,
			   * "-" for standard input, else a path */
	char *scratch;    /* the scratch directory, or NULL (a local one) */
	/* the Dockerfile's name in messages: the -f value, or "Dockerfile"
	 * (NULL for a local context: its path) */
	const char *name;
};

/*
 * Make context (with -f dockerfile, or NULL) a directory c->dir and a
 * Dockerfile c->dockerfile for hoist_dfbuild_run. A local directory is
 * taken as it is. s is the store (scratch directories), ro gives the TLS
 * options of http(s) fetches (its ca_file). Errors, each one line:
 * HOIST_EINVAL for a malformed URL, fragment or query (a URL or REF
 * starting with '-' included), HOIST_EUNSUPPORTED for a query key hoist
 * does not take, HOIST_EDIGEST for a commit that is not the checksum,
 * HOIST_EIO "git clone of 'URL' failed: <git's last line>", HOIST_ENOTFOUND for
 * "git" missing, a SUBDIR that is not a directory, an HTTP 404 ("context URL:
 * GET 'URL': ..."), and the HTTP client's, the unpacker's and the store's
 * codes. On error c holds nothing (the scratch directory is already removed).
 */
int hoist_dfcontext_open(struct hoist_dfcontext *c, const char *context,
			 const char *dockerfile, struct hoist_store *s,
			 const struct hoist_registry_opts *ro,
			 struct hoist_err *err);

/* Remove c's scratch directory and free c (a zeroed c is a no-op). */
void hoist_dfcontext_close(struct hoist_dfcontext *c);

#endif
