/*
 * test-dfplan.c: the Dockerfile frontend's instruction semantics: ARG
 * scoping, FROM expansion, stage order, config changes, history texts as
 * BuildKit writes them, COPY/ADD/WORKDIR steps, and the errors (RUN,
 * cycles, unknown target).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/dfgo.h"
#include "lib/dfplan.h"
#include "lib/dfplan-int.h"
#include "util/mem.h"
#include "util/banned.h"

static struct hoist_dockerfile *parse(const char *text)
{
	struct hoist_dockerfile *df;
	struct hoist_err err;

	if (hoist_dockerfile_parse(&df, "Dockerfile", text, strlen(text), &err))
		fail_msg("parse: %s", err.msg);
	return df;
}

static void opts_init(struct hoist_dfplan_opts *o, const char *const *args,
		      size_t n)
{
	memset(o, 0, sizeof(*o));
	o->build_args = args;
	o->nbuild_args = n;
	hoist_platform_parse(&o->target_platform, "linux/arm64", NULL);
	hoist_platform_parse(&o->build_platform, "linux/amd64", NULL);
}

static void strs_are(const struct hoist_dfstrs *l, ...)
{
	va_list ap;
	const char *s;
	size_t i = 0;

	va_start(ap, l);
	while ((s = va_arg(ap, const char *))) {
		if (i >= l->n)
			fail_msg("only %zu strings, want '%s'", l->n, s);
		if (strcmp(l->v[i], s) != 0)
			fail_msg("string %zu is '%s', want '%s'", i, l->v[i],
				 s);
		i++;
	}
	va_end(ap);
	if (i != l->n)
		fail_msg("%zu strings, want %zu", l->n, i);
}

static const char big[] =
	"ARG BASE=alpine\n"
	"ARG TAG\n"
	"ARG G=global\n"
	"FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-3.19} AS build\n"
	"ARG TARGETARCH\n"
	"ARG V=1 G\n"
	"ENV A=x B=$V C=$G\n"
	"ENV A=y D=$A\n"
	"LABEL l1=$A \"l 2\"=\"v w\"\n"
	"WORKDIR app\n"
	"WORKDIR sub\n"
	"USER 1000:$V\n"
	"EXPOSE 80 443/UDP $NOPE 8000-8001\n"
	"VOLUME /data /logs\n"
	"STOPSIGNAL SIGTERM\n"
	"HEALTHCHECK --interval=90s --retries=3 CMD curl -f http://x/ || "
	"exit 1\n"
	"SHELL [\"/bin/bash\", \"-c\"]\n"
	"CMD echo $A\n"
	"ENTRYPOINT [\"/app\"]\n"
	"COPY --chown=$V:$V --link --exclude=*.md a b/ ./dst/\n"
	"COPY <<EOF <<'RAW' /etc/\n"
	"hello $A \"q\"\n"
	"EOF\n"
	"keep $A\n"
	"RAW\n"
	"ONBUILD COPY . /onbuild\n"
	"MAINTAINER me <me@example.com>\n"
	"FROM scratch AS final\n"
	"ENV E=$G\n"
	"COPY --from=build /app /app\n"
	"ENTRYPOINT /x\n";

static void test_big(void **state)
{
	static const char *const args[] = {"TAG=3.20", "UNUSED=1"};
	static const char *const hist[] = {
		"ARG TARGETARCH=arm64",
		"ARG V=1 G=global",
		"ENV A=x B=1 C=global",
		"ENV A=y D=x",
		"LABEL l1=y l 2=v w",
		"WORKDIR /app",
		"WORKDIR /app/sub",
		"USER 1000:1",
		"EXPOSE map[443/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]",
		"VOLUME [/data /logs]",
		"STOPSIGNAL SIGTERM",
		"HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://x/ || exit 1\"] "
		"\"1m30s\" \"0s\" \"0s\" \"0s\" '\\x03'}",
		"SHELL [/bin/bash -c]",
		"CMD [\"/bin/bash\" \"-c\" \"echo $A\"]",
		"ENTRYPOINT [\"/app\"]",
		"COPY a b/ ./dst/ # buildkit",
		"COPY <<EOF <<RAW /etc/ # buildkit",
		"MAINTAINER me <me@example.com>",
	};
	struct hoist_dockerfile *df = parse(big);
	struct hoist_dfplan_opts o;
	struct hoist_dfplan *plan;
	struct hoist_dfconfig base;
	struct hoist_err err;
	const struct hoist_dfstage *sg;
	const struct hoist_dfstep *st;

	(void)state;
	opts_init(&o, args, 2);
	if (hoist_dfplan_new(&plan, df, &o, &err))
		fail_msg("plan: %s", err.msg);
	assert_int_equal(plan->norder, 2);
	assert_int_equal(plan->order[0], 0);
	assert_int_equal(plan->order[1], 1);
	assert_int_equal(plan->target, 1);
	assert_string_equal(plan->stages[0].base, "alpine:3.20");
	assert_string_equal(plan->stages[0].platform, "linux/amd64");
	assert_string_equal(plan->stages[0].name, "build");
	assert_string_equal(plan->stages[1].base, "scratch");
	assert_int_equal(plan->stages[1].base_stage, -1);

	memset(&base, 0, sizeof(base));
	base.env.v = (char *[]){"PATH=/bin", "A=base", NULL};
	base.env.n = 2;
	base.env.set = 1;
	base.cmd.v = (char *[]){"sh", NULL};
	base.cmd.n = 1;
	base.cmd.set = 1;
	if (hoist_dfplan_walk(plan, 0, &base, &err))
		fail_msg("walk: %s", err.msg);
	sg = &plan->stages[0];
	if (sg->nhistory != HOIST_ARRAY_SIZE(hist))
		fail_msg("%zu history entries", sg->nhistory);
	for (size_t i = 0; i < sg->nhistory; i++) {
		if (strcmp(sg->history[i].created_by, hist[i]) != 0)
			fail_msg("history %zu: '%s', want '%s'", i,
				 sg->history[i].created_by, hist[i]);
		assert_int_equal(sg->history[i].empty_layer,
				 !(i == 5 || i == 6 || i == 15 || i == 16));
	}
	strs_are(&sg->config.env, "PATH=/bin", "A=y", "B=1", "C=global", "D=x",
		 NULL);
	strs_are(&sg->config.labels, "l1=y", "l 2=v w", NULL);
	strs_are(&sg->config.ports, "443/udp", "80/tcp", "8000/tcp", "8001/tcp",
		 NULL);
	strs_are(&sg->config.volumes, "/data", "/logs", NULL);
	strs_are(&sg->config.cmd, "/bin/bash", "-c", "echo $A", NULL);
	strs_are(&sg->config.entrypoint, "/app", NULL);
	strs_are(&sg->config.shell, "/bin/bash", "-c", NULL);
	strs_are(&sg->config.onbuild, "COPY . /onbuild", NULL);
	assert_string_equal(sg->config.user, "1000:1");
	assert_string_equal(sg->config.workdir, "/app/sub");
	assert_string_equal(sg->config.stopsignal, "SIGTERM");
	assert_string_equal(sg->config.author, "me <me@example.com>");
	assert_non_null(sg->config.health);
	assert_true(sg->config.health->interval == 90000000000LL);
	assert_int_equal(sg->config.health->retries, 3);

	assert_int_equal(sg->nsteps, 4);
	assert_int_equal(sg->steps[0].kind, HOIST_DFSTEP_MKDIR);
	assert_string_equal(sg->steps[0].dest, "/app");
	assert_null(sg->steps[0].user);
	assert_string_equal(sg->steps[1].dest, "/app/sub");
	st = &sg->steps[2];
	assert_int_equal(st->kind, HOIST_DFSTEP_COPY);
	strs_are(&st->sources, "a", "b/", NULL);
	assert_string_equal(st->dest, "./dst/");
	assert_string_equal(st->chown, "1:1");
	assert_null(st->chmod);
	assert_true(st->link);
	assert_false(st->parents);
	strs_are(&st->excludes, "*.md", NULL);
	assert_string_equal(st->workdir, "/app/sub");
	assert_int_equal(st->from_stage, -1);
	assert_null(st->from_image);
	st = &sg->steps[3];
	assert_int_equal(st->sources.n, 0);
	assert_int_equal(st->ninlines, 2);
	assert_string_equal(st->inlines[0].name, "EOF");
	assert_string_equal(st->inlines[0].content, "hello y \"q\"\n");
	assert_string_equal(st->inlines[1].name, "RAW");
	assert_string_equal(st->inlines[1].content, "keep $A\n");

	/* the last stage: global ARGs are not visible without ARG */
	assert_int_equal(hoist_dfplan_walk(plan, 1, NULL, &err), 0);
	sg = &plan->stages[1];
	strs_are(&sg->config.env,
		 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
		 "/bin",
		 "E=", NULL);
	assert_string_equal(sg->config.workdir, "/");
	assert_int_equal(sg->nsteps, 1);
	assert_int_equal(sg->steps[0].from_stage, 0);
	assert_string_equal(sg->history[1].created_by,
			    "COPY /app /app # buildkit");
	assert_string_equal(sg->history[2].created_by, "ENTRYPOINT [\"/x\"]");
	strs_are(&sg->config.entrypoint, "/bin/sh", "-c", "/x", NULL);
	assert_false(sg->config.cmd.set);
	strs_are(&plan->used_args, "TAG=", NULL);
	hoist_dfplan_free(plan);
	hoist_dockerfile_free(df);
}

static void plan_fails(const char *text, const char *target, int code,
		       const char *msg)
{
	struct hoist_dockerfile *df = parse(text);
	struct hoist_dfplan_opts o;
	struct hoist_dfplan *plan = (void *)1;
	struct hoist_err err;

	opts_init(&o, NULL, 0);
	o.target = target;
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), code);
	assert_null(plan);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
	hoist_dockerfile_free(df);
}

static void walk_fails(const char *text, const char *msg)
{
	struct hoist_dockerfile *df = parse(text);
	struct hoist_dfplan_opts o;
	struct hoist_dfplan *plan;
	struct hoist_err err;

	opts_init(&o, NULL, 0);
	if (hoist_dfplan_new(&plan, df, &o, &err))
		fail_msg("plan: %s", err.msg);
	assert_int_equal(hoist_dfplan_walk(plan, 0, NULL, &err), HOIST_EINVAL);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
	hoist_dfplan_free(plan);
	hoist_dockerfile_free(df);
}

static void test_errors(void **state)
{
	(void)state;
	plan_fails("FROM scratch\nCOPY a /a\nRUN make\n", NULL,
		   HOIST_EUNSUPPORTED,
		   "Dockerfile:3: RUN needs a container runtime; hoist builds "
		   "without one (in 'RUN make')");
	/* RUN in a stage the target does not need is fine... */
	{
		struct hoist_dockerfile *df =
			parse("FROM debian AS tools\nRUN make\n"
			      "FROM scratch\nCOPY a /a\n");
		struct hoist_dfplan_opts o;
		struct hoist_dfplan *plan;
		struct hoist_err err;

		opts_init(&o, NULL, 0);
		assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
		assert_int_equal(plan->norder, 1);
		hoist_dfplan_free(plan);
		hoist_dockerfile_free(df);
	}
	/* ...unless it is used */
	plan_fails("FROM debian AS tools\nRUN make\n"
		   "FROM scratch\nCOPY --from=tools /x /x\n",
		   NULL, HOIST_EUNSUPPORTED,
		   "Dockerfile:2: RUN needs a container runtime; hoist builds "
		   "without one (in 'RUN make')");
	plan_fails("FROM b AS a\nFROM a AS b\n", NULL, HOIST_EINVAL,
		   "circular dependency detected on stage: a");
	plan_fails("FROM scratch AS a\nCOPY --from=b /x /x\n"
		   "FROM scratch AS b\nCOPY --from=a /y /y\n",
		   NULL, HOIST_EINVAL,
		   "circular dependency detected on stage: a");
	/* BuildKit names an unnamed stage "stage-N" */
	plan_fails("FROM scratch\nCOPY --from=1 /x /x\n"
		   "FROM scratch\nCOPY --from=0 /y /y\n",
		   NULL, HOIST_EINVAL,
		   "circular dependency detected on stage: stage-0");
	plan_fails("FROM scratch AS a\n", "nope", HOIST_EINVAL,
		   "target stage \"nope\" could not be found");
	plan_fails("ARG E\nFROM $E\n", NULL, HOIST_EINVAL,
		   "Dockerfile:2: base name ($E) should not be blank (in "
		   "'FROM $E')");
	walk_fails("FROM scratch\nEXPOSE 80/xtp\n",
		   "Dockerfile:2: invalid proto: xtp (in 'EXPOSE 80/xtp')");
	walk_fails("FROM scratch\nEXPOSE 99999\n",
		   "Dockerfile:2: invalid containerPort: 99999 (in 'EXPOSE "
		   "99999')");
	walk_fails("FROM scratch\nSTOPSIGNAL SIGNOPE\n",
		   "Dockerfile:2: Invalid signal: SIGNOPE (in 'STOPSIGNAL "
		   "SIGNOPE')");
	walk_fails("FROM scratch\nHEALTHCHECK --interval=1us CMD x\n",
		   "Dockerfile:2: Interval \"interval\" cannot be less than "
		   "1ms (in 'HEALTHCHECK --interval=1us CMD x')");
	walk_fails("FROM scratch\nHEALTHCHECK --timeout=5 CMD x\n",
		   "Dockerfile:2: time: invalid duration \"5\" (in "
		   "'HEALTHCHECK --timeout=5 CMD x')");
	walk_fails("FROM scratch\nHEALTHCHECK --retries=-1 CMD x\n",
		   "Dockerfile:2: --retries cannot be negative (-1) (in "
		   "'HEALTHCHECK --retries=-1 CMD x')");
	walk_fails("FROM scratch\nENV A=${B\n",
		   "Dockerfile:2: failed to process '${B': syntax error: "
		   "missing '}' (in 'ENV A=${B')");
}

/* Walk stage 0 of text on a base whose OnBuild is the triggers. */
static int walk_triggers(const char *text, const char *const *trig, size_t n,
			 struct hoist_dfplan **plan, struct hoist_err *err)
{
	struct hoist_dockerfile *df = parse(text);
	struct hoist_dfplan_opts o;
	struct hoist_dfconfig base;
	int rc;

	memset(&base, 0, sizeof(base));
	for (size_t i = 0; i < n; i++)
		hoist_dfstrs_push(&base.onbuild, hoist_xstrdup(trig[i]));
	opts_init(&o, NULL, 0);
	if (hoist_dfplan_new(plan, df, &o, err))
		fail_msg("plan: %s", err->msg);
	rc = hoist_dfplan_walk(*plan, 0, &base, err);
	hoist_dfconfig_release(&base);
	/* the plan points into df: keep it with the plan */
	(*plan)->triggers = hoist_xreallocarray(
		(*plan)->triggers, (*plan)->ntriggers + 1, sizeof(df));
	(*plan)->triggers[(*plan)->ntriggers++] = df;
	return rc;
}

static void test_onbuild(void **state)
{
	static const char *const ok[] = {"COPY a /t/", "ENV T=1", "WORKDIR /w"};
	static const char *const run[] = {"ENV A=1", "RUN make"};
	static const char *const from[] = {"FROM x"};
	static const char *const chain[] = {"ONBUILD COPY a /a"};
	struct hoist_dfplan *plan;
	struct hoist_err err;
	struct hoist_dfstage *sg;

	(void)state;
	assert_int_equal(walk_triggers("FROM base\nENV U=$T\nONBUILD ENV X=1\n",
				       ok, 3, &plan, &err),
			 0);
	sg = &plan->stages[0];
	/* the triggers first, at the FROM line; then the stage's own */
	assert_int_equal(sg->nhistory, 4);
	assert_string_equal(sg->history[0].created_by, "COPY a /t/ # buildkit");
	assert_string_equal(sg->history[1].created_by, "ENV T=1");
	assert_string_equal(sg->history[2].created_by, "WORKDIR /w");
	assert_string_equal(sg->history[3].created_by, "ENV U=1");
	assert_int_equal(sg->nsteps, 2);
	assert_int_equal(sg->steps[0].instr->line, 1);
	assert_string_equal(sg->steps[1].dest, "/w");
	strs_are(&sg->config.onbuild, "ENV X=1", NULL);
	hoist_dfplan_free(plan);

	assert_int_equal(walk_triggers("FROM base\n", run, 2, &plan, &err),
			 HOIST_EUNSUPPORTED);
	assert_string_equal(err.msg,
			    "Dockerfile:1: RUN needs a container runtime; "
			    "hoist builds without one (in 'RUN make')");
	hoist_dfplan_free(plan);
	assert_int_equal(walk_triggers("FROM base\n", from, 1, &plan, &err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg,
			    "Dockerfile:1: ONBUILD trigger 'FROM x' of the "
			    "base: FROM isn't allowed as an ONBUILD trigger "
			    "(in 'FROM base')");
	hoist_dfplan_free(plan);
	assert_int_equal(walk_triggers("FROM base\n", chain, 1, &plan, &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "ONBUILD isn't allowed as an ONBUILD "
					"trigger"));
	hoist_dfplan_free(plan);
}

static void test_stage_order(void **state)
{
	struct hoist_dockerfile *df =
		parse("FROM scratch AS a\n"
		      "FROM scratch AS unused\n"
		      "FROM a AS b\n"
		      "FROM scratch AS c\n"
		      "COPY --from=b /x /x\n"
		      "COPY --from=0 /y /y\n"
		      "COPY --from=busybox:1 /bin/sh /sh\n"
		      "FROM c\n"
		      "ENTRYPOINT [\"/y\"]\n");
	struct hoist_dfplan_opts o;
	struct hoist_dfplan *plan;
	struct hoist_err err;
	static const long want[] = {0, 2, 3, 4};

	(void)state;
	opts_init(&o, NULL, 0);
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	assert_int_equal(plan->norder, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(plan->order[i], want[i]);
	assert_int_equal(plan->stages[2].base_stage, 0);
	assert_int_equal(plan->stages[4].base_stage, 3);
	for (size_t i = 0; i < plan->norder; i++)
		assert_int_equal(
			hoist_dfplan_walk(plan, plan->order[i], NULL, &err), 0);
	assert_int_equal(plan->stages[3].steps[1].from_stage, 0);
	assert_int_equal(plan->stages[3].steps[2].from_stage, -1);
	assert_string_equal(plan->stages[3].steps[2].from_image, "busybox:1");
	hoist_dfplan_free(plan);

	/* --target picks a stage and only what it needs */
	o.target = "B";
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	assert_int_equal(plan->norder, 2);
	assert_int_equal(plan->target, 2);
	hoist_dfplan_free(plan);
	hoist_dockerfile_free(df);
}

/* A --build-context named as a stage is that stage: nothing of it is
 * walked or checked; ONBUILD COPY --from orders the stages. */
static void test_context_and_trigger_order(void **state)
{
	struct hoist_dockerfile *df = parse("FROM scratch AS base\n"
					    "RUN false\n"
					    "COPY --from=late /x /x\n"
					    "ONBUILD COPY --from=late /l /l\n"
					    "FROM base AS app\n"
					    "COPY --from=base /a /a\n"
					    "FROM busybox:1 AS img\n"
					    "FROM scratch AS late\n");
	static const char *const ctx[] = {"base=/some/dir"};
	struct hoist_dfplan_opts o;
	struct hoist_dfplan *plan;
	struct hoist_dfstrs trig = {NULL, 0, 0};
	struct hoist_err err;
	int again = 0;

	(void)state;
	/* without the context: RUN in base fails */
	opts_init(&o, NULL, 0);
	o.target = "app";
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err),
			 HOIST_EUNSUPPORTED);
	/* with it: base is the context, late is not needed */
	o.contexts = ctx;
	o.ncontexts = 1;
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	assert_true(plan->stages[0].context);
	assert_string_equal(plan->stages[0].base, "base");
	assert_int_equal(plan->stages[0].base_stage, -1);
	assert_int_equal(plan->stages[1].base_stage, 0);
	assert_int_equal(plan->norder, 2);
	assert_int_equal(plan->order[0], 0);
	assert_int_equal(plan->order[1], 1);
	assert_int_equal(hoist_dfplan_walk(plan, 0, NULL, &err), 0);
	assert_int_equal(plan->stages[0].nsteps, 0);
	assert_int_equal(plan->stages[0].config.onbuild.n, 0);
	assert_int_equal(hoist_dfplan_walk(plan, 1, NULL, &err), 0);
	assert_int_equal(plan->stages[1].steps[0].from_stage, 0);
	hoist_dfplan_free(plan);

	/* a base image's trigger copying from a later stage: it comes first */
	o.target = "img";
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	assert_int_equal(plan->norder, 1);
	hoist_dfstrs_push(&trig, hoist_xstrdup("COPY --from=late /l /l"));
	assert_int_equal(
		hoist_dfplan_add_triggers(plan, 2, &trig, &again, &err), 0);
	assert_true(again);
	assert_int_equal(plan->norder, 2);
	assert_int_equal(plan->order[0], 3);
	assert_int_equal(plan->order[1], 2);
	hoist_dfplan_free(plan);
	/* a trigger copying from its own stage is a cycle */
	o.target = "late";
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	assert_int_equal(
		hoist_dfplan_add_triggers(plan, 3, &trig, &again, &err),
		HOIST_EINVAL);
	assert_string_equal(err.msg,
			    "circular dependency detected on stage: late");
	hoist_dfplan_free(plan);
	hoist_dfstrs_free(&trig);

	/* without the context, base's ONBUILD COPY --from=late orders late
	 * before app (and RUN is the only error left) */
	hoist_dockerfile_free(df);
	df = parse("FROM scratch AS base\n"
		   "ONBUILD COPY --from=late /l /l\n"
		   "FROM base AS app\n"
		   "FROM scratch AS late\n");
	opts_init(&o, NULL, 0);
	o.target = "app";
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	assert_int_equal(plan->norder, 3);
	assert_int_equal(plan->order[2], 1);
	hoist_dfplan_free(plan);
	hoist_dockerfile_free(df);
}

static void test_entrypoint_cmd(void **state)
{
	struct hoist_dockerfile *df = parse("FROM scratch AS a\n"
					    "CMD [\"serve\"]\n"
					    "FROM a AS b\n"
					    "ENTRYPOINT [\"/bin/app\"]\n"
					    "FROM a AS c\n"
					    "CMD [\"x\"]\n"
					    "ENTRYPOINT [\"/bin/app\"]\n"
					    "CMD []\n");
	struct hoist_dfplan_opts o;
	struct hoist_dfplan *plan;
	struct hoist_err err;

	(void)state;
	opts_init(&o, NULL, 0);
	assert_int_equal(hoist_dfplan_new(&plan, df, &o, &err), 0);
	for (long i = 0; i < 3; i++)
		assert_int_equal(hoist_dfplan_walk(plan, i, NULL, &err), 0);
	/* ENTRYPOINT resets the CMD inherited from the base... */
	assert_false(plan->stages[1].config.cmd.set);
	/* ...but not one given in the same stage */
	assert_true(plan->stages[2].config.cmd.set);
	assert_int_equal(plan->stages[2].config.cmd.n, 0);
	assert_string_equal(plan->stages[2].history[2].created_by, "CMD []");
	hoist_dfplan_free(plan);
	hoist_dockerfile_free(df);
}

static void test_go(void **state)
{
	static const struct {
		int64_t ns;
		const char *s;
	} durs[] = {
		{0, "0s"},
		{1, "1ns"},
		{1500, "1.5\xc2\xb5s"},
		{1000000, "1ms"},
		{1500000, "1.5ms"},
		{1500000000LL, "1.5s"},
		{90000000000LL, "1m30s"},
		{3600000000000LL, "1h0m0s"},
		{-90000000000LL, "-1m30s"},
	};
	static const struct {
		const char *in;
		int64_t ns;
	} parses[] = {
		{"0", 0},
		{"30s", 30000000000LL},
		{"1m30s", 90000000000LL},
		{"1.5h", 5400000000000LL},
		{"300ms", 300000000},
		{"2us", 2000},
		{".5s", 500000000},
		{"-1s", -1000000000LL},
	};
	static const char *const bad[] = {"", "5", "1x", "s", "1.s.", "-"};
	struct hoist_buf b;
	char buf[40];
	int64_t ns;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(durs); i++)
		assert_string_equal(hoist_dfgo_duration(durs[i].ns, buf),
				    durs[i].s);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(parses); i++) {
		assert_int_equal(hoist_dfgo_parse_duration(&ns, parses[i].in),
				 0);
		assert_true(ns == parses[i].ns);
	}
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++)
		if (hoist_dfgo_parse_duration(&ns, bad[i]) == 0)
			fail_msg("'%s' parsed", bad[i]);
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	hoist_dfgo_quote_list(&b, (char *[]){"a\"b", "t\tn\n\x01", "\xc3\xa9"},
			      3);
	assert_string_equal(b.data,
			    "[\"a\\\"b\" \"t\\tn\\n\\x01\" \"\xc3\xa9\"]");
	hoist_buf_reset(&b);
	hoist_dfgo_quote_rune(&b, 3);
	hoist_dfgo_quote_rune(&b, 10);
	hoist_dfgo_quote_rune(&b, 65);
	hoist_dfgo_quote_rune(&b, 0);
	assert_string_equal(b.data, "'\\x03''\\n''A''\\x00'");
	hoist_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_onbuild),
		cmocka_unit_test(test_stage_order),
		cmocka_unit_test(test_context_and_trigger_order),
		cmocka_unit_test(test_entrypoint_cmd),
		cmocka_unit_test(test_go),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
