/*
 * cmd-push.c: `hoist push`, `hoist login`, `hoist logout`, and the
 * registry flags they share with `hoist build`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/msg.h"
#include "lib/auth.h"
#include "lib/image.h"
#include "lib/ref.h"
#include "lib/registry.h"
#include "lib/store.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

/* "8MiB", "4M", "1048576": bytes. */
static int parse_size(uint64_t *out, const char *s, struct hoist_err *err)
{
	char num[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v, mul = 1;
	const char *suf = s + n;

	if (!n || n >= sizeof(num))
		return hoist_err_set(err, HOIST_EINVAL, "invalid size '%s'", s);
	memcpy(num, s, n);
	num[n] = '\0';
	if (hoist_scan_u64(&v, num, UINT64_MAX >> 30, "size", err))
		return HOIST_EINVAL;
	if (!*suf || strcmp(suf, "B") == 0)
		mul = 1;
	else if (strcmp(suf, "K") == 0 || strcmp(suf, "KiB") == 0 ||
		 strcmp(suf, "k") == 0)
		mul = 1024;
	else if (strcmp(suf, "M") == 0 || strcmp(suf, "MiB") == 0)
		mul = 1 << 20;
	else if (strcmp(suf, "G") == 0 || strcmp(suf, "GiB") == 0)
		mul = 1 << 30;
	else
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid size '%s': want N[K|M|G]", s);
	*out = v * mul;
	return 0;
}

int hoist_cli_registry_opt(int c, const char *arg,
			   struct hoist_registry_opts *o, struct hoist_err *err)
{
	switch (c) {
	case HOIST_OPT_CA_CERT:
		if (!hoist_fs_exists(arg))
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "--ca-cert '%s': no such file",
					     arg);
		o->ca_file = arg;
		return 0;
	case HOIST_OPT_INSECURE:
		o->insecure = 1;
		return 0;
	case HOIST_OPT_CHUNK_SIZE:
		if (parse_size(&o->chunk_size, arg, err))
			return hoist_err_prefix(err, "--chunk-size");
		if (o->chunk_size < 4096)
			return hoist_err_set(
				err, HOIST_EINVAL,
				"--chunk-size must be at least 4096");
		o->mode = HOIST_UPLOAD_CHUNKED;
		return 0;
	case HOIST_OPT_MAX_CONCURRENT: {
		uint64_t v;
		if (hoist_scan_u64(&v, arg, 64, "--max-concurrent", err) ||
		    v == 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "--max-concurrent must be 1..64");
		o->max_concurrent = (int)v;
		return 0;
	}
	case HOIST_OPT_HTTP_VERSION:
		if (strcmp(arg, "1.1") == 0)
			o->http_version = HOIST_HTTP_V1;
		else if (strcmp(arg, "2") == 0)
			o->http_version = HOIST_HTTP_V2;
		else if (strcmp(arg, "auto") == 0)
			o->http_version = HOIST_HTTP_AUTO;
		else
			return hoist_err_set(err, HOIST_EINVAL,
					     "--http-version wants 1.1, 2 or "
					     "auto, not '%s'",
					     arg);
		return 0;
	case HOIST_OPT_NO_RESUME:
		o->no_resume = 1;
		return 0;
	}
	return hoist_err_set(err, HOIST_EINVAL, "unknown registry option");
}

static const char push_usage[] =
	"Usage: hoist push [OPTIONS] NAME [TARGET]\n"
	"\n"
	"Push an image of the staging area to a registry: to NAME itself, or\n"
	"to TARGET (another reference). Blobs the registry has are skipped;\n"
	"an interrupted push continues where it stopped when run again.\n"
	"\n" HOIST_REGISTRY_OPTIONS_HELP
	"      --digest          push by digest only (TARGET without a tag)\n"
	"      --metadata-file F write buildx-style metadata of the push\n"
	"      --progress MODE   auto, plain or quiet\n"
	"  -q, --quiet           no progress; print the pushed digest\n";

int hoist_cmd_push(int argc, char **argv, const struct hoist_global *g)
{
	static const struct option opts[] = {
		HOIST_REGISTRY_LONGOPTS,
		{"digest", no_argument, NULL, 'd'},
		{"metadata-file", required_argument, NULL, 'm'},
		{"progress", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hoist_registry_opts ro;
	struct hoist_push_stats st;
	struct hoist_store *s = NULL;
	struct hoist_err err;
	enum hoist_progress_mode progress = HOIST_PROGRESS_AUTO;
	const char *metadata = NULL;
	json_t *desc = NULL, *meta = NULL;
	char *name = NULL, *target = NULL;
	int by_digest = 0, quiet = 0, c, ret = HOIST_EXIT_FAIL;

	memset(&ro, 0, sizeof(ro));
	hoist_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		if (c >= HOIST_OPT_CA_CERT && c <= HOIST_OPT_NO_RESUME) {
			if (hoist_cli_registry_opt(c, optarg, &ro, &err)) {
				/* a bad flag value is a usage error */
				hoist_msg_error(&err);
				ret = HOIST_EXIT_USAGE;
				goto out;
			}
			continue;
		}
		switch (c) {
		case 'd':
			by_digest = 1;
			break;
		case 'm':
			metadata = optarg;
			break;
		case 'p':
			if (hoist_msg_parse_progress(&progress, optarg) < 0) {
				ret = hoist_msg_usage("push",
						      "invalid --progress '%s'",
						      optarg);
				goto out;
			}
			break;
		case 'q':
			quiet = 1;
			progress = HOIST_PROGRESS_QUIET;
			break;
		case 'h':
			fputs(push_usage, stdout);
			ret = HOIST_EXIT_OK;
			goto out;
		default:
			ret = hoist_msg_usage("push", "invalid option");
			goto out;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		ret = hoist_msg_usage("push", "want NAME [TARGET]");
		goto out;
	}
	hoist_msg_init(progress);
	{
		struct hoist_ref r;
		if (hoist_ref_parse(&r, argv[optind],
				    HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG,
				    &err))
			goto fail;
		name = hoist_ref_string(&r);
		hoist_ref_release(&r);
		const char *t = argc - optind == 2 ? argv[optind + 1] : NULL;
		if (t) {
			if (hoist_ref_parse(
				    &r, t,
				    HOIST_REF_NORMALIZE |
					    (by_digest ? 0
						       : HOIST_REF_DEFAULT_TAG),
				    &err)) {
				hoist_err_prefix(&err, "target");
				goto fail;
			}
			if (by_digest && r.tag) {
				hoist_err_set(&err, HOIST_EINVAL,
					      "can't push tagged ref %s by "
					      "digest",
					      t);
				hoist_ref_release(&r);
				goto fail;
			}
			target = hoist_ref_string(&r);
			hoist_ref_release(&r);
		} else {
			target = hoist_xstrdup(name);
		}
	}
	if (hoist_cli_open_store(&s, g, &err) ||
	    hoist_store_resolve(s, name, &desc, &err))
		goto fail;
	if (hoist_push(s, desc, target, by_digest, &ro, &st, &err))
		goto fail;
	if (!quiet)
		fprintf(stderr,
			"pushed %s@%s: %llu blobs, %llu already there, %llu "
			"resumed, %.1f MiB sent, %llu retries\n",
			target, st.digest, (unsigned long long)st.blobs,
			(unsigned long long)st.blobs_present,
			(unsigned long long)st.blobs_resumed,
			(double)st.bytes_sent / (1 << 20),
			(unsigned long long)st.retries);
	if (metadata) {
		meta = json_object();
		hoist_json_set_str(meta, "containerimage.digest", st.digest);
		json_object_set(meta, "containerimage.descriptor", desc);
		hoist_json_set_str(meta, "image.name", target);
		if (hoist_cli_write_json(metadata, meta, &err))
			goto fail;
	}
	if (quiet)
		puts(st.digest);
	ret = HOIST_EXIT_OK;
	goto out;
fail:
	ret = hoist_msg_error(&err);
out:
	json_decref(meta);
	json_decref(desc);
	hoist_store_close(s);

	free(name);
	free(target);
	return ret;
}

/* The registry part of a reference or URL: "host[:port]". */
static char *registry_host(const char *arg)
{
	const char *p = arg;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	size_t n = strcspn(p, "/");
	char *h = hoist_xstrndup(p, n);
	if (strcmp(h, "index.docker.io") == 0 ||
	    strcmp(h, "registry-1.docker.io") == 0) {
		free(h);
		h = hoist_xstrdup("docker.io");
	}
	return h;
}

static const char login_usage[] =
	"Usage: hoist login [-u USER] [-p PASSWORD | --password-stdin] "
	"REGISTRY\n"
	"\n"
	"Store credentials for REGISTRY in $DOCKER_CONFIG/config.json\n"
	"(default ~/.docker/config.json), as docker login does. The\n"
	"credentials are not checked against the registry.\n";

int hoist_cmd_login(int argc, char **argv, const struct hoist_global *g)
{
	static const struct option opts[] = {
		{"username", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"password-stdin", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *user = NULL, *pass = NULL;
	struct hoist_buf in = HOIST_BUF_INIT;
	struct hoist_err err;
	char *host = NULL;
	int from_stdin = 0, c, ret = HOIST_EXIT_FAIL;
	(void)g;

	optind = 1;
	while ((c = getopt_long(argc, argv, "u:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'p':
			pass = optarg;
			break;
		case 's':
			from_stdin = 1;
			break;
		case 'h':
			fputs(login_usage, stdout);
			return HOIST_EXIT_OK;
		default:
			return hoist_msg_usage("login", "invalid option");
		}
	}
	if (optind + 1 != argc)
		return hoist_msg_usage("login", "want one REGISTRY");
	if (!user)
		return hoist_msg_usage("login", "-u USER is required");
	if (from_stdin) {
		char buf[4096];
		size_t n;
		hoist_buf_init(&in, 64 * 1024);
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			if (hoist_buf_add(&in, buf, n, &err))
				goto fail;
		while (in.len && (in.data[in.len - 1] == '\n' ||
				  in.data[in.len - 1] == '\r'))
			in.data[--in.len] = '\0';
		pass = in.data;
	}
	if (!pass)
		return hoist_msg_usage("login",
				       "give -p PASSWORD or --password-stdin");
	if (!from_stdin)
		hoist_msg_warn("using --password on the command line is "
			       "insecure; prefer --password-stdin");
	host = registry_host(argv[optind]);
	if (hoist_creds_store(host, user, pass, &err))
		goto fail;
	printf("Login Succeeded\n");
	ret = HOIST_EXIT_OK;
	goto out;
fail:
	ret = hoist_msg_error(&err);
out:
	hoist_buf_release(&in);
	free(host);
	return ret;
}

int hoist_cmd_logout(int argc, char **argv, const struct hoist_global *g)
{
	struct hoist_err err;
	char *host;
	int rc;
	(void)g;

	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts("Usage: hoist logout REGISTRY\n\nRemove the stored "
		     "credentials of REGISTRY.");
		return HOIST_EXIT_OK;
	}
	if (argc != 2)
		return hoist_msg_usage("logout", "want one REGISTRY");
	host = registry_host(argv[1]);
	rc = hoist_creds_erase(host, &err);
	if (rc) {
		free(host);
		return hoist_msg_error(&err);
	}
	printf("Removing login credentials for %s\n", host);
	free(host);
	return HOIST_EXIT_OK;
}
