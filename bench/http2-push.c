/*
 * http2-push.c: push one blob monolithically (POST, then PUT ?digest= with
 * the whole file as body) through hoist's HTTP client, for bench/http2.sh.
 * Kept out of the main build; the script compiles it against libhoist.a.
 *
 * usage: http2-push BASE REPO FILE DIGEST CAFILE 1|2
 * prints: wall-seconds http-version client-cpu-seconds
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/http.h"
#include "util/mem.h"
#include "util/banned.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct hoist_http *h = NULL;
	struct hoist_http_tls tls = {0};
	struct hoist_http_request req = {0};
	struct hoist_http_response r;
	struct hoist_err err;
	char *url, *loc = NULL, *put;
	struct stat st;
	double t0, c0;
	int fd, rc = 1;

	if (argc != 7) {
		fprintf(stderr,
			"usage: http2-push BASE REPO FILE DIGEST CAFILE 1|2\n");
		return 2;
	}
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[3]);
		return 1;
	}
	tls.ca_file = argv[5];
	if (hoist_http_new(&h, NULL, &err) < 0)
		goto fail;
	url = hoist_xasprintf("%s/v2/%s/blobs/uploads/", argv[1], argv[2]);

	t0 = now();
	c0 = cpu();
	req.method = "POST";
	req.url = url;
	req.tls = &tls;
	req.version = argv[6][0] == '1' ? HOIST_HTTP_V1 : HOIST_HTTP_V2;
	if (hoist_http_do(h, &req, &r, &err) < 0)
		goto fail;
	if (r.status != 202 || !hoist_http_header_get(&r, "Location")) {
		fprintf(stderr, "POST: HTTP %d\n", r.status);
		return 1;
	}
	if (hoist_http_resolve_url(
		    &loc, url, hoist_http_header_get(&r, "Location"), &err) < 0)
		goto fail;
	hoist_http_response_release(&r);
	put = hoist_xasprintf("%s%cdigest=%s", loc,
			      strchr(loc, '?') ? '&' : '?', argv[4]);
	req.method = "PUT";
	req.url = put;
	req.body_kind = HOIST_HTTP_BODY_FD;
	req.body_fd = fd;
	req.body_len = (uint64_t)st.st_size;
	if (hoist_http_do(h, &req, &r, &err) < 0)
		goto fail;
	if (r.status != 201) {
		fprintf(stderr, "PUT: HTTP %d: %s\n", r.status, r.body.data);
		return 1;
	}
	printf("%.3f %d %.3f\n", now() - t0, r.version, cpu() - c0);
	hoist_http_response_release(&r);
	free(put);
	free(loc);
	free(url);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "http2-push: %s\n", err.msg);
out:
	hoist_http_free(h);
	close(fd);
	return rc;
}
