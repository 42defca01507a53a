/*
 * testlib.c: helpers shared by the cmocka unit tests (see testlib.h).
 *
 * They were copied from test file to test file before; one copy keeps the
 * fixes in one place: children that die with the test (PR_SET_PDEATHSIG),
 * registries that are waited for by asking them rather than by sleeping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/digest.h"
#include "lib/http.h"
#include "lib/image.h"
#include "lib/platform.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

/* ---- files ---- */

char *tl_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = hoist_xasprintf("%s/hoist-%s-XXXXXX",
				    tmp && *tmp ? tmp : "/tmp", tag);

	if (!mkdtemp(dir)) {
		print_error("mkdtemp '%s': %s\n", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

char *tl_tmp;

int tl_tmp_setup(void **state)
{
	(void)state;
	tl_tmp = tl_mkdtemp("unit");
	return tl_tmp ? 0 : -1;
}

int tl_tmp_teardown(void **state)
{
	(void)state;
	if (tl_tmp)
		tl_rm_rf(tl_tmp);
	free(tl_tmp);
	tl_tmp = NULL;
	return 0;
}

size_t tl_count_dir(const char *dir, int skip_hidden)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (skip_hidden && e->d_name[0] == '.')
			continue;
		n++;
	}
	closedir(d);
	return n;
}

void tl_write_file(const char *path, const char *content, mode_t mode)
{
	char *dir = hoist_xstrdup(path), *slash = strrchr(dir, '/');
	FILE *f;

	if (slash && slash != dir) {
		*slash = '\0';
		assert_int_equal(hoist_fs_mkdirs(dir, 0755, NULL), 0);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	/* fopen's mode went through the umask; the test wants this one */
	assert_int_equal(chmod(path, mode), 0);
	free(dir);
}

char *tl_read_file(const char *path, size_t *len)
{
	char *data = NULL;
	size_t n;

	if (hoist_fs_read_file(&data, &n, path, (size_t)1 << 30, NULL))
		return NULL;
	if (len)
		*len = n;
	return data;
}

char *tl_must_read(const char *path, size_t *len)
{
	char *data = NULL;
	size_t n;
	struct hoist_err err;

	if (hoist_fs_read_file(&data, &n, path, (size_t)1 << 30, &err))
		fail_msg("read '%s': %s", path, err.msg);
	if (len)
		*len = n;
	return data;
}

void tl_must_run(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int rc, n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	cmd = hoist_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(cmd, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		print_message("command failed (%d): %s\n", rc, cmd);
	free(cmd);
	assert_int_equal(rc, 0);
}

void tl_rm_rf(const char *path)
{
	tl_must_run("chmod -R u+rwx '%s' && rm -rf '%s'", path, path);
}

/* ---- processes ---- */

uint64_t tl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int tl_sh(const char *script)
{
	int st = system(script);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tl_free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

pid_t tl_spawn(char *const argv[], const char *log, int *out_pipe)
{
	int p[2] = {-1, -1};
	pid_t pid;

	if (out_pipe && pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* never outlive the test, even when it crashes */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(out_pipe ? p[1] : fd, 1);
		}
		if (out_pipe) {
			close(p[0]);
			close(p[1]);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out_pipe) {
		close(p[1]);
		if (pid < 0)
			close(p[0]);
		else
			*out_pipe = p[0];
	}
	return pid;
}

void tl_stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

int tl_wait_http(const char *url, int want_200, uint64_t ms)
{
	struct hoist_http_opts o = {0};
	struct hoist_http_tls t = {0};
	struct hoist_http *h = NULL;
	uint64_t end = tl_mono_ms() + ms;
	int up = 0;

	t.insecure = 1;
	o.low_speed_s = 20; /* a hung server fails the wait, not the suite */
	if (hoist_http_new(&h, &o, NULL))
		return 0;
	while (!up && tl_mono_ms() < end) {
		struct hoist_http_request req = {0};
		struct hoist_http_response r;

		req.method = "GET";
		req.url = url;
		req.tls = &t;
		req.max_body = 65536;
		if (hoist_http_do(h, &req, &r, NULL) == 0 &&
		    (want_200 ? r.status == 200 : r.status > 0))
			up = 1;
		hoist_http_response_release(&r);
		if (!up)
			usleep(30 * 1000);
	}
	hoist_http_free(h);
	return up;
}

int tl_port_file(const char *path, uint64_t ms)
{
	uint64_t end = tl_mono_ms() + ms;

	while (tl_mono_ms() < end) {
		char *data = tl_read_file(path, NULL);
		long port = data ? strtol(data, NULL, 10) : 0;

		free(data);
		/* the file may be there before its number is */
		if (port > 0 && port < 65536)
			return (int)port;
		usleep(20 * 1000);
	}
	return -1;
}

int tl_make_pki(const char *dir)
{
	char *script = hoist_xasprintf(
		"set -e; mkdir -p '%s/pki'; cd '%s/pki'; "
		"openssl req -x509 -newkey ec -pkeyopt "
		"ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out "
		"ca.crt -days 2 -subj '/CN=hoist test CA' "
		"-addext 'basicConstraints=critical,CA:TRUE' "
		"-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null; "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
		"-nodes -keyout server.key -out server.csr -subj "
		"'/CN=localhost' 2>/dev/null; "
		"printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\\n"
		"extendedKeyUsage=serverAuth\\nbasicConstraints=CA:FALSE\\n' "
		"> server.ext; "
		"openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
		"-CAcreateserial -out server.crt -days 2 -extfile server.ext "
		"2>/dev/null",
		dir, dir);
	int rc = tl_sh(script);

	free(script);
	return rc;
}

/* ---- docker-registry ---- */

pid_t tl_registry_spawn(const char *dir, const char *name, int port,
			const struct tl_registry *o)
{
	char *cfg = hoist_xasprintf("%s/%s.yml", dir, name);
	char *log = hoist_xasprintf("%s/%s.log", dir, name);
	FILE *f = fopen(cfg, "w");
	pid_t pid = -1;

	if (!f)
		goto out;
	fprintf(f,
		"version: 0.1\n"
		"log:\n  level: info\n  accesslog:\n    disabled: %s\n"
		"storage:\n  filesystem:\n    rootdirectory: %s/%s-data\n"
		"  maintenance:\n    uploadpurging:\n      enabled: false\n"
		"http:\n  addr: 127.0.0.1:%d\n  secret: hoist-test-secret\n",
		o->accesslog ? "false" : "true", dir, name, port);
	if (o->tls)
		fprintf(f,
			"  tls:\n    certificate: %s/pki/server.crt\n"
			"    key: %s/pki/server.key\n",
			dir, dir);
	if (o->htpasswd)
		fprintf(f,
			"auth:\n  htpasswd:\n    realm: hoist-test\n"
			"    path: %s\n",
			o->htpasswd);
	if (fclose(f) != 0)
		goto out;
	{
		char *argv[] = {"docker-registry", "serve", cfg, NULL};

		pid = tl_spawn(argv, log, NULL);
	}
out:
	free(cfg);
	free(log);
	return pid;
}

pid_t tl_registry_start(const char *dir, const char *name,
			const struct tl_registry *o, char *addr, size_t alen)
{
	int port = tl_free_port();
	pid_t pid = port > 0 ? tl_registry_spawn(dir, name, port, o) : -1;
	char *url;
	int up;

	if (pid <= 0)
		return -1;
	snprintf(addr, alen, "127.0.0.1:%d", port);
	url = hoist_xasprintf("%s://%s/v2/", o->tls ? "https" : "http", addr);
	up = tl_wait_http(url, 0, 20000);
	free(url);
	if (!up) {
		tl_stop(&pid);
		return -1;
	}
	return pid;
}

/* ---- images ---- */

void tl_fill_random(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

void tl_put_random(struct hoist_store *s, size_t n, uint32_t seed,
		   struct hoist_digest *d)
{
	unsigned char *buf = hoist_xmalloc(n ? n : 1);
	struct hoist_err err;

	tl_fill_random(buf, n, seed);
	if (hoist_store_put(s, buf, n, d, &err))
		fail_msg("store put: %s", err.msg);
	free(buf);
}

json_t *tl_image_of_layers(struct hoist_store *s, const char *platform,
			   const struct hoist_image_layer *l, size_t n,
			   size_t *config_len)
{
	struct hoist_image_runconfig rc;
	struct hoist_platform p;
	struct hoist_digest cd, md;
	struct hoist_err err;
	char *cfg, *man;
	size_t clen, mlen;
	json_t *cdesc, *desc;

	assert_int_equal(hoist_platform_parse(&p, platform, &err), 0);
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(
		hoist_image_config(&cfg, &clen, &p, &rc, l, n, 0, &err), 0);
	assert_int_equal(hoist_store_put(s, cfg, clen, &cd, &err), 0);
	cdesc = hoist_image_desc(HOIST_MT_OCI_CONFIG, cd.str, clen);
	assert_int_equal(
		hoist_image_manifest(&man, &mlen, cdesc, l, n, NULL, 1, &err),
		0);
	assert_int_equal(hoist_store_put(s, man, mlen, &md, &err), 0);
	desc = hoist_image_desc(HOIST_MT_OCI_MANIFEST, md.str, mlen);
	hoist_image_desc_set_platform(desc, &p);
	if (config_len)
		*config_len = clen;
	free(cfg);
	free(man);
	json_decref(cdesc);
	return desc;
}

json_t *tl_image_of(struct hoist_store *s, const struct hoist_image_layer *l)
{
	return tl_image_of_layers(s, "linux/amd64", l, 1, NULL);
}

json_t *tl_small_image(struct hoist_store *s, size_t n, uint32_t seed)
{
	struct hoist_image_layer l;
	struct hoist_digest ld;

	tl_put_random(s, n, seed, &ld);
	memset(&l, 0, sizeof(l));
	l.digest = ld.str;
	l.diff_id = ld.str;
	l.size = n;
	l.compression = HOIST_COMP_GZIP;
	return tl_image_of(s, &l);
}

struct hoist_store *tl_store_open(const char *dir, const char *name)
{
	char *root = hoist_xasprintf("%s/%s", dir, name);
	struct hoist_store *s = NULL;
	struct hoist_err err;

	if (hoist_store_open(&s, root, &err))
		fail_msg("store '%s': %s", root, err.msg);
	free(root);
	return s;
}

void tl_isolate_env(const char *dir)
{
	setenv("DOCKER_CONFIG", dir, 1);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("HOIST_CERTS_D", dir, 1);
	unsetenv("REGISTRY_AUTH_FILE");
}

int tl_have_tools(const char *tools)
{
	char *sh = hoist_xasprintf("for t in %s; do command -v $t >/dev/null "
				   "|| exit 1; done",
				   tools);
	int rc = tl_sh(sh);

	free(sh);
	if (rc == 0)
		return 1;
	print_message("one of %s is missing: live tests %s\n", tools,
		      tl_in_ci() ? "FAIL under CI=true" : "skipped");
	return 0;
}

int tl_in_ci(void)
{
	const char *ci = getenv("CI");
	return ci && strcmp(ci, "true") == 0;
}
