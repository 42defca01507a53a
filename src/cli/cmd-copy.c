/*
 * cmd-copy.c: `hoist copy SRC DEST` and `hoist sync FILE`: mirroring
 * between registries, layouts, archives and the staging area.
 */
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/msg.h"
#include "lib/platform.h"
#include "lib/ref.h"
#include "lib/store.h"
#include "lib/transport.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define SYNC_FILE_MAX (1u << 20)

enum { OPT_ALL = 2000, OPT_PLATFORM, OPT_DIGEST, OPT_PROGRESS, OPT_KEEP };

struct copy_cli {
	struct hoist_copy_opts co;
	struct hoist_platform platform;
	enum hoist_progress_mode progress;
	int keep_going;
};

/* Options shared by copy and sync. 1 if handled, <0 on error. */
static int copy_opt(struct copy_cli *cc, int c, const char *arg,
		    struct hoist_err *err)
{
	if (c >= HOIST_OPT_CA_CERT && c <= HOIST_OPT_NO_RESUME)
		return hoist_cli_registry_opt(c, arg, &cc->co.reg, err) ? -1
									: 1;
	switch (c) {
	case OPT_ALL:
		cc->co.platform = NULL;
		return 1;
	case OPT_PLATFORM:
		if (hoist_platform_parse(&cc->platform, arg, err))
			return -1;
		cc->co.platform = &cc->platform;
		return 1;
	case OPT_DIGEST:
		cc->co.by_digest = 1;
		return 1;
	case OPT_PROGRESS:
		if (hoist_msg_parse_progress(&cc->progress, arg) < 0) {
			hoist_err_set(err, HOIST_EINVAL,
				      "invalid --progress '%s'", arg);
			return -1;
		}
		return 1;
	}
	return 0;
}

#define COPY_LONGOPTS                                                          \
	HOIST_REGISTRY_LONGOPTS, {"all", no_argument, NULL, OPT_ALL},          \
		{"platform", required_argument, NULL, OPT_PLATFORM},           \
		{"digest", no_argument, NULL, OPT_DIGEST},                     \
	{                                                                      \
		"progress", required_argument, NULL, OPT_PROGRESS              \
	}

#define COPY_OPTIONS_HELP                                                      \
	"      --all             every platform of an index (the default)\n"   \
	"      --platform P      only the manifest of platform P\n"            \
	"      --digest          push by digest to a docker:// destination\n"  \
	"      --progress MODE   auto, plain or quiet\n"

/*
 * getopt for copy and sync. Returns 1 when the command must return *ret
 * now (help shown, or a usage error), 0 to go on with argv[optind...].
 */
static int copy_args(int argc, char **argv, const char *cmd, const char *usage,
		     struct copy_cli *cc, int *ret)
{
	static const struct option opts[] = {
		COPY_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hoist_err err;
	int c;

	memset(cc, 0, sizeof(*cc));
	hoist_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r;
		if (c == 'h') {
			fputs(usage, stdout);
			*ret = HOIST_EXIT_OK;
			return 1;
		}
		r = copy_opt(cc, c, optarg, &err);
		if (r < 0) {
			/* a bad option value is a usage error */
			hoist_msg_error(&err);
			*ret = HOIST_EXIT_USAGE;
			return 1;
		}
		if (r == 0) {
			*ret = hoist_msg_usage(cmd, "invalid option");
			return 1;
		}
	}
	return 0;
}

static const char copy_usage[] =
	"Usage: hoist copy [OPTIONS] SOURCE DESTINATION\n"
	"\n"
	"Copy an image. SOURCE and DESTINATION are docker://REF, "
	"oci:DIR[:REF],\n"
	"oci-archive:FILE[:REF], docker-archive:FILE[:REF] or an image name "
	"of\n"
	"the staging area. Every blob is verified; manifests keep their "
	"bytes,\n"
	"so digests stay the same; blobs the destination has are skipped, and\n"
	"within one registry they are mounted instead of uploaded.\n"
	"\n" COPY_OPTIONS_HELP "\n" HOIST_REGISTRY_OPTIONS_HELP;

/* One copy through the staging area. */
static int copy_one(struct hoist_store *s, const char *src_s, const char *dst_s,
		    const struct hoist_copy_opts *co, struct hoist_err *err)
{
	struct hoist_transport src, dst;
	json_t *root = NULL;
	int rc;

	memset(&dst, 0, sizeof(dst));
	rc = hoist_transport_parse(&src, src_s, err);
	if (rc)
		return rc;
	rc = hoist_transport_parse(&dst, dst_s, err);
	if (rc)
		goto out;
	if (co->by_digest && dst.kind == HOIST_TR_DOCKER) {
		/* by digest: the destination is a bare repository */
		struct hoist_ref r;
		rc = hoist_ref_parse(&r, dst_s + 9, HOIST_REF_NORMALIZE, err);
		if (rc)
			goto out;
		free(dst.ref);
		free(r.tag);
		r.tag = NULL;
		dst.ref = hoist_ref_string(&r);
		hoist_ref_release(&r);
	}
	rc = hoist_transport_read(&root, s, &src, co, err);
	if (rc)
		goto out;
	rc = hoist_transport_write(s, root, &dst, &src, co, err);
out:
	if (rc)
		hoist_err_prefix(err, "copy '%s' to '%s'", src_s, dst_s);
	json_decref(root);
	hoist_transport_release(&src);
	hoist_transport_release(&dst);
	return rc;
}

int hoist_cmd_copy(int argc, char **argv, const struct hoist_global *g)
{
	struct copy_cli cc;
	struct hoist_store *s = NULL;
	struct hoist_err err;
	int ret = HOIST_EXIT_FAIL;

	if (copy_args(argc, argv, "copy", copy_usage, &cc, &ret))
		return ret;
	if (argc - optind != 2)
		return hoist_msg_usage("copy", "want SOURCE and DESTINATION");
	hoist_msg_init(cc.progress);
	if (hoist_cli_open_store(&s, g, &err) ||
	    copy_one(s, argv[optind], argv[optind + 1], &cc.co, &err))
		ret = hoist_msg_error(&err);
	else
		ret = HOIST_EXIT_OK;
	hoist_store_close(s);
	return ret;
}

static const char sync_usage[] =
	"Usage: hoist sync [OPTIONS] FILE\n"
	"\n"
	"Mirror every image listed in FILE, one line each:\n"
	"\n"
	"  SOURCE DESTINATION [TAG...]\n"
	"\n"
	"SOURCE and DESTINATION are transports as for 'hoist copy'. With "
	"TAGs,\n"
	"both are docker:// repositories without a tag, and each TAG (a shell\n"
	"pattern like '1.*') selects tags of the source to copy under the "
	"same\n"
	"name. '#' starts a comment. A failing image does not stop the "
	"others;\n"
	"the summary names each failure, and the exit status is 0 when all\n"
	"succeeded, 3 when some failed and 1 when all failed.\n"
	"\n" COPY_OPTIONS_HELP "\n" HOIST_REGISTRY_OPTIONS_HELP;

struct sync_job {
	char *src, *dst;
};

/* Expand one line of the sync file into copy jobs. */
static int expand_line(struct sync_job **jobs, size_t *n, char **words,
		       size_t nwords, const struct copy_cli *cc,
		       struct hoist_err *err)
{
	json_t *tags = NULL, *t;
	size_t i;
	int rc;

	if (nwords == 2) {
		*jobs = hoist_xreallocarray(*jobs, *n + 1, sizeof(**jobs));
		(*jobs)[*n].src = hoist_xstrdup(words[0]);
		(*jobs)[(*n)++].dst = hoist_xstrdup(words[1]);
		return 0;
	}
	if (strncmp(words[0], "docker://", 9) != 0 ||
	    strncmp(words[1], "docker://", 9) != 0)
		return hoist_err_set(err, HOIST_EINVAL,
				     "tags need docker:// repositories on both "
				     "sides");
	rc = hoist_transport_list_tags(&tags, words[0] + 9, &cc->co.reg, err);
	if (rc)
		return rc;
	for (size_t w = 2; w < nwords; w++) {
		int matched = 0;
		json_array_foreach(tags, i, t)
		{
			const char *tag = json_string_value(t);
			if (fnmatch(words[w], tag, 0) != 0)
				continue;
			matched = 1;
			*jobs = hoist_xreallocarray(*jobs, *n + 1,
						    sizeof(**jobs));
			(*jobs)[*n].src =
				hoist_xasprintf("%s:%s", words[0], tag);
			(*jobs)[(*n)++].dst =
				hoist_xasprintf("%s:%s", words[1], tag);
		}
		if (!matched)
			hoist_msg_warn("%s: no tag matches '%s'", words[0],
				       words[w]);
	}
	json_decref(tags);
	return 0;
}

int hoist_cmd_sync(int argc, char **argv, const struct hoist_global *g)
{
	struct copy_cli cc;
	struct hoist_store *s = NULL;
	struct hoist_err err;
	struct sync_job *jobs = NULL;
	size_t njobs = 0, failed = 0, copied = 0, lineno = 0;
	char *data = NULL, *line, *next;
	struct hoist_buf failures = HOIST_BUF_INIT;
	int ret = HOIST_EXIT_FAIL;

	if (copy_args(argc, argv, "sync", sync_usage, &cc, &ret))
		return ret;
	hoist_err_clear(&err);
	if (argc - optind != 1)
		return hoist_msg_usage("sync", "want one FILE");
	hoist_msg_init(cc.progress);
	if (hoist_fs_read_file(&data, NULL, argv[optind], SYNC_FILE_MAX,
			       &err) ||
	    hoist_cli_open_store(&s, g, &err)) {
		ret = hoist_msg_error(&err);
		goto out;
	}
	for (line = data; line; line = next) {
		char *words[64];
		size_t nw = 0;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (char *w = strtok_r(line, " \t\r", &hash);
		     w && nw < HOIST_ARRAY_SIZE(words);
		     w = strtok_r(NULL, " \t\r", &hash))
			words[nw++] = w;
		if (!nw)
			continue;
		if (nw < 2) {
			hoist_msg_errorf("%s:%zu: want SOURCE DESTINATION "
					 "[TAG...]",
					 argv[optind], lineno);
			hoist_buf_printf(&failures, NULL,
					 "sync: failed: %s:%zu\n", argv[optind],
					 lineno);
			failed++;
			continue;
		}
		if (expand_line(&jobs, &njobs, words, nw, &cc, &err)) {
			hoist_err_prefix(&err, "%s:%zu", argv[optind], lineno);
			hoist_msg_error(&err);
			hoist_buf_printf(&failures, NULL,
					 "sync: failed: %s:%zu %s\n",
					 argv[optind], lineno, words[0]);
			failed++;
		}
	}
	for (size_t i = 0; i < njobs; i++) {
		if (copy_one(s, jobs[i].src, jobs[i].dst, &cc.co, &err)) {
			hoist_msg_error(&err);
			hoist_buf_printf(&failures, NULL,
					 "sync: failed: %s -> %s\n",
					 jobs[i].src, jobs[i].dst);
			failed++;
		} else {
			copied++;
			fprintf(stderr, "synced %s -> %s\n", jobs[i].src,
				jobs[i].dst);
		}
	}
	fprintf(stderr, "sync: %zu copied, %zu failed\n%s", copied, failed,
		failures.data);
	if (!failed)
		ret = HOIST_EXIT_OK;
	else if (!copied)
		ret = HOIST_EXIT_FAIL;
	else
		ret = HOIST_EXIT_PARTIAL;
out:
	for (size_t i = 0; i < njobs; i++) {
		free(jobs[i].src);
		free(jobs[i].dst);
	}
	free(jobs);
	free(data);
	hoist_buf_release(&failures);
	hoist_store_close(s);
	return ret;
}
