/*
 * dockerfile.h: the Dockerfile parser, as BuildKit's frontend/dockerfile
 * parser and instructions packages read a Dockerfile.
 *
 * Two steps, as in BuildKit:
 *
 *  1. hoist_dockerfile_parse() reads the text into instructions: parser
 *     directives at the top ("# syntax=" recorded, "# escape=" honoured,
 *     "# check=" recorded), comments, line continuations (comment lines
 *     inside a continuation are dropped, empty continuation lines counted),
 *     heredocs ("<<EOF", "<<-EOF", quoted delimiters, several per line),
 *     the JSON (exec) form against the shell form, and the "--flag" words
 *     at the start of the arguments. Unknown instructions and RUN are kept
 *     as they are: the frontend decides what to refuse.
 *
 *  2. hoist_dockerfile_stages() checks every instruction as BuildKit's
 *     instructions.Parse does (unknown instruction, flags each instruction
 *     takes, argument counts, FROM's "AS name") and groups them into the
 *     global ARGs before the first FROM and the stages.
 *
 * Errors carry the file, the line and the instruction:
 *   Dockerfile:3: dockerfile parse error on line 3: unknown instruction:
 *   FOO (in 'FOO bar')
 * with BuildKit's wording after the location.
 */
#ifndef HOIST_LIB_DOCKERFILE_H
#define HOIST_LIB_DOCKERFILE_H

#include <stddef.h>

#include "util/err.h"

/* A Dockerfile larger than this is refused (HOIST_ELIMIT). */
#define HOIST_DOCKERFILE_MAX (16u * 1024 * 1024)

enum hoist_df_cmd {
	HOIST_DF_UNKNOWN = 0,
	HOIST_DF_ADD,
	HOIST_DF_ARG,
	HOIST_DF_CMD,
	HOIST_DF_COPY,
	HOIST_DF_ENTRYPOINT,
	HOIST_DF_ENV,
	HOIST_DF_EXPOSE,
	HOIST_DF_FROM,
	HOIST_DF_HEALTHCHECK,
	HOIST_DF_LABEL,
	HOIST_DF_MAINTAINER,
	HOIST_DF_ONBUILD,
	HOIST_DF_RUN,
	HOIST_DF_SHELL,
	HOIST_DF_STOPSIGNAL,
	HOIST_DF_USER,
	HOIST_DF_VOLUME,
	HOIST_DF_WORKDIR,
};

struct hoist_df_heredoc {
	char *name;    /* the delimiter, quotes removed ("EOF") */
	char *content; /* the body, each line with its newline; for "<<-"
			* the leading tabs of every line are removed */
	int expand;    /* 0 when the delimiter was quoted: no substitution */
	int chomp;     /* "<<-" */
	unsigned fd;   /* "2<<EOF": 2; else 0 */
};

/*
 * One instruction. args depend on the instruction, as BuildKit's parser
 * nodes do:
 *  - JSON form (json = 1; CMD ENTRYPOINT RUN SHELL ADD COPY VOLUME and
 *    HEALTHCHECK CMD): the strings of the array;
 *  - FROM, EXPOSE and the shell form of ADD COPY VOLUME: the words, split
 *    at white space (quotes are not interpreted here);
 *  - CMD ENTRYPOINT RUN SHELL (shell form), MAINTAINER USER WORKDIR
 *    STOPSIGNAL: the whole rest of the line as one argument;
 *  - ENV and LABEL: key, value, key, value... (quotes still in place; the
 *    legacy "ENV key value" form gives one pair);
 *  - ARG: the words ("name" or "name=value", quotes still in place);
 *  - HEALTHCHECK: the type ("CMD", "NONE"...) then the command (JSON
 *    strings, or the rest as one argument);
 *  - ONBUILD: no args; sub is the trigger instruction;
 *  - unknown instructions: no args.
 * Empty arguments give nargs = 0.
 */
struct hoist_df_instr {
	enum hoist_df_cmd cmd;
	char *keyword;  /* the instruction word as written ("copy") */
	char *original; /* the logical line: continuations joined */
	int line;       /* first line, 1-based */
	int end_line;   /* last line, heredoc bodies included */
	char **flags;   /* the "--name[=value]" words, as written */
	size_t nflags;
	char **args;
	size_t nargs;
	int json;
	struct hoist_df_heredoc *heredocs;
	size_t nheredocs;
	struct hoist_df_instr *sub; /* ONBUILD's trigger, or NULL */
};

struct hoist_dockerfile {
	char *name;   /* for messages ("Dockerfile", or the -f path) */
	char escape;  /* '\\' or '`' */
	char *syntax; /* "# syntax=" value, or NULL */
	char *check;  /* "# check=" value, or NULL */
	struct hoist_df_instr *instrs;
	size_t ninstrs;
	/* lines of instructions that had an empty continuation line, which
	 * BuildKit warns about */
	int *empty_continuations;
	size_t nempty_continuations;
};

/*
 * Parse len bytes of data (need not be NUL-terminated). name is used in
 * messages. *out is a heap object owned by the caller, NULL on error.
 * Errors: HOIST_EINVAL (one line: "NAME:LINE: message"), HOIST_ELIMIT
 * (larger than HOIST_DOCKERFILE_MAX).
 */
int hoist_dockerfile_parse(struct hoist_dockerfile **out, const char *name,
			   const char *data, size_t len, struct hoist_err *err);

/* Free a parsed Dockerfile and everything it holds; NULL is a no-op. */
void hoist_dockerfile_free(struct hoist_dockerfile *df);

/* The upper-case name of an instruction ("COPY"); "" for unknown. */
const char *hoist_dockerfile_cmd_name(enum hoist_df_cmd cmd);

/*
 * Set err to a message about instruction in of df, in the one-line form
 * every Dockerfile error has:  NAME:LINE: MESSAGE (in 'ORIGINAL')
 * (the instruction text is quoted with hoist_err_quote and shortened).
 * Returns code. in may be NULL (then no instruction is shown, and line is
 * taken as given).
 */
int hoist_dockerfile_error(struct hoist_err *err, int code,
			   const struct hoist_dockerfile *df,
			   const struct hoist_df_instr *in, int line,
			   const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* ---- step 2: instructions and stages ---- */

/* A flag an instruction took ("--from=build": name "from", value "build";
 * a boolean flag alone has value "true"). */
struct hoist_df_flag {
	const char *name;  /* points into the instruction's flags */
	const char *value; /* idem, or a static "true" / "false" */
};

struct hoist_df_stage {
	char *name;     /* lower-cased "AS" name, or NULL */
	char *base;     /* FROM's image, not yet expanded */
	char *platform; /* --platform value, not yet expanded, or NULL */
	const struct hoist_df_instr *from;
	const struct hoist_df_instr **instrs; /* after FROM */
	size_t ninstrs;
};

struct hoist_df_stages {
	const struct hoist_df_instr **meta_args; /* ARGs before FROM */
	size_t nmeta_args;
	struct hoist_df_stage *stages;
	size_t nstages;
};

/*
 * Check every instruction of df as BuildKit's instructions.Parse does and
 * group them into stages. Checked: unknown instructions ("unknown
 * instruction: FOO"), the flags each instruction takes and their form
 * ("unknown flag: foo", "missing a value on flag: from", ...), argument
 * counts, FROM's form and stage name, SHELL's JSON form, HEALTHCHECK's
 * type and options, ONBUILD triggers, instructions before any FROM, a
 * Dockerfile with no FROM. RUN is accepted here (it is a valid
 * instruction); refusing it is the build's business.
 *
 * *out points into df (which must outlive it); free it with
 * hoist_dockerfile_stages_free. Errors: HOIST_EINVAL, message as
 * hoist_dockerfile_error makes it.
 */
int hoist_dockerfile_stages(struct hoist_df_stages *out,
			    const struct hoist_dockerfile *df,
			    struct hoist_err *err);

/* Free what hoist_dockerfile_stages allocated; the struct is zeroed. */
void hoist_dockerfile_stages_free(struct hoist_df_stages *st);

/*
 * Parse the flags of in against the flags its instruction takes, as
 * BuildKit's BFlags.Parse does. *out (heap, owned by the caller, *n
 * entries) lists each flag given, in order; a flag that may repeat
 * (--exclude) appears once per use. Errors: HOIST_EINVAL with BuildKit's
 * wording, without location (the caller adds it).
 */
int hoist_dockerfile_flags(struct hoist_df_flag **out, size_t *n,
			   const struct hoist_df_instr *in,
			   struct hoist_err *err);

/* The value of flag name in flags (last one given), or NULL. */
const char *hoist_dockerfile_flag(const struct hoist_df_flag *flags, size_t n,
				  const char *name);

/* The index of the stage called name (case-insensitive), or -1. */
long hoist_dockerfile_stage_find(const struct hoist_df_stages *st,
				 const char *name);

#endif
