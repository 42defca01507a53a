/*
 * cmd-copy.c: `hoist copy SRC DEST`: an image between registries,
 * layouts, archives and the staging area; its option parsing and one
 * copy are shared with `hoist sync`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/platform.h"
#include "lib/ref.h"
#include "lib/store.h"
#include "lib/transport.h"
#include "util/json.h"
#include "util/log.h"
#include "util/scan.h"
#include "util/banned.h"

enum { OPT_ALL = 2000, OPT_PLATFORM, OPT_DIGEST, OPT_SHARD, OPT_JOBS };

#define SYNC_JOBS_MAX 16

/* --shard K/N: K in 0..N-1, N in 1..65536. */
static int parse_shard(struct hoist_cli_copy *cc, const char *arg,
		       struct hoist_err *err)
{
	const char *slash = strchr(arg, '/');
	char k[24];
	uint64_t kv, nv;

	if (!slash || (size_t)(slash - arg) >= sizeof(k))
		return hoist_err_set(err, HOIST_EINVAL,
				     "--shard '%s': want K/N, e.g. 0/4", arg);
	memcpy(k, arg, (size_t)(slash - arg));
	k[slash - arg] = '\0';
	if (hoist_scan_u64(&nv, slash + 1, 65536, "--shard N", err) ||
	    hoist_scan_u64(&kv, k, 65535, "--shard K", err))
		return HOIST_EINVAL;
	if (nv == 0 || kv >= nv)
		return hoist_err_set(err, HOIST_EINVAL,
				     "--shard '%s': want 0 <= K < N", arg);
	cc->shard_k = (unsigned)kv;
	cc->shard_n = (unsigned)nv;
	return 0;
}

/* --shard and --jobs (sync's own options). */
static int sync_opt(struct hoist_cli_copy *cc, int c, const char *arg,
		    struct hoist_err *err)
{
	uint64_t v;

	if (c == OPT_SHARD)
		return parse_shard(cc, arg, err);
	if (hoist_scan_u64(&v, arg, SYNC_JOBS_MAX, "--jobs", err))
		return HOIST_EINVAL;
	if (v == 0)
		return hoist_err_set(err, HOIST_EINVAL, "--jobs must be 1..%d",
				     SYNC_JOBS_MAX);
	cc->jobs = (unsigned)v;
	return 0;
}

int hoist_cli_copy_args(int argc, char **argv, const char *cmd,
			const char *usage, struct hoist_cli_copy *cc, int *ret)
{
	static const struct option opts[] = {
		HOIST_REGISTRY_LONGOPTS,
		{"all", no_argument, NULL, OPT_ALL},
		{"platform", required_argument, NULL, OPT_PLATFORM},
		{"digest", no_argument, NULL, OPT_DIGEST},
		{"shard", required_argument, NULL, OPT_SHARD},
		{"jobs", required_argument, NULL, OPT_JOBS},
		HOIST_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hoist_cli_opts cl = {cmd, usage, NULL, HOIST_PROGRESS_AUTO,
				    0,   0};
	struct hoist_err err;
	int c;

	memset(cc, 0, sizeof(*cc));
	cl.reg = &cc->co.reg;
	hoist_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ALL:
			cc->co.platform = NULL;
			break;
		case OPT_PLATFORM:
			if (hoist_platform_parse(&cc->platform, optarg, &err)) {
				/* a bad value: status 1, as hoist(1) says */
				*ret = hoist_msg_error(&err);
				return 1;
			}
			cc->co.platform = &cc->platform;
			break;
		case OPT_DIGEST:
			cc->co.by_digest = 1;
			break;
		case OPT_SHARD:
		case OPT_JOBS:
			if (strcmp(cmd, "sync") != 0) {
				*ret = hoist_msg_usage(
					cmd, "--shard and --jobs are for sync");
				return 1;
			}
			if (sync_opt(cc, c, optarg, &err)) {
				*ret = hoist_msg_error(&err);
				return 1;
			}
			break;
		default:
			if (hoist_cli_opt(&cl, c, optarg)) {
				*ret = cl.status;
				return 1;
			}
		}
	}
	cc->progress = cl.progress;
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
	"\n" HOIST_COPY_OPTIONS_HELP "\n" HOIST_REGISTRY_OPTIONS_HELP;

int hoist_cli_copy_one(struct hoist_store *s, const char *src_s,
		       const char *dst_s, const struct hoist_copy_opts *co,
		       struct hoist_err *err)
{
	struct hoist_transport src, dst;
	int rc, present = 0;

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
	/* one progress step per image (a sync's run in parallel) */
	hoist_step_begin("copying %s to %s", src_s, dst_s);
	rc = hoist_transport_copy(s, &src, &dst, co, &present, err);
	hoist_step_end(present, rc ? hoist_err_msg(err) : NULL);
out:
	if (rc)
		hoist_err_prefix(err, "copy '%s' to '%s'", src_s, dst_s);
	hoist_transport_release(&src);
	hoist_transport_release(&dst);
	return rc;
}

int hoist_cmd_copy(int argc, char **argv, const struct hoist_global *g)
{
	struct hoist_cli_copy cc;
	struct hoist_store *s = NULL;
	struct hoist_err err;
	int ret = HOIST_EXIT_FAIL;

	if (hoist_cli_copy_args(argc, argv, "copy", copy_usage, &cc, &ret))
		return ret;
	if (argc - optind != 2)
		return hoist_msg_usage("copy", "want SOURCE and DESTINATION");
	if (hoist_msg_init(cc.progress))
		return HOIST_EXIT_FAIL;
	if (hoist_cli_open_store(&s, g, &err) ||
	    hoist_cli_copy_one(s, argv[optind], argv[optind + 1], &cc.co, &err))
		ret = hoist_msg_error(&err);
	else
		ret = HOIST_EXIT_OK;
	hoist_store_close(s);
	return ret;
}
