/*
 * regconf.h: per-registry settings from containers-registries.conf(5),
 * version 2, the files podman, skopeo and buildah users already have,
 * read as containers/image reads them.
 *
 * Files (hoist_regconf_load): the main file is $CONTAINERS_REGISTRIES_CONF
 * when set (it must exist), else ~/.config/containers/registries.conf
 * when it exists, else /etc/containers/registries.conf (may be missing).
 * Then the *.conf drop-ins, in name order, of
 * /etc/containers/registries.conf.d (not when the user's main file is
 * used) and of ~/.config/containers/registries.conf.d. A [[registry]] of
 * a later file replaces the earlier one with the same prefix; within one
 * file the first of two equal prefixes wins.
 *
 * Honoured: [[registry]] prefix, location, insecure, blocked,
 * mirror-by-digest-only, and its [[registry.mirror]] location, insecure,
 * pull-from-mirror. Keys other tools use (unqualified-search-registries,
 * short-name-mode, credential-helpers, [aliases], ...) are read and
 * ignored quietly; any other key, and version 1 [registries.*] tables,
 * get one warning each ("'FILE' line N: key 'K' is ignored by hoist").
 *
 * Checked as containers/image checks them: a prefix or location with
 * http:// or https://, a [[registry]] with neither prefix nor location, a
 * prefix without location that is not "*.example.com", a wildcard
 * prefix with '/', ':' or '@', a mirror without location, an unknown
 * pull-from-mirror, pull-from-mirror together with
 * mirror-by-digest-only, and one location given conflicting insecure or
 * blocked values. A trailing '/' is dropped.
 *
 * The reader handles the TOML subset these files use: comments, bare and
 * quoted keys, basic and literal strings (with \" \\ \t \n \uXXXX
 * escapes), booleans, integers, arrays of those, [table] and
 * [[array-of-tables]] headers. Input is capped at 1 MiB; anything else is
 * HOIST_EINVAL with the file and line: one line saying what, where, why.
 */
#ifndef HOIST_LIB_REGCONF_H
#define HOIST_LIB_REGCONF_H

#include <stddef.h>

#include "util/err.h"

enum hoist_regconf_pull_from {
	HOIST_REGCONF_PULL_ALL = 0,     /* "all" (the default) */
	HOIST_REGCONF_PULL_DIGEST_ONLY, /* "digest-only" */
	HOIST_REGCONF_PULL_TAG_ONLY,    /* "tag-only" */
};

struct hoist_regconf_mirror {
	char *location; /* "host[:port][/path]" */
	int insecure;
	enum hoist_regconf_pull_from pull_from;
};

struct hoist_regconf_registry {
	char *prefix;   /* "host[:port][/path][:tag|@digest]" or "*.domain" */
	char *location; /* NULL only for a wildcard prefix: the ref as is */
	int insecure;
	int blocked;
	int mirror_by_digest_only;
	struct hoist_regconf_mirror *mirrors;
	size_t nmirrors;
	char *file; /* where it was defined, for messages */
	int line;
};

struct hoist_regconf {
	struct hoist_regconf_registry *regs;
	size_t nregs;
};

/*
 * Parse one file's text (len bytes, need not be NUL-terminated) and add
 * its registries to c. name is the file name for messages. Unknown keys
 * are logged as warnings. Returns 0, HOIST_EINVAL (a syntax error, a
 * wrong value type, a check above) or HOIST_ELIMIT (over 1 MiB, over 1000
 * registries or 100 mirrors each); on failure c keeps what earlier calls
 * added and what this one added before the error (release it either way).
 */
int hoist_regconf_parse(struct hoist_regconf *c, const char *text, size_t len,
			const char *name, struct hoist_err *err);

/*
 * Read the files listed above into c (zeroed first). 0, or the first
 * file's error (HOIST_EINVAL, HOIST_ELIMIT, HOIST_ENOTFOUND for a missing
 * $CONTAINERS_REGISTRIES_CONF, HOIST_EIO); c is to be released either way.
 */
int hoist_regconf_load(struct hoist_regconf *c, struct hoist_err *err);

/*
 * The process's configuration: hoist_regconf_load() done once (thread
 * safe) and kept, as containers/image caches it. 0 with *out borrowed for
 * the life of the process, or the load's error, again on every call.
 */
int hoist_regconf_system(const struct hoist_regconf **out,
			 struct hoist_err *err);

/*
 * The entry whose prefix matches ref ("host/repo", "host/repo:tag" or
 * "host/repo@digest"): the prefix followed by the end, '/', ':' or '@';
 * a wildcard "*.example.com" matches any subdomain's host. The longest
 * prefix wins, then the first. NULL when none does. Borrowed from c.
 */
const struct hoist_regconf_registry *
hoist_regconf_find(const struct hoist_regconf *c, const char *ref);

/* One place to try: a reference rewritten by registries.conf. */
struct hoist_regconf_source {
	char *ref;    /* "host/repo[:tag][@digest]" to ask there */
	int insecure; /* that endpoint's insecure */
	int mirror;   /* 1 for a [[registry.mirror]] */
};

/*
 * Where to go for ref (normalised, with its domain). For a pull: the
 * entry's mirrors that serve this kind of reference (by digest or by tag,
 * after mirror-by-digest-only and pull-from-mirror), in order, then the
 * location, each with the matched prefix replaced. Otherwise (a push, a
 * tag list): ref itself, never a mirror, with the entry's insecure.
 * Without an entry: ref itself. c may be NULL. 0 with *out (n entries,
 * free with hoist_regconf_sources_free), or HOIST_EUNSUPPORTED for a
 * blocked registry ("registry 'P' is blocked in 'FILE' line N").
 */
int hoist_regconf_sources(const struct hoist_regconf *c, const char *ref,
			  int pull, struct hoist_regconf_source **out,
			  size_t *n, struct hoist_err *err);
void hoist_regconf_sources_free(struct hoist_regconf_source *s, size_t n);

void hoist_regconf_release(struct hoist_regconf *c);

#endif
