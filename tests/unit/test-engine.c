/*
 * test-engine.c: finding a Docker Engine (DOCKER_HOST, contexts, the
 * default socket) and loading images through POST /images/load into a
 * real dockerd and a real `podman system service`, each started here on a
 * private unix socket with vfs storage, no bridge and no iptables. The
 * loaded names are checked with `docker image inspect` and `podman image
 * exists`. The live part skips without root or the daemons, unless
 * CI=true.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/engine.h"
#include "util/hash.h"
#include "util/mem.h"
#include "testlib.h"

static void clear_env(void)
{
	unsetenv("DOCKER_HOST");
	unsetenv("DOCKER_CONTEXT");
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
}

static void resolve_hosts(void **state)
{
	struct hoist_engine e;
	struct hoist_err err;
	char *dir = tl_mkdtemp("engine");
	(void)state;

	clear_env();
	setenv("DOCKER_CONFIG", dir, 1); /* empty: no config.json */
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.unix_socket, "/var/run/docker.sock");
	assert_string_equal(e.base_url, "http://localhost");
	hoist_engine_release(&e);

	setenv("DOCKER_HOST", "unix:///tmp/x/d.sock", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.unix_socket, "/tmp/x/d.sock");
	hoist_engine_release(&e);
	setenv("DOCKER_HOST", "tcp://127.0.0.1:2999", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_null(e.unix_socket);
	assert_string_equal(e.base_url, "http://127.0.0.1:2999");
	hoist_engine_release(&e);
	/* an empty port is the default one, as the docker CLI takes it */
	setenv("DOCKER_HOST", "tcp://127.0.0.1:", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.base_url, "http://127.0.0.1:2375");
	hoist_engine_release(&e);
	setenv("DOCKER_HOST", "tcp://[::1]", 1);
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.base_url, "https://[::1]:2376");
	hoist_engine_release(&e);
	unsetenv("DOCKER_TLS_VERIFY");
	setenv("DOCKER_HOST", "ssh://me@host", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err),
			 HOIST_EUNSUPPORTED);
	setenv("DOCKER_HOST", "unix://relative.sock", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "must be absolute"));
	setenv("DOCKER_HOST", "/var/run/docker.sock", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), HOIST_EINVAL);
	clear_env();
	tl_rm_rf(dir);
	free(dir);
}

static void write_context(const char *cfg, const char *name, const char *host)
{
	char hex[HOIST_SHA256_HEXLEN + 1], path[4096], body[1024];

	hoist_sha256_hex(name, strlen(name), hex);
	snprintf(path, sizeof(path), "%s/contexts/meta/%s/meta.json", cfg, hex);
	snprintf(body, sizeof(body),
		 "{\"Name\":\"%s\",\"Metadata\":{},\"Endpoints\":{\"docker\":"
		 "{\"Host\":\"%s\",\"SkipTLSVerify\":false}}}",
		 name, host);
	tl_write_file(path, body, 0644);
}

static void resolve_contexts(void **state)
{
	struct hoist_engine e;
	struct hoist_err err;
	char *dir = tl_mkdtemp("engine"), path[4096];
	(void)state;

	clear_env();
	setenv("DOCKER_CONFIG", dir, 1);
	write_context(dir, "ctx1", "unix:///run/ctx1.sock");
	write_context(dir, "remote", "tcp://10.0.0.1:2376");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	tl_write_file(path, "{\"auths\":{},\"currentContext\":\"ctx1\"}", 0600);

	/* currentContext */
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.host, "unix:///run/ctx1.sock");
	assert_string_equal(e.unix_socket, "/run/ctx1.sock");
	hoist_engine_release(&e);
	/* DOCKER_HOST beats currentContext, an explicit context beats both */
	setenv("DOCKER_HOST", "unix:///run/env.sock", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.unix_socket, "/run/env.sock");
	hoist_engine_release(&e);
	assert_int_equal(hoist_engine_resolve(&e, "remote", &err), 0);
	assert_string_equal(e.base_url, "http://10.0.0.1:2376");
	hoist_engine_release(&e);
	/* "default" is DOCKER_HOST or the default socket */
	assert_int_equal(hoist_engine_resolve(&e, "default", &err), 0);
	assert_string_equal(e.unix_socket, "/run/env.sock");
	hoist_engine_release(&e);
	unsetenv("DOCKER_HOST");
	/* DOCKER_CONTEXT beats currentContext */
	setenv("DOCKER_CONTEXT", "remote", 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	assert_string_equal(e.host, "tcp://10.0.0.1:2376");
	hoist_engine_release(&e);
	unsetenv("DOCKER_CONTEXT");
	/* TLS material of a context turns https on */
	{
		char hex[HOIST_SHA256_HEXLEN + 1];
		hoist_sha256_hex("remote", 6, hex);
		snprintf(path, sizeof(path), "%s/contexts/tls/%s/docker/ca.pem",
			 dir, hex);
		tl_write_file(path, "x", 0644);
	}
	assert_int_equal(hoist_engine_resolve(&e, "remote", &err), 0);
	assert_string_equal(e.base_url, "https://10.0.0.1:2376");
	assert_non_null(strstr(e.ca_file, "/docker/ca.pem"));
	hoist_engine_release(&e);

	assert_int_equal(hoist_engine_resolve(&e, "nosuch", &err),
			 HOIST_ENOTFOUND);
	assert_string_equal(err.msg, "docker context 'nosuch' not found");
	assert_int_equal(hoist_engine_resolve(&e, "../x", &err), HOIST_EINVAL);
	tl_write_file(path, "x", 0644);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	tl_write_file(path, "{\"currentContext\":", 0600);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), HOIST_EINVAL);
	tl_rm_rf(dir);
	free(dir);
}

/* ---- live engines ---- */

struct live {
	char *dir;
	char *tar;
	pid_t ctd, dockerd, podman;
	char dsock[4096], psock[4096], podman_flags[4096];
};

static struct live L;

static int need_live(void)
{
	int ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;

	if (getuid() == 0 &&
	    tl_sh("command -v dockerd && command -v containerd && "
		  "command -v docker && command -v podman") == 0)
		return 1;
	if (ci)
		fail_msg("CI=true: root, dockerd, containerd and podman are "
			 "needed");
	return 0;
}

static int wait_sh(const char *cmd, uint64_t ms)
{
	uint64_t end = tl_mono_ms() + ms;

	while (tl_mono_ms() < end) {
		if (tl_sh(cmd) == 0)
			return 1;
		usleep(200000);
	}
	return 0;
}

static int live_setup(void **state)
{
	char path[4096], body[8192], cmd[8192], log[4096];
	const char *hoist = getenv("HOIST");
	(void)state;

	memset(&L, 0, sizeof(L));
	if (!need_live() || !hoist)
		return 0;
	L.dir = tl_mkdtemp("engine-live");
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/tree/bin' && echo hi > '%s/tree/bin/hello' && "
		 "'%s' build --rootfs '%s/tree' -t example.test/engine/app:1 "
		 "-t engine-app:2 -o 'type=docker,dest=%s/app.tar' >/dev/null",
		 L.dir, L.dir, hoist, L.dir, L.dir);
	if (tl_sh(cmd) != 0)
		return -1;
	L.tar = hoist_xasprintf("%s/app.tar", L.dir);

	/* containerd + dockerd on private sockets (as load.sh) */
	snprintf(path, sizeof(path), "%s/ctd/config.toml", L.dir);
	snprintf(body, sizeof(body),
		 "version = 2\nroot = \"%s/ctd/root\"\nstate = "
		 "\"%s/ctd/state\"\n"
		 "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		 "[grpc]\n  address = \"%s/ctd/c.sock\"\n"
		 "[ttrpc]\n  address = \"%s/ctd/c.sock.ttrpc\"\n"
		 "[debug]\n  address = \"%s/ctd/debug.sock\"\n"
		 "[metrics]\n  address = \"\"\n",
		 L.dir, L.dir, L.dir, L.dir, L.dir);
	tl_write_file(path, body, 0644);
	snprintf(L.dsock, sizeof(L.dsock), "%s/dk/d.sock", L.dir);
	snprintf(path, sizeof(path), "%s/dk/daemon.json", L.dir);
	snprintf(body, sizeof(body),
		 "{\"data-root\":\"%s/dk/data\",\"exec-root\":\"%s/dk/exec\","
		 "\"pidfile\":\"%s/dk/d.pid\",\"hosts\":[\"unix://%s\"],"
		 "\"storage-driver\":\"vfs\",\"iptables\":false,"
		 "\"ip6tables\":false,\"ip-masq\":false,\"bridge\":\"none\","
		 "\"containerd\":\"%s/ctd/c.sock\"}",
		 L.dir, L.dir, L.dir, L.dsock, L.dir);
	tl_write_file(path, body, 0644);
	{
		char cfg[4096], dcfg[4096];
		snprintf(cfg, sizeof(cfg), "%s/ctd/config.toml", L.dir);
		snprintf(log, sizeof(log), "%s/ctd/log", L.dir);
		char *a1[] = {"containerd", "--config", cfg, NULL};
		L.ctd = tl_spawn(a1, log, NULL);
		snprintf(cmd, sizeof(cmd), "test -S '%s/ctd/c.sock'", L.dir);
		if (!wait_sh(cmd, 20000))
			return -1;
		snprintf(dcfg, sizeof(dcfg), "%s/dk/daemon.json", L.dir);
		snprintf(log, sizeof(log), "%s/dk/log", L.dir);
		char *a2[] = {"dockerd", "--config-file", dcfg, NULL};
		L.dockerd = tl_spawn(a2, log, NULL);
	}
	/* podman system service on a private socket and storage */
	snprintf(L.podman_flags, sizeof(L.podman_flags),
		 "--root %s/pm/root --runroot %s/pm/run --storage-driver vfs "
		 "--cgroup-manager cgroupfs --events-backend file",
		 L.dir, L.dir);
	snprintf(L.psock, sizeof(L.psock), "%s/pm/p.sock", L.dir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/pm' && exec podman %s system service --time=0 "
		 "'unix://%s'",
		 L.dir, L.podman_flags, L.psock);
	snprintf(log, sizeof(log), "%s/pm/log", L.dir);
	{
		char *a3[] = {"sh", "-c", cmd, NULL};
		L.podman = tl_spawn(a3, log, NULL);
	}
	snprintf(cmd, sizeof(cmd),
		 "docker -H 'unix://%s' version >/dev/null 2>&1", L.dsock);
	if (!wait_sh(cmd, 60000))
		return -1;
	snprintf(cmd, sizeof(cmd), "test -S '%s'", L.psock);
	if (!wait_sh(cmd, 30000))
		return -1;
	return 0;
}

static int live_teardown(void **state)
{
	(void)state;
	tl_stop(&L.podman);
	tl_stop(&L.dockerd);
	tl_stop(&L.ctd);
	if (L.dir) {
		tl_sh("umount -R /dev/null 2>/dev/null; true");
		tl_rm_rf(L.dir);
	}
	free(L.dir);
	free(L.tar);
	return 0;
}

/* Producer: the file at ctx, in 64 KiB pieces. */
static int produce_file(void *ctx, const struct hoist_sink *sink,
			struct hoist_err *err)
{
	char buf[65536];
	int fd = open(ctx, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return hoist_err_sys(err, errno, "open '%s'", (char *)ctx);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((ret = hoist_sink_write(sink, buf, (size_t)n, err)))
			break;
	close(fd);
	return ret;
}

static int produce_garbage(void *ctx, const struct hoist_sink *sink,
			   struct hoist_err *err)
{
	char buf[4096];
	(void)ctx;
	memset(buf, 'x', sizeof(buf));
	return hoist_sink_write(sink, buf, sizeof(buf), err);
}

static int produce_fail(void *ctx, const struct hoist_sink *sink,
			struct hoist_err *err)
{
	char buf[1024];
	(void)ctx;
	memset(buf, 0, sizeof(buf));
	hoist_sink_write(sink, buf, sizeof(buf), err);
	return hoist_err_set(err, HOIST_EIO, "layer 'x': disk on fire");
}

static void on_msg(void *ctx, const char *msg)
{
	char *all = *(char **)ctx;
	*(char **)ctx = hoist_xasprintf("%s%s\n", all ? all : "", msg);
	free(all);
}

static void load_into(const char *sock, const char *what)
{
	struct hoist_engine e;
	struct hoist_err err;
	char host[4200], *msgs = NULL;

	snprintf(host, sizeof(host), "unix://%s", sock);
	setenv("DOCKER_HOST", host, 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	unsetenv("DOCKER_HOST");
	assert_int_equal(hoist_engine_probe(&e, &err), 0);
	if (hoist_engine_load(&e, produce_file, L.tar, on_msg, &msgs, &err))
		fail_msg("%s: %s", what, err.msg);
	assert_non_null(msgs);
	assert_non_null(strstr(msgs, "Loaded image"));
	assert_non_null(strstr(msgs, "example.test/engine/app:1"));
	free(msgs);

	/* the engine's own complaint comes back */
	assert_int_equal(
		hoist_engine_load(&e, produce_garbage, NULL, NULL, NULL, &err),
		HOIST_EHTTP);
	assert_non_null(strstr(err.msg, "engine 'unix://"));
	/* the producer's failure wins over the engine's */
	assert_int_equal(
		hoist_engine_load(&e, produce_fail, NULL, NULL, NULL, &err),
		HOIST_EIO);
	assert_string_equal(err.msg, "layer 'x': disk on fire");
	hoist_engine_release(&e);
}

static void load_dockerd(void **state)
{
	(void)state;
	if (!L.dir)
		skip();
	load_into(L.dsock, "dockerd");
	tl_must_run("docker -H 'unix://%s' image inspect "
		    "example.test/engine/app:1 engine-app:2 >/dev/null",
		    L.dsock);
}

static void load_podman(void **state)
{
	(void)state;
	if (!L.dir)
		skip();
	load_into(L.psock, "podman");
	tl_must_run("podman %s image exists example.test/engine/app:1",
		    L.podman_flags);
}

/*
 * `hoist build --load` and `-o type=docker` without dest: the docker
 * exporter streams into the engine of DOCKER_HOST, or of the docker
 * context that context= names, and prints the engine's answer through the
 * progress.
 */
static void build_load(void **state)
{
	const char *hoist = getenv("HOIST");
	char cfg[4096], cmd[16384];
	(void)state;

	if (!L.dir)
		skip();
	tl_must_run("DOCKER_HOST='unix://%s' '%s' --root '%s/store' build "
		    "--rootfs '%s/tree' --load -t example.test/load/cli:1 "
		    "--progress plain 2>'%s/l1' && grep -q '^#[0-9]* importing "
		    "to docker' '%s/l1' && grep -q 'Loaded image: "
		    "example.test/load/cli:1' '%s/l1'",
		    L.dsock, hoist, L.dir, L.dir, L.dir, L.dir, L.dir);
	tl_must_run("docker -H 'unix://%s' image inspect "
		    "example.test/load/cli:1 >/dev/null",
		    L.dsock);
	/* podman's service through a docker context chosen by context= */
	snprintf(cfg, sizeof(cfg), "%s/dcfg", L.dir);
	{
		char host[4200];
		snprintf(host, sizeof(host), "unix://%s", L.psock);
		write_context(cfg, "pm", host);
	}
	tl_must_run("DOCKER_CONFIG='%s' '%s' --root '%s/store' build "
		    "--rootfs '%s/tree' -t example.test/load/cli:2 "
		    "-o type=docker,context=pm --progress plain 2>'%s/l2' && "
		    "grep -q 'Loaded image' '%s/l2'",
		    cfg, hoist, L.dir, L.dir, L.dir, L.dir);
	tl_must_run("podman %s image exists example.test/load/cli:2",
		    L.podman_flags);
	/* a multi-platform --load is refused before anything is built */
	snprintf(cmd, sizeof(cmd),
		 "DOCKER_HOST='unix://%s' '%s' --root '%s/store2' build "
		 "--rootfs '%s/tree' --load --platform "
		 "linux/amd64,linux/arm64 -t example.test/load/cli:3 2>'%s/l3'",
		 L.dsock, hoist, L.dir, L.dir, L.dir);
	assert_int_not_equal(tl_sh(cmd), 0);
	tl_must_run("grep -q 'docker exporter does not currently support "
		    "exporting manifest lists' '%s/l3' && ! grep -q ADD "
		    "'%s/l3'",
		    L.dir, L.dir);
}

static void load_refused(void **state)
{
	struct hoist_engine e;
	struct hoist_err err;
	char *dir = tl_mkdtemp("engine"), host[4200];
	(void)state;

	snprintf(host, sizeof(host), "unix://%s/none.sock", dir);
	setenv("DOCKER_HOST", host, 1);
	assert_int_equal(hoist_engine_resolve(&e, NULL, &err), 0);
	unsetenv("DOCKER_HOST");
	assert_int_equal(
		hoist_engine_load(&e, produce_garbage, NULL, NULL, NULL, &err),
		HOIST_ENET);
	assert_non_null(strstr(err.msg, "none.sock"));
	/* the probe before a build says so in Docker's words */
	assert_int_equal(hoist_engine_probe(&e, &err), HOIST_ENOTFOUND);
	assert_non_null(strstr(
		err.msg, "cannot connect to the Docker engine at 'unix://"));
	hoist_engine_release(&e);
	tl_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve_hosts),
		cmocka_unit_test(resolve_contexts),
		cmocka_unit_test(load_refused),
		cmocka_unit_test(load_dockerd),
		cmocka_unit_test(load_podman),
		cmocka_unit_test(build_load),
	};
	return cmocka_run_group_tests(tests, live_setup, live_teardown);
}
