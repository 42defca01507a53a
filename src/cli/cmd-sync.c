/*
 * cmd-sync.c: `hoist sync FILE`: mirror every image a file lists, with
 * tag patterns, going on past failures.
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "cli/progress.h"
#include "lib/store.h"
#include "lib/transport.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
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
	"\n"
	"      --jobs N          copy N images at once (default 2, at most "
	"16)\n"
	"      --shard K/N       only the images whose SOURCE hashes to K of "
	"N\n"
	"                        (0 <= K < N), for N workers sharing one file\n"
	"" HOIST_COPY_OPTIONS_HELP "\n" HOIST_REGISTRY_OPTIONS_HELP;

struct sync_job {
	char *src, *dst;
};

/* Images at once when --jobs is not given. */
#define SYNC_JOBS_DEFAULT 2

/* The copies of one run, shared by its worker threads. */
struct sync_run {
	pthread_mutex_t lock; /* next, the counts, failures, stderr */
	struct hoist_store *s;
	const struct hoist_cli_copy *cc;
	struct sync_job *jobs;
	size_t njobs, next, copied, failed;
	struct hoist_buf *failures;
};

/*
 * --shard K/N keeps the images whose name (SOURCE as it stands after tag
 * expansion) hashes to K: the first 8 bytes of its SHA-256, big-endian,
 * modulo N. Every worker computes the same split with no coordination.
 */
static int in_shard(const char *name, unsigned k, unsigned n)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	uint64_t v = 0;

	if (n <= 1)
		return 1;
	hoist_sha256_hex(name, strlen(name), hex);
	for (int i = 0; i < 16; i++)
		v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0'
						      : hex[i] - 'a' + 10);
	return v % n == k;
}

static void *sync_worker(void *ctx)
{
	struct sync_run *r = ctx;

	for (;;) {
		struct hoist_err err;
		size_t i;
		int rc;

		pthread_mutex_lock(&r->lock);
		i = r->next++;
		pthread_mutex_unlock(&r->lock);
		if (i >= r->njobs)
			return NULL;
		hoist_err_clear(&err);
		rc = hoist_cli_copy_one(r->s, r->jobs[i].src, r->jobs[i].dst,
					&r->cc->co, &err);
		pthread_mutex_lock(&r->lock);
		if (rc) {
			hoist_msg_error(&err);
			hoist_buf_printf(r->failures, NULL,
					 "sync: failed: %s -> %s\n",
					 r->jobs[i].src, r->jobs[i].dst);
			r->failed++;
		} else {
			r->copied++;
			/* other modes show the image's step end */
			if (hoist_progress_ui_mode() == HOIST_PROGRESS_QUIET)
				fprintf(stderr, "synced %s -> %s\n",
					r->jobs[i].src, r->jobs[i].dst);
		}
		pthread_mutex_unlock(&r->lock);
	}
}

/* Copy every job, --jobs at a time. */
static void sync_all(struct sync_run *r, unsigned jobs)
{
	pthread_t th[16];
	size_t nth = 0;

	pthread_mutex_init(&r->lock, NULL);
	if (jobs > HOIST_ARRAY_SIZE(th))
		jobs = HOIST_ARRAY_SIZE(th);
	while (nth + 1 < jobs && nth + 1 < r->njobs &&
	       pthread_create(&th[nth], NULL, sync_worker, r) == 0)
		nth++;
	sync_worker(r);
	while (nth)
		pthread_join(th[--nth], NULL);
	pthread_mutex_destroy(&r->lock);
}

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
	hoist_step_begin("[internal] list tags of %s", words[0]);
	rc = hoist_transport_list_tags(&tags, words[0] + 9, &cc->co.reg, err);
	hoist_step_end(0, rc ? hoist_err_msg(err) : NULL);
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
	size_t njobs = 0, failed = 0, copied = 0, lineno = 0, kept = 0;
	struct sync_run run;
	char *data = NULL, *line, *next;
	struct hoist_buf failures =
		HOIST_BUF_INIT(HOIST_BUF_UNLIMITED); /* lines of the file */
	int ret = HOIST_EXIT_FAIL;

	if (hoist_cli_copy_args(argc, argv, "sync", sync_usage, &cc, &ret))
		return ret;
	hoist_err_clear(&err);
	memset(&run, 0, sizeof(run));
	if (argc - optind != 1)
		return hoist_msg_usage("sync", "want one FILE");
	if (hoist_msg_init(cc.progress))
		return HOIST_EXIT_FAIL;
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
	/* this worker's share of the images */
	for (size_t i = 0; i < njobs; i++) {
		if (in_shard(jobs[i].src, cc.shard_k, cc.shard_n)) {
			jobs[kept++] = jobs[i];
			continue;
		}
		free(jobs[i].src);
		free(jobs[i].dst);
	}
	if (cc.shard_n > 1)
		fprintf(stderr, "sync: shard %u/%u: %zu of %zu images\n",
			cc.shard_k, cc.shard_n, kept, njobs);
	njobs = kept;
	run.s = s;
	run.cc = &cc;
	run.jobs = jobs;
	run.njobs = njobs;
	run.failures = &failures;
	sync_all(&run, cc.jobs ? cc.jobs : SYNC_JOBS_DEFAULT);
	copied = run.copied;
	failed += run.failed;
	hoist_progress_ui_finish();
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
