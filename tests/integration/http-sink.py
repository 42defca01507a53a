#!/usr/bin/env python3
"""http-sink.py: a tiny HTTP/1.1 server for what docker-registry cannot show.

The http client tests use the real registry for everything a registry does;
this sink only stages misbehaviour: oversized or too many response headers,
stalls, resets, and a keep-alive connection that drops its second request
after reading the body (so libcurl must rewind the body and resend it on a
fresh connection). /echo reports the request line, headers and body digest
back in response headers, so a test can check exactly what went out.

Usage: http-sink.py  -- binds 127.0.0.1 on a free port, prints the port on
the first line of stdout, serves until killed (or for 300 s at most).
"""
import hashlib
import os
import socket
import struct
import sys
import threading
import time

LIFETIME = 300
total_requests = 0
lock = threading.Lock()


def read_request(f):
    """Return (method, path, headers dict lower-cased, body) or None at EOF."""
    line = f.readline(65536)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        return None
    method, path, _ = parts
    headers = {}
    while True:
        h = f.readline(65536)
        if not h:
            return None
        h = h.decode("latin-1").rstrip("\r\n")
        if not h:
            break
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


def read_body(f, sock, headers):
    if headers.get("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "content-length" in headers:
        n = int(headers["content-length"])
        data = f.read(n) if n else b""
        return data
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(f.readline().strip().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += f.read(size)
            f.readline()
    return b""


def respond(sock, status, headers=(), body=b""):
    head = "HTTP/1.1 %d X\r\n" % status
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    sock.sendall(head.encode("latin-1") + body)


def handle(sock):
    global total_requests
    f = sock.makefile("rb")
    nth = 0
    try:
        while True:
            req = read_request(f)
            if req is None:
                return
            method, path, headers = req
            nth += 1
            with lock:
                total_requests += 1
                count = total_requests
            if path.startswith("/stall"):
                # never answer; wait for the client to give up
                sock.settimeout(60)
                while sock.recv(65536):
                    pass
                return
            if path.startswith("/reset"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                return
            body = read_body(f, sock, headers) if method != "HEAD" else b""
            if path.startswith("/drop-second") and nth == 2:
                return  # close after reading: no response at all
            if path.startswith("/slow-body"):
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                             b"\r\n0123")
                sock.settimeout(60)
                while sock.recv(65536):
                    pass
                return
            if path.startswith("/big-header"):
                respond(sock, 200, [("X-Big", "a" * 9000)], b"ok")
            elif path.startswith("/nul-header"):
                respond(sock, 200, [("X-Nul", "a\0b")], b"ok")
            elif path.startswith("/many-headers"):
                respond(sock, 200, [("X-H-%d" % i, str(i))
                                    for i in range(150)], b"ok")
            elif path.startswith("/body/"):
                n = int(path[len("/body/"):])
                respond(sock, 200, [], b"x" * n)
            elif path.startswith("/status/"):
                respond(sock, int(path[len("/status/"):]), [], b"status")
            else:
                # /echo, /drop-second and anything else: describe the request
                info = [
                    ("X-Method", method),
                    ("X-Path", path),
                    ("X-Content-Length", headers.get("content-length",
                                                     "none")),
                    ("X-Content-Type", headers.get("content-type", "none")),
                    ("X-Transfer-Encoding",
                     headers.get("transfer-encoding", "none")),
                    ("X-Body-Length", str(len(body))),
                    ("X-Body-Sha256", hashlib.sha256(body).hexdigest()),
                    ("X-Request-On-Connection", str(nth)),
                    ("X-Total-Requests", str(count)),
                    ("X-Test", headers.get("x-test", "none")),
                ]
                status = 201 if method in ("PUT", "POST") else 200
                respond(sock, status, info,
                        b"" if method == "HEAD" else b"ok")
    except (OSError, ValueError):
        return
    finally:
        try:
            f.close()
            sock.close()
        except OSError:
            pass


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    # one write, then let go of stdout: the reader may close the pipe
    os.write(1, b"%d\n" % srv.getsockname()[1])
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    srv.settimeout(1)
    end = time.time() + LIFETIME
    while time.time() < end:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        c.settimeout(None)
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
