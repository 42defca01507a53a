/*
 * dfbuild-path.c: how COPY and ADD read a root (the build context, a
 * stage's unpacked filesystem): paths resolved inside it as the unpacker
 * resolves them, globs expanded as Go's filepath.Glob, names looked up
 * in its /etc/passwd and /etc/group, and local archives recognised.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/dfbuild-int.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

#define MAX_LINKS 40

char *hoist_dfb_join(const char *a, const char *b)
{
	if (!*a)
		return hoist_xstrdup(b);
	if (!*b)
		return hoist_xstrdup(a);
	return hoist_xasprintf("%s/%s", a, b);
}

int hoist_dfb_resolve(char **out, const char *root, const char *path,
		      int follow)
{
	char *cur = hoist_xstrdup(""), *rest = hoist_xstrdup(path);
	int links = 0;

	for (;;) {
		char *p = rest, *slash, *comp, *next, *full, *target;
		struct stat sb;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		slash = strchr(p, '/');
		comp = slash ? hoist_xstrndup(p, (size_t)(slash - p))
			     : hoist_xstrdup(p);
		next = hoist_xstrdup(slash ? slash : "");
		free(rest);
		rest = next;
		if (!strcmp(comp, ".")) {
			free(comp);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *up = strrchr(cur, '/');
			if (up)
				*up = '\0';
			else
				cur[0] = '\0';
			free(comp);
			continue;
		}
		next = hoist_dfb_join(cur, comp);
		free(comp);
		full = hoist_xasprintf("%s/%s", root, next);
		target = NULL;
		if (lstat(full, &sb) == 0 && S_ISLNK(sb.st_mode) &&
		    (follow || strspn(rest, "/") != strlen(rest))) {
			size_t tl;
			if (++links > MAX_LINKS ||
			    hoist_fs_readlinkat(&target, &tl, AT_FDCWD, full,
						(size_t)sb.st_size, full,
						NULL)) {
				free(full);
				free(next);
				free(cur);
				free(rest);
				free(target);
				return -1;
			}
		}
		free(full);
		if (target) {
			char *r = hoist_xasprintf("%s%s", target, rest);
			free(rest);
			rest = r;
			if (target[0] == '/')
				cur[0] = '\0';
			free(target);
			free(next);
			continue;
		}
		free(cur);
		cur = next;
	}
	free(rest);
	*out = cur;
	return 0;
}

int hoist_dfb_has_meta(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

void hoist_dfb_glob(char ***out, size_t *n, const char *root,
		    const char *pattern)
{
	char **cur = hoist_xcalloc(2, sizeof(char *));
	size_t ncur = 1;
	char *pat = hoist_xstrdup(pattern), *save = NULL, *comp;

	cur[0] = hoist_xstrdup("");
	for (comp = strtok_r(pat, "/", &save); comp;
	     comp = strtok_r(NULL, "/", &save)) {
		char **next = NULL;
		size_t nn = 0;
		for (size_t i = 0; i < ncur; i++) {
			struct dirent **names = NULL;
			char *dir = hoist_xasprintf("%s/%s", root, cur[i]);
			int k = hoist_dfb_has_meta(comp)
					? scandir(dir, &names, NULL, alphasort)
					: -1;
			if (!hoist_dfb_has_meta(comp)) {
				next = hoist_xreallocarray(next, nn + 1,
							   sizeof(*next));
				next[nn++] = hoist_dfb_join(cur[i], comp);
			}
			for (int j = 0; j < k; j++) {
				const char *nm = names[j]->d_name;
				if (strcmp(nm, ".") && strcmp(nm, "..") &&
				    !fnmatch(comp, nm, 0)) {
					next = hoist_xreallocarray(
						next, nn + 1, sizeof(*next));
					next[nn++] = hoist_dfb_join(cur[i], nm);
				}
				free(names[j]);
			}
			free(names);
			free(dir);
			free(cur[i]);
		}
		free(cur);
		cur = next;
		ncur = nn;
	}
	free(pat);
	*out = cur;
	*n = ncur;
}

int hoist_dfb_parse_id(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v > 0xffffffffULL)
		return -1;
	*out = v;
	return 0;
}

int hoist_dfb_passwd_id(const char *root, const char *file, const char *name,
			uint64_t *id, uint64_t *gid)
{
	char *rel = NULL, *path, *data = NULL, *line, *save = NULL;
	size_t len;
	int found = 0;

	if (hoist_dfb_resolve(&rel, root, file, 1))
		return -1;
	path = hoist_xasprintf("%s/%s", root, rel);
	free(rel);
	if (hoist_fs_read_file(&data, &len, path, 16u << 20, NULL))
		data = NULL;
	free(path);
	for (line = data ? strtok_r(data, "\n", &save) : NULL; line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = {NULL};
		char *p = line;
		for (int i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (f[0] && f[2] && !strcmp(f[0], name) &&
		    !hoist_dfb_parse_id(f[2], id) &&
		    (!gid || (f[3] && !hoist_dfb_parse_id(f[3], gid))))
			found = 1;
	}
	free(data);
	return found ? 0 : 1;
}

int hoist_dfb_archive_head(const unsigned char *p, size_t n)
{
	static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
	static const unsigned char zst[] = {0x28, 0xb5, 0x2f, 0xfd};
	unsigned long sum = 0, want = 0;
	size_t i;

	if ((n >= 2 && p[0] == 0x1f && p[1] == 0x8b) ||
	    (n >= 3 && !memcmp(p, "BZh", 3)) ||
	    (n >= sizeof(xz) && !memcmp(p, xz, sizeof(xz))) ||
	    (n >= sizeof(zst) && !memcmp(p, zst, sizeof(zst))))
		return 1;
	if (n < 512)
		return 0;
	if (!memcmp(p + 257, "ustar", 5))
		return 1;
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : p[i];
	for (i = 148; i < 156 && p[i] == ' '; i++)
		;
	if (i == 156 || p[i] < '0' || p[i] > '7')
		return 0;
	for (; i < 156 && p[i] >= '0' && p[i] <= '7'; i++)
		want = want * 8 + (unsigned long)(p[i] - '0');
	return p[0] && sum == want;
}

int hoist_dfb_is_archive(const char *path)
{
	unsigned char h[512];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	got = read(fd, h, sizeof(h));
	close(fd);
	return got > 0 && hoist_dfb_archive_head(h, (size_t)got);
}
