/*
 * fuzz-dockerfile.c: fuzz target for the Dockerfile parser
 * (lib/dockerfile.c) and the instruction checks (lib/dockerfile-stages.c).
 *
 * Checks that an error is one printable line starting with the file name,
 * that a parsed file holds sane line numbers, arguments and heredocs, and
 * that the stages point at instructions of the file in order.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/dockerfile.h"
#include "util/banned.h"

static void check_msg(const struct hoist_err *err)
{
	FUZZ_CHECK(err->code == HOIST_EINVAL || err->code == HOIST_ELIMIT);
	FUZZ_CHECK(strncmp(err->msg, "Dockerfile:", 11) == 0);
	for (const char *c = err->msg; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void check_instr(const struct hoist_df_instr *in, int last_line)
{
	struct hoist_df_flag *fl;
	struct hoist_err err;
	size_t n;

	FUZZ_CHECK(in->line >= 1 && in->line > last_line);
	FUZZ_CHECK(in->end_line >= in->line);
	FUZZ_CHECK(in->keyword && in->original);
	FUZZ_CHECK(in->keyword[0] != '\0' || in->cmd == HOIST_DF_UNKNOWN);
	FUZZ_CHECK(!strchr(in->original, '\n'));
	for (size_t i = 0; i < in->nargs; i++)
		FUZZ_CHECK(in->args[i] != NULL);
	FUZZ_CHECK(in->nargs == 0 || in->args[in->nargs] == NULL);
	for (size_t i = 0; i < in->nflags; i++)
		FUZZ_CHECK(strncmp(in->flags[i], "--", 2) == 0);
	if (in->cmd == HOIST_DF_ENV || in->cmd == HOIST_DF_LABEL)
		FUZZ_CHECK(in->nargs % 2 == 0);
	for (size_t i = 0; i < in->nheredocs; i++) {
		FUZZ_CHECK(in->heredocs[i].name[0] != '\0');
		FUZZ_CHECK(in->heredocs[i].content != NULL);
		if (in->heredocs[i].chomp)
			for (const char *c = in->heredocs[i].content; *c; c++)
				FUZZ_CHECK(!(*c == '\t' &&
					     (c == in->heredocs[i].content ||
					      c[-1] == '\n')));
	}
	if (hoist_dockerfile_flags(&fl, &n, in, &err) == 0) {
		FUZZ_CHECK(n <= in->nflags);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(fl[i].name && fl[i].value);
		free(fl);
	} else {
		FUZZ_CHECK(err.code == HOIST_EINVAL);
	}
	if (in->sub)
		FUZZ_CHECK(in->cmd == HOIST_DF_ONBUILD);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_dockerfile *df;
	struct hoist_df_stages st;
	struct hoist_err err;
	int last = 0;
	size_t k = 0;

	if (hoist_dockerfile_parse(&df, "Dockerfile", (const char *)data, size,
				   &err)) {
		FUZZ_CHECK(df == NULL);
		check_msg(&err);
		return 0;
	}
	FUZZ_CHECK(df->ninstrs > 0);
	FUZZ_CHECK(df->escape == '\\' || df->escape == '`');
	for (size_t i = 0; i < df->ninstrs; i++) {
		check_instr(&df->instrs[i], last);
		last = df->instrs[i].end_line;
	}
	if (hoist_dockerfile_stages(&st, df, &err) == 0) {
		FUZZ_CHECK(st.nstages > 0);
		for (size_t i = 0; i < st.nmeta_args; i++)
			FUZZ_CHECK(st.meta_args[i]->cmd == HOIST_DF_ARG);
		for (size_t s = 0; s < st.nstages; s++) {
			const struct hoist_df_stage *sg = &st.stages[s];

			FUZZ_CHECK(sg->from->cmd == HOIST_DF_FROM);
			FUZZ_CHECK(sg->base != NULL);
			if (sg->name)
				FUZZ_CHECK(hoist_dockerfile_stage_find(
						   &st, sg->name) <= (long)s);
			for (size_t i = 0; i < sg->ninstrs; i++) {
				FUZZ_CHECK(sg->instrs[i]->cmd != HOIST_DF_FROM);
				FUZZ_CHECK(sg->instrs[i] >= df->instrs);
				FUZZ_CHECK(sg->instrs[i] <
					   df->instrs + df->ninstrs);
			}
			k += sg->ninstrs + 1;
		}
		FUZZ_CHECK(k + st.nmeta_args == df->ninstrs);
		hoist_dockerfile_stages_free(&st);
	} else {
		check_msg(&err);
	}
	hoist_dockerfile_free(df);
	return 0;
}
