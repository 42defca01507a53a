/*
 * engine.h: a Docker Engine API client for `--load` (POST /images/load),
 * which dockerd and `podman system service` both serve.
 *
 * The endpoint is found as the docker CLI finds it:
 *  1. an explicit context name (the docker exporter's context= option);
 *  2. DOCKER_HOST (unix://PATH, tcp://HOST:PORT; with DOCKER_TLS_VERIFY
 *     set, https with ca.pem/cert.pem/key.pem from DOCKER_CERT_PATH);
 *  3. DOCKER_CONTEXT, else currentContext of $DOCKER_CONFIG/config.json
 *     (DOCKER_CONFIG defaults to ~/.docker): the context's
 *     contexts/meta/<sha256 of the name>/meta.json gives Endpoints.docker.
 *     Host and SkipTLSVerify, contexts/tls/<sha256>/docker/ its TLS files;
 *  4. unix:///var/run/docker.sock.
 * The context "default" is steps 2 and 4. ssh:// and npipe:// are refused.
 *
 * The image goes out as a docker-archive tarball made on the fly: a
 * producer writes it into a sink on a thread of its own while the request
 * body is read from the other end of a socket pair, so nothing is staged
 * on disk. The engine answers with JSON messages ({"stream": "Loaded
 * image: ..."} or {"errorDetail": {...}, "error": "..."}).
 */
#ifndef HOIST_LIB_ENGINE_H
#define HOIST_LIB_ENGINE_H

#include "util/err.h"
#include "lib/sink.h"

struct hoist_engine {
	char *host;        /* as configured: "unix:///run/docker.sock" */
	char *unix_socket; /* the socket path, or NULL for tcp */
	char *base_url;    /* "http://localhost" or "https://HOST:PORT" */
	char *ca_file, *cert_file, *key_file; /* TLS material, or NULL */
	int insecure;                         /* SkipTLSVerify */
};

/*
 * Find the endpoint (see above). context may be NULL. HOIST_ENOTFOUND for
 * an unknown context, HOIST_EINVAL for a malformed host or meta.json,
 * HOIST_EUNSUPPORTED for ssh:// and npipe://. out owns its strings
 * (hoist_engine_release).
 */
int hoist_engine_resolve(struct hoist_engine *out, const char *context,
			 struct hoist_err *err);

/*
 * For a unix socket: connect to it once, so a missing or dead engine is
 * found before anything is built ("cannot connect to the Docker engine at
 * 'unix:///var/run/docker.sock': No such file or directory", the errno's
 * code). tcp:// engines are not probed (0).
 */
int hoist_engine_probe(const struct hoist_engine *e, struct hoist_err *err);
void hoist_engine_release(struct hoist_engine *e);

/* Writes the docker-archive tarball into sink; 0 or a HOIST_E* code. */
typedef int (*hoist_engine_producer)(void *ctx, const struct hoist_sink *sink,
				     struct hoist_err *err);

/*
 * POST /v1.41/images/load with the tarball that produce writes (run on a
 * thread of its own; it must not use state the caller touches meanwhile).
 * Each message of the engine ("Loaded image: NAME") is passed to on_msg
 * (may be NULL) without its newline. Errors: the producer's own error
 * first; HOIST_ENET when the engine cannot be reached; HOIST_EHTTP with
 * the engine's message for an error answer or an errorDetail message.
 */
int hoist_engine_load(const struct hoist_engine *e,
		      hoist_engine_producer produce, void *produce_ctx,
		      void (*on_msg)(void *ctx, const char *msg), void *msg_ctx,
		      struct hoist_err *err);

#endif
