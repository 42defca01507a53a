/*
 * dockerfile-stages.c: check parsed instructions and group them into
 * stages, as BuildKit's frontend/dockerfile/instructions package does
 * (parse.go, bflag.go). See dockerfile.h.
 *
 * Messages keep BuildKit's words, prefixed as BuildKit prefixes an error
 * of instructions.Parse ("dockerfile parse error on line N: "), and carry
 * the file, line and instruction text like every Dockerfile error here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dockerfile.h"
#include "util/mem.h"
#include "util/banned.h"

enum { F_BOOL, F_STRING, F_STRINGS };

struct flag_spec {
	enum hoist_df_cmd cmd;
	const char *name;
	int type;
};

static const struct flag_spec flag_specs[] = {
	{HOIST_DF_FROM, "platform", F_STRING},
	{HOIST_DF_COPY, "from", F_STRING},
	{HOIST_DF_COPY, "chown", F_STRING},
	{HOIST_DF_COPY, "chmod", F_STRING},
	{HOIST_DF_COPY, "link", F_BOOL},
	{HOIST_DF_COPY, "parents", F_BOOL},
	{HOIST_DF_COPY, "exclude", F_STRINGS},
	{HOIST_DF_ADD, "chown", F_STRING},
	{HOIST_DF_ADD, "chmod", F_STRING},
	{HOIST_DF_ADD, "link", F_BOOL},
	{HOIST_DF_ADD, "keep-git-dir", F_BOOL},
	{HOIST_DF_ADD, "checksum", F_STRING},
	{HOIST_DF_ADD, "exclude", F_STRINGS},
	{HOIST_DF_RUN, "mount", F_STRINGS},
	{HOIST_DF_RUN, "network", F_STRING},
	{HOIST_DF_RUN, "security", F_STRING},
	{HOIST_DF_HEALTHCHECK, "interval", F_STRING},
	{HOIST_DF_HEALTHCHECK, "timeout", F_STRING},
	{HOIST_DF_HEALTHCHECK, "start-period", F_STRING},
	{HOIST_DF_HEALTHCHECK, "start-interval", F_STRING},
	{HOIST_DF_HEALTHCHECK, "retries", F_STRING},
};

static const struct flag_spec *flag_spec(enum hoist_df_cmd cmd,
					 const char *name, size_t n)
{
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(flag_specs); i++)
		if (flag_specs[i].cmd == cmd &&
		    strlen(flag_specs[i].name) == n &&
		    memcmp(flag_specs[i].name, name, n) == 0)
			return &flag_specs[i];
	return NULL;
}

int hoist_dockerfile_flags(struct hoist_df_flag **out, size_t *n,
			   const struct hoist_df_instr *in,
			   struct hoist_err *err)
{
	struct hoist_df_flag *fl = NULL;
	size_t k = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (in->nflags)
		fl = hoist_xcalloc(in->nflags, sizeof(*fl));
	for (size_t i = 0; i < in->nflags; i++) {
		const char *arg = in->flags[i], *eq, *name;
		const struct flag_spec *sp;
		char q[HOIST_QUOTE_BUF];
		size_t nl;

		hoist_err_quote(q, sizeof(q), arg, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		if (strncmp(arg, "--", 2) != 0) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "arg should start with -- : %s", q);
			goto out;
		}
		if (strcmp(arg, "--") == 0)
			break;
		name = arg + 2;
		eq = strchr(name, '=');
		nl = eq ? (size_t)(eq - name) : strlen(name);
		hoist_err_quote(q, sizeof(q), name, nl, HOIST_QUOTE_UTF8);
		sp = flag_spec(in->cmd, name, nl);
		if (!sp) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "unknown flag: %s", q);
			goto out;
		}
		for (size_t j = 0; j < k && sp->type != F_STRINGS; j++)
			if (strcmp(fl[j].name, sp->name) == 0) {
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "duplicate flag specified: "
						   "%s",
						   q);
				goto out;
			}
		fl[k].name = sp->name;
		if (sp->type == F_BOOL) {
			if (eq && !eq[1]) {
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"missing a value on flag: %s", q);
				goto out;
			}
			if (!eq || strcasecmp(eq + 1, "true") == 0) {
				fl[k].value = "true";
			} else if (strcasecmp(eq + 1, "false") == 0) {
				fl[k].value = "false";
			} else {
				char v[HOIST_QUOTE_BUF];

				hoist_err_quote(v, sizeof(v), eq + 1,
						HOIST_QUOTE_ALL,
						HOIST_QUOTE_UTF8);
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"expecting boolean value for "
					"flag %s, not: %s",
					q, v);
				goto out;
			}
		} else {
			if (!eq) {
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"missing a value on flag: %s", q);
				goto out;
			}
			fl[k].value = eq + 1;
		}
		k++;
	}
out:
	if (rc) {
		free(fl);
		return rc;
	}
	*out = fl;
	*n = k;
	return 0;
}

const char *hoist_dockerfile_flag(const struct hoist_df_flag *flags, size_t n,
				  const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < n; i++)
		if (strcmp(flags[i].name, name) == 0)
			v = flags[i].value;
	return v;
}

/* ^[a-z][a-z0-9-_.]*$ */
static int valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* Arguments given as key, value pairs (ENV, LABEL): the names. */
static const char *check_kvps(const struct hoist_df_instr *in)
{
	if (!in->nargs)
		return "requires at least one argument";
	for (size_t i = 0; i + 1 < in->nargs; i += 2)
		if (!in->args[i][0])
			return "names can not be blank";
	return NULL;
}

static int check_healthcheck(const struct hoist_df_instr *in, char *msg,
			     size_t max)
{
	const char *typ;

	if (!in->nargs) {
		snprintf(msg, max,
			 "HEALTHCHECK requires at least one argument");
		return -1;
	}
	typ = in->args[0];
	if (strcasecmp(typ, "NONE") == 0) {
		if (in->nargs > 1) {
			snprintf(msg, max,
				 "HEALTHCHECK NONE takes no arguments");
			return -1;
		}
		return 0;
	}
	if (strcasecmp(typ, "CMD") != 0) {
		char q[HOIST_QUOTE_BUF], up[HOIST_QUOTE_BUF];
		size_t i;

		hoist_err_quote(q, sizeof(q), typ, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		for (i = 0; q[i]; i++)
			up[i] = (char)toupper((unsigned char)q[i]);
		up[i] = 0;
		snprintf(msg, max,
			 "Unknown type \"%s\" in HEALTHCHECK (try CMD)", up);
		return -1;
	}
	return 1; /* flags are parsed next */
}

/*
 * instructions.ParseInstruction's checks for one instruction. Fills msg
 * and returns -1 on error.
 */
static int check_instr(const struct hoist_df_instr *in, char *msg, size_t max,
		       struct hoist_err *err)
{
	const char *name = hoist_dockerfile_cmd_name(in->cmd), *bad = NULL;
	struct hoist_df_flag *fl = NULL;
	size_t nfl = 0;
	int parse_flags = 1;

	switch (in->cmd) {
	case HOIST_DF_UNKNOWN: {
		char q[HOIST_QUOTE_BUF];

		hoist_err_quote(q, sizeof(q), in->keyword, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		snprintf(msg, max, "unknown instruction: %s", q);
		return -1;
	}
	case HOIST_DF_ENV:
	case HOIST_DF_LABEL:
		if ((bad = check_kvps(in))) {
			snprintf(msg, max, "%s %s", name, bad);
			return -1;
		}
		break;
	case HOIST_DF_MAINTAINER:
	case HOIST_DF_WORKDIR:
	case HOIST_DF_USER:
	case HOIST_DF_STOPSIGNAL:
		if (in->nargs != 1) {
			snprintf(msg, max, "%s requires exactly one argument",
				 name);
			return -1;
		}
		break;
	case HOIST_DF_ADD:
	case HOIST_DF_COPY:
		if (in->nargs < 2) {
			snprintf(msg, max,
				 "%s requires at least two arguments, but only "
				 "one was provided. Destination could not be "
				 "determined",
				 name);
			return -1;
		}
		break;
	case HOIST_DF_FROM:
		if (in->nargs == 3 && strcasecmp(in->args[1], "as") == 0) {
			char low[256];
			size_t i;

			for (i = 0; in->args[2][i] && i + 1 < sizeof(low); i++)
				low[i] = (char)tolower(
					(unsigned char)in->args[2][i]);
			low[i] = 0;
			if (!valid_stage_name(low) || in->args[2][i]) {
				char q[HOIST_QUOTE_BUF];

				hoist_err_quote(q, sizeof(q), in->args[2],
						HOIST_QUOTE_ALL,
						HOIST_QUOTE_UTF8);
				snprintf(msg, max,
					 "invalid name for build stage: "
					 "\"%s\", name can't start with a "
					 "number or contain symbols",
					 q);
				return -1;
			}
		} else if (in->nargs != 1) {
			snprintf(msg, max,
				 "FROM requires either one or three arguments");
			return -1;
		}
		break;
	case HOIST_DF_ONBUILD:
		if (!in->sub) {
			snprintf(msg, max,
				 "ONBUILD requires at least one "
				 "argument");
			return -1;
		}
		if (in->sub->cmd == HOIST_DF_ONBUILD) {
			snprintf(msg, max,
				 "Chaining ONBUILD via `ONBUILD "
				 "ONBUILD` isn't allowed");
			return -1;
		}
		if (in->sub->cmd == HOIST_DF_MAINTAINER ||
		    in->sub->cmd == HOIST_DF_FROM) {
			snprintf(
				msg, max,
				"%s isn't allowed as an ONBUILD trigger",
				name = hoist_dockerfile_cmd_name(in->sub->cmd));
			return -1;
		}
		break;
	case HOIST_DF_HEALTHCHECK: {
		int h = check_healthcheck(in, msg, max);

		if (h < 0)
			return -1;
		parse_flags = h;
		break;
	}
	case HOIST_DF_EXPOSE:
	case HOIST_DF_VOLUME:
	case HOIST_DF_ARG:
		if (!in->nargs) {
			snprintf(msg, max, "%s requires at least one argument",
				 name);
			return -1;
		}
		break;
	case HOIST_DF_SHELL:
	case HOIST_DF_CMD:
	case HOIST_DF_ENTRYPOINT:
	case HOIST_DF_RUN:
		break;
	}
	if (parse_flags && hoist_dockerfile_flags(&fl, &nfl, in, err)) {
		snprintf(msg, max, "%s", err->msg);
		return -1;
	}
	free(fl);
	switch (in->cmd) {
	case HOIST_DF_HEALTHCHECK:
		if (parse_flags && in->nargs < 2) {
			snprintf(msg, max,
				 "Missing command after HEALTHCHECK CMD");
			return -1;
		}
		break;
	case HOIST_DF_SHELL:
		if (in->json && !in->nargs) {
			snprintf(msg, max,
				 "SHELL requires at least one "
				 "argument");
			return -1;
		}
		if (!in->json) {
			snprintf(msg, max,
				 "SHELL requires the arguments to be in JSON "
				 "form");
			return -1;
		}
		break;
	case HOIST_DF_VOLUME:
		for (size_t i = 0; i < in->nargs; i++)
			if (!in->args[i][0]) {
				snprintf(msg, max,
					 "VOLUME specified can not be an empty "
					 "string");
				return -1;
			}
		break;
	case HOIST_DF_ADD:
	case HOIST_DF_COPY: {
		const char *dest = in->args[in->nargs - 1];

		if (!in->json && strncmp(dest, "<<", 2) == 0) {
			snprintf(msg, max,
				 "%s cannot accept a heredoc as a destination",
				 name);
			return -1;
		}
		break;
	}
	default:
		break;
	}
	return 0;
}

static void push_instr(const struct hoist_df_instr ***v, size_t *n,
		       const struct hoist_df_instr *in)
{
	*v = hoist_xreallocarray((void *)*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = in;
}

int hoist_dockerfile_stages(struct hoist_df_stages *out,
			    const struct hoist_dockerfile *df,
			    struct hoist_err *err)
{
	struct hoist_err tmp;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < df->ninstrs; i++) {
		const struct hoist_df_instr *in = &df->instrs[i];
		struct hoist_df_stage *st;
		struct hoist_df_flag *fl;
		char msg[HOIST_ERR_MSG_MAX];
		size_t nfl;

		hoist_err_clear(&tmp);
		if (check_instr(in, msg, sizeof(msg), &tmp)) {
			rc = hoist_dockerfile_error(
				err, HOIST_EINVAL, df, in, 0,
				"dockerfile parse error on line %d: %s",
				in->line, msg);
			goto out;
		}
		if (in->cmd == HOIST_DF_ARG && !out->nstages) {
			push_instr(&out->meta_args, &out->nmeta_args, in);
			continue;
		}
		if (in->cmd != HOIST_DF_FROM) {
			if (!out->nstages) {
				rc = hoist_dockerfile_error(
					err, HOIST_EINVAL, df, in, 0,
					"no build stage in current context");
				goto out;
			}
			st = &out->stages[out->nstages - 1];
			push_instr(&st->instrs, &st->ninstrs, in);
			continue;
		}
		out->stages = hoist_xreallocarray(out->stages, out->nstages + 1,
						  sizeof(*out->stages));
		st = &out->stages[out->nstages++];
		memset(st, 0, sizeof(*st));
		st->from = in;
		st->base = hoist_xstrdup(in->args[0]);
		if (in->nargs == 3) {
			st->name = hoist_xstrdup(in->args[2]);
			for (char *c = st->name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		}
		hoist_dockerfile_flags(&fl, &nfl, in, &tmp);
		if (hoist_dockerfile_flag(fl, nfl, "platform"))
			st->platform = hoist_xstrdup(
				hoist_dockerfile_flag(fl, nfl, "platform"));
		free(fl);
	}
	if (!out->nstages)
		rc = hoist_dockerfile_error(
			err, HOIST_EINVAL, df, NULL,
			df->ninstrs ? df->instrs[df->ninstrs - 1].end_line : 0,
			"dockerfile contains no stages to "
			"build");
out:
	if (rc)
		hoist_dockerfile_stages_free(out);
	return rc;
}

void hoist_dockerfile_stages_free(struct hoist_df_stages *st)
{
	for (size_t i = 0; i < st->nstages; i++) {
		free(st->stages[i].name);
		free(st->stages[i].base);
		free(st->stages[i].platform);
		free(st->stages[i].instrs);
	}
	free(st->stages);
	free(st->meta_args);
	memset(st, 0, sizeof(*st));
}

long hoist_dockerfile_stage_find(const struct hoist_df_stages *st,
				 const char *name)
{
	for (size_t i = 0; i < st->nstages; i++)
		if (st->stages[i].name &&
		    strcasecmp(st->stages[i].name, name) == 0)
			return (long)i;
	return -1;
}
