/*
 * platform.c: OCI platforms ("linux/arm/v7") as buildx and containerd
 * spell them.
 *
 * The rules follow containerd's platforms.Parse followed by
 * platforms.Normalize, which is what buildx applies to --platform: after
 * normalisation "linux/arm" and "linux/arm/v7" are the same platform, and
 * so are "aarch64", "arm64/v8" and "linux/arm64". Normalising once on the
 * way in means every later comparison is a plain string comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "lib/platform.h"
#include "util/mem.h"
#include "util/banned.h"

/* More than this many platforms in one list is surely a mistake. */
#define LIST_MAX 256

/* containerd's isKnownOS and isKnownArch (GOOS and GOARCH values). */
static const char *const known_os[] = {
	"aix",     "android", "darwin",  "dragonfly", "freebsd", "hurd",
	"illumos", "ios",     "js",      "linux",     "nacl",    "netbsd",
	"openbsd", "plan9",   "solaris", "wasip1",    "windows", "zos",
};

static const char *const known_arch[] = {
	"386",     "amd64",    "amd64p32",  "arm",         "armbe",   "arm64",
	"arm64be", "ppc64",    "ppc64le",   "loong64",     "mips",    "mipsle",
	"mips64",  "mips64le", "mips64p32", "mips64p32le", "ppc",     "riscv",
	"riscv64", "s390",     "s390x",     "sparc",       "sparc64", "wasm",
};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static void set(char *dst, const char *s)
{
	/* every field is char[32]; callers pass checked or literal text */
	snprintf(dst, 32, "%s", s);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* "8" or "8.1": a variant written without its leading 'v'. */
static int bare_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return 0;
	return 1;
}

/*
 * "v8", "v8.2": what an architecture variant looks like. A bare number is
 * not enough: "386" is an architecture.
 */
static int variant_like(const char *s)
{
	if (*s != 'v' && *s != 'V')
		return 0;
	s++;
	return *s >= '0' && *s <= '9' && bare_number(s);
}

/* "8" -> "v8"; var is a char[32]. */
static void add_v(char *var)
{
	size_t n = strlen(var);

	if (n + 1 >= 32)
		return;
	memmove(var + 1, var, n + 1);
	var[0] = 'v';
}

/* containerd's normalizeOS and normalizeArch, in place. */
static void normalize(struct hoist_platform *p)
{
	char *arch = p->arch, *var = p->variant;

	lower(p->os);
	lower(arch);
	lower(var);
	if (strcmp(p->os, "macos") == 0)
		set(p->os, "darwin");

	if (strcmp(arch, "i386") == 0) {
		set(arch, "386");
		var[0] = '\0';
	} else if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "x86-64") == 0 ||
		   strcmp(arch, "amd64") == 0) {
		set(arch, "amd64");
		if (strcmp(var, "v1") == 0)
			var[0] = '\0';
	} else if (strcmp(arch, "aarch64") == 0 || strcmp(arch, "arm64") == 0) {
		set(arch, "arm64");
		if (bare_number(var))
			add_v(var);
		if (strcmp(var, "v8") == 0 || strcmp(var, "v8.0") == 0)
			var[0] = '\0';
		else if (strcmp(var, "v9.0") == 0)
			set(var, "v9");
	} else if (strcmp(arch, "armhf") == 0) {
		set(arch, "arm");
		set(var, "v7");
	} else if (strcmp(arch, "armel") == 0) {
		set(arch, "arm");
		set(var, "v6");
	} else if (strcmp(arch, "arm") == 0) {
		if (!var[0] || strcmp(var, "7") == 0)
			set(var, "v7");
		else if (strcmp(var, "5") == 0 || strcmp(var, "6") == 0 ||
			 strcmp(var, "8") == 0)
			add_v(var);
	}
}

/* Map uname's machine names onto GOARCH and its variant. */
static void host_arch(char *arch, char *variant, const char *machine)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{"x86_64", "amd64", ""},
		{"amd64", "amd64", ""},
		{"i386", "386", ""},
		{"i486", "386", ""},
		{"i586", "386", ""},
		{"i686", "386", ""},
		{"aarch64", "arm64", ""},
		{"arm64", "arm64", ""},
		{"armv5tel", "arm", "v5"},
		{"armv6l", "arm", "v6"},
		{"armv7l", "arm", "v7"},
		{"armv8l", "arm", "v7"},
		{"ppc64le", "ppc64le", ""},
		{"s390x", "s390x", ""},
		{"riscv64", "riscv64", ""},
		{"mips64", "mips64", ""},
		{"loongarch64", "loong64", ""},
	};

	for (size_t i = 0; i < HOIST_ARRAY_SIZE(map); i++) {
		if (strcmp(machine, map[i].machine) == 0) {
			set(arch, map[i].arch);
			set(variant, map[i].variant);
			return;
		}
	}
	set(arch, machine);
	variant[0] = '\0';
}

void hoist_platform_host(struct hoist_platform *out)
{
	struct utsname u;

	memset(out, 0, sizeof(*out));
	set(out->os, "linux");
	if (uname(&u) == 0)
		host_arch(out->arch, out->variant, u.machine);
	else
		set(out->arch, "amd64");
	normalize(out);
}

int hoist_platform_parse(struct hoist_platform *out, const char *s,
			 struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];
	char part[3][32];
	size_t nparts = 0, start = 0, len;

	memset(out, 0, sizeof(*out));
	if (!s)
		s = "";
	hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
	len = strlen(s);
	if (len == 0)
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid platform '': platform is empty");
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (i < len && c != '/') {
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			    c == '.')
				continue;
			if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				return hoist_err_set(
					err, HOIST_EINVAL,
					"invalid platform '%s': invalid byte "
					"0x%02x",
					q, (unsigned char)c);
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid platform '%s': invalid "
					     "character '%c'",
					     q, c);
		}
		if (i == start)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid platform '%s': empty "
					     "component",
					     q);
		if (nparts == 3)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid platform '%s': more than "
					     "os/arch/variant",
					     q);
		if (i - start >= sizeof(part[0]))
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid platform '%s': component "
					     "longer than %zu characters",
					     q, sizeof(part[0]) - 1);
		memcpy(part[nparts], s + start, i - start);
		part[nparts][i - start] = '\0';
		nparts++;
		start = i + 1;
	}

	if (nparts == 1) {
		lower(part[0]);
		if (strcmp(part[0], "macos") == 0)
			set(part[0], "darwin");
		if (in_list(part[0], known_os, HOIST_ARRAY_SIZE(known_os))) {
			struct hoist_platform host;
			hoist_platform_host(&host);
			set(out->os, part[0]);
			set(out->arch, host.arch);
			set(out->variant, host.variant);
			return 0;
		}
		set(out->os, "linux");
		set(out->arch, part[0]);
		normalize(out);
		if (!in_list(out->arch, known_arch,
			     HOIST_ARRAY_SIZE(known_arch))) {
			memset(out, 0, sizeof(*out));
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid platform '%s': unknown "
					     "operating system or architecture",
					     q);
		}
		return 0;
	}
	/*
	 * "arm64/v8" and "arm/v7": containerd would read an OS "arm64"; buildx
	 * users mean an architecture and variant on Linux. Only taken when the
	 * first part is no known OS but a known architecture and the second
	 * looks like a variant, so that a printed "os/arch" always parses back
	 * to itself.
	 */
	if (nparts == 2 && variant_like(part[1])) {
		struct hoist_platform t;
		memset(&t, 0, sizeof(t));
		set(t.os, part[0]);
		set(t.arch, part[0]);
		set(t.variant, part[1]);
		normalize(&t);
		if (!in_list(t.os, known_os, HOIST_ARRAY_SIZE(known_os)) &&
		    in_list(t.arch, known_arch, HOIST_ARRAY_SIZE(known_arch))) {
			set(out->os, "linux");
			set(out->arch, part[0]);
			set(out->variant, part[1]);
			normalize(out);
			return 0;
		}
	}
	set(out->os, part[0]);
	set(out->arch, part[1]);
	if (nparts == 3)
		set(out->variant, part[2]);
	normalize(out);
	return 0;
}

char *hoist_platform_format(const struct hoist_platform *p, char *buf,
			    size_t len)
{
	if (len == 0)
		return buf;
	snprintf(buf, len, "%s/%s%s%s", p->os, p->arch,
		 p->variant[0] ? "/" : "", p->variant);
	return buf;
}

char *hoist_platform_id(const struct hoist_platform *p, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	snprintf(buf, len, "%s_%s%s%s", p->os, p->arch,
		 p->variant[0] ? "_" : "", p->variant);
	return buf;
}

int hoist_platform_equal(const struct hoist_platform *a,
			 const struct hoist_platform *b)
{
	struct hoist_platform x = *a, y = *b;

	/* callers may have filled the structs by hand; the last byte is NUL */
	x.os[31] = x.arch[31] = x.variant[31] = '\0';
	y.os[31] = y.arch[31] = y.variant[31] = '\0';
	normalize(&x);
	normalize(&y);
	return strcmp(x.os, y.os) == 0 && strcmp(x.arch, y.arch) == 0 &&
	       strcmp(x.variant, y.variant) == 0;
}

int hoist_platform_parse_list(struct hoist_platform **out, size_t *n,
			      const char *s, struct hoist_err *err)
{
	struct hoist_platform *list = NULL;
	size_t count = 0;
	char q[HOIST_QUOTE_BUF];
	const char *p;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!s)
		s = "";
	hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
	p = s;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *item;

		/* buildx users write "linux/amd64, linux/arm64" */
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "invalid platform list '%s': empty "
					   "entry",
					   q);
			goto out;
		}
		if (count == LIST_MAX) {
			rc = hoist_err_set(err, HOIST_ELIMIT,
					   "invalid platform list '%s': more "
					   "than %d platforms",
					   q, LIST_MAX);
			goto out;
		}
		list = hoist_xreallocarray(list, count + 1, sizeof(*list));
		item = hoist_xstrndup(p, len);
		rc = hoist_platform_parse(&list[count], item, err);
		free(item);
		if (rc)
			goto out;
		for (size_t i = 0; i < count; i++) {
			if (hoist_platform_equal(&list[i], &list[count])) {
				char f[100];
				hoist_platform_format(&list[i], f, sizeof(f));
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"invalid platform list '%s': "
					"duplicate platform '%s'",
					q, f);
				goto out;
			}
		}
		count++;
		if (!end)
			break;
		p = end + 1;
	}
	*out = list;
	*n = count;
	list = NULL;
out:
	free(list);
	return rc;
}
