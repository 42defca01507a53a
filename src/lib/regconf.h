/*
 * regconf.h: per-registry settings from containers-registries.conf(5),
 * version 2, the files podman, skopeo and buildah users already have.
 *
 * Files, in this order (later [[registry]] entries with the same prefix
 * replace earlier ones): $CONTAINERS_REGISTRIES_CONF alone when it is
 * set; else ~/.config/containers/registries.conf when it exists, else
 * /etc/containers/registries.conf, then the *.conf files of the
 * matching registries.conf.d directory in name order.
 *
 * Honoured: [[registry]] prefix, location, insecure, blocked, and its
 * [[registry.mirror]] location and insecure. Everything else
 * (unqualified-search-registries, short-name-mode, [aliases],
 * mirror-by-digest-only, pull-from-mirror, credential-helpers, version 1
 * [registries.*] tables) is read and ignored with one warning per key.
 *
 * The reader handles the TOML subset these files use: comments, bare and
 * quoted keys, basic and literal strings (with \" \\ \t \n \uXXXX
 * escapes), booleans, integers, arrays of those, [table] and
 * [[array-of-tables]] headers. Input is capped at 1 MiB; anything else is
 * HOIST_EINVAL with the file and line.
 */
#ifndef HOIST_LIB_REGCONF_H
#define HOIST_LIB_REGCONF_H

#include <stddef.h>

#include "util/err.h"

struct hoist_regconf_mirror {
	char *location; /* "host[:port][/path]" */
	int insecure;
};

struct hoist_regconf_registry {
	char *prefix;   /* "host[:port][/path]"; the location when unset */
	char *location; /* NULL: the prefix itself */
	int insecure;
	int blocked;
	struct hoist_regconf_mirror *mirrors;
	size_t nmirrors;
};

struct hoist_regconf {
	struct hoist_regconf_registry *regs;
	size_t nregs;
};

/*
 * Parse one file's text (len bytes, need not be NUL-terminated) and add
 * its registries to c. name is the file name for messages. Unknown keys
 * are logged as warnings. Returns 0, HOIST_EINVAL (a syntax error, a
 * wrong value type, a [[registry]] without prefix or location) or
 * HOIST_ELIMIT (over 1 MiB, over 1000 registries or 100 mirrors each);
 * on failure c keeps what earlier calls added.
 */
int hoist_regconf_parse(struct hoist_regconf *c, const char *text, size_t len,
			const char *name, struct hoist_err *err);

/* Read the files listed above into c (zeroed first). 0 or an error. */
int hoist_regconf_load(struct hoist_regconf *c, struct hoist_err *err);

/*
 * The entry whose prefix matches "host/repo" on a component boundary,
 * the longest one, or NULL. Borrowed from c.
 */
const struct hoist_regconf_registry *
hoist_regconf_find(const struct hoist_regconf *c, const char *host,
		   const char *repo);

void hoist_regconf_release(struct hoist_regconf *c);

#endif
