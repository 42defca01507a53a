/*
 * platform.h: OCI platforms "os/arch[/variant]" with containerd's
 * normalisation: lower case; aarch64 -> arm64 (variant v8 dropped);
 * x86_64, x86-64 -> amd64; i386 -> 386; armhf -> arm/v7; armel -> arm/v6;
 * arm without variant -> arm/v7; arm variants "7" -> "v7"; macos -> darwin.
 * A single component is an OS if it is a known OS (the architecture is then
 * the host's), otherwise an architecture (the OS is linux).
 * Two components "arch/vN" whose first is a known architecture and no known
 * OS ("arm64/v8", "arm/v6") mean linux/arch/vN, as buildx users write them.
 */
#ifndef HOIST_LIB_PLATFORM_H
#define HOIST_LIB_PLATFORM_H

#include <stddef.h>

#include "util/err.h"

struct hoist_platform {
	char os[32];
	char arch[32];
	char variant[32]; /* "" when none */
};

/* Parse and normalise s. HOIST_EINVAL with a message for bad input. */
int hoist_platform_parse(struct hoist_platform *out, const char *s,
			 struct hoist_err *err);
/* The host platform (linux/<uname arch>), normalised. */
void hoist_platform_host(struct hoist_platform *out);
/* "linux/arm/v7" into buf (truncated safely). Returns buf. */
char *hoist_platform_format(const struct hoist_platform *p, char *buf,
			    size_t len);
/* "linux_arm_v7" (the local/tar exporter directory name) into buf. */
char *hoist_platform_id(const struct hoist_platform *p, char *buf, size_t len);
/* 1 if a and b are the same platform after normalisation. */
int hoist_platform_equal(const struct hoist_platform *a,
			 const struct hoist_platform *b);
/*
 * Parse a comma-separated list ("linux/amd64,linux/arm64"); duplicates are
 * an error. *out is a heap array of *n entries owned by the caller.
 */
int hoist_platform_parse_list(struct hoist_platform **out, size_t *n,
			      const char *s, struct hoist_err *err);

#endif
