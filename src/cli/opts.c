/*
 * opts.c: the options several commands share, parsed in one place: the
 * registry flags, --progress, -q/--quiet, -h/--help, and the getopt tail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "lib/http.h"
#include "lib/ref.h"
#include "util/fs.h"
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

/*
 * A duration: one or more NUMBER UNIT pairs ("90s", "1m30s", "1.5h",
 * "500ms"), units ms, s, m, h; a bare number is seconds. Positive, at
 * most 7 days. *ms in milliseconds.
 */
static int parse_duration(long *ms, const char *s, struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];
	const char *p = s;
	double total = 0;

	hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	while (*p) {
		double v = 0, frac = 0.1, unit;
		int digits = 0;

		for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
			v = v * 10 + (*p - '0');
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9' && digits < 12;
			     p++, digits++, frac /= 10)
				v += (*p - '0') * frac;
		if (!digits)
			goto bad;
		if (strncmp(p, "ms", 2) == 0)
			unit = 1, p += 2;
		else if (*p == 's')
			unit = 1000, p++;
		else if (*p == 'm')
			unit = 60000, p++;
		else if (*p == 'h')
			unit = 3600000, p++;
		else if (!*p && p - s == digits)
			unit = 1000; /* a bare number: seconds */
		else
			goto bad;
		total += v * unit;
	}
	if (total < 1 || total > 7 * 86400000.0)
		goto bad;
	*ms = (long)total;
	return 0;
bad:
	return hoist_err_set(err, HOIST_EINVAL,
			     "invalid duration '%s': want a positive time "
			     "such as 30s, 10m or 1h30m (at most 7 days)",
			     q);
}

/* Apply one registry flag. */
static int registry_opt(int c, const char *arg, struct hoist_registry_opts *o,
			struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];

	switch (c) {
	case HOIST_OPT_CA_CERT:
		if (!hoist_fs_exists(arg))
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "--ca-cert '%s': no such file",
					     hoist_err_quote(q, sizeof(q), arg,
							     HOIST_QUOTE_ALL,
							     HOIST_QUOTE_UTF8));
		o->conn.ca_file = arg;
		return 0;
	case HOIST_OPT_INSECURE:
		o->conn.insecure = 1;
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
		o->conn.max_concurrent = (int)v;
		return 0;
	}
	case HOIST_OPT_HTTP_VERSION:
		if (strcmp(arg, "1.1") == 0)
			o->conn.http_version = HOIST_HTTP_V1;
		else if (strcmp(arg, "2") == 0)
			o->conn.http_version = HOIST_HTTP_V2;
		else if (strcmp(arg, "auto") == 0)
			o->conn.http_version = HOIST_HTTP_AUTO;
		else
			return hoist_err_set(err, HOIST_EINVAL,
					     "--http-version wants 1.1, 2 or "
					     "auto, not '%s'",
					     hoist_err_quote(q, sizeof(q), arg,
							     HOIST_QUOTE_ALL,
							     HOIST_QUOTE_UTF8));
		return 0;
	case HOIST_OPT_NO_RESUME:
		o->no_resume = 1;
		return 0;
	case HOIST_OPT_TIMEOUT: {
		long ms = 0;
		if (parse_duration(&ms, arg, err))
			return hoist_err_prefix(err, "--timeout");
		/* the command's deadline runs from here, its start */
		hoist_http_set_deadline(ms);
		return 0;
	}
	}
	return hoist_err_set(err, HOIST_EINVAL, "unknown registry option");
}

int hoist_cli_opt(struct hoist_cli_opts *o, int c, const char *arg)
{
	struct hoist_err err;

	hoist_err_clear(&err);
	if (o->reg && c >= HOIST_OPT_CA_CERT && c <= HOIST_OPT_REGISTRY_LAST) {
		if (!registry_opt(c, arg, o->reg, &err))
			return 0;
		/* a bad value: status 1, as hoist(1) says */
		o->status = hoist_msg_error(&err);
		return 1;
	}
	switch (c) {
	case HOIST_OPT_PROGRESS:
		if (hoist_msg_parse_progress(&o->progress, arg) < 0) {
			o->status = hoist_msg_usage(
				o->cmd, "invalid --progress '%s'", arg);
			return 1;
		}
		return 0;
	case 'q':
		o->quiet = 1;
		o->progress = HOIST_PROGRESS_QUIET;
		return 0;
	case 'h':
		fputs(o->usage, stdout);
		o->status = HOIST_EXIT_OK;
		return 1;
	}
	o->status = hoist_msg_usage(o->cmd, "invalid option");
	return 1;
}

int hoist_cli_wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 1;
		}
	return 0;
}

int hoist_cli_norm_name(char **out, const char *name, struct hoist_err *err)
{
	struct hoist_ref r;
	int rc = hoist_ref_parse(
		&r, name, HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG, err);
	if (rc)
		return rc;
	*out = hoist_ref_string(&r);
	hoist_ref_release(&r);
	return 0;
}
