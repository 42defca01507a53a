/*
 * dfplan-instr.c: one function per Dockerfile instruction, applying it to
 * the stage being walked as BuildKit's dockerfile2llb dispatch functions
 * do: the config change, the history text, and the filesystem step for
 * COPY, ADD and WORKDIR. See dfplan.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dfgo.h"
#include "lib/dfplan-int.h"
#include "lib/dockerignore.h"
#include "util/mem.h"
#include "util/banned.h"

/* "name=value" words of ARG, split at the first "=". */
static void split_arg(const char *word, char **key, char **value)
{
	const char *eq = strchr(word, '=');

	*key = eq ? hoist_xstrndup(word, (size_t)(eq - word))
		  : hoist_xstrdup(word);
	*value = eq ? hoist_xstrdup(eq + 1) : NULL;
}

/* ---- instructions ---- */

static int do_arg(struct hoist_dfwalk *w, struct hoist_buf *msg)
{
	hoist_buf_adds(msg, "ARG", NULL);
	for (size_t i = 0; i < w->in->nargs; i++) {
		char *rawk, *rawv, *key = NULL, *val = NULL;
		const char *bv;
		int rc;

		split_arg(w->in->args[i], &rawk, &rawv);
		rc = hoist_dfwalk_expand(w, &key, rawk);
		if (!rc && rawv)
			rc = hoist_dfwalk_expand(w, &val, rawv);
		free(rawk);
		free(rawv);
		if (rc) {
			free(key);
			return rc;
		}
		bv = hoist_dfwalk_build_arg(w, key);
		if (bv) {
			free(val);
			val = hoist_xstrdup(bv);
		} else if (!val) {
			long m = hoist_dfstrs_kv_find(&w->plan->meta, key,
						      strlen(key));
			long p = hoist_dfstrs_kv_find(&w->plan->predefined, key,
						      strlen(key));

			if (m >= 0)
				val = hoist_xstrdup(
					strchr(w->plan->meta.v[m], '=') + 1);
			else if (p >= 0)
				val = hoist_xstrdup(
					strchr(w->plan->predefined.v[p], '=') +
					1);
		}
		hoist_buf_printf(msg, NULL, " %s%s%s", key, val ? "=" : "",
				 val ? val : "");
		if (val)
			hoist_dfstrs_kv_set(&w->args, key, val);
		free(key);
		free(val);
	}
	return 0;
}

/* ENV and LABEL: expanded pairs, all against the state before. */
static int do_pairs(struct hoist_dfwalk *w, struct hoist_dfstrs *dst,
		    struct hoist_buf *msg)
{
	struct hoist_dfstrs done = {0};
	int rc = 0;

	hoist_buf_adds(msg, hoist_dockerfile_cmd_name(w->in->cmd), NULL);
	for (size_t i = 0; i + 1 < w->in->nargs && !rc; i += 2) {
		char *k = NULL, *v = NULL;

		if (!(rc = hoist_dfwalk_expand(w, &k, w->in->args[i])) &&
		    !(rc = hoist_dfwalk_expand(w, &v, w->in->args[i + 1]))) {
			hoist_buf_printf(msg, NULL, " %s=%s", k, v);
			hoist_dfstrs_push(&done, k);
			hoist_dfstrs_push(&done, v);
			continue;
		}
		free(k);
	}
	for (size_t i = 0; i + 1 < done.n && !rc; i += 2)
		hoist_dfstrs_kv_set(dst, done.v[i], done.v[i + 1]);
	hoist_dfstrs_free(&done);
	return rc;
}

/* nat.ParsePortSpec for EXPOSE: [ip:[host]:]port[-end][/proto] */
static int port_spec(struct hoist_dfwalk *w, struct hoist_dfstrs *out,
		     const char *s)
{
	const char *c = strrchr(s, ':'), *slash;
	char proto[16] = "tcp", num[32];
	unsigned long lo, hi;
	char *end;

	c = c ? c + 1 : s;
	slash = strchr(c, '/');
	if (slash) {
		size_t pl = strlen(slash + 1);

		if (pl == 0 || pl >= sizeof(proto))
			goto bad_proto;
		for (size_t i = 0; i <= pl; i++)
			proto[i] = (char)((slash[1 + i] >= 'A' &&
					   slash[1 + i] <= 'Z')
						  ? slash[1 + i] + 32
						  : slash[1 + i]);
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") &&
		    strcmp(proto, "sctp"))
			goto bad_proto;
	}
	snprintf(num, sizeof(num), "%.*s",
		 (int)(slash ? (size_t)(slash - c) : strlen(c)), c);
	lo = strtoul(num, &end, 10);
	hi = lo;
	if (end == num || num[0] == '-' || num[0] == '+')
		goto bad_port;
	if (*end == '-') {
		const char *h = end + 1;

		hi = strtoul(h, &end, 10);
		if (end == h || *h == '-' || *h == '+')
			goto bad_port;
	}
	if (*end || lo > 65535 || hi > 65535 || hi < lo)
		goto bad_port;
	for (unsigned long p = lo; p <= hi; p++) {
		snprintf(num, sizeof(num), "%lu/%s", p, proto);
		hoist_dfstrs_set_add(out, num);
	}
	return 0;
bad_proto : {
	char q[HOIST_QUOTE_BUF], m[HOIST_QUOTE_BUF + 32];

	hoist_err_quote(q, sizeof(q), slash ? slash + 1 : "", HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	snprintf(m, sizeof(m), "invalid proto: %s", q);
	return hoist_dfwalk_err(w, HOIST_EINVAL, m);
}
bad_port : {
	char q[HOIST_QUOTE_BUF], m[HOIST_QUOTE_BUF + 32];

	hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	snprintf(m, sizeof(m), "invalid containerPort: %s", q);
	return hoist_dfwalk_err(w, HOIST_EINVAL, m);
}
}

static int do_expose(struct hoist_dfwalk *w, struct hoist_buf *msg)
{
	struct hoist_dfstrs mine = {0};
	int rc = 0;

	for (size_t i = 0; i < w->in->nargs && !rc; i++) {
		char **words;
		size_t n;

		if ((rc = hoist_dfwalk_split(w, &words, &n, w->in->args[i])))
			return rc;
		for (size_t k = 0; k < n && !rc; k++)
			rc = port_spec(w, &mine, words[k]);
		hoist_shellwords_free(words);
	}
	if (rc)
		goto out;
	hoist_buf_adds(msg, "EXPOSE map[", NULL);
	for (size_t i = 0; i < mine.n; i++) {
		hoist_buf_printf(msg, NULL, "%s%s:{}", i ? " " : "", mine.v[i]);
		hoist_dfstrs_set_add(&w->sg->config.ports, mine.v[i]);
	}
	hoist_buf_addch(msg, ']', NULL);
out:
	hoist_dfstrs_free(&mine);
	return rc;
}

/* Linux signal names as moby's signal.SignalMap has them. */
static int valid_signal(const char *s)
{
	static const char *const names[] = {
		"ABRT",   "ALRM",   "BUS",  "CHLD", "CLD",   "CONT",
		"FPE",    "HUP",    "ILL",  "INT",  "IO",    "IOT",
		"KILL",   "PIPE",   "POLL", "PROF", "PWR",   "QUIT",
		"SEGV",   "STKFLT", "STOP", "SYS",  "TERM",  "TRAP",
		"TSTP",   "TTIN",   "TTOU", "URG",  "USR1",  "USR2",
		"VTALRM", "WINCH",  "XCPU", "XFSZ", "RTMIN", "RTMAX",
	};
	char up[32];
	char *end;
	long n = strtol(s, &end, 10);
	size_t i;

	if (*s && !*end)
		return n != 0;
	for (i = 0; s[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]);
	up[i] = 0;
	if (s[i])
		return 0;
	s = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
	for (i = 0; i < HOIST_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	if ((strncmp(s, "RTMIN+", 6) == 0 || strncmp(s, "RTMAX-", 6) == 0)) {
		n = strtol(s + 6, &end, 10);
		return s[6] >= '1' && s[6] <= '9' && !*end && n >= 1 &&
		       n <= (s[3] == 'I' ? 15 : 14);
	}
	return 0;
}

/* The command of CMD/ENTRYPOINT/HEALTHCHECK: JSON strings or one line. */
static void cmdline(const struct hoist_df_instr *in, size_t from,
		    struct hoist_dfstrs *out)
{
	struct hoist_buf b;

	memset(out, 0, sizeof(*out));
	out->set = 1;
	if (in->json) {
		for (size_t i = from; i < in->nargs; i++)
			hoist_dfstrs_push(out, hoist_xstrdup(in->args[i]));
		out->set = 1;
		return;
	}
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	for (size_t i = from; i < in->nargs; i++)
		hoist_buf_printf(&b, NULL, "%s%s", i > from ? " " : "",
				 in->args[i]);
	hoist_dfstrs_push(out, hoist_buf_detach(&b, NULL));
}

/* withShell: the stage's SHELL (default /bin/sh -c) before args. */
static void with_shell(const struct hoist_dfconfig *c,
		       struct hoist_dfstrs *args)
{
	struct hoist_dfstrs out = {0};

	if (c->shell.n) {
		hoist_dfstrs_copy(&out, &c->shell);
	} else {
		hoist_dfstrs_push(&out, hoist_xstrdup("/bin/sh"));
		hoist_dfstrs_push(&out, hoist_xstrdup("-c"));
	}
	for (size_t i = 0; i < args->n; i++)
		hoist_dfstrs_push(&out, hoist_xstrdup(args->v[i]));
	hoist_dfstrs_free(args);
	*args = out;
}

static int flag_duration(struct hoist_dfwalk *w, const struct hoist_df_flag *fl,
			 size_t n, const char *name, int64_t *out)
{
	const char *v = hoist_dockerfile_flag(fl, n, name);
	char q[HOIST_QUOTE_BUF], m[HOIST_QUOTE_BUF + 64];

	*out = 0;
	if (!v || !*v)
		return 0;
	hoist_err_quote(q, sizeof(q), v, HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	if (hoist_dfgo_parse_duration(out, v)) {
		snprintf(m, sizeof(m), "time: invalid duration \"%s\"", q);
		return hoist_dfwalk_err(w, HOIST_EINVAL, m);
	}
	if (*out != 0 && *out < 1000000) {
		snprintf(m, sizeof(m),
			 "Interval \"%s\" cannot be less than 1ms", name);
		return hoist_dfwalk_err(w, HOIST_EINVAL, m);
	}
	return 0;
}

static int do_healthcheck(struct hoist_dfwalk *w, struct hoist_buf *msg)
{
	const struct hoist_df_instr *in = w->in;
	struct hoist_dfhealth *h = hoist_xcalloc(1, sizeof(*h));
	struct hoist_df_flag *fl = NULL;
	size_t nfl = 0;
	char d[4][40];
	int rc = 0;

	if (strcasecmp(in->args[0], "NONE") == 0) {
		hoist_dfstrs_push(&h->test, hoist_xstrdup("NONE"));
	} else {
		const char *r;
		struct hoist_dfstrs cmd;

		hoist_dockerfile_flags(&fl, &nfl, in, w->err);
		if ((rc = flag_duration(w, fl, nfl, "interval",
					&h->interval)) ||
		    (rc = flag_duration(w, fl, nfl, "timeout", &h->timeout)) ||
		    (rc = flag_duration(w, fl, nfl, "start-period",
					&h->start_period)) ||
		    (rc = flag_duration(w, fl, nfl, "start-interval",
					&h->start_interval)))
			goto out;
		if ((r = hoist_dockerfile_flag(fl, nfl, "retries")) && *r) {
			char *end, m[HOIST_QUOTE_BUF + 64], q[HOIST_QUOTE_BUF];
			long long v = strtoll(r, &end, 10);

			hoist_err_quote(q, sizeof(q), r, HOIST_QUOTE_ALL,
					HOIST_QUOTE_UTF8);
			if (*end || end == r || v > 2147483647LL ||
			    v < -2147483648LL) {
				snprintf(m, sizeof(m),
					 "strconv.ParseInt: parsing \"%s\": "
					 "invalid syntax",
					 q);
				rc = hoist_dfwalk_err(w, HOIST_EINVAL, m);
				goto out;
			}
			if (v < 0) {
				snprintf(m, sizeof(m),
					 "--retries cannot be negative (%lld)",
					 v);
				rc = hoist_dfwalk_err(w, HOIST_EINVAL, m);
				goto out;
			}
			h->retries = (int)v;
		}
		hoist_dfstrs_push(
			&h->test,
			hoist_xstrdup(in->json ? "CMD" : "CMD-SHELL"));
		cmdline(in, 1, &cmd);
		for (size_t i = 0; i < cmd.n; i++)
			hoist_dfstrs_push(&h->test, hoist_xstrdup(cmd.v[i]));
		hoist_dfstrs_free(&cmd);
	}
	hoist_buf_adds(msg, "HEALTHCHECK &{", NULL);
	hoist_dfgo_quote_list(msg, h->test.v, h->test.n);
	hoist_buf_printf(msg, NULL, " \"%s\" \"%s\" \"%s\" \"%s\" ",
			 hoist_dfgo_duration(h->interval, d[0]),
			 hoist_dfgo_duration(h->timeout, d[1]),
			 hoist_dfgo_duration(h->start_period, d[2]),
			 hoist_dfgo_duration(h->start_interval, d[3]));
	hoist_dfgo_quote_rune(msg, h->retries);
	hoist_buf_addch(msg, '}', NULL);
	if (w->sg->config.health) {
		hoist_dfstrs_free(&w->sg->config.health->test);
		free(w->sg->config.health);
	}
	w->sg->config.health = h;
	h = NULL;
out:
	free(fl);
	if (h) {
		hoist_dfstrs_free(&h->test);
		free(h);
	}
	return rc;
}

static struct hoist_dfstep *new_step(struct hoist_dfwalk *w,
				     enum hoist_dfstep_kind kind)
{
	struct hoist_dfstage *sg = w->sg;
	struct hoist_dfstep *st;

	sg->steps = hoist_xreallocarray(sg->steps, sg->nsteps + 1,
					sizeof(*sg->steps));
	st = &sg->steps[sg->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->instr = w->in;
	st->from_stage = -1;
	st->workdir =
		hoist_xstrdup(sg->config.workdir ? sg->config.workdir : "/");
	return st;
}

static const struct hoist_df_heredoc *heredoc(const struct hoist_df_instr *in,
					      const char *word)
{
	char name[256];
	size_t k = 0;

	/* a source written <<NAME, <<-NAME, <<"NAME"... names a heredoc */
	if (in->json || strncmp(word, "<<", 2) != 0)
		return NULL;
	word += 2;
	word += *word == '-';
	for (; *word && k + 1 < sizeof(name); word++)
		if (*word != '\'' && *word != '"')
			name[k++] = *word;
	name[k] = 0;
	for (size_t i = 0; i < in->nheredocs; i++)
		if (strcmp(in->heredocs[i].name, name) == 0)
			return &in->heredocs[i];
	return NULL;
}

static int opt_flag(struct hoist_dfwalk *w, const struct hoist_df_flag *fl,
		    size_t n, const char *name, char **out)
{
	const char *v = hoist_dockerfile_flag(fl, n, name);

	*out = NULL;
	return v ? hoist_dfwalk_expand(w, out, v) : 0;
}

static int bool_flag(const struct hoist_df_flag *fl, size_t n, const char *name)
{
	const char *v = hoist_dockerfile_flag(fl, n, name);

	return v && strcmp(v, "true") == 0;
}

static int do_copy(struct hoist_dfwalk *w, struct hoist_buf *msg)
{
	const struct hoist_df_instr *in = w->in;
	struct hoist_dfstep *st =
		new_step(w, in->cmd == HOIST_DF_ADD ? HOIST_DFSTEP_ADD
						    : HOIST_DFSTEP_COPY);
	struct hoist_df_flag *fl = NULL;
	size_t nfl = 0;
	const char *from;
	int rc;

	hoist_dockerfile_flags(&fl, &nfl, in, w->err);
	if ((rc = opt_flag(w, fl, nfl, "chown", &st->chown)) ||
	    (rc = opt_flag(w, fl, nfl, "chmod", &st->chmod)) ||
	    (rc = opt_flag(w, fl, nfl, "checksum", &st->checksum)))
		goto out;
	st->link = bool_flag(fl, nfl, "link");
	st->parents = bool_flag(fl, nfl, "parents");
	st->keep_git_dir = bool_flag(fl, nfl, "keep-git-dir");
	for (size_t i = 0; i < nfl; i++) {
		char *x;

		if (strcmp(fl[i].name, "exclude") != 0)
			continue;
		if ((rc = hoist_dfwalk_expand(w, &x, fl[i].value)))
			goto out;
		hoist_dfstrs_push(&st->excludes, x);
	}
	if ((from = hoist_dockerfile_flag(fl, nfl, "from"))) {
		st->from_stage = hoist_dfplan_stage_ref(w->plan, from);
		if (st->from_stage < 0)
			st->from_image = hoist_xstrdup(from);
	}
	hoist_buf_adds(msg, in->cmd == HOIST_DF_ADD ? "ADD" : "COPY", NULL);
	for (size_t i = 0; i + 1 < in->nargs; i++) {
		char *x;

		if (heredoc(in, in->args[i]))
			continue;
		if ((rc = hoist_dfwalk_expand(w, &x, in->args[i])))
			goto out;
		hoist_buf_printf(msg, NULL, " %s", x);
		hoist_dfstrs_push(&st->sources, x);
	}
	for (size_t i = 0; i + 1 < in->nargs; i++) {
		const struct hoist_df_heredoc *h = heredoc(in, in->args[i]);
		struct hoist_dfinline *il;

		if (!h)
			continue;
		st->inlines = hoist_xreallocarray(st->inlines, st->ninlines + 1,
						  sizeof(*st->inlines));
		il = &st->inlines[st->ninlines++];
		il->name = hoist_xstrdup(h->name);
		il->content = NULL;
		if (h->expand) {
			struct hoist_shellwords_env none = {NULL, 0};
			struct hoist_shellwords lex = {
				'\\', HOIST_SHELLWORDS_NO_QUOTES, &none};
			char **vars = NULL;
			size_t nv = 0;
			struct hoist_err e;

			hoist_dfwalk_vars(w, &vars, &nv);
			none.vars = (const char *const *)vars;
			none.n = nv;
			rc = hoist_shellwords_word(&il->content, &lex,
						   h->content, &e);
			free(vars);
			if (rc) {
				rc = hoist_dfwalk_err(w, rc, e.msg);
				goto out;
			}
		} else {
			il->content = hoist_xstrdup(h->content);
		}
		hoist_buf_printf(msg, NULL, " <<%s", h->name);
	}
	if ((rc = hoist_dfwalk_expand(w, &st->dest, in->args[in->nargs - 1])))
		goto out;
	hoist_buf_printf(msg, NULL, " %s # buildkit", st->dest);
out:
	free(fl);
	return rc;
}

/* system.NormalizeWorkdir: relative to the current one, cleaned. */
static int do_workdir(struct hoist_dfwalk *w, struct hoist_buf *msg, int *empty)
{
	struct hoist_dfconfig *c = &w->sg->config;
	char *p, *joined, *wd;
	int rc;

	if ((rc = hoist_dfwalk_expand(w, &p, w->in->args[0])))
		return rc;
	if (!*p) {
		free(p);
		return hoist_dfwalk_err(w, HOIST_EINVAL,
					"cannot normalize nothing");
	}
	joined = p[0] == '/' ? hoist_xstrdup(p)
			     : hoist_xasprintf("/%s/%s",
					       c->workdir ? c->workdir : "", p);
	wd = hoist_dockerignore_clean(joined);
	free(joined);
	free(p);
	free(c->workdir);
	c->workdir = wd;
	hoist_buf_printf(msg, NULL, "WORKDIR %s", wd);
	*empty = strcmp(wd, "/") == 0;
	if (!*empty) {
		struct hoist_dfstep *st = new_step(w, HOIST_DFSTEP_MKDIR);

		st->dest = hoist_xstrdup(wd);
		st->user = c->user ? hoist_xstrdup(c->user) : NULL;
	}
	return 0;
}

static int do_one(struct hoist_dfwalk *w, char **field)
{
	char *v;
	int rc = hoist_dfwalk_expand(w, &v, w->in->args[0]);

	if (rc)
		return rc;
	free(*field);
	*field = v;
	return 0;
}

int hoist_dfwalk_instr(struct hoist_dfwalk *w, struct hoist_buf *msg,
		       int *empty)
{
	const struct hoist_df_instr *in = w->in;
	struct hoist_dfconfig *c = &w->sg->config;
	struct hoist_dfstrs cmd;
	int rc = 0;

	*empty = 1;
	switch (in->cmd) {
	case HOIST_DF_ARG:
		return do_arg(w, msg);
	case HOIST_DF_ENV:
		return do_pairs(w, &c->env, msg);
	case HOIST_DF_LABEL:
		return do_pairs(w, &c->labels, msg);
	case HOIST_DF_EXPOSE:
		return do_expose(w, msg);
	case HOIST_DF_HEALTHCHECK:
		return do_healthcheck(w, msg);
	case HOIST_DF_WORKDIR:
		return do_workdir(w, msg, empty);
	case HOIST_DF_COPY:
	case HOIST_DF_ADD:
		*empty = 0;
		return do_copy(w, msg);
	case HOIST_DF_USER:
		if (!(rc = do_one(w, &c->user)))
			hoist_buf_printf(msg, NULL, "USER %s", c->user);
		return rc;
	case HOIST_DF_STOPSIGNAL:
		if ((rc = do_one(w, &c->stopsignal)))
			return rc;
		if (!valid_signal(c->stopsignal)) {
			char q[HOIST_QUOTE_BUF], m[HOIST_QUOTE_BUF + 32];

			hoist_err_quote(q, sizeof(q), c->stopsignal,
					HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
			snprintf(m, sizeof(m), "Invalid signal: %s", q);
			return hoist_dfwalk_err(w, HOIST_EINVAL, m);
		}
		hoist_buf_printf(msg, NULL, "STOPSIGNAL %s", c->stopsignal);
		return 0;
	case HOIST_DF_MAINTAINER:
		free(c->author);
		c->author = hoist_xstrdup(in->args[0]);
		hoist_buf_printf(msg, NULL, "MAINTAINER %s", c->author);
		return 0;
	case HOIST_DF_VOLUME: {
		struct hoist_dfstrs v = {0};

		for (size_t i = 0; i < in->nargs && !rc; i++) {
			char *x;

			if ((rc = hoist_dfwalk_expand(w, &x, in->args[i])))
				break;
			if (!*x) {
				free(x);
				rc = hoist_dfwalk_err(w, HOIST_EINVAL,
						      "VOLUME specified can "
						      "not be an empty string");
				break;
			}
			hoist_dfstrs_push(&v, x);
		}
		if (!rc) {
			for (size_t i = 0; i < v.n; i++)
				hoist_dfstrs_set_add(&c->volumes, v.v[i]);
			hoist_buf_adds(msg, "VOLUME ", NULL);
			hoist_dfgo_list(msg, v.v, v.n);
		}
		hoist_dfstrs_free(&v);
		return rc;
	}
	case HOIST_DF_SHELL:
		hoist_dfstrs_free(&c->shell);
		cmdline(in, 0, &c->shell);
		hoist_buf_adds(msg, "SHELL ", NULL);
		hoist_dfgo_list(msg, c->shell.v, c->shell.n);
		return 0;
	case HOIST_DF_CMD:
		cmdline(in, 0, &cmd);
		if (!in->json)
			with_shell(c, &cmd);
		hoist_dfstrs_free(&c->cmd);
		c->cmd = cmd;
		w->cmd_set = 1;
		hoist_buf_adds(msg, "CMD ", NULL);
		hoist_dfgo_quote_list(msg, c->cmd.v, c->cmd.n);
		return 0;
	case HOIST_DF_ENTRYPOINT:
		cmdline(in, 0, &cmd);
		hoist_buf_adds(msg, "ENTRYPOINT ", NULL);
		hoist_dfgo_quote_list(msg, cmd.v, cmd.n);
		if (!in->json)
			with_shell(c, &cmd);
		hoist_dfstrs_free(&c->entrypoint);
		c->entrypoint = cmd;
		if (!w->cmd_set)
			hoist_dfstrs_free(&c->cmd);
		return 0;
	case HOIST_DF_ONBUILD: {
		/* the trigger as written, heredoc bodies appended */
		struct hoist_buf t;

		hoist_buf_init(&t, HOIST_BUF_UNLIMITED);
		hoist_buf_adds(&t, in->sub->original, NULL);
		for (size_t i = 0; i < in->nheredocs; i++)
			hoist_buf_printf(&t, NULL, "\n%s%s",
					 in->heredocs[i].content,
					 in->heredocs[i].name);
		hoist_dfstrs_push(&c->onbuild, hoist_buf_detach(&t, NULL));
		*empty = -1; /* no history entry */
		return 0;
	}
	case HOIST_DF_RUN:
		return hoist_dockerfile_error(
			w->err, HOIST_EUNSUPPORTED, w->plan->df, in, 0,
			"RUN needs a container runtime; hoist builds without "
			"one");
	default:
		return hoist_dfwalk_err(w, HOIST_EINVAL,
					"instruction not allowed here");
	}
}
