/*
 * sbom.c: package databases of a root filesystem (dpkg status, apk
 * installed, os-release) read safely and turned into an SPDX 2.3 JSON
 * document (see sbom.h).
 *
 * The parsers take a buffer, so the fuzz target (tests/fuzz/fuzz-sbom.c)
 * drives exactly the code a hostile rootfs reaches. Every field a
 * package keeps is bounded and checked: names and architectures are from
 * a package-name alphabet, versions printable ASCII, other text valid
 * UTF-8 without control characters (bad bytes become '?').
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif

#include "lib/attest.h"
#include "lib/image.h"
#include "lib/sbom.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

void hoist_sbom_init(struct hoist_sbom *s)
{
	memset(s, 0, sizeof(*s));
}

const char *const hoist_sbom_db_paths[HOIST_SBOM_NDB] = {
	"etc/os-release", "usr/lib/os-release", HOIST_SBOM_DPKG,
	HOIST_SBOM_APK};

static void pkg_release(struct hoist_sbom_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source);
	free(p->supplier);
	free(p->license);
	memset(p, 0, sizeof(*p));
}

static void truncate_pkgs(struct hoist_sbom *s, size_t n)
{
	while (s->npkgs > n)
		pkg_release(&s->pkgs[--s->npkgs]);
}

void hoist_sbom_release(struct hoist_sbom *s)
{
	truncate_pkgs(s, 0);
	free(s->pkgs);
	free(s->distro);
	free(s->distro_version);
	hoist_sbom_init(s);
}

/* One line of data from *pos (without "\n" or "\r\n"); 0 at the end. */
static int next_line(const char *data, size_t len, size_t *pos,
		     const char **line, size_t *n)
{
	const char *s, *e;
	size_t l;

	if (*pos >= len)
		return 0;
	s = data + *pos;
	e = memchr(s, '\n', len - *pos);
	l = e ? (size_t)(e - s) : len - *pos;
	*pos += l + (e ? 1 : 0);
	if (l && s[l - 1] == '\r')
		l--;
	*line = s;
	*n = l;
	return 1;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned min, cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, min = 0x80, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, min = 0x800, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* Free text: valid UTF-8, control characters and bad bytes become '?'. */
static char *text_dup(const char *s, size_t n)
{
	char *out = hoist_xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t l = utf8_len(u, n - i);

		if (l == 0 || (l == 1 && (u[0] < 0x20 || u[0] == 0x7f))) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, u, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return out;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '_' ||
	       c == '-';
}

/* 1 if every byte of s[0..n) passes ok, and n > 0 */
static int all_chars(const char *s, size_t n, int (*ok)(char))
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!ok(s[i]))
			return 0;
	return 1;
}

static int version_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The fields a stanza keeps, before validation. */
enum { F_NAME, F_VERSION, F_ARCH, F_SOURCE, F_SUPPLIER, F_LICENSE, F_N };

struct stanza {
	const char *v[F_N];
	size_t n[F_N];
	size_t line; /* of its first kept field */
	int not_installed;
	int seen; /* a field line was read */
};

struct parser {
	struct hoist_sbom *s;
	const char *type;
	const char *what;
	struct hoist_err *err;
};

static const char *const field_names[F_N] = {
	"name", "version", "architecture", "source", "maintainer", "license"};

/* Validate and add st as a package; stanzas without name or version
 * (dpkg's half-removed entries, apk's empty tail) are skipped. */
static int add_stanza(struct parser *ps, struct stanza *st)
{
	struct hoist_sbom *s = ps->s;
	struct hoist_sbom_pkg *p;

	if (st->not_installed || !st->v[F_NAME] || !st->v[F_VERSION])
		return 0;
	for (int f = 0; f < F_N; f++)
		if (st->v[f] && st->n[f] > HOIST_SBOM_FIELD_MAX)
			return hoist_err_set(
				ps->err, HOIST_ELIMIT,
				"'%s' line %zu: %s longer than %d bytes",
				ps->what, st->line, field_names[f],
				HOIST_SBOM_FIELD_MAX);
	if (!all_chars(st->v[F_NAME], st->n[F_NAME], name_char) ||
	    !all_chars(st->v[F_VERSION], st->n[F_VERSION], version_char) ||
	    (st->v[F_ARCH] &&
	     !all_chars(st->v[F_ARCH], st->n[F_ARCH], name_char)))
		return hoist_err_set(ps->err, HOIST_EINVAL,
				     "'%s' line %zu: invalid package name, "
				     "version or architecture",
				     ps->what, st->line);
	if (s->npkgs >= HOIST_SBOM_PKG_MAX)
		return hoist_err_set(ps->err, HOIST_ELIMIT,
				     "'%s': more than %d packages", ps->what,
				     HOIST_SBOM_PKG_MAX);
	if ((s->npkgs & (s->npkgs - 1)) == 0)
		s->pkgs = hoist_xreallocarray(
			s->pkgs, s->npkgs ? s->npkgs * 2 : 16, sizeof(*p));
	p = &s->pkgs[s->npkgs++];
	memset(p, 0, sizeof(*p));
	p->type = ps->type;
	p->name = hoist_xstrndup(st->v[F_NAME], st->n[F_NAME]);
	p->version = hoist_xstrndup(st->v[F_VERSION], st->n[F_VERSION]);
	if (st->v[F_ARCH])
		p->arch = hoist_xstrndup(st->v[F_ARCH], st->n[F_ARCH]);
	if (st->v[F_SOURCE] && st->n[F_SOURCE])
		p->source = text_dup(st->v[F_SOURCE], st->n[F_SOURCE]);
	if (st->v[F_SUPPLIER] && st->n[F_SUPPLIER])
		p->supplier = text_dup(st->v[F_SUPPLIER], st->n[F_SUPPLIER]);
	if (st->v[F_LICENSE] && st->n[F_LICENSE])
		p->license = text_dup(st->v[F_LICENSE], st->n[F_LICENSE]);
	return 0;
}

static void set_field(struct stanza *st, int f, const char *v, size_t n,
		      size_t line)
{
	if (!st->line)
		st->line = line;
	st->v[f] = v;
	st->n[f] = n;
}

/* dpkg's Status: "want flag status"; only "installed" counts. */
static int dpkg_installed(const char *v, size_t n)
{
	const char *sp = NULL;

	for (size_t i = n; i > 0; i--)
		if (v[i - 1] == ' ') {
			sp = v + i;
			break;
		}
	if (!sp)
		return 0;
	n -= (size_t)(sp - v);
	return n == 9 && memcmp(sp, "installed", 9) == 0;
}

/* One non-empty line of a stanza: 0, or an error already set. */
typedef int (*line_fn)(struct parser *ps, struct stanza *st, const char *line,
		       size_t n, size_t lineno);

/* Stanzas separated by empty lines, each line handed to fn. */
static int parse_stanzas(struct parser *ps, const char *data, size_t len,
			 line_fn fn)
{
	size_t pos = 0, lineno = 0, start = ps->s->npkgs, n;
	struct stanza st;
	const char *line;
	int ret = 0, in_stanza = 0;

	memset(&st, 0, sizeof(st));
	for (;;) {
		int more = next_line(data, len, &pos, &line, &n);

		lineno++;
		if (!more || n == 0) {
			if (in_stanza && (ret = add_stanza(ps, &st)))
				break;
			memset(&st, 0, sizeof(st));
			in_stanza = 0;
			if (!more)
				break;
			continue;
		}
		if ((ret = fn(ps, &st, line, n, lineno)))
			break;
		in_stanza = 1;
	}
	if (ret)
		truncate_pkgs(ps->s, start);
	return ret;
}

static int dpkg_line(struct parser *ps, struct stanza *st, const char *line,
		     size_t n, size_t lineno)
{
	const char *colon, *v;
	size_t k, vn;

	if (line[0] == ' ' || line[0] == '\t') {
		/* Description, Conffiles: not kept; but a stanza cannot
		 * start with one */
		if (st->seen)
			return 0;
		return hoist_err_set(ps->err, HOIST_EINVAL,
				     "'%s' line %zu: continuation line "
				     "without a field",
				     ps->what, lineno);
	}
	colon = memchr(line, ':', n);
	if (!colon || colon == line)
		return hoist_err_set(ps->err, HOIST_EINVAL,
				     "'%s' line %zu: expected 'Field: value'",
				     ps->what, lineno);
	st->seen = 1;
	k = (size_t)(colon - line);
	v = colon + 1;
	vn = n - k - 1;
	trim(&v, &vn);
	if (k == 7 && strncasecmp(line, "package", 7) == 0) {
		set_field(st, F_NAME, v, vn, lineno);
	} else if (k == 7 && strncasecmp(line, "version", 7) == 0) {
		set_field(st, F_VERSION, v, vn, lineno);
	} else if (k == 12 && strncasecmp(line, "architecture", 12) == 0) {
		set_field(st, F_ARCH, v, vn, lineno);
	} else if (k == 10 && strncasecmp(line, "maintainer", 10) == 0) {
		set_field(st, F_SUPPLIER, v, vn, lineno);
	} else if (k == 6 && strncasecmp(line, "source", 6) == 0) {
		/* "glibc (2.36-9)": the name only */
		const char *sp = memchr(v, ' ', vn);
		set_field(st, F_SOURCE, v, sp ? (size_t)(sp - v) : vn, lineno);
	} else if (k == 6 && strncasecmp(line, "status", 6) == 0) {
		st->not_installed = !dpkg_installed(v, vn);
	}
	return 0;
}

int hoist_sbom_parse_dpkg(struct hoist_sbom *s, const char *data, size_t len,
			  const char *what, struct hoist_err *err)
{
	struct parser ps = {s, "deb", what, err};

	return parse_stanzas(&ps, data, len, dpkg_line);
}

static int apk_line(struct parser *ps, struct stanza *st, const char *line,
		    size_t n, size_t lineno)
{
	static const char keys[] = "PVAomL";
	static const int fields[] = {F_NAME,   F_VERSION,  F_ARCH,
				     F_SOURCE, F_SUPPLIER, F_LICENSE};
	const char *k;

	if (n < 2 || line[1] != ':' || line[0] == ' ' || line[0] == '\t')
		return hoist_err_set(ps->err, HOIST_EINVAL,
				     "'%s' line %zu: expected 'K:value'",
				     ps->what, lineno);
	k = line[0] ? strchr(keys, line[0]) : NULL;
	if (k)
		set_field(st, fields[k - keys], line + 2, n - 2, lineno);
	return 0;
}

int hoist_sbom_parse_apk(struct hoist_sbom *s, const char *data, size_t len,
			 const char *what, struct hoist_err *err)
{
	struct parser ps = {s, "apk", what, err};

	return parse_stanzas(&ps, data, len, apk_line);
}

static int id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

void hoist_sbom_parse_os_release(struct hoist_sbom *s, const char *data,
				 size_t len)
{
	size_t pos = 0, n;
	const char *line;

	while (next_line(data, len, &pos, &line, &n)) {
		const char *eq = memchr(line, '=', n), *v;
		char **dst;
		size_t vn;

		if (!eq)
			continue;
		if (eq - line == 2 && memcmp(line, "ID", 2) == 0)
			dst = &s->distro;
		else if (eq - line == 10 && memcmp(line, "VERSION_ID", 10) == 0)
			dst = &s->distro_version;
		else
			continue;
		v = eq + 1;
		vn = n - (size_t)(eq - line) - 1;
		if (vn >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[vn - 1] == v[0]) {
			v++;
			vn -= 2;
		}
		if (vn > 64 || !all_chars(v, vn, id_char))
			continue;
		free(*dst);
		*dst = hoist_xstrndup(v, vn);
	}
}

#if defined(SYS_openat2) && defined(RESOLVE_IN_ROOT)
static int open_in_root_kernel(int rootfd, const char *path)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	for (int i = 0; i < 8; i++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return (errno == ENOSYS || errno == EPERM) ? -ENOSYS : -errno;
}
#else
static int open_in_root_kernel(int rootfd, const char *path)
{
	(void)rootfd;
	(void)path;
	return -ENOSYS;
}
#endif

/*
 * Open root/path for reading without leaving root. Without openat2 the
 * walk follows no symlink at all (ELOOP), which is safe and only misses
 * databases behind a symlinked directory. An fd or a negative errno.
 */
static int open_in_root(int rootfd, const char *path)
{
	char comp[256];
	int fd = open_in_root_kernel(rootfd, path), dfd;

	if (fd != -ENOSYS)
		return fd;
	dfd = dup(rootfd);
	if (dfd < 0)
		return -errno;
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (n >= sizeof(comp)) {
			close(dfd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = openat(dfd, comp,
			      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
				      O_NONBLOCK | (slash ? O_DIRECTORY : 0));
		if (next < 0) {
			int e = errno;
			close(dfd);
			return -e;
		}
		close(dfd);
		dfd = next;
		if (!slash)
			return dfd;
		p = slash + 1;
	}
}

/* Read path under the topmost root that has it: 0, or HOIST_ENOTFOUND. */
static int read_db(char **out, size_t *len, const char *const *roots,
		   size_t nroots, const char *path, struct hoist_err *err)
{
	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < nroots; i++) {
		struct stat st;
		size_t got;
		int rfd, fd, ret;

		rfd = open(roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0)
			return hoist_err_sys(err, errno, "open '%s'", roots[i]);
		fd = open_in_root(rfd, path);
		close(rfd);
		if (fd == -ENOENT || fd == -ENOTDIR)
			continue;
		if (fd < 0)
			return hoist_err_sys(err, -fd, "open '%s' in '%s'",
					     path, roots[i]);
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			return hoist_err_set(err, HOIST_EINVAL,
					     "'%s' in '%s' is not a regular "
					     "file",
					     path, roots[i]);
		}
		if ((uint64_t)st.st_size > HOIST_SBOM_DB_MAX) {
			close(fd);
			return hoist_err_set(err, HOIST_ELIMIT,
					     "'%s' in '%s' is larger than %u "
					     "bytes",
					     path, roots[i], HOIST_SBOM_DB_MAX);
		}
		*out = hoist_xmalloc((size_t)st.st_size + 1);
		ret = hoist_fs_read_full(fd, *out, (size_t)st.st_size, &got,
					 path, err);
		close(fd);
		if (ret) {
			free(*out);
			*out = NULL;
			return ret;
		}
		*len = got;
		return 0;
	}
	return HOIST_ENOTFOUND;
}

struct dir_roots {
	const char *const *roots;
	size_t n;
};

static int read_dirs(void *ctx, const char *path, char **data, size_t *len,
		     struct hoist_err *err)
{
	const struct dir_roots *d = ctx;
	return read_db(data, len, d->roots, d->n, path, err);
}

int hoist_sbom_scan(struct hoist_sbom *s, const char *const *roots,
		    size_t nroots, struct hoist_err *err)
{
	struct dir_roots d = {roots, nroots};
	return hoist_sbom_scan_fn(s, read_dirs, &d, err);
}

int hoist_sbom_scan_fn(struct hoist_sbom *s, hoist_sbom_read_fn rd, void *ctx,
		       struct hoist_err *err)
{
	char *data;
	size_t len;
	int ret;

	for (size_t i = 0; i < 2; i++) {
		ret = rd(ctx, hoist_sbom_db_paths[i], &data, &len, err);
		if (ret == HOIST_ENOTFOUND)
			continue;
		if (ret)
			return ret;
		hoist_sbom_parse_os_release(s, data, len);
		free(data);
		break;
	}
	ret = rd(ctx, HOIST_SBOM_DPKG, &data, &len, err);
	if (ret == 0) {
		ret = hoist_sbom_parse_dpkg(s, data, len, HOIST_SBOM_DPKG, err);
		free(data);
	}
	if (ret && ret != HOIST_ENOTFOUND)
		return ret;
	ret = rd(ctx, HOIST_SBOM_APK, &data, &len, err);
	if (ret == 0) {
		ret = hoist_sbom_parse_apk(s, data, len, HOIST_SBOM_APK, err);
		free(data);
	}
	if (ret && ret != HOIST_ENOTFOUND)
		return ret;
	return 0;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_pkg(const void *x, const void *y)
{
	const struct hoist_sbom_pkg *a =
		*(const struct hoist_sbom_pkg *const *)x;
	const struct hoist_sbom_pkg *b =
		*(const struct hoist_sbom_pkg *const *)y;
	int c = strcmp(a->type, b->type);

	if (!c)
		c = strcmp(a->name, b->name);
	if (!c)
		c = strcmp(a->version, b->version);
	if (!c)
		c = cmp_str(a->arch, b->arch);
	return c;
}

static char *pkg_purl(const struct hoist_sbom *s,
		      const struct hoist_sbom_pkg *p)
{
	struct hoist_buf b;

	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	hoist_buf_printf(&b, NULL, "pkg:%s/", p->type);
	if (s->distro)
		hoist_buf_printf(&b, NULL, "%s/", s->distro);
	hoist_attest_purl_add(&b, p->name, 0);
	hoist_buf_addch(&b, '@', NULL);
	hoist_attest_purl_add(&b, p->version, 0);
	if (p->arch)
		hoist_buf_printf(&b, NULL, "?arch=%s", p->arch);
	if (s->distro)
		hoist_buf_printf(&b, NULL, "%sdistro=%s%s%s",
				 p->arch ? "&" : "?", s->distro,
				 s->distro_version ? "-" : "",
				 s->distro_version ? s->distro_version : "");
	return hoist_buf_detach(&b, NULL);
}

/* "Name <mail>" -> "Person: Name (mail)", as SPDX wants suppliers */
static char *supplier(const char *m)
{
	char *out, *o;

	if (!m)
		return hoist_xstrdup("NOASSERTION");
	out = hoist_xasprintf("Person: %s", m);
	for (o = out; *o; o++) {
		if (*o == '<')
			*o = '(';
		else if (*o == '>')
			*o = ')';
	}
	return out;
}

static int license_char(char c)
{
	return name_char(c) || c == ' ' || c == '(' || c == ')' || c == ':';
}

static json_t *spdx_pkg(const struct hoist_sbom *s,
			const struct hoist_sbom_pkg *p, const char *id,
			const char *purl)
{
	json_t *o = json_object(), *refs = json_array(), *r;
	char *sup = supplier(p->supplier);
	int lic = p->license &&
		  all_chars(p->license, strlen(p->license), license_char);

	(void)s;
	hoist_json_set_str(o, "name", p->name);
	hoist_json_set_str(o, "SPDXID", id);
	hoist_json_set_str(o, "versionInfo", p->version);
	hoist_json_set_str(o, "supplier", sup);
	hoist_json_set_str(o, "downloadLocation", "NOASSERTION");
	json_object_set_new(o, "filesAnalyzed", json_false());
	hoist_json_set_str(o, "licenseConcluded", "NOASSERTION");
	hoist_json_set_str(o, "licenseDeclared",
			   lic ? p->license : "NOASSERTION");
	hoist_json_set_str(o, "copyrightText", "NOASSERTION");
	if (p->source) {
		char *si = hoist_xasprintf("built package from: %s", p->source);
		hoist_json_set_str(o, "sourceInfo", si);
		free(si);
	}
	r = json_object();
	hoist_json_set_str(r, "referenceCategory", "PACKAGE-MANAGER");
	hoist_json_set_str(r, "referenceType", "purl");
	hoist_json_set_str(r, "referenceLocator", purl);
	json_array_append_new(refs, r);
	json_object_set_new(o, "externalRefs", refs);
	free(sup);
	return o;
}

static json_t *relationship(const char *a, const char *type, const char *b)
{
	json_t *o = json_object();

	hoist_json_set_str(o, "spdxElementId", a);
	hoist_json_set_str(o, "relationshipType", type);
	hoist_json_set_str(o, "relatedSpdxElement", b);
	return o;
}

json_t *hoist_sbom_spdx(const struct hoist_sbom *s, const char *name,
			int64_t created, const char *version)
{
	const struct hoist_sbom_pkg **sorted;
	json_t *doc, *ci, *creators, *pkgs, *rels, *root;
	struct hoist_sha256 ns;
	char hex[HOIST_SHA256_HEXLEN + 1], when[32];
	char *tool, *nsurl, *safe = text_dup(name, strlen(name));
	size_t n = 0;

	sorted = hoist_xcalloc(s->npkgs ? s->npkgs : 1, sizeof(*sorted));
	for (size_t i = 0; i < s->npkgs; i++)
		sorted[i] = &s->pkgs[i];
	if (s->npkgs)
		qsort(sorted, s->npkgs, sizeof(*sorted), cmp_pkg);

	pkgs = json_array();
	rels = json_array();
	json_array_append_new(rels,
			      relationship("SPDXRef-DOCUMENT", "DESCRIBES",
					   "SPDXRef-RootFS"));
	root = json_object();
	hoist_json_set_str(root, "name", safe);
	hoist_json_set_str(root, "SPDXID", "SPDXRef-RootFS");
	hoist_json_set_str(root, "downloadLocation", "NOASSERTION");
	json_object_set_new(root, "filesAnalyzed", json_false());
	hoist_json_set_str(root, "primaryPackagePurpose", "CONTAINER");
	json_array_append_new(pkgs, root);
	hoist_sha256_init(&ns);
	hoist_sha256_update(&ns, safe, strlen(safe) + 1);
	for (size_t i = 0; i < s->npkgs; i++) {
		const struct hoist_sbom_pkg *p = sorted[i];
		char *purl, *id, *key;

		if (i && cmp_pkg(&sorted[i], &sorted[i - 1]) == 0)
			continue; /* the same package listed twice */
		purl = pkg_purl(s, p);
		hoist_sha256_update(&ns, purl, strlen(purl) + 1);
		key = hoist_xasprintf("%s\n%s\n%s\n%s", p->type, p->name,
				      p->version, p->arch ? p->arch : "");
		hoist_sha256_hex(key, strlen(key), hex);
		id = hoist_xasprintf("SPDXRef-Package-%s-%s-%.16s", p->type,
				     p->name, hex);
		for (char *c = id; *c; c++)
			if (*c == '+' || *c == '_')
				*c = '-';
		json_array_append_new(pkgs, spdx_pkg(s, p, id, purl));
		json_array_append_new(
			rels, relationship("SPDXRef-RootFS", "CONTAINS", id));
		free(key);
		free(id);
		free(purl);
		n++;
	}
	hoist_sha256_final_hex(&ns, hex);
	free(sorted);

	doc = json_object();
	hoist_json_set_str(doc, "spdxVersion", "SPDX-2.3");
	hoist_json_set_str(doc, "dataLicense", "CC0-1.0");
	hoist_json_set_str(doc, "SPDXID", "SPDXRef-DOCUMENT");
	hoist_json_set_str(doc, "name", safe);
	nsurl = hoist_xasprintf("https://hoist.invalid/spdx/%s", hex);
	hoist_json_set_str(doc, "documentNamespace", nsurl);
	free(nsurl);
	ci = json_object();
	hoist_image_time(created, when);
	hoist_json_set_str(ci, "created", when);
	creators = json_array();
	tool = hoist_xasprintf("Tool: hoist-%s", version ? version : "");
	json_array_append_new(creators, json_string(tool));
	free(tool);
	json_object_set_new(ci, "creators", creators);
	json_object_set_new(doc, "creationInfo", ci);
	json_object_set_new(doc, "packages", pkgs);
	json_object_set_new(doc, "relationships", rels);
	free(safe);
	return doc;
}
