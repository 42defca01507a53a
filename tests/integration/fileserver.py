#!/usr/bin/env python3
"""fileserver.py: a static file server on 127.0.0.1 for ADD URL tests.

Serves --root with Python's http.server (Last-Modified from the file's
mtime), over TLS with --tls-cert/--tls-key. Two extra paths:
  /redir/PATH      302 to /PATH on the same server
  /to/URL          302 to URL (percent-encoded), e.g. an http:// one
Writes its port to --port-file once it listens; exits after --max-seconds.
"""
import argparse
import functools
import http.server
import ssl
import threading
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        with open(self.server.log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def do_GET(self):
        if self.path.startswith("/redir/"):
            return self.redirect("/" + self.path[len("/redir/"):])
        if self.path.startswith("/to/"):
            return self.redirect(urllib.parse.unquote(self.path[len("/to/"):]))
        return super().do_GET()

    def redirect(self, where):
        self.log_message("")
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--max-seconds", type=float, default=600)
    a = ap.parse_args()
    h = functools.partial(Handler, directory=a.root)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
    srv.log = a.log
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    threading.Timer(a.max_seconds, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
