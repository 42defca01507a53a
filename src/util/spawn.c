/*
 * spawn.c: a child process with stdin fed from memory, stdout collected
 * into a capped buffer, and a deadline after which it is killed. One poll
 * loop writes and reads, so a child that writes before it has read all
 * of its input cannot deadlock us.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/mem.h"
#include "util/spawn.h"
#include "util/banned.h"

extern char **environ;

/* environ with so's "NAME=VALUE" strings over it, or NULL for environ
 * itself (the strings are borrowed; only the array is new). */
static char **child_env(const struct hoist_spawn_opts *so)
{
	size_t n = 0, k = 0, add = 0;
	char **env;

	if (!so || !so->env)
		return NULL;
	while (environ[n])
		n++;
	while (so->env[add])
		add++;
	env = hoist_xcalloc(n + add + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < add; j++) {
			const char *eq = strchr(so->env[j], '=');
			size_t nl = eq ? (size_t)(eq - so->env[j]) : 0;
			if (nl && !strncmp(environ[i], so->env[j], nl + 1))
				break;
		}
		if (j == add)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < add; j++)
		env[k++] = (char *)so->env[j];
	return env;
}

static int start(pid_t *pid, char *const argv[], int in, int out,
		 const struct hoist_spawn_opts *so, struct hoist_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	char **env = child_env(so);
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	if (so && so->stderr_out)
		posix_spawn_file_actions_adddup2(&fa, out, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, env ? env : environ);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc == 0)
		return 0;
	*pid = -1;
	if (rc == ENOENT)
		return hoist_err_set(err, HOIST_ENOTFOUND,
				     "'%s' not found in PATH", argv[0]);
	return hoist_err_sys(err, rc, "run '%s'", argv[0]);
}

static int timed_out(const char *name, long timeout_ms, struct hoist_err *err)
{
	return hoist_err_set(err, HOIST_ELIMIT, "'%s' timed out after %ld ms",
			     name, timeout_ms);
}

int hoist_spawn_run(char *const argv[], const char *input, size_t inlen,
		    struct hoist_buf *out, long timeout_ms, int *status,
		    struct hoist_err *err)
{
	return hoist_spawn_run_opts(argv, NULL, input, inlen, out, timeout_ms,
				    status, err);
}

int hoist_spawn_run_opts(char *const argv[], const struct hoist_spawn_opts *so,
			 const char *input, size_t inlen, struct hoist_buf *out,
			 long timeout_ms, int *status, struct hoist_err *err)
{
	int in[2] = {-1, -1}, outp[2] = {-1, -1};
	const char *name = argv[0];
	pid_t pid = -1;
	int rc = 0, wst = 0, reaped = 0;
	size_t sent = 0;
	int64_t deadline = hoist_clock_ms() + timeout_ms;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0) {
		rc = hoist_err_sys(err, errno, "run '%s'", name);
		goto out;
	}
	rc = start(&pid, argv, in[1], outp[1], so, err);
	if (rc)
		goto out;
	close(in[1]);
	close(outp[1]);
	in[1] = outp[1] = -1;
	fcntl(in[0], F_SETFL, O_NONBLOCK);
	if (!inlen)
		shutdown(in[0], SHUT_WR);

	while (outp[0] >= 0) {
		struct pollfd pf[2];
		int nf = 0, left = (int)(deadline - hoist_clock_ms());

		if (left <= 0) {
			rc = timed_out(name, timeout_ms, err);
			goto out;
		}
		pf[nf].fd = outp[0];
		pf[nf++].events = POLLIN;
		if (sent < inlen) {
			pf[nf].fd = in[0];
			pf[nf++].events = POLLOUT;
		}
		if (poll(pf, (nfds_t)nf, left) < 0) {
			if (errno == EINTR)
				continue;
			rc = hoist_err_sys(err, errno, "wait for '%s'", name);
			goto out;
		}
		if (nf > 1 && pf[1].revents) {
			ssize_t w = send(in[0], input + sent, inlen - sent,
					 MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				sent = inlen; /* it stopped reading */
			if (sent >= inlen)
				shutdown(in[0], SHUT_WR);
		}
		if (pf[0].revents) {
			char chunk[4096];
			ssize_t r = read(outp[0], chunk, sizeof(chunk));
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				rc = hoist_err_sys(err, errno, "read from '%s'",
						   name);
				goto out;
			}
			if (r == 0) {
				close(outp[0]);
				outp[0] = -1;
			} else if (r > 0 &&
				   hoist_buf_add(out, chunk, (size_t)r, NULL)) {
				rc = hoist_err_set(err, HOIST_ELIMIT,
						   "'%s': output longer than "
						   "%zu bytes",
						   name, out->max);
				goto out;
			}
		}
	}
	/* stdout is closed; give the process the rest of the time to exit */
	for (;;) {
		pid_t w = waitpid(pid, &wst, WNOHANG);
		if (w == pid) {
			reaped = 1;
			break;
		}
		if (w < 0 && errno != EINTR) {
			reaped = 1;
			rc = hoist_err_sys(err, errno, "wait for '%s'", name);
			goto out;
		}
		if (hoist_clock_ms() >= deadline) {
			rc = timed_out(name, timeout_ms, err);
			goto out;
		}
		usleep(2000);
	}
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
out:
	if (pid > 0 && !reaped) {
		kill(pid, SIGKILL);
		waitpid(pid, &wst, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	return rc;
}
