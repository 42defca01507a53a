/*
 * http-testenv.h: the servers and helpers the HTTP client's tests share
 * (test-http.c, test-http-body.c). The group setup starts Debian's
 * docker-registry twice from scratch configs in a temporary directory
 * (plain HTTP, and TLS with a throwaway CA made with the openssl CLI, where
 * ALPN gives h2), plus tests/integration/http-sink.py for what a registry
 * cannot show (header caps, stalls, resets, a dropped keep-alive request).
 */
#ifndef HOIST_TESTS_HTTP_TESTENV_H
#define HOIST_TESTS_HTTP_TESTENV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/http.h"
#include "util/hash.h"

struct env {
	char *dir;
	char *ca_file;
	pid_t reg_pid, tls_pid, sink_pid;
	char *reg_url;  /* http://127.0.0.1:PORT */
	char *tls_url;  /* https://127.0.0.1:PORT */
	char *sink_url; /* http://127.0.0.1:PORT */
	char *reg_log;
	char *tls_log;
	int ok; /* servers up */
};

extern struct env E;

#define NEED_SERVERS()                                                         \
	do {                                                                   \
		if (!E.ok)                                                     \
			skip();                                                \
	} while (0)

/* Start the servers (E.ok once they answer); stop them and clean up. */
int group_setup(void **state);
int group_teardown(void **state);

/* A client whose stall limit is 20 s (a hung test fails, not hangs). */
struct hoist_http *client(const char *ua, int max_per_host);
int do_simple(struct hoist_http *h, const char *method, const char *url,
	      const struct hoist_http_tls *tls, enum hoist_http_version v,
	      struct hoist_http_response *resp, struct hoist_err *err);
/* n pseudo-random bytes from seed. */
void fill_random(unsigned char *p, size_t n, uint64_t seed);
/* A file holding junk, then n payload bytes at *off, then more junk. */
int payload_file(size_t n, uint64_t seed, uint64_t *off,
		 char hex[HOIST_SHA256_HEXLEN + 1]);

/* Submit and run one request through the loop; the response is moved out. */
struct one {
	int called;
	int rc;
	struct hoist_http_response resp;
	struct hoist_err err;
};

void one_done(void *ctx, int rc, struct hoist_http_response *r,
	      const struct hoist_err *err);
void run_one(struct hoist_http *h, const struct hoist_http_request *req,
	     struct one *o);
/* url with kv added to its query. Caller frees. */
char *add_query(const char *url, const char *kv);
/* POST an upload to repo on base; returns the absolute Location. */
char *start_upload(struct hoist_http *h, const char *base, const char *repo,
		   const struct hoist_http_tls *tls, enum hoist_http_version v);
/* The Location of an upload step's answer r, resolved against loc. */
char *answered_location(const char *loc, const struct hoist_http_response *r);

#endif
