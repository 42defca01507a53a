#!/usr/bin/env python3
"""fileserver.py: a static file server on 127.0.0.1 for ADD URL tests.

Serves --root with Python's http.server (Last-Modified from the file's
mtime), over TLS with --tls-cert/--tls-key. Two extra paths:
  /redir/PATH      302 to /PATH on the same server
  /to/URL          302 to URL (percent-encoded), e.g. an http:// one
and Git's smart HTTP protocol for the bare repositories under --root
(PATH.git/info/refs?service=..., PATH.git/git-upload-pack), answered by
`git http-backend` as a CGI program.
Writes its port to --port-file once it listens; exits after --max-seconds.
"""
import argparse
import functools
import http.server
import os
import re
import subprocess
import ssl
import threading
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        with open(self.server.log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    GIT = re.compile(r"^/.*\.git/(info/refs\?service=|git-upload-pack$)")

    def git_backend(self):
        path, _, query = self.path.partition("?")
        n = int(self.headers.get("Content-Length") or 0)
        env = dict(os.environ, GIT_PROJECT_ROOT=self.directory,
                   GIT_HTTP_EXPORT_ALL="1", REMOTE_ADDR="127.0.0.1",
                   PATH_INFO=urllib.parse.unquote(path), QUERY_STRING=query,
                   REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(n))
        for h in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(h):
                env["HTTP_" + h.upper().replace("-", "_")] = self.headers[h]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(["git", "http-backend"], env=env,
                             input=self.rfile.read(n) if n else b"",
                             capture_output=True).stdout
        # CGI headers end at the first empty line (CRLF or LF)
        m = re.search(rb"\r?\n\r?\n", out)
        head, body = (out[:m.start()], out[m.end():]) if m else (b"", out)
        status, headers = 200, []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.log_message("")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.GIT.match(self.path):
            return self.git_backend()
        self.send_error(405)

    def do_GET(self):
        if self.GIT.match(self.path):
            return self.git_backend()
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
