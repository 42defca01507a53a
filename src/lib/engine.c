/*
 * engine.c: finding a Docker Engine and loading a docker-archive into it
 * through POST /images/load (see engine.h).
 *
 * The tarball is produced on a thread into one end of a socket pair (send
 * with MSG_NOSIGNAL, so an engine that hangs up early gives EPIPE rather
 * than SIGPIPE) and libcurl reads the other end as a chunked request body.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/engine.h"
#include "lib/http.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define DEFAULT_SOCKET "/var/run/docker.sock"
#define LOAD_PATH "/v1.41/images/load?quiet=1"
#define ANSWER_MAX (4u << 20)
#define META_MAX (1u << 20)

void hoist_engine_release(struct hoist_engine *e)
{
	free(e->host);
	free(e->unix_socket);
	free(e->base_url);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	memset(e, 0, sizeof(*e));
}

/* dir/name if it exists, else NULL */
static char *tls_file(const char *dir, const char *name)
{
	char *p;

	if (!dir)
		return NULL;
	p = hoist_xasprintf("%s/%s", dir, name);
	if (hoist_fs_exists(p))
		return p;
	free(p);
	return NULL;
}

/*
 * Fill out from a host string. tls_dir holds ca.pem/cert.pem/key.pem (may
 * be NULL); tls forces https for tcp.
 */
static int from_host(struct hoist_engine *out, const char *host,
		     const char *tls_dir, int tls, struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];

	hoist_err_quote(q, sizeof(q), host, HOIST_QUOTE_ALL, 0);
	out->host = hoist_xstrdup(host);
	if (strncmp(host, "unix://", 7) == 0) {
		if (host[7] != '/')
			return hoist_err_set(
				err, HOIST_EINVAL,
				"docker host '%s': the socket path "
				"must be absolute",
				q);
		out->unix_socket = hoist_xstrdup(host + 7);
		out->base_url = hoist_xstrdup("http://localhost");
		return 0;
	}
	if (strncmp(host, "tcp://", 6) == 0) {
		const char *h = host + 6, *end = h + strcspn(h, "/?#");
		const char *colon = NULL;

		if (end == h ||
		    strspn(h, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789.-:[]") < (size_t)(end - h))
			return hoist_err_set(err, HOIST_EINVAL,
					     "docker host '%s': bad address",
					     q);
		for (const char *c = end; c > h; c--)
			if (c[-1] == ':' || c[-1] == ']') {
				if (c[-1] == ':')
					colon = c - 1;
				break;
			}
		/* "HOST:" is the default port, as the docker CLI reads it */
		if (colon && colon + 1 == end) {
			end = colon;
			colon = NULL;
			if (end == h)
				return hoist_err_set(err, HOIST_EINVAL,
						     "docker host '%s': bad "
						     "address",
						     q);
		}
		out->ca_file = tls_file(tls_dir, "ca.pem");
		out->cert_file = tls_file(tls_dir, "cert.pem");
		out->key_file = tls_file(tls_dir, "key.pem");
		tls = tls || out->ca_file || out->cert_file;
		out->base_url = hoist_xasprintf(
			"%s://%.*s%s", tls ? "https" : "http", (int)(end - h),
			h, colon ? "" : (tls ? ":2376" : ":2375"));
		return 0;
	}
	if (strstr(host, "://") && (strncmp(host, "ssh://", 6) == 0 ||
				    strncmp(host, "npipe://", 8) == 0 ||
				    strncmp(host, "fd://", 5) == 0))
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "docker host '%s': only unix:// and "
				     "tcp:// are supported",
				     q);
	return hoist_err_set(err, HOIST_EINVAL,
			     "docker host '%s': expected unix:///PATH or "
			     "tcp://HOST[:PORT]",
			     q);
}

/* The "default" context: DOCKER_HOST, else the default socket. */
static int from_default(struct hoist_engine *out, struct hoist_err *err)
{
	const char *host = getenv("DOCKER_HOST");
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	const char *certs = getenv("DOCKER_CERT_PATH");
	char *dflt = NULL;
	int ret;

	if (!host || !*host)
		return from_host(out, "unix://" DEFAULT_SOCKET, NULL, 0, err);
	if ((!certs || !*certs) && verify && *verify && getenv("HOME"))
		certs = dflt = hoist_xasprintf("%s/.docker", getenv("HOME"));
	ret = from_host(out, host, verify && *verify ? certs : NULL,
			verify && *verify, err);
	free(dflt);
	return ret;
}

/* $DOCKER_CONFIG, else ~/.docker; NULL without HOME. */
static char *config_dir(void)
{
	const char *d = getenv("DOCKER_CONFIG");

	if (d && *d)
		return hoist_xstrdup(d);
	d = getenv("HOME");
	return d && *d ? hoist_xasprintf("%s/.docker", d) : NULL;
}

static int valid_context_name(const char *n)
{
	size_t len = strlen(n);

	if (len < 1 || len > 200 ||
	    !strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789",
		    n[0]))
		return 0;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.+-") == len;
}

static int from_context(struct hoist_engine *out, const char *name,
			const char *cfg, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1], q[HOIST_QUOTE_BUF];
	char *path = NULL, *data = NULL, *tls_dir = NULL;
	const json_t *ep;
	json_t *meta = NULL;
	const char *host;
	size_t len;
	int ret;

	if (strcmp(name, "default") == 0)
		return from_default(out, err);
	hoist_err_quote(q, sizeof(q), name, HOIST_QUOTE_ALL, 0);
	if (!valid_context_name(name))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid docker context name '%s'", q);
	if (!cfg)
		return hoist_err_set(err, HOIST_ENOTFOUND,
				     "docker context '%s' not found: no "
				     "DOCKER_CONFIG and no HOME",
				     q);
	hoist_sha256_hex(name, strlen(name), hex);
	path = hoist_xasprintf("%s/contexts/meta/%s/meta.json", cfg, hex);
	ret = hoist_fs_read_file(&data, &len, path, META_MAX, err);
	if (ret == HOIST_ENOTFOUND) {
		ret = hoist_err_set(err, HOIST_ENOTFOUND,
				    "docker context '%s' not found", q);
		goto out;
	}
	if (ret)
		goto out;
	ret = hoist_json_parse(&meta, data, len, path, err);
	if (ret)
		goto out;
	ep = json_object_get(json_object_get(meta, "Endpoints"), "docker");
	host = hoist_json_str(ep, "Host");
	if (!host || !*host) {
		ret = hoist_err_set(err, HOIST_EINVAL,
				    "docker context '%s': '%s' has no "
				    "Endpoints.docker.Host",
				    q, path);
		goto out;
	}
	tls_dir = hoist_xasprintf("%s/contexts/tls/%s/docker", cfg, hex);
	ret = from_host(out, host, tls_dir, 0, err);
	if (ret)
		hoist_err_prefix(err, "docker context '%s'", q);
	else
		out->insecure =
			json_is_true(json_object_get(ep, "SkipTLSVerify"));
out:
	json_decref(meta);
	free(tls_dir);
	free(data);
	free(path);
	return ret;
}

int hoist_engine_resolve(struct hoist_engine *out, const char *context,
			 struct hoist_err *err)
{
	char *cfg = config_dir(), *path = NULL, *data = NULL;
	const char *env = getenv("DOCKER_CONTEXT");
	const char *host = getenv("DOCKER_HOST");
	json_t *conf = NULL;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if (context && *context) {
		ret = from_context(out, context, cfg, err);
	} else if (host && *host) {
		ret = from_default(out, err);
	} else if (env && *env) {
		ret = from_context(out, env, cfg, err);
	} else if (!cfg) {
		ret = from_default(out, err);
	} else {
		path = hoist_xasprintf("%s/config.json", cfg);
		ret = hoist_fs_read_file(&data, &len, path, META_MAX, err);
		if (ret == HOIST_ENOTFOUND) {
			ret = from_default(out, err);
		} else if (!ret && !(ret = hoist_json_parse(&conf, data, len,
							    path, err))) {
			const char *cur =
				hoist_json_str(conf, "currentContext");
			ret = cur && *cur ? from_context(out, cur, cfg, err)
					  : from_default(out, err);
		}
	}
	if (ret)
		hoist_engine_release(out);
	json_decref(conf);
	free(data);
	free(path);
	free(cfg);
	return ret;
}

int hoist_engine_probe(const struct hoist_engine *e, struct hoist_err *err)
{
	struct sockaddr_un sa;
	size_t n = e->unix_socket ? strlen(e->unix_socket) : 0;
	int fd, rc, errnum;

	if (!n || n >= sizeof(sa.sun_path))
		return 0; /* tcp, or a path only libcurl may reach */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hoist_err_sys(err, errno, "socket");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, e->unix_socket, n + 1);
	rc = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
	errnum = errno;
	close(fd);
	if (rc == 0)
		return 0;
	return hoist_err_sys(err, errnum,
			     "cannot connect to the Docker engine at '%s'",
			     e->host);
}

struct producer {
	hoist_engine_producer fn;
	void *ctx;
	int fd;
	int ret;
	struct hoist_err err;
	int step; /* the starter's progress step (util/log.h) */
};

static int send_all(void *ctx, const void *data, size_t len,
		    struct hoist_err *err)
{
	struct producer *p = ctx;
	const char *d = data;

	while (len) {
		ssize_t n = send(p->fd, d, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hoist_err_sys(err, errno,
					     "send the image to the engine");
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *produce_thread(void *arg)
{
	struct producer *p = arg;
	struct hoist_sink sink = {send_all, p};

	hoist_err_clear(&p->err);
	hoist_step_adopt(p->step);
	p->ret = p->fn(p->ctx, &sink, &p->err);
	shutdown(p->fd, SHUT_WR);
	return NULL;
}

/* The engine's answer: messages, or an error in errorDetail. */
static int read_answer(const struct hoist_engine *e, const char *body,
		       size_t len, int status,
		       void (*on_msg)(void *ctx, const char *msg),
		       void *msg_ctx, struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF * 2];
	size_t pos = 0;

	while (pos < len) {
		json_error_t jerr;
		json_t *v;
		const char *msg;

		while (pos < len && strchr(" \t\r\n", body[pos]))
			pos++;
		if (pos >= len)
			break;
		v = json_loadb(body + pos, len - pos,
			       JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
		if (!v || !json_is_object(v) || jerr.position <= 0) {
			json_decref(v);
			hoist_err_quote(q, sizeof(q), body + pos, len - pos, 0);
			if (status / 100 != 2)
				return hoist_err_set(err, HOIST_EHTTP,
						     "engine '%s': HTTP %d: %s",
						     e->host, status, q);
			return hoist_err_set(err, HOIST_EHTTP,
					     "engine '%s': unexpected answer "
					     "'%s'",
					     e->host, q);
		}
		pos += (size_t)jerr.position;
		msg = hoist_json_str(json_object_get(v, "errorDetail"),
				     "message");
		if (!msg)
			msg = hoist_json_str(v, "error");
		if (!msg && status / 100 != 2)
			msg = hoist_json_str(v, "message");
		if (msg || status / 100 != 2) {
			hoist_err_quote(q, sizeof(q), msg ? msg : "",
					HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
			json_decref(v);
			if (err)
				err->http_status = status;
			return hoist_err_set(err, HOIST_EHTTP,
					     "engine '%s': load: %s", e->host,
					     q);
		}
		msg = hoist_json_str(v, "stream");
		if (msg && on_msg) {
			size_t n = strlen(msg);
			while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
				n--;
			if (n) {
				hoist_err_quote(q, sizeof(q), msg, n,
						HOIST_QUOTE_UTF8);
				on_msg(msg_ctx, q);
			}
		}
		json_decref(v);
	}
	if (status / 100 != 2)
		return hoist_err_set(err, HOIST_EHTTP,
				     "engine '%s': load: HTTP %d", e->host,
				     status);
	return 0;
}

int hoist_engine_load(const struct hoist_engine *e,
		      hoist_engine_producer produce, void *produce_ctx,
		      void (*on_msg)(void *ctx, const char *msg), void *msg_ctx,
		      struct hoist_err *err)
{
	static const char *const headers[] = {"Content-Type: application/x-tar",
					      "Expect:"};
	struct hoist_http_opts hopts = {1, 30000, 1, 3600, NULL};
	struct hoist_http_tls tls = {e->ca_file, NULL, e->cert_file,
				     e->key_file, e->insecure};
	struct hoist_http_response resp;
	struct hoist_http_request req;
	struct producer p;
	struct hoist_http *h = NULL;
	pthread_t th;
	char *url;
	int sv[2], ret, cut;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return hoist_err_sys(err, errno, "socketpair");
	ret = hoist_http_new(&h, &hopts, err);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	memset(&p, 0, sizeof(p));
	p.fn = produce;
	p.ctx = produce_ctx;
	p.fd = sv[1];
	p.step = hoist_step_current();
	if ((errno = pthread_create(&th, NULL, produce_thread, &p))) {
		ret = hoist_err_sys(err, errno, "start the image producer");
		close(sv[0]);
		close(sv[1]);
		hoist_http_free(h);
		return ret;
	}
	url = hoist_xasprintf("%s%s", e->base_url, LOAD_PATH);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.nheaders = 2;
	req.body_kind = HOIST_HTTP_BODY_STREAM;
	req.body_fd = sv[0];
	req.max_body = ANSWER_MAX;
	req.tls = &tls;
	req.version = HOIST_HTTP_V1;
	req.unix_socket = e->unix_socket;
	ret = hoist_http_do(h, &req, &resp, err);
	/* unblock a producer the engine stopped reading */
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(th, NULL);
	close(sv[0]);
	close(sv[1]);
	/* EPIPE: the engine hung up, and its answer says why */
	cut = p.err.sys_errno == EPIPE || p.err.sys_errno == ECONNRESET;
	if (ret == 0 && (!p.ret || cut))
		ret = read_answer(e, resp.body.data, resp.body.len, resp.status,
				  on_msg, msg_ctx, err);
	else if (ret && (!p.ret || cut))
		hoist_err_prefix(err, "engine '%s'", e->host);
	if (p.ret && (!cut || ret == 0)) {
		/* the producer's own failure is the news */
		if (err)
			*err = p.err;
		ret = p.ret;
	}
	hoist_http_response_release(&resp);
	hoist_http_free(h);
	free(url);
	return ret;
}
