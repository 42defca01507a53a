/*
 * cmd-sync.c: `hoist sync FILE`: mirror every image a file lists, with
 * tag patterns, going on past failures.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/store.h"
#include "lib/transport.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define SYNC_FILE_MAX (1u << 20)

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
	"\n" HOIST_COPY_OPTIONS_HELP "\n" HOIST_REGISTRY_OPTIONS_HELP;

struct sync_job {
	char *src, *dst;
};

/* Expand one line of the sync file into copy jobs. */
static int expand_line(struct sync_job **jobs, size_t *n, char **words,
		       size_t nwords, const struct hoist_cli_copy *cc,
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
	struct hoist_cli_copy cc;
	struct hoist_store *s = NULL;
	struct hoist_err err;
	struct sync_job *jobs = NULL;
	size_t njobs = 0, failed = 0, copied = 0, lineno = 0;
	char *data = NULL, *line, *next;
	struct hoist_buf failures =
		HOIST_BUF_INIT(HOIST_BUF_UNLIMITED); /* lines of the file */
	int ret = HOIST_EXIT_FAIL;

	if (hoist_cli_copy_args(argc, argv, "sync", sync_usage, &cc, &ret))
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
		if (hoist_cli_copy_one(s, jobs[i].src, jobs[i].dst, &cc.co,
				       &err)) {
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
