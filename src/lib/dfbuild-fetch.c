/*
 * dfbuild-fetch.c: the http(s) sources of ADD, fetched as BuildKit's
 * HTTP source does: one GET through hoist's HTTP client (TLS verified,
 * with the CA that certs.d gives the host, as for a registry), redirects
 * followed by hand (at most HOIST_DOWNLOAD_MAX_REDIRECTS, never from
 * https to http, and no credentials are ever sent), the body streamed to
 * a file, and the file's time taken from Last-Modified (else the Unix
 * epoch), named as BuildKit names it. The --checksum check is
 * dfbuild-copy.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/dfbuild-int.h"
#include "lib/dockerfile-json.h"
#include "lib/download.h"
#include "lib/http.h"
#include "lib/regconn.h"
#include "lib/retry.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

int hoist_dfb_is_url(const char *src)
{
	return !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
}

/* "host:port" of an http(s) URL (userinfo dropped), heap. */
static char *url_host(const char *url)
{
	const char *h = strstr(url, "://") + 3, *end = h + strcspn(h, "/?#");
	const char *at = memchr(h, '@', (size_t)(end - h));

	if (at)
		h = at + 1;
	return hoist_xstrndup(h, (size_t)(end - h));
}

struct fsink {
	int fd;
	const char *url;
};

static int fsink_write(void *ctx, const void *data, size_t len,
		       struct hoist_err *err)
{
	struct fsink *f = ctx;
	return hoist_fs_write_all(f->fd, data, len, f->url, err);
}

int hoist_dfb_fetch(const struct hoist_dfb *b, const char *url,
		    const char *path, int64_t *mtime, struct hoist_err *err)
{
	struct hoist_http *h = NULL;
	struct hoist_http_opts ho;
	char *cur = hoist_xstrdup(url), *ca = NULL, *cert = NULL, *key = NULL;
	struct fsink fs = {-1, url};
	struct hoist_sink sink = {fsink_write, &fs};
	int rc, hops = 0;

	*mtime = 0;
	memset(&ho, 0, sizeof(ho));
	fs.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fs.fd < 0) {
		rc = hoist_err_sys(err, errno, "create '%s'", path);
		goto out;
	}
	if ((rc = hoist_http_new(&h, &ho, err)))
		goto out;
	for (;;) {
		struct hoist_http_request req;
		struct hoist_http_response resp;
		struct hoist_http_tls tls;
		char *host = url_host(cur), *next = NULL;
		const char *loc, *lm;

		memset(&tls, 0, sizeof(tls));
		hoist_regconn_certs(host,
				    b->o->ro ? b->o->ro->conn.ca_file : NULL,
				    &ca, &cert, &key);
		free(host);
		tls.ca_file = ca;
		tls.cert_file = cert;
		tls.key_file = key;
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = cur;
		req.sink = &sink;
		req.tls = &tls;
		memset(&resp, 0, sizeof(resp));
		if (ftruncate(fs.fd, 0) < 0 || lseek(fs.fd, 0, SEEK_SET) < 0) {
			rc = hoist_err_sys(err, errno, "truncate '%s'", path);
			hoist_http_response_release(&resp);
			goto out;
		}
		rc = hoist_http_do(h, &req, &resp, err);
		free(ca);
		free(cert);
		free(key);
		ca = cert = key = NULL;
		if (rc) {
			hoist_http_response_release(&resp);
			goto out;
		}
		loc = hoist_http_header_get(&resp, "Location");
		if (resp.status >= 300 && resp.status < 400 && loc &&
		    resp.status != 304) {
			if (++hops > HOIST_DOWNLOAD_MAX_REDIRECTS) {
				rc = hoist_err_set(
					err, HOIST_EIO,
					"GET '%s': more than %d "
					"redirects",
					url, HOIST_DOWNLOAD_MAX_REDIRECTS);
			} else if (!(rc = hoist_http_resolve_url(&next, cur,
								 loc, err)) &&
				   !hoist_dfb_is_url(next)) {
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "GET '%s': redirected to "
						   "'%s', not http(s)",
						   url, next);
			} else if (!rc && !strncmp(cur, "https:", 6) &&
				   !strncmp(next, "http:", 5)) {
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "GET '%s': refusing the "
						   "redirect from https to "
						   "'%s'",
						   url, next);
			}
			hoist_http_response_release(&resp);
			if (rc) {
				free(next);
				goto out;
			}
			free(cur);
			cur = next;
			continue;
		}
		if (resp.status < 200 || resp.status >= 300) {
			/* BuildKit: "invalid response status 404" */
			rc = hoist_err_set(err,
					   resp.status == 404 ? HOIST_ENOTFOUND
							      : HOIST_EIO,
					   "GET '%s': invalid response status "
					   "%d",
					   url, resp.status);
			hoist_http_response_release(&resp);
			goto out;
		}
		lm = hoist_http_header_get(&resp, "Last-Modified");
		if (lm && hoist_retry_http_date(lm, (int64_t)time(NULL), mtime))
			*mtime = 0;
		hoist_http_response_release(&resp);
		break;
	}
	{
		struct timespec ts[2] = {{(time_t)*mtime, 0},
					 {(time_t)*mtime, 0}};
		if (fchmod(fs.fd, 0600) < 0 || futimens(fs.fd, ts) < 0)
			rc = hoist_err_sys(err, errno, "set times of '%s'",
					   path);
	}
out:
	if (fs.fd >= 0 && close(fs.fd) < 0 && !rc)
		rc = hoist_err_sys(err, errno, "close '%s'", path);
	hoist_http_free(h);
	free(ca);
	free(cert);
	free(key);
	free(cur);
	return rc;
}

char *hoist_dfb_url_name(const char *url)
{
	const char *p = strstr(url, "://") + 3;
	size_t n, k = 0;
	char *path, *base, *out;

	p += strcspn(p, "/?#");
	n = strcspn(p, "?#");
	path = hoist_xcalloc(n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (p[i] == '%' && i + 2 < n &&
		    (hi = hoist_dockerfile_hexval((unsigned char)p[i + 1])) >=
			    0 &&
		    (lo = hoist_dockerfile_hexval((unsigned char)p[i + 2])) >=
			    0) {
			path[k++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			path[k++] = p[i];
		}
	}
	while (k && path[k - 1] == '/')
		path[--k] = '\0';
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	out = *base && strcmp(base, ".") && strcmp(base, "..")
		      ? hoist_xstrdup(base)
		      : hoist_xstrdup("__unnamed__");
	free(path);
	return out;
}
