/*
 * testlib.h: helpers shared by the cmocka unit tests.
 *
 * Two kinds: small file helpers (temporary directories, whole-file read
 * and write, counting entries, removal) and the processes the live tests
 * need (a free loopback port, a child tied to the test's life, a
 * docker-registry started from a scratch config, waiting for an HTTP
 * answer). Helpers named tl_must_* or documented as asserting fail the
 * current test through cmocka; the others return a value the caller
 * checks, so they are safe in group setups too. Include after <cmocka.h>.
 */
#ifndef HOIST_TESTLIB_H
#define HOIST_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* ---- files ---- */

/*
 * A new directory $TMPDIR/hoist-TAG-XXXXXX (/tmp without TMPDIR), owned by
 * the caller; NULL if mkdtemp fails.
 */
char *tl_mkdtemp(const char *tag);

/*
 * Entries of dir other than "." and ".."; with skip_hidden, also none whose
 * name starts with a dot. Asserts that dir can be opened.
 */
size_t tl_count_dir(const char *dir, int skip_hidden);

/*
 * One scratch directory for a whole test group: tl_tmp_setup, a cmocka
 * group setup, makes tl_tmp (tl_mkdtemp("unit")); tl_tmp_teardown removes
 * it (tl_rm_rf) and frees the name. Each returns 0 or -1 for cmocka.
 */
extern char *tl_tmp;
int tl_tmp_setup(void **state);
int tl_tmp_teardown(void **state);

/* Write content to path with mode, creating the parents. Asserts. */
void tl_write_file(const char *path, const char *content, mode_t mode);

/* The whole file (NUL-terminated, at most 1 GiB), or NULL; len may be NULL. */
char *tl_read_file(const char *path, size_t *len);

/* Like tl_read_file, but a file that cannot be read fails the test. */
char *tl_must_read(const char *path, size_t *len);

/* Run a shell command built from fmt; a non-zero exit fails the test. */
void tl_must_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * rm -rf path, after giving the owner rwx back everywhere (tests make
 * read-only trees on purpose). Asserts.
 */
void tl_rm_rf(const char *path);

/* ---- processes ---- */

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t tl_mono_ms(void);

/* The shell's exit status of script, or -1 if it did not exit. */
int tl_sh(const char *script);

/*
 * A 127.0.0.1 port that was free a moment ago, or -1. Racy by nature: bind
 * soon after.
 */
int tl_free_port(void);

/*
 * Start argv[0] (PATH searched) with stdout and stderr appended to log. With
 * out_pipe, stdout goes to a pipe whose read end is stored there. The child
 * gets SIGKILL when the test process dies, so a crash leaves no server
 * behind. The child's pid, or -1.
 */
pid_t tl_spawn(char *const argv[], const char *log, int *out_pipe);

/* SIGTERM and reap *pid if it is positive, then set it to 0. */
void tl_stop(pid_t *pid);

/*
 * GET url (TLS unverified) until it answers within ms milliseconds: with
 * want_200 only a 200 counts, otherwise any HTTP status (401 included).
 * 1 if it did, 0 if not.
 */
int tl_wait_http(const char *url, int want_200, uint64_t ms);

/*
 * Wait up to ms milliseconds for a server to write its port number to
 * path. The port, or -1.
 */
int tl_port_file(const char *path, uint64_t ms);

/*
 * A throwaway CA and a server certificate for localhost, 127.0.0.1 and ::1
 * in DIR/pki: ca.crt, ca.key, server.crt, server.key. 0 or the shell's
 * exit status.
 */
int tl_make_pki(const char *dir);

/*
 * 1 when CI=true: live tests whose tools are missing must then fail in
 * their setup instead of skipping.
 */
int tl_in_ci(void);

/* ---- docker-registry ---- */

struct tl_registry {
	int tls;              /* serve DIR/pki/server.{crt,key} (tl_make_pki) */
	const char *htpasswd; /* htpasswd file for Basic auth, or NULL */
	int accesslog;        /* 1: the access log goes to the log file too */
};

/*
 * Start docker-registry serve on 127.0.0.1:port from DIR/NAME.yml, written
 * here, with filesystem storage in DIR/NAME-data and its output appended to
 * DIR/NAME.log. Does not wait: use tl_wait_http on /v2/, so several
 * registries can start at once. The pid, or -1.
 */
pid_t tl_registry_spawn(const char *dir, const char *name, int port,
			const struct tl_registry *o);

/*
 * tl_registry_spawn on a free port, then wait up to 20 s for /v2/ to give
 * any HTTP answer. addr gets "127.0.0.1:PORT". The pid (stop it with
 * tl_stop), or -1 when it did not come up (see DIR/NAME.log).
 */
pid_t tl_registry_start(const char *dir, const char *name,
			const struct tl_registry *o, char *addr, size_t alen);

/*
 * 1 if every command of tools (space-separated) is on PATH. Otherwise say
 * that the live tests skip (or fail, under CI=true) and return 0.
 */
int tl_have_tools(const char *tools);

/*
 * Credentials and certificates only from dir: DOCKER_CONFIG,
 * XDG_RUNTIME_DIR, XDG_CONFIG_HOME and HOIST_CERTS_D point there, and
 * REGISTRY_AUTH_FILE is unset.
 */
void tl_isolate_env(const char *dir);

/*
 * At the start of a live test: without its servers (up is 0) the test
 * skips, except under CI=true, where it fails.
 */
#define TL_NEED_LIVE(up)                                                       \
	do {                                                                   \
		if (!(up) && tl_in_ci())                                       \
			fail_msg("live servers missing under CI=true");        \
		if (!(up))                                                     \
			skip();                                                \
	} while (0)

/* ---- images ---- */

struct hoist_store;
struct hoist_image_layer;
struct hoist_digest;

/* The store DIR/NAME, opened (created if need be). Asserts. */
struct hoist_store *tl_store_open(const char *dir, const char *name);

/* n pseudo-random bytes from seed (xorshift; the same seed gives the
 * same bytes). */
void tl_fill_random(unsigned char *p, size_t n, uint32_t seed);

/* tl_fill_random's n bytes, put into s as a blob; *d its digest. Asserts. */
void tl_put_random(struct hoist_store *s, size_t n, uint32_t seed,
		   struct hoist_digest *d);

/*
 * An OCI image for platform of the n layers l (which need not be in s):
 * its config and manifest are put into s. Returns the manifest's
 * descriptor with the platform (caller json_decref's it); *config_len,
 * if not NULL, is the config's size. Asserts.
 */
json_t *tl_image_of_layers(struct hoist_store *s, const char *platform,
			   const struct hoist_image_layer *l, size_t n,
			   size_t *config_len);

/* tl_image_of_layers for linux/amd64 and the one layer l. */
json_t *tl_image_of(struct hoist_store *s, const struct hoist_image_layer *l);

/*
 * tl_image_of a layer of n pseudo-random bytes from seed, put into s (not
 * a tar: registries do not look).
 */
json_t *tl_small_image(struct hoist_store *s, size_t n, uint32_t seed);

#endif
