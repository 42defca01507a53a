/*
 * test-dockerfile.c: the Dockerfile parser (directives, comments,
 * continuations, heredocs, JSON and shell forms, flags, key=value forms)
 * and the instruction checks and stage grouping, with the messages
 * BuildKit gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/dockerfile.h"
#include "util/mem.h"
#include "util/banned.h"

static struct hoist_dockerfile *parse(const char *text)
{
	struct hoist_dockerfile *df;
	struct hoist_err err;

	if (hoist_dockerfile_parse(&df, "Dockerfile", text, strlen(text), &err))
		fail_msg("parse failed: %s", err.msg);
	return df;
}

static void parse_fails(const char *text, const char *msg)
{
	struct hoist_dockerfile *df = (void *)1;
	struct hoist_err err;

	assert_int_equal(hoist_dockerfile_parse(&df, "Dockerfile", text,
						strlen(text), &err),
			 HOIST_EINVAL);
	assert_null(df);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void args_are(const struct hoist_df_instr *in, ...)
{
	va_list ap;
	size_t i = 0;
	const char *a;

	va_start(ap, in);
	while ((a = va_arg(ap, const char *))) {
		if (i >= in->nargs)
			fail_msg("'%s': only %zu args", in->original,
				 in->nargs);
		if (strcmp(in->args[i], a) != 0)
			fail_msg("'%s': arg %zu is '%s', want '%s'",
				 in->original, i, in->args[i], a);
		i++;
	}
	va_end(ap);
	if (i != in->nargs)
		fail_msg("'%s': %zu args, want %zu", in->original, in->nargs,
			 i);
}

static void test_basic(void **state)
{
	struct hoist_dockerfile *df =
		parse("FROM debian:12 AS build\n"
		      "\n"
		      "# a comment\n"
		      "copy --from=build --chown=1:2 a b /dst/\n"
		      "  ENTRYPOINT [\"/app\", \"--flag\"]\n"
		      "CMD echo hi  there\r\n"
		      "EXPOSE 80/tcp\t443\n"
		      "VOLUME [\"/data\"]\n"
		      "VOLUME /a /b\n"
		      "USER  nobody:nogroup \n"
		      "WORKDIR /srv/my dir\n"
		      "ARG A B=\"x y\" C='q'\n"
		      "FOO bar\n"
		      "RUN make && make install\n");

	(void)state;
	assert_int_equal(df->ninstrs, 12);
	assert_int_equal(df->escape, '\\');
	assert_null(df->syntax);
	assert_int_equal(df->instrs[0].cmd, HOIST_DF_FROM);
	args_are(&df->instrs[0], "debian:12", "AS", "build", NULL);
	assert_int_equal(df->instrs[0].line, 1);

	assert_int_equal(df->instrs[1].cmd, HOIST_DF_COPY);
	assert_string_equal(df->instrs[1].keyword, "copy");
	assert_int_equal(df->instrs[1].line, 4);
	assert_int_equal(df->instrs[1].nflags, 2);
	assert_string_equal(df->instrs[1].flags[0], "--from=build");
	assert_string_equal(df->instrs[1].flags[1], "--chown=1:2");
	args_are(&df->instrs[1], "a", "b", "/dst/", NULL);

	assert_int_equal(df->instrs[2].cmd, HOIST_DF_ENTRYPOINT);
	assert_true(df->instrs[2].json);
	args_are(&df->instrs[2], "/app", "--flag", NULL);
	assert_int_equal(df->instrs[2].nflags, 0);

	assert_false(df->instrs[3].json);
	args_are(&df->instrs[3], "echo hi  there", NULL);
	args_are(&df->instrs[4], "80/tcp", "443", NULL);
	assert_true(df->instrs[5].json);
	args_are(&df->instrs[5], "/data", NULL);
	assert_false(df->instrs[6].json);
	args_are(&df->instrs[6], "/a", "/b", NULL);
	args_are(&df->instrs[7], "nobody:nogroup", NULL);
	args_are(&df->instrs[8], "/srv/my dir", NULL);
	args_are(&df->instrs[9], "A", "B=\"x y\"", "C='q'", NULL);
	assert_int_equal(df->instrs[10].cmd, HOIST_DF_UNKNOWN);
	assert_string_equal(df->instrs[10].keyword, "FOO");
	assert_int_equal(df->instrs[11].cmd, HOIST_DF_RUN);
	args_are(&df->instrs[11], "make && make install", NULL);
	assert_string_equal(df->instrs[11].original,
			    "RUN make && make install");
	assert_int_equal(df->instrs[11].line, 14);
	hoist_dockerfile_free(df);
}

static void test_directives(void **state)
{
	struct hoist_dockerfile *df;

	(void)state;
	df = parse("# syntax=docker/dockerfile:1.7\n"
		   "#  ESCAPE = `\n"
		   "# check=skip=all\n"
		   "FROM scratch\n"
		   "COPY a `\n"
		   "  b /c\n"
		   "COPY x\\ y /z\n");
	assert_string_equal(df->syntax, "docker/dockerfile:1.7");
	assert_string_equal(df->check, "skip=all");
	assert_int_equal(df->escape, '`');
	assert_int_equal(df->ninstrs, 3);
	args_are(&df->instrs[1], "a", "b", "/c", NULL);
	assert_int_equal(df->instrs[1].line, 5);
	assert_int_equal(df->instrs[1].end_line, 6);
	args_are(&df->instrs[2], "x\\", "y", "/z", NULL);
	hoist_dockerfile_free(df);

	/* after a comment, a blank line or an unknown directive: comments */
	df = parse("# hello\n# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '\\');
	hoist_dockerfile_free(df);
	df = parse("\n# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '\\');
	hoist_dockerfile_free(df);
	df = parse("# unknowndirective=x\n# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '\\');
	hoist_dockerfile_free(df);
	df = parse("FROM scratch\n# escape=`\n# syntax=x\n");
	assert_int_equal(df->escape, '\\');
	assert_null(df->syntax);
	hoist_dockerfile_free(df);
	/* a byte order mark before the first directive */
	df = parse("\xef\xbb\xbf# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '`');
	hoist_dockerfile_free(df);

	parse_fails("# escape=`\n# escape=`\nFROM scratch\n",
		    "Dockerfile:2: only one escape parser directive can be "
		    "used");
	parse_fails("# syntax=a\n# SYNTAX=b\nFROM scratch\n",
		    "Dockerfile:2: only one syntax parser directive can be "
		    "used");
	parse_fails("# escape=x\nFROM scratch\n",
		    "Dockerfile:1: invalid escape token 'x' does not match ` "
		    "or \\");
}

static void test_continuations(void **state)
{
	struct hoist_dockerfile *df = parse("FROM scratch\n"
					    "COPY a \\\n"
					    "# a comment inside\n"
					    "   # another\n"
					    "\n"
					    "  b \\  \n"
					    "  /c\n"
					    "LABEL a=1 \\\n"
					    "      b=2\n"
					    "ENV X=1 \\\n");

	(void)state;
	assert_int_equal(df->ninstrs, 4);
	args_are(&df->instrs[1], "a", "b", "/c", NULL);
	assert_string_equal(df->instrs[1].original, "COPY a   b   /c");
	assert_int_equal(df->instrs[1].line, 2);
	assert_int_equal(df->instrs[1].end_line, 7);
	assert_int_equal(df->nempty_continuations, 1);
	assert_int_equal(df->empty_continuations[0], 2);
	args_are(&df->instrs[2], "a", "1", "b", "2", NULL);
	assert_int_equal(df->instrs[3].cmd, HOIST_DF_ENV);
	hoist_dockerfile_free(df);
}

static void test_heredocs(void **state)
{
	struct hoist_dockerfile *df = parse("FROM scratch\n"
					    "COPY <<EOF /etc/motd\n"
					    "hello $NAME\n"
					    "  indented\n"
					    "EOF\n"
					    "COPY <<-EOT <<\"EOF2\" /dst/\n"
					    "\tone\n"
					    "\t\ttwo\n"
					    "\tEOT\n"
					    "three $X\n"
					    "EOF2\n"
					    "RUN 2<<'END' cat\n"
					    "body\n"
					    "END\n"
					    "COPY [\"<<EOF\", \"/x\"]\n"
					    "ONBUILD COPY <<EOF /o\n"
					    "on\n"
					    "EOF\n"
					    "LABEL a=<<EOF\n");
	const struct hoist_df_instr *in;

	(void)state;
	assert_int_equal(df->ninstrs, 7);
	in = &df->instrs[1];
	args_are(in, "<<EOF", "/etc/motd", NULL);
	assert_int_equal(in->nheredocs, 1);
	assert_string_equal(in->heredocs[0].name, "EOF");
	assert_string_equal(in->heredocs[0].content,
			    "hello $NAME\n  indented\n");
	assert_true(in->heredocs[0].expand);
	assert_false(in->heredocs[0].chomp);
	assert_int_equal(in->line, 2);
	assert_int_equal(in->end_line, 5);

	in = &df->instrs[2];
	assert_int_equal(in->nheredocs, 2);
	assert_string_equal(in->heredocs[0].name, "EOT");
	assert_true(in->heredocs[0].chomp);
	assert_true(in->heredocs[0].expand);
	assert_string_equal(in->heredocs[0].content, "one\ntwo\n");
	assert_string_equal(in->heredocs[1].name, "EOF2");
	assert_false(in->heredocs[1].expand);
	assert_string_equal(in->heredocs[1].content, "three $X\n");
	assert_int_equal(df->instrs[3].line, 12);

	in = &df->instrs[3];
	assert_int_equal(in->cmd, HOIST_DF_RUN);
	assert_int_equal(in->nheredocs, 1);
	assert_int_equal(in->heredocs[0].fd, 2);
	assert_false(in->heredocs[0].expand);
	assert_string_equal(in->heredocs[0].content, "body\n");

	/* the JSON form takes no heredoc */
	assert_int_equal(df->instrs[4].nheredocs, 0);
	assert_true(df->instrs[4].json);

	in = &df->instrs[5];
	assert_int_equal(in->cmd, HOIST_DF_ONBUILD);
	assert_non_null(in->sub);
	assert_int_equal(in->sub->cmd, HOIST_DF_COPY);
	assert_int_equal(in->nheredocs, 1);
	assert_string_equal(in->heredocs[0].content, "on\n");
	/* LABEL takes no heredoc */
	assert_int_equal(df->instrs[6].nheredocs, 0);
	hoist_dockerfile_free(df);

	parse_fails("FROM scratch\nCOPY <<EOF /x\nnever ends\n",
		    "Dockerfile:2: unterminated heredoc (in 'COPY <<EOF /x')");
}

static void test_forms(void **state)
{
	struct hoist_dockerfile *df =
		parse("FROM scratch\n"
		      "CMD [\"a\", \"b\\u00e9\\n\"]\n"
		      "CMD [\"a\", \"b\"] trailing\n"
		      "CMD [a\n"
		      "CMD []\n"
		      "SHELL [\"/bin/bash\", \"-c\"]\n"
		      "ENV A=1 B=\"x y\" C=a\\ b\n"
		      "ENV LEGACY hello   world\n"
		      "LABEL \"com.example.key\"=\"v\"\n"
		      "HEALTHCHECK --interval=5s CMD curl -f http://x/\n"
		      "HEALTHCHECK CMD [\"/probe\", \"-q\"]\n"
		      "HEALTHCHECK NONE\n"
		      "COPY --exclude=*.md --exclude='a b' --link src /d\n"
		      "MAINTAINER Jane <j@example.com>\n"
		      "STOPSIGNAL SIGKILL\n"
		      "CMD\n");

	(void)state;
	assert_true(df->instrs[1].json);
	args_are(&df->instrs[1], "a", "b\xc3\xa9\n", NULL);
	assert_false(df->instrs[2].json);
	args_are(&df->instrs[2], "[\"a\", \"b\"] trailing", NULL);
	args_are(&df->instrs[3], "[a", NULL);
	assert_true(df->instrs[4].json);
	assert_int_equal(df->instrs[4].nargs, 0);
	args_are(&df->instrs[5], "/bin/bash", "-c", NULL);
	args_are(&df->instrs[6], "A", "1", "B", "\"x y\"", "C", "a\\ b", NULL);
	args_are(&df->instrs[7], "LEGACY", "hello   world", NULL);
	args_are(&df->instrs[8], "\"com.example.key\"", "\"v\"", NULL);
	args_are(&df->instrs[9], "CMD", "curl -f http://x/", NULL);
	assert_string_equal(df->instrs[9].flags[0], "--interval=5s");
	assert_true(df->instrs[10].json);
	args_are(&df->instrs[10], "CMD", "/probe", "-q", NULL);
	args_are(&df->instrs[11], "NONE", NULL);
	assert_int_equal(df->instrs[12].nflags, 3);
	assert_string_equal(df->instrs[12].flags[0], "--exclude=*.md");
	assert_string_equal(df->instrs[12].flags[1], "--exclude=a b");
	assert_string_equal(df->instrs[12].flags[2], "--link");
	args_are(&df->instrs[13], "Jane <j@example.com>", NULL);
	args_are(&df->instrs[15], NULL);
	hoist_dockerfile_free(df);

	parse_fails("FROM scratch\nCMD [\"a\", 1]\n",
		    "Dockerfile:2: when using JSON array syntax, arrays must "
		    "be comprised of strings only (in 'CMD [\"a\", 1]')");
	parse_fails("FROM scratch\nENV A\n",
		    "Dockerfile:2: ENV must have two arguments (in 'ENV A')");
	parse_fails("FROM scratch\nLABEL a=1 b\n",
		    "Dockerfile:2: Syntax error - can't find = in \"b\". Must "
		    "be of the form: name=value (in 'LABEL a=1 b')");
	parse_fails("\n# only a comment\n\n",
		    "Dockerfile:3: file with no instructions");
}

static void stages_fail(const char *text, const char *msg)
{
	struct hoist_dockerfile *df = parse(text);
	struct hoist_df_stages st;
	struct hoist_err err;

	assert_int_equal(hoist_dockerfile_stages(&st, df, &err), HOIST_EINVAL);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
	assert_int_equal(st.nstages, 0);
	hoist_dockerfile_free(df);
}

static void test_stages(void **state)
{
	struct hoist_dockerfile *df =
		parse("ARG BASE=debian\n"
		      "ARG TAG\n"
		      "FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS Build\n"
		      "COPY . /src\n"
		      "FROM scratch\n"
		      "COPY --from=build /src/app /app\n"
		      "ONBUILD COPY . /x\n"
		      "RUN true\n");
	struct hoist_df_stages st;
	struct hoist_df_flag *fl;
	struct hoist_err err;
	size_t n;

	(void)state;
	assert_int_equal(hoist_dockerfile_stages(&st, df, &err), 0);
	assert_int_equal(st.nmeta_args, 2);
	assert_int_equal(st.nstages, 2);
	assert_string_equal(st.stages[0].name, "build");
	assert_string_equal(st.stages[0].base, "${BASE}:${TAG}");
	assert_string_equal(st.stages[0].platform, "$BUILDPLATFORM");
	assert_int_equal(st.stages[0].ninstrs, 1);
	assert_null(st.stages[1].name);
	assert_null(st.stages[1].platform);
	assert_int_equal(st.stages[1].ninstrs, 3);
	assert_int_equal(st.stages[1].instrs[2]->cmd, HOIST_DF_RUN);
	assert_int_equal(hoist_dockerfile_stage_find(&st, "BUILD"), 0);
	assert_int_equal(hoist_dockerfile_stage_find(&st, "nope"), -1);

	assert_int_equal(
		hoist_dockerfile_flags(&fl, &n, st.stages[1].instrs[0], &err),
		0);
	assert_int_equal(n, 1);
	assert_string_equal(hoist_dockerfile_flag(fl, n, "from"), "build");
	assert_null(hoist_dockerfile_flag(fl, n, "chown"));
	free(fl);
	hoist_dockerfile_stages_free(&st);
	hoist_dockerfile_free(df);
}

static void test_stage_errors(void **state)
{
	(void)state;
	stages_fail("FROM scratch\nFOO bar\n",
		    "Dockerfile:2: dockerfile parse error on line 2: unknown "
		    "instruction: FOO (in 'FOO bar')");
	stages_fail("FROM scratch\nCOPY --form=x a b\n",
		    "Dockerfile:2: dockerfile parse error on line 2: unknown "
		    "flag: form (in 'COPY --form=x a b')");
	stages_fail("FROM scratch\nCOPY --from a b\n",
		    "Dockerfile:2: dockerfile parse error on line 2: missing a "
		    "value on flag: from (in 'COPY --from a b')");
	stages_fail("FROM scratch\nCOPY --link=maybe a b\n",
		    "Dockerfile:2: dockerfile parse error on line 2: expecting "
		    "boolean value for flag link, not: maybe (in 'COPY "
		    "--link=maybe a b')");
	stages_fail("FROM scratch\nCOPY --from=a --from=b a b\n",
		    "Dockerfile:2: dockerfile parse error on line 2: duplicate "
		    "flag specified: from (in 'COPY --from=a --from=b a b')");
	stages_fail("FROM scratch\nWORKDIR --x=1 /a\n",
		    "Dockerfile:2: dockerfile parse error on line 2: unknown "
		    "flag: x (in 'WORKDIR --x=1 /a')");
	stages_fail("FROM scratch\nCOPY onlyone\n",
		    "Dockerfile:2: dockerfile parse error on line 2: COPY "
		    "requires at least two arguments, but only one was "
		    "provided. Destination could not be determined (in 'COPY "
		    "onlyone')");
	stages_fail("FROM scratch\nCOPY a <<EOF\nx\nEOF\n",
		    "Dockerfile:2: dockerfile parse error on line 2: COPY "
		    "cannot accept a heredoc as a destination (in 'COPY a "
		    "<<EOF')");
	stages_fail("FROM a b\n", "Dockerfile:1: dockerfile parse error on "
				  "line 1: FROM requires either one or three "
				  "arguments (in 'FROM a b')");
	stages_fail("FROM a AS 1x\n",
		    "Dockerfile:1: dockerfile parse error on line 1: invalid "
		    "name for build stage: \"1x\", name can't start with a "
		    "number or contain symbols (in 'FROM a AS 1x')");
	stages_fail("COPY a b\nFROM scratch\n",
		    "Dockerfile:1: no build stage in current context (in 'COPY "
		    "a b')");
	stages_fail("ARG A\n", "Dockerfile:1: dockerfile contains no stages "
			       "to build");
	stages_fail("FROM scratch\nWORKDIR\n",
		    "Dockerfile:2: dockerfile parse error on line 2: WORKDIR "
		    "requires exactly one argument (in 'WORKDIR')");
	stages_fail("FROM scratch\nSHELL /bin/sh -c\n",
		    "Dockerfile:2: dockerfile parse error on line 2: SHELL "
		    "requires the arguments to be in JSON form (in 'SHELL "
		    "/bin/sh -c')");
	stages_fail("FROM scratch\nONBUILD ONBUILD COPY a b\n",
		    "Dockerfile:2: dockerfile parse error on line 2: Chaining "
		    "ONBUILD via `ONBUILD ONBUILD` isn't allowed (in 'ONBUILD "
		    "ONBUILD COPY a b')");
	stages_fail("FROM scratch\nONBUILD from x\n",
		    "Dockerfile:2: dockerfile parse error on line 2: FROM "
		    "isn't allowed as an ONBUILD trigger (in 'ONBUILD from "
		    "x')");
	stages_fail("FROM scratch\nHEALTHCHECK NONE x\n",
		    "Dockerfile:2: dockerfile parse error on line 2: "
		    "HEALTHCHECK NONE takes no arguments (in 'HEALTHCHECK "
		    "NONE x')");
	stages_fail("FROM scratch\nHEALTHCHECK foo x\n",
		    "Dockerfile:2: dockerfile parse error on line 2: Unknown "
		    "type \"FOO\" in HEALTHCHECK (try CMD) (in 'HEALTHCHECK "
		    "foo x')");
	stages_fail("FROM scratch\nHEALTHCHECK --interval=1s CMD\n",
		    "Dockerfile:2: dockerfile parse error on line 2: Missing "
		    "command after HEALTHCHECK CMD (in 'HEALTHCHECK "
		    "--interval=1s CMD')");
	stages_fail("FROM scratch\nVOLUME [\"\"]\n",
		    "Dockerfile:2: dockerfile parse error on line 2: VOLUME "
		    "specified can not be an empty string (in 'VOLUME "
		    "[\"\"]')");
	stages_fail("FROM scratch\nEXPOSE\n",
		    "Dockerfile:2: dockerfile parse error on line 2: EXPOSE "
		    "requires at least one argument (in 'EXPOSE')");
	stages_fail("FROM scratch\nENV =x\n",
		    "Dockerfile:2: dockerfile parse error on line 2: ENV names "
		    "can not be blank (in 'ENV =x')");
}

static void test_limits(void **state)
{
	struct hoist_dockerfile *df = (void *)1;
	struct hoist_err err;
	char *deep;
	size_t n = 20000;

	(void)state;
	assert_int_equal(hoist_dockerfile_parse(&df, "Dockerfile", "",
						HOIST_DOCKERFILE_MAX + 1, &err),
			 HOIST_ELIMIT);
	assert_null(df);

	assert_int_equal(hoist_dockerfile_parse(&df, "Dockerfile",
						"FROM a\nCOPY \0 b\n", 16,
						&err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg, "Dockerfile:2: a NUL byte is not allowed");

	/* JSON nested far deeper than Go allows is the shell form */
	deep = hoist_xmalloc(n * 2 + 16);
	memcpy(deep, "FROM a\nCMD ", 11);
	memset(deep + 11, '[', n);
	memset(deep + 11 + n, ']', n);
	deep[11 + 2 * n] = 0;
	df = parse(deep);
	assert_false(df->instrs[1].json);
	assert_int_equal(df->instrs[1].nargs, 1);
	hoist_dockerfile_free(df);
	free(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_continuations),
		cmocka_unit_test(test_heredocs),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_stage_errors),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
