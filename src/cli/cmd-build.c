/*
 * cmd-build.c: `hoist build`: directories in, an image into the staging
 * area, then each --output exporter. Every --output is checked before any
 * layer is built, so a bad spec costs nothing and leaves nothing behind.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include "cli/build-attest.h"
#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/attest.h"
#include "lib/base.h"
#include "lib/build.h"
#include "lib/cache.h"
#include "lib/dfbuild.h"
#include "lib/dfcontext.h"
#include "lib/export.h"
#include "lib/output.h"
#include "lib/platform.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

static const char build_usage[] =
	"Usage: hoist build [OPTIONS] [CONTEXT]\n"
	"\n"
	"Build an image from a Dockerfile (without RUN) or from directory\n"
	"trees, and export it.\n"
	"\n"
	"Dockerfile (with CONTEXT):\n"
	"  CONTEXT                  a directory; a Git URL (URL.git, git://,\n"
	"                           ssh://, git@; #REF:SUBDIR); an http(s)\n"
	"                           URL of a tarball or a Dockerfile; - (a\n"
	"                           tarball or a Dockerfile on stdin)\n"
	"  -f, --file FILE          the Dockerfile (default CONTEXT/Dockerfile;"
	"\n"
	"                           - reads stdin)\n"
	"      --target STAGE       build this stage (default: the last)\n"
	"      --build-arg K[=V]    build argument (repeatable; K alone: from\n"
	"                           the environment)\n"
	"      --build-context NAME=DIR|docker-image://REF|"
	"oci-layout://DIR[:TAG|@DIGEST]\n"
	"                           what FROM NAME and COPY --from=NAME use;\n"
	"                           a stage NAME is replaced (repeatable)\n"
	"\n"
	"Base and layers:\n"
	"      --from REF           build on this image: docker://REF, "
	"oci:DIR[:REF],\n"
	"                           oci-archive:F[:REF], "
	"docker-archive:F[:REF],\n"
	"                           or a name (the staging area's, else "
	"pulled)\n"
	"      --rootfs DIR         add DIR as a layer (repeatable, in order)\n"
	"      --layer [PLAT=]DIR   the same; with PLAT=, for that platform "
	"only\n"
	"      --platform LIST      os/arch[/variant][,...] (repeatable; "
	"default: host)\n"
	"\n"
	"Image configuration:\n"
	"      --entrypoint CMD     JSON array or a single string\n"
	"      --cmd CMD            JSON array or a single string\n"
	"      --env K=V            environment variable (repeatable)\n"
	"      --workdir DIR        working directory (default /)\n"
	"      --user USER[:GROUP]  user to run as\n"
	"      --label K=V          label (repeatable)\n"
	"      --expose PORT[/PROTO] exposed port (repeatable)\n"
	"      --volume PATH        volume (repeatable)\n"
	"      --stop-signal SIG    stop signal\n"
	"\n"
	"Outputs:\n"
	"  -t, --tag NAME           image name (repeatable); overrides name=\n"
	"  -o, --output SPEC        buildx output spec (repeatable), e.g.\n"
	"                           type=oci,dest=img.tar  "
	"type=docker,dest=d.tar\n"
	"                           type=local,dest=DIR  type=tar,dest=fs.tar\n"
	"                           type=image,name=NAME  type=cacheonly\n"
	"                           DIR (local)  - (tar on stdout)\n"
	"      --push               push=true on every image output (else "
	"adds\n"
	"                           type=image,push=true)\n"
	"      --load               load into the Docker Engine (or podman "
	"service)\n"
	"                           of DOCKER_HOST or the docker context: "
	"-o type=docker\n"
	"      --provenance VAL     SLSA provenance: true, false, "
	"mode=min|max\n"
	"                           [,version=v1|v0.2][,builder-id=ID]\n"
	"      --sbom VAL           SPDX SBOM of the final rootfs: true or "
	"false\n"
	"      --attest SPEC        type=provenance|sbom[,ATTR=V...] "
	"(repeatable)\n"
	"      --iidfile FILE       write the image ID to FILE (the config\n"
	"                           digest; for an index, its digest)\n"
	"      --annotation [TYPE:]K=V  annotation for every output (buildx)\n"
	"      --metadata-file FILE write buildx's build result metadata\n"
	"      --progress MODE      auto, plain, tty, rawjson, quiet (no\n"
	"                           progress; print the image ID) or none\n"
	"  -q, --quiet              --progress quiet\n"
	"      --no-cache           tar and compress every layer again and run "
	"every\n"
	"                           Dockerfile step, even when nothing "
	"changed\n"
	"\n"
	"\n" HOIST_REGISTRY_OPTIONS_HELP "\n"
	"SOURCE_DATE_EPOCH, when set, sets the config's created and history\n"
	"times; with rewrite-timestamp=true on an output it also clamps file\n"
	"times (the way to bit-identical digests).\n"
	"See hoist-build(1) and hoist-output(7).\n";

struct strvec {
	const char **v;
	size_t n;
};

static void vec_push(struct strvec *s, const char *x)
{
	s->v = hoist_xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = x;
}

/* A command: a JSON array of strings, or one string (exec form). */
static int parse_command(struct strvec *out, const char *s, const char *what,
			 struct hoist_err *err)
{
	json_t *a = NULL, *v;
	size_t i;
	int rc;

	for (i = 0; i < out->n; i++)
		free((char *)out->v[i]);
	out->n = 0;
	if (s[0] != '[') {
		if (*s)
			vec_push(out, hoist_xstrdup(s));
		return 0;
	}
	rc = hoist_json_parse(&a, s, strlen(s), what, err);
	if (rc)
		return rc;
	if (!json_is_array(a)) {
		json_decref(a);
		return hoist_err_set(err, HOIST_EINVAL,
				     "%s must be a JSON array of strings",
				     what);
	}
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(a);
			return hoist_err_set(err, HOIST_EINVAL,
					     "%s must be a JSON array of "
					     "strings",
					     what);
		}
		vec_push(out, hoist_xstrdup(json_string_value(v)));
	}
	json_decref(a);
	return 0;
}

static int check_dir(const char *what, const char *dir, struct hoist_err *err)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return hoist_err_sys(err, errno, "%s '%s'", what, dir);
	if (!S_ISDIR(st.st_mode))
		return hoist_err_set(err, HOIST_EINVAL,
				     "%s '%s' is not a directory", what, dir);
	return 0;
}

/*
 * The build's epoch, as buildx passes it to BuildKit: --build-arg
 * SOURCE_DATE_EPOCH=N (the last one; a bare name takes the environment's),
 * else the SOURCE_DATE_EPOCH environment variable; empty is none.
 */
static int read_epoch(int64_t *epoch, const struct strvec *build_args,
		      struct hoist_err *err)
{
	static const char key[] = "SOURCE_DATE_EPOCH";
	const char *v = getenv(key);

	*epoch = -1;
	for (size_t i = 0; i < build_args->n; i++) {
		const char *a = build_args->v[i];
		if (strncmp(a, key, sizeof(key) - 1))
			continue;
		if (a[sizeof(key) - 1] == '=')
			v = a + sizeof(key);
		else if (!a[sizeof(key) - 1])
			v = getenv(key);
	}
	if (!v || !*v)
		return 0;
	if (hoist_scan_i64(epoch, v, 0, INT64_MAX, key, err))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid SOURCE_DATE_EPOCH '%s': want "
				     "seconds since 1970",
				     v);
	return 0;
}

static const char no_output_warning[] =
	"No output specified with hoist. Build result will only remain in "
	"the build cache. To push result image into registry use --push or "
	"to export it use --output (type=oci, docker, image, local, tar)";

/* buildx: --load adds type=docker unless a docker output without dest
 * (a load) is there; a bad spec is reported when the outputs are planned */
static int loads_already(const struct strvec *outputs)
{
	int found = 0;

	for (size_t i = 0; i < outputs->n && !found; i++) {
		struct hoist_output o;
		if (hoist_output_parse(&o, outputs->v[i], NULL))
			continue;
		found = !strcmp(o.type, "docker") && !o.dest;
		hoist_output_release(&o);
	}
	return found;
}

enum {
	OPT_ROOTFS = 256,
	OPT_PLATFORM,
	OPT_ENTRYPOINT,
	OPT_CMD,
	OPT_ENV,
	OPT_WORKDIR,
	OPT_USER,
	OPT_LABEL,
	OPT_EXPOSE,
	OPT_VOLUME,
	OPT_STOPSIGNAL,
	OPT_PUSH,
	OPT_METADATA,
	OPT_ANNOTATION,
	OPT_FROM,
	OPT_NO_CACHE,
	OPT_PROVENANCE,
	OPT_SBOM,
	OPT_ATTEST,
	OPT_IIDFILE,
	OPT_TARGET,
	OPT_BUILD_ARG,
	OPT_BUILD_CONTEXT,
	OPT_LOAD,
};

/*
 * buildx --annotation "[TYPE[,TYPE...]:]KEY=VALUE": each TYPE (manifest,
 * index, manifest-descriptor, index-descriptor, optionally with
 * [os/arch]) becomes an exporter key annotation-TYPE.KEY, or
 * annotation.KEY without a type.
 */
static int add_annotation(struct hoist_output *o, const char *spec,
			  struct hoist_err *err)
{
	const char *eq = strchr(spec, '=');
	const char *colon = strchr(spec, ':');
	char *types = NULL, *key;
	int rc = 0;

	if (!eq || eq == spec)
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid --annotation '%s': want "
				     "[TYPE:]KEY=VALUE",
				     spec);
	if (colon && colon < eq) {
		types = hoist_xstrndup(spec, (size_t)(colon - spec));
		key = hoist_xstrndup(colon + 1, (size_t)(eq - colon - 1));
	} else {
		key = hoist_xstrndup(spec, (size_t)(eq - spec));
	}
	if (!*key) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "invalid --annotation '%s': empty key",
				   spec);
		goto out;
	}
	if (!types) {
		char *k = hoist_xasprintf("annotation.%s", key);
		hoist_output_set(o, k, eq + 1);
		free(k);
		goto out;
	}
	for (char *t = types, *next; t; t = next) {
		char *k;
		next = strchr(t, ',');
		if (next)
			*next++ = '\0';
		k = hoist_xasprintf("annotation-%s.%s", t, key);
		hoist_output_set(o, k, eq + 1);
		free(k);
	}
out:
	free(types);
	free(key);
	return rc;
}

int hoist_cmd_build(int argc, char **argv, const struct hoist_global *g)
{
	static const struct option opts[] = {
		{"rootfs", required_argument, NULL, OPT_ROOTFS},
		{"layer", required_argument, NULL, OPT_ROOTFS},
		{"platform", required_argument, NULL, OPT_PLATFORM},
		{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
		{"cmd", required_argument, NULL, OPT_CMD},
		{"env", required_argument, NULL, OPT_ENV},
		{"workdir", required_argument, NULL, OPT_WORKDIR},
		{"user", required_argument, NULL, OPT_USER},
		{"label", required_argument, NULL, OPT_LABEL},
		{"expose", required_argument, NULL, OPT_EXPOSE},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"stop-signal", required_argument, NULL, OPT_STOPSIGNAL},
		{"tag", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"push", no_argument, NULL, OPT_PUSH},
		{"load", no_argument, NULL, OPT_LOAD},
		{"annotation", required_argument, NULL, OPT_ANNOTATION},
		{"from", required_argument, NULL, OPT_FROM},
		{"provenance", required_argument, NULL, OPT_PROVENANCE},
		{"sbom", required_argument, NULL, OPT_SBOM},
		{"attest", required_argument, NULL, OPT_ATTEST},
		{"iidfile", required_argument, NULL, OPT_IIDFILE},
		{"file", required_argument, NULL, 'f'},
		{"target", required_argument, NULL, OPT_TARGET},
		{"build-arg", required_argument, NULL, OPT_BUILD_ARG},
		{"build-context", required_argument, NULL, OPT_BUILD_CONTEXT},
		{"no-cache", no_argument, NULL, OPT_NO_CACHE},
		{"metadata-file", required_argument, NULL, OPT_METADATA},
		{"quiet", no_argument, NULL, 'q'},
		HOIST_REGISTRY_LONGOPTS,
		HOIST_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hoist_registry_opts ro;
	struct strvec annotations = {0};
	struct strvec layers = {0}, env = {0}, labels = {0}, exposed = {0},
		      volumes = {0}, tags = {0}, outputs = {0}, entry = {0},
		      cmd = {0}, build_args = {0}, build_contexts = {0};
	struct hoist_dfbuild_opts dfo = {0};
	struct hoist_dfcontext rctx = {0};
	struct hoist_build_opts bo;
	struct hoist_export_plan *plans = NULL;
	struct hoist_platform *plats = NULL, *lplats = NULL;
	struct hoist_build_layer *blayers = NULL;
	struct hoist_store *store = NULL;
	struct hoist_build *build = NULL;
	struct hoist_cache *cache = NULL;
	struct hoist_err err;
	struct hoist_cli_opts cl = {
		"build", build_usage, &ro, HOIST_PROGRESS_AUTO, 0, 0};
	const char *metadata = NULL, *from = NULL, *iidfile = NULL;
	char *platform = NULL;
	struct hoist_attest_req areq;
	struct hoist_build_attest ba;
	const char *context_arg = NULL, *progress_arg = NULL;
	int push_used = 0;
	json_t **bases = NULL;
	size_t *inherited = NULL;
	char **exposed_norm = NULL;
	json_t *meta = NULL;
	size_t nplats = 0, nplans = 0, i;
	int64_t epoch;
	int push = 0, load = 0, no_cache = 0, c, ret = HOIST_EXIT_FAIL,
	    stdout_users = 0, print_id = 0;

	memset(&bo, 0, sizeof(bo));
	memset(&ba, 0, sizeof(ba));
	hoist_attest_req_init(&areq);
	memset(&ro, 0, sizeof(ro));
	hoist_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:o:f:qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOTFS:
			vec_push(&layers, optarg);
			break;
		case OPT_PLATFORM: {
			/* buildx: repeated flags accumulate */
			char *all = platform ? hoist_xasprintf("%s,%s",
							       platform, optarg)
					     : hoist_xstrdup(optarg);
			free(platform);
			platform = all;
			break;
		}
		case OPT_PROVENANCE:
		case OPT_SBOM:
		case OPT_ATTEST:
			if (hoist_attest_req_parse(&areq,
						   c == OPT_PROVENANCE
							   ? "provenance"
						   : c == OPT_SBOM ? "sbom"
								   : "attest",
						   optarg, &err))
				goto fail;
			break;
		case OPT_IIDFILE:
			iidfile = optarg;
			break;
		case OPT_ENTRYPOINT:
			if (parse_command(&entry, optarg, "--entrypoint", &err))
				goto fail;
			bo.rc.entrypoint_set = 1;
			break;
		case OPT_CMD:
			if (parse_command(&cmd, optarg, "--cmd", &err))
				goto fail;
			bo.rc.cmd_set = 1;
			break;
		case OPT_ENV:
			vec_push(&env, optarg);
			break;
		case OPT_WORKDIR:
			bo.rc.workdir = optarg;
			break;
		case OPT_USER:
			bo.rc.user = optarg;
			break;
		case OPT_LABEL:
			vec_push(&labels, optarg);
			break;
		case OPT_EXPOSE:
			vec_push(&exposed, optarg);
			break;
		case OPT_VOLUME:
			vec_push(&volumes, optarg);
			break;
		case OPT_STOPSIGNAL:
			bo.rc.stop_signal = optarg;
			break;
		case 't':
			vec_push(&tags, optarg);
			break;
		case 'o':
			vec_push(&outputs, optarg);
			break;
		case OPT_PUSH:
			push = 1;
			break;
		case OPT_LOAD:
			load = 1;
			break;
		case OPT_ANNOTATION:
			vec_push(&annotations, optarg);
			break;
		case OPT_NO_CACHE:
			no_cache = 1;
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_METADATA:
			metadata = optarg;
			break;
		case 'f':
			dfo.dockerfile = optarg;
			break;
		case OPT_TARGET:
			dfo.target = optarg;
			break;
		case OPT_BUILD_ARG:
			vec_push(&build_args, optarg);
			break;
		case OPT_BUILD_CONTEXT:
			vec_push(&build_contexts, optarg);
			break;
		default:
			/* buildx: --progress=quiet prints the image ID as -q
			 * does (none prints nothing) */
			if (c == HOIST_OPT_PROGRESS) {
				print_id = strcmp(optarg, "quiet") == 0;
				progress_arg = optarg;
			}
			if (hoist_cli_opt(&cl, c, optarg)) {
				ret = cl.status;
				goto out;
			}
		}
	}
	if (optind < argc)
		context_arg = dfo.context = argv[optind++];
	if (optind < argc) {
		ret = hoist_msg_usage("build", "unexpected argument '%s'",
				      argv[optind]);
		goto out;
	}
	if (!dfo.context && (dfo.dockerfile || dfo.target || build_args.n ||
			     build_contexts.n)) {
		ret = hoist_msg_usage("build", "-f, --target, --build-arg and "
					       "--build-context "
					       "need a build CONTEXT");
		goto out;
	}
	if (dfo.context && (layers.n || from)) {
		ret = hoist_msg_usage("build",
				      "a build CONTEXT (Dockerfile) "
				      "and --rootfs, --layer or --from "
				      "exclude each other");
		goto out;
	}
	/* buildx: -q goes with --progress auto or quiet only */
	if (cl.quiet && progress_arg && strcmp(progress_arg, "auto") &&
	    strcmp(progress_arg, "quiet")) {
		ret = hoist_msg_usage("build",
				      "progress=%s and quiet cannot be used "
				      "together",
				      progress_arg);
		goto out;
	}
	if (cl.quiet)
		cl.progress = HOIST_PROGRESS_QUIET;
	if (hoist_msg_init(cl.progress)) {
		ret = HOIST_EXIT_FAIL;
		goto out;
	}

	/* buildx: no stale image ID is left behind by a failed build */
	if (iidfile && unlink(iidfile) < 0 && errno != ENOENT) {
		hoist_err_sys(&err, errno, "removing image ID file '%s'",
			      iidfile);
		goto fail;
	}
	if (read_epoch(&epoch, &build_args, &err))
		goto fail;
	for (i = 0; i < env.n; i++)
		if (!strchr(env.v[i], '=') || env.v[i][0] == '=') {
			hoist_err_set(&err, HOIST_EINVAL,
				      "invalid env '%s': want KEY=VALUE",
				      env.v[i]);
			goto fail;
		}
	for (i = 0; i < labels.n; i++)
		if (!strchr(labels.v[i], '=') || labels.v[i][0] == '=') {
			hoist_err_set(&err, HOIST_EINVAL,
				      "invalid label '%s': want KEY=VALUE",
				      labels.v[i]);
			goto fail;
		}
	if (platform) {
		if (hoist_platform_parse_list(&plats, &nplats, platform,
					      &err)) {
			hoist_err_prefix(&err, "--platform");
			goto fail;
		}
	} else {
		plats = hoist_xcalloc(1, sizeof(*plats));
		hoist_platform_host(&plats[0]);
		nplats = 1;
	}
	/* ports without a protocol are tcp, as Docker stores them */
	exposed_norm = hoist_xcalloc(exposed.n ? exposed.n : 1, sizeof(char *));
	for (i = 0; i < exposed.n; i++) {
		uint64_t port;
		const char *slash = strchr(exposed.v[i], '/');
		char *num =
			slash ? hoist_xstrndup(exposed.v[i],
					       (size_t)(slash - exposed.v[i]))
			      : hoist_xstrdup(exposed.v[i]);
		int bad = hoist_scan_u64(&port, num, 65535, "--expose", NULL) ||
			  port == 0 ||
			  (slash && strcmp(slash, "/tcp") != 0 &&
			   strcmp(slash, "/udp") != 0 &&
			   strcmp(slash, "/sctp") != 0);
		free(num);
		if (bad) {
			hoist_err_set(&err, HOIST_EINVAL,
				      "invalid --expose '%s': want "
				      "PORT[/tcp|udp|sctp]",
				      exposed.v[i]);
			goto fail;
		}
		exposed_norm[i] =
			slash ? hoist_xstrdup(exposed.v[i])
			      : hoist_xasprintf("%s/tcp", exposed.v[i]);
	}

	/* check every output before doing any work; buildx: --load is
	 * shorthand for -o type=docker (into the engine) */
	if (load && !loads_already(&outputs))
		vec_push(&outputs, "type=docker");
	if (!outputs.n && !push) {
		hoist_msg_warn("%s", no_output_warning);
		vec_push(&outputs, "type=cacheonly");
	}
	if (!outputs.n) {
		vec_push(&outputs, "type=image,push=true,unpack=false");
		push_used = 1;
	}
	plans = hoist_xcalloc(outputs.n + 1, sizeof(*plans));
	for (i = 0; i < outputs.n; i++) {
		struct hoist_output o;
		int rc = hoist_output_parse(&o, outputs.v[i], &err);
		/* buildx: --push sets push=true on every image output */
		if (!rc && push &&
		    (!strcmp(o.type, "image") || !strcmp(o.type, "registry"))) {
			hoist_output_set(&o, "push", "true");
			push_used = 1;
		}
		/* buildx refuses it before building (and before the
		 * engine is looked for) */
		if (!rc && !strcmp(o.type, "docker") && nplats > 1)
			rc = hoist_err_set(&err, HOIST_EUNSUPPORTED,
					   "docker exporter does not currently "
					   "support exporting manifest lists");
		for (size_t a = 0; !rc && a < annotations.n; a++)
			rc = add_annotation(&o, annotations.v[a], &err);
		if (rc && o.type)
			hoist_output_release(&o);
		if (!rc) {
			rc = hoist_export_plan(&plans[i], &o, tags.v, tags.n,
					       epoch, &err);
			hoist_output_release(&o);
		}
		if (rc)
			goto fail;
		nplans++;
		/* local and tar unpack the image, cacheonly writes none */
		plans[i].spec.unpack_only =
			plans[i].type == HOIST_EXPORT_LOCAL ||
			plans[i].type == HOIST_EXPORT_TAR ||
			plans[i].type == HOIST_EXPORT_CACHEONLY;
		{
			int insecure =
				plans[i].reg.conn.insecure || ro.conn.insecure;
			plans[i].reg = ro;
			plans[i].reg.conn.insecure = insecure;
		}
		stdout_users += hoist_export_uses_stdout(&plans[i]);
		if (i + 1 == outputs.n && push && !push_used) {
			vec_push(&outputs, "type=image,push=true,unpack=false");
			push_used = 1;
		}
	}
	for (i = 0; i < nplans && (areq.provenance == 1 || areq.sbom == 1); i++)
		if ((plans[i].type == HOIST_EXPORT_IMAGE ||
		     plans[i].type == HOIST_EXPORT_OCI) &&
		    !plans[i].spec.oci) {
			/* BuildKit >= v0.31, checked before building */
			hoist_err_set(&err, HOIST_EINVAL,
				      "cannot export attestations with "
				      "\"oci-mediatypes=false\"");
			goto fail;
		}
	if (stdout_users > 1) {
		hoist_err_set(&err, HOIST_EINVAL,
			      "multiple outputs configured to write to stdout");
		goto fail;
	}

	/* --layer [PLATFORM=]DIR: a layer for one platform only */
	blayers = hoist_xcalloc(layers.n + 1, sizeof(*blayers));
	lplats = hoist_xcalloc(layers.n + 1, sizeof(*lplats));
	hoist_step_begin("[internal] load build context");
	for (i = 0; i < layers.n; i++) {
		const char *eq = strchr(layers.v[i], '=');
		blayers[i].dir = layers.v[i];
		if (eq &&
		    memchr(layers.v[i], '/', (size_t)(eq - layers.v[i]))) {
			char *pl = hoist_xstrndup(layers.v[i],
						  (size_t)(eq - layers.v[i]));
			int bad = hoist_platform_parse(&lplats[i], pl, NULL);
			free(pl);
			if (!bad) {
				blayers[i].platform = &lplats[i];
				blayers[i].dir = eq + 1;
			}
		}
		if (check_dir("rootfs", blayers[i].dir, &err)) {
			hoist_step_end(0, hoist_err_msg(&err));
			goto fail;
		}
	}
	hoist_step_end(0, NULL);
	if (hoist_cli_open_store(&store, g, &err) ||
	    hoist_cache_open(&cache, store, &err))
		goto fail;
	if (no_cache)
		hoist_cache_write_only(cache);
	for (i = 0; i < nplans; i++) {
		const char **dirs = hoist_xcalloc(layers.n + 1, sizeof(*dirs));
		int bad;
		for (size_t l = 0; l < layers.n; l++)
			dirs[l] = blayers[l].dir;
		bad = hoist_export_guard(&plans[i], hoist_store_root(store),
					 dirs, layers.n, &err);
		free(dirs);
		if (bad)
			goto fail;
	}
	if (from) {
		int bad;
		hoist_step_begin("[internal] load metadata for %s", from);
		bad = hoist_base_read(&bases, plats, nplats, platform != NULL,
				      store, from, &ro, &err);
		hoist_step_end(0, bad ? hoist_err_msg(&err) : NULL);
		if (bad)
			goto fail;
	}
	if (dfo.context) {
		int remote = hoist_dfcontext_kind(dfo.context) !=
			     HOIST_DFCONTEXT_DIR,
		    bad;
		if (remote)
			hoist_step_begin(
				"[internal] load remote build context");
		bad = hoist_dfcontext_open(&rctx, dfo.context, dfo.dockerfile,
					   store, &ro, &err);
		if (remote)
			hoist_step_end(0, bad ? hoist_err_msg(&err) : NULL);
		if (bad)
			goto fail;
		dfo.context = rctx.dir;
		dfo.dockerfile = rctx.dockerfile;
		dfo.dockerfile_name = rctx.name;
		dfo.build_args = build_args.v;
		dfo.nbuild_args = build_args.n;
		dfo.contexts = build_contexts.v;
		dfo.ncontexts = build_contexts.n;
		dfo.epoch = epoch;
		/* file times are clamped only with rewrite-timestamp */
		dfo.file_epoch = -1;
		for (i = 0; i < nplans && dfo.file_epoch < 0; i++)
			if (plans[i].spec.rewrite_timestamp)
				dfo.file_epoch = plans[i].epoch;
		dfo.ro = &ro;
		dfo.cache = no_cache ? NULL : cache; /* keys cost a walk */
		/* the images it reads: provenance materials */
		if (areq.provenance == 1)
			dfo.images = json_array();
		/* the steps make layers in the first image output's
		 * compression (another output's are recompressed), but
		 * eStargz only when every output wants it: another
		 * compression, or an unpacked tree, would keep its TOC
		 * and landmark as files (gzip then, made eStargz for
		 * the eStargz outputs) */
		dfo.compression = HOIST_COMP_GZIP;
		dfo.level = HOIST_COMP_LEVEL_DEFAULT;
		for (i = nplans; i-- > 0;)
			if (!plans[i].spec.unpack_only) {
				dfo.compression = plans[i].spec.compression;
				dfo.level = plans[i].spec.level;
			}
		for (i = 0; i < nplans; i++)
			if (dfo.compression == HOIST_COMP_ESTARGZ &&
			    plans[i].type != HOIST_EXPORT_CACHEONLY &&
			    (plans[i].spec.unpack_only ||
			     plans[i].spec.compression != HOIST_COMP_ESTARGZ))
				dfo.compression = HOIST_COMP_GZIP;
		if (hoist_dfbuild_run(&bases, &inherited, plats, nplats, store,
				      &dfo, &err))
			goto fail;
	}
	for (i = 0; i < layers.n; i++) {
		size_t k;
		if (!blayers[i].platform)
			continue;
		for (k = 0; k < nplats; k++)
			if (hoist_platform_equal(blayers[i].platform,
						 &plats[k]))
				break;
		if (k == nplats) {
			hoist_err_set(&err, HOIST_EINVAL,
				      "--layer '%s': that platform is not "
				      "built (see --platform)",
				      layers.v[i]);
			goto fail;
		}
	}
	bo.platforms = plats;
	bo.nplatforms = nplats;
	bo.bases = (const json_t *const *)bases;
	bo.base_inherited = inherited;
	bo.layers = blayers;
	bo.nlayers = layers.n;
	bo.epoch = epoch;
	bo.cache = cache;
	bo.rc.entrypoint = entry.v;
	bo.rc.nentrypoint = entry.n;
	bo.rc.cmd = cmd.v;
	bo.rc.ncmd = cmd.n;
	bo.rc.env = env.v;
	bo.rc.nenv = env.n;
	bo.rc.labels = labels.v;
	bo.rc.nlabels = labels.n;
	bo.rc.exposed = (const char **)exposed_norm;
	bo.rc.nexposed = exposed.n;
	bo.rc.volumes = volumes.v;
	bo.rc.nvolumes = volumes.n;
	if (areq.provenance == 1 || areq.sbom == 1) {
		hoist_build_attest_setup(&ba, &areq, &bo, from, platform,
					 context_arg ? &dfo : NULL,
					 context_arg);
		for (i = 0; i < nplans; i++)
			plans[i].attest = &ba.opts;
	}
	if (hoist_build_new(&build, store, &bo, &err))
		goto fail;
	meta = json_object();
	for (i = 0; i < nplans; i++) {
		if (hoist_export_run(&plans[i], store, build, meta, &err))
			goto fail;
	}
	if (metadata && hoist_cli_write_json(metadata, meta, &err))
		goto fail;
	if (iidfile) {
		/* buildx: the config digest, else the root's (empty without
		 * an image); no newline */
		const char *d =
			hoist_json_str(meta, "containerimage.config.digest");
		if (!d)
			d = hoist_json_str(meta, "containerimage.digest");
		if (!d)
			d = "";
		if (hoist_fs_write_atomic(iidfile, d, strlen(d), 0644, &err))
			goto fail;
	}
	/* not after a tarball written to standard output */
	if ((cl.quiet || print_id) && !stdout_users) {
		const char *d =
			hoist_json_str(meta, "containerimage.config.digest");
		if (!d)
			d = hoist_json_str(meta, "containerimage.digest");
		if (d)
			puts(d);
	}
	ret = HOIST_EXIT_OK;
	goto out;
fail:
	ret = hoist_msg_error(&err);
out:
	for (i = 0; i < nplans; i++)
		hoist_export_plan_release(&plans[i]);
	free(plans);
	hoist_build_attest_release(&ba);
	json_decref(dfo.images);
	hoist_attest_req_release(&areq);
	free(platform);
	for (i = 0; i < exposed.n && exposed_norm; i++)
		free(exposed_norm[i]);
	free(exposed_norm);
	json_decref(meta);
	hoist_build_free(build);
	hoist_dfcontext_close(&rctx);
	hoist_cache_close(cache);
	hoist_store_close(store);

	for (i = 0; bases && i < nplats; i++)
		json_decref(bases[i]);
	free(bases);
	free(inherited);
	free(plats);
	free(lplats);
	free(blayers);
	free(layers.v);
	free(env.v);
	free(labels.v);
	free(exposed.v);
	free(volumes.v);
	free(tags.v);
	free(outputs.v);
	free(annotations.v);
	free(build_args.v);
	free(build_contexts.v);
	for (i = 0; i < entry.n; i++)
		free((char *)entry.v[i]);
	for (i = 0; i < cmd.n; i++)
		free((char *)cmd.v[i]);
	free(entry.v);
	free(cmd.v);
	return ret;
}
