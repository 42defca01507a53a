#!/bin/sh
# pull-stub.sh PORT-FILE: a scripted registry for what docker-registry 2.8
# cannot do, used by tests/unit/test-pull.c (not a test on its own).
# Binds 127.0.0.1 on a free port, writes it to PORT-FILE, lives 300 s.
#
#   test/old:v1       a schema1 manifest (v1+prettyjws)
#   test/plain:v1     the same schema1 bytes served as application/json
#   q-<quirk>/img:v1  an OCI image (config + one 300000-byte layer) whose
#                     layer GETs misbehave; each quirk counts its own GETs:
#     norange    1st GET cut after 100000 bytes; then Range is ignored (200)
#     badrange   1st GET cut; the ranged GET gets 206 from byte 5; then 200
#     e503       1st GET 503 (Retry-After: 0); then 200
#     long       200 with 10 bytes more than the blob
#     loop       302 to itself, forever
#     r206       1st GET cut; a ranged GET gets a correct 206
exec python3 - "$@" <<'EOF'
import hashlib, http.server, json, os, socket, sys, threading, time

SCHEMA1 = json.dumps({"schemaVersion": 1, "name": "test/old", "tag": "v1",
                      "architecture": "amd64", "fsLayers": [],
                      "history": []}).encode()
LAYER = bytes((i * 7 + i // 251) % 256 for i in range(300000))
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": []}}).encode()
CUT = 100000


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": digest(CONFIG), "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest(LAYER), "size": len(LAYER)}],
}, indent=2).encode()
COUNT = {}
LOCK = threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, body, ctype="application/octet-stream",
             extra=(), length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length",
                         str(len(body) if length is None else length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def cut(self, body):
        """Promise all of body, send CUT bytes, hang up."""
        self.send(200, body[:CUT], length=len(body))
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self):
        p = self.path
        parts = p.split("/")
        if p == "/v2/":
            return self.send(200, b"{}", "application/json")
        if p == "/v2/test/old/manifests/v1":
            return self.send(200, SCHEMA1, "application/vnd.docker."
                             "distribution.manifest.v1+prettyjws")
        if p == "/v2/test/plain/manifests/v1":
            return self.send(200, SCHEMA1, "application/json")
        if len(parts) != 6 or not parts[2].startswith("q-"):
            return self.send(404, b"{}", "application/json")
        quirk, kind, ref = parts[2][2:], parts[4], parts[5]
        if kind == "manifests":
            return self.send(200, MANIFEST,
                             "application/vnd.oci.image.manifest.v1+json")
        if ref == digest(CONFIG):
            return self.send(200, CONFIG)
        if ref != digest(LAYER):
            return self.send(404, b"{}", "application/json")
        with LOCK:
            n = COUNT[quirk] = COUNT.get(quirk, 0) + 1
        rng = self.headers.get("Range")
        if quirk == "loop":
            return self.send(302, b"", extra=[("Location", p)])
        if quirk == "long":
            return self.send(200, LAYER + b"0123456789")
        if quirk == "e503":
            if n == 1:
                return self.send(503, b"{}", "application/json",
                                 [("Retry-After", "0")])
            return self.send(200, LAYER)
        if n == 1:
            return self.cut(LAYER)
        if quirk == "badrange" and rng:
            return self.send(206, LAYER[5:], extra=[
                ("Content-Range", "bytes 5-%d/%d" % (len(LAYER) - 1,
                                                    len(LAYER)))])
        if quirk == "r206" and rng:
            start = int(rng.split("=")[1].split("-")[0])
            return self.send(206, LAYER[start:], extra=[
                ("Content-Range", "bytes %d-%d/%d" % (
                    start, len(LAYER) - 1, len(LAYER)))])
        return self.send(200, LAYER)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
t = threading.Timer(300, lambda: os._exit(0))
t.daemon = True
t.start()
srv.serve_forever(poll_interval=0.2)
EOF
