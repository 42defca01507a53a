#!/usr/bin/env python3
"""faultproxy.py: a fault-injecting HTTP/1.1 reverse proxy for push tests.

It sits between hoist and a docker-registry on loopback and streams request
and response bodies both ways (Content-Length or chunked), one upstream
connection per request. Host is passed through and X-Forwarded-Proto is set,
so the registry's upload Locations point back at the proxy. Faults, all
settable by flags or at run time with POST /_faultproxy/config (JSON, the
flag names with '_' for '-'):

  cut_body_after N, cut_times K, cut_methods M,..   reset the connection after
      forwarding N request-body bytes, K times (-1: always)
  cut_response_after N, cut_response_times K, cut_response_methods M,..
      reset the connection after N response-body bytes
  error_every K, error_status 503|429, retry_after S, error_methods M,..,
  error_times K                    answer every K-th matching request itself
  max_body N                       413 SIZE_INVALID above N body bytes (before
                                   reading a Content-Length body)
  latency_ms MS, rate BPS          delay per request, body bandwidth cap
  redirect_blobs_to ORIGIN         307 for GET .../blobs/<digest> to ORIGIN
  buffer_body true                 store and forward request bodies (as nginx
                                   does by default): a body the client does
                                   not finish never reaches the registry
  stall_body_after N               stop reading request bodies, mid-body,
                                   once N body bytes arrived in all (stats:
                                   "stalled"); a test can then kill the
                                   client at a known point
  forwarded_host H                 X-Forwarded-Host: H upstream, so the
                                   registry's Locations name another origin
  bucket_rate R, bucket_burst B    a token bucket (R requests a second, B at
                                   once): a request finding it empty gets a
                                   429 with Retry-After (error_methods apply)
  ratelimit_remaining N            add Docker Hub's "ratelimit-limit: 100;
                                   w=21600" and "ratelimit-remaining: N;
                                   w=21600" to every relayed answer
  ping_ok true                     answer GET /v2/ with 200 here, as
                                   registries that challenge only later do
  response_rate BPS                answer body bandwidth cap
  corrupt_response_after N         flip byte N of every GET blob body
                                   (same length: only a digest shows it)
  stall_response_after N           relay N bytes of each answer (headers
                                   included), then one byte a second: a
                                   registry that trickles
  refuse_chunks STATUS             answer a PATCH that carries Content-Range
                                   with STATUS before reading its body (416:
                                   RANGE_INVALID, as GHCR answers chunks it
                                   refuses; others: UNSUPPORTED), as a
                                   registry taking no chunked uploads: only
                                   a streamed PATCH (no Content-Range) passes

GET /_faultproxy/stats returns counters (client connections accepted,
requests, body bytes received and forwarded per method, faults, statuses,
Authorization headers seen, a log of the last requests, and "inflight":
the requests whose body is still coming, with the body bytes received so
far); POST /_faultproxy/reset zeroes them. Every
request is also appended to --log as a JSON line with the Authorization
scheme and a short SHA-256 of the header value (never the value itself),
its Content-Range and Transfer-Encoding, the body bytes received, and
"t0" (its headers arrived), "t_body" (its first body byte) and "t" (its
answer).
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    "expect", "content-length",
}
BLOB_RE = re.compile(r"^/v2/.+/blobs/[a-z0-9]+:[a-zA-Z0-9=_-]+$")
BUF = 65536
LOG_KEEP = 2000

DEFAULTS = {
    "cut_body_after": None, "cut_times": 1, "cut_methods": ["PATCH", "PUT"],
    "cut_response_after": None, "cut_response_times": 1,
    "cut_response_methods": ["GET"],
    "error_every": None, "error_status": 503, "retry_after": 1,
    "error_methods": [], "error_times": -1,
    "max_body": None, "latency_ms": 0, "rate": None,
    "redirect_blobs_to": None, "forwarded_host": None,
    "buffer_body": False, "stall_body_after": None,
    "bucket_rate": None, "bucket_burst": 1, "ratelimit_remaining": None,
    "ping_ok": False, "stall_response_after": None,
    "corrupt_response_after": None, "response_rate": None,
    "refuse_chunks": None,
}


class Cut(Exception):
    """The connection to the client was reset on purpose."""


class State:
    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.cfg = dict(DEFAULTS)
        self.cfg.update(cfg)
        self.reset()

    def reset(self):
        self.n = 0
        self.bucket = None
        self.bucket_t = time.monotonic()
        self.error_match = 0
        self.received = 0
        self.stats = {
            "stalled": 0, "connections": 0,
            "requests": {}, "body_received": {}, "body_forwarded": {},
            "response_bytes": {}, "statuses": {}, "auth": {}, "faults": {},
            "log": [], "inflight": {},
        }

    def add(self, key, sub, v=1):
        with self.lock:
            d = self.stats[key]
            d[sub] = d.get(sub, 0) + v

    def fault(self, name):
        self.add("faults", name)

    def bucket_take(self):
        """0 when the bucket had a token (taken), else seconds to wait."""
        with self.lock:
            rate = float(self.cfg["bucket_rate"])
            burst = float(self.cfg["bucket_burst"] or 1)
            now = time.monotonic()
            if self.bucket is None:
                self.bucket = burst
            self.bucket = min(burst, self.bucket + (now - self.bucket_t) * rate)
            self.bucket_t = now
            if self.bucket >= 1:
                self.bucket -= 1
                return 0
            return (1 - self.bucket) / rate

    def take(self, times_key):
        """Consume one use of a limited fault; False when none is left."""
        with self.lock:
            t = self.cfg[times_key]
            if t is None or t < 0:
                return True
            if t == 0:
                return False
            self.cfg[times_key] = t - 1
            return True


def methods(v):
    if isinstance(v, str):
        v = [m for m in v.split(",") if m]
    return [m.upper() for m in v]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"

    def log_message(self, fmt, *args):
        pass

    # Expect: 100-continue is answered by us, after the fault checks, so a
    # 413 or an injected error can come before any body byte.
    def handle_expect_100(self):
        self._expect = True
        return True

    def _continue(self):
        if getattr(self, "_expect", False):
            self._expect = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.proxy
        raise AttributeError(name)

    # -- helpers ---------------------------------------------------------

    def _reset_client(self):
        """Abort the client connection with a TCP RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.connection.close()
        except OSError:
            pass
        raise Cut()

    def _lingering_close(self, limit):
        """After an early answer: stop writing, drain what the client still
        sends (so the kernel does not reset the answer away), then close."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(2)
            got = 0
            while got < limit:
                b = self.rfile.read1(BUF)
                if not b:
                    break
                got += len(b)
        except (OSError, ValueError):
            pass

    def _send_simple(self, status, headers, body, close=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self.st.add("statuses", str(status))

    def _stall(self):
        """Hold a body mid-way while stall_body_after says so."""
        st = self.st
        stalled = False
        while not self._control:
            with st.lock:
                sa = st.cfg["stall_body_after"]
                if sa is None or st.received < int(sa):
                    if stalled:
                        st.stats["stalled"] = max(0,
                                                  st.stats["stalled"] - 1)
                    return
                if not stalled:
                    stalled = True
                    st.stats["stalled"] += 1
                    d = st.stats["faults"]
                    d["stall"] = d.get("stall", 0) + 1
            time.sleep(0.02)

    def _got(self, b):
        if self._control:
            return b
        now = round(time.time(), 3)
        with self.st.lock:
            self.st.received += len(b)
            self._body_n += len(b)
            if self._t_body is None:
                self._t_body = now
            self.st.stats["inflight"][self._rid] = {
                "method": self.command, "path": self.path,
                "content_range": self.headers.get("Content-Range"),
                "t_body": self._t_body, "received": self._body_n}
        return b

    def _body_over(self):
        with self.st.lock:
            self.st.stats["inflight"].pop(self._rid, None)

    def _body_chunks(self):
        """Yield the client's request body in pieces, de-chunked."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("eof in chunk size")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return
                left = size
                while left:
                    self._stall()
                    b = self.rfile.read1(min(BUF, left))
                    if not b:
                        raise ConnectionError("eof in chunk")
                    left -= len(b)
                    yield self._got(b)
                self.rfile.readline(16)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                self._stall()
                b = self.rfile.read1(min(BUF, left))
                if not b:
                    raise ConnectionError("eof in body")
                left -= len(b)
                yield self._got(b)

    def _drain(self):
        n = 0
        for b in self._body_chunks():
            n += len(b)
        self.st.add("body_received", self.command, n)
        return n

    def _record(self, status, fault=None):
        auth = self.headers.get("Authorization")
        ent = {
            "t": round(time.time(), 3), "method": self.command,
            "path": self.path, "host": self.headers.get("Host"),
            "status": status, "fault": fault,
            "content_range": self.headers.get("Content-Range"),
            "transfer_encoding": self.headers.get("Transfer-Encoding"),
            "content_length": self.headers.get("Content-Length"),
            "body": getattr(self, "_body_n", 0),
            "t0": getattr(self, "_t0", None),
            "t_body": getattr(self, "_t_body", None),
            "auth": auth.split(" ", 1)[0] if auth else None,
            "auth_sha256": (hashlib.sha256(auth.encode()).hexdigest()[:16]
                            if auth else None),
        }
        with self.st.lock:
            log = self.st.stats["log"]
            log.append(ent)
            if len(log) > LOG_KEEP:
                del log[0]
        if self.server.logfile:
            with self.server.loglock:
                with open(self.server.logfile, "a") as f:
                    f.write(json.dumps(ent) + "\n")

    # -- control endpoint ------------------------------------------------

    def control(self):
        st = self.st
        body = b""
        if self.command == "POST":
            body = b"".join(self._body_chunks())
        if self.path == "/_faultproxy/stats":
            with st.lock:
                out = json.dumps(st.stats).encode()
        elif self.path == "/_faultproxy/reset" and self.command == "POST":
            with st.lock:
                st.reset()
            out = b"{}"
        elif self.path == "/_faultproxy/config":
            if self.command == "POST":
                try:
                    new = json.loads(body or b"{}")
                    for k, v in new.items():
                        if k not in DEFAULTS and k != "reset_stats":
                            raise ValueError("unknown key %s" % k)
                        if k.endswith("_methods"):
                            new[k] = methods(v)
                except ValueError as e:
                    self._send_simple(400, [], str(e).encode())
                    return
                with st.lock:
                    if new.pop("reset_stats", False):
                        st.reset()
                    st.cfg.update(new)
                    if "error_every" in new:
                        st.error_match = 0
                    if "bucket_rate" in new or "bucket_burst" in new:
                        st.bucket = None
            with st.lock:
                out = json.dumps(st.cfg).encode()
        else:
            self._send_simple(404, [], b"no such control path")
            return
        self._send_simple(200, [("Content-Type", "application/json")], out)

    # -- the proxy -------------------------------------------------------

    def proxy(self):
        self.st = st = self.server.state
        self._control = self.path.startswith("/_faultproxy/")
        self._t0 = round(time.time(), 3)
        self._t_body = None
        self._body_n = 0
        self._rid = "%d-%s" % (id(self), self._t0)
        try:
            if self._control:
                return self.control()
            self._proxy()
        except Cut:
            pass
        except (ConnectionError, socket.timeout, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            if not self._control:
                self._body_over()

    def _proxy(self):
        st = self.st
        m = self.command
        with st.lock:
            cfg = dict(st.cfg)
            st.n += 1
            n = st.n
        st.add("requests", m)
        if self.headers.get("Authorization"):
            st.add("auth", m)
        if cfg["latency_ms"]:
            time.sleep(cfg["latency_ms"] / 1000.0)

        clen = self.headers.get("Content-Length")
        chunked = "chunked" in self.headers.get("Transfer-Encoding",
                                                "").lower()
        has_body = chunked or (clen is not None and int(clen) > 0)

        if cfg["ping_ok"] and m == "GET" and self.path == "/v2/":
            self._send_simple(200, [("Content-Type", "application/json")],
                              b"{}")
            self._record(200, "ping_ok")
            return

        # injected errors, answered here without the registry
        em = cfg["error_methods"]
        hit = False
        retry_after = cfg["retry_after"]
        status = int(cfg["error_status"])
        if cfg["bucket_rate"] and (not em or m in em):
            wait = st.bucket_take()
            if wait > 0:
                hit = True
                status = 429
                retry_after = max(1, int(wait + 0.999))
        if cfg["error_every"] and (not em or m in em) and not hit:
            with st.lock:
                st.error_match += 1
                hit = st.error_match % int(cfg["error_every"]) == 0
            hit = hit and st.take("error_times")
        if hit:
            code = "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE"
            body = json.dumps({"errors": [{
                "code": code, "message": "injected by faultproxy",
                "detail": "request %d" % n}]}).encode()
            st.fault("error_%d" % status)
            expect = getattr(self, "_expect", False)
            if has_body and not expect:
                self._drain()
            hdrs = [("Content-Type", "application/json"),
                    ("Retry-After", str(retry_after))]
            self._send_simple(status, hdrs, body, close=expect and
                              has_body)
            self._record(status, "error")
            if expect and has_body:
                self._lingering_close(1 << 20)
            return

        # a registry that takes no chunks: a PATCH with Content-Range is
        # refused before its body is read
        rc = cfg["refuse_chunks"]
        if rc and m == "PATCH" and self.headers.get("Content-Range"):
            rc = int(rc)
            st.fault("refuse_chunks")
            code = "RANGE_INVALID" if rc == 416 else "UNSUPPORTED"
            body = json.dumps({"errors": [{
                "code": code, "message": "chunked uploads are not supported",
                "detail": "injected by faultproxy"}]}).encode()
            expect = getattr(self, "_expect", False)
            if has_body and not expect:
                self._drain()
            self._send_simple(rc, [("Content-Type", "application/json")],
                              body, close=expect and has_body)
            self._record(rc, "refuse_chunks")
            if expect and has_body:
                self._lingering_close(int(clen or 0) or (64 << 20))
            return

        # too large: refuse before reading the body
        mb = cfg["max_body"]
        if mb is not None and clen is not None and int(clen) > int(mb):
            st.fault("too_large")
            body = json.dumps({"errors": [{
                "code": "SIZE_INVALID", "message": "provided length did not "
                "match content length", "detail": "injected 413"}]}).encode()
            self._send_simple(413, [("Content-Type", "application/json")],
                              body, close=True)
            self._record(413, "too_large")
            self._lingering_close(int(clen))
            return

        # redirect blob GETs to another origin
        rb = cfg["redirect_blobs_to"]
        if rb and m == "GET" and BLOB_RE.match(self.path.split("?")[0]):
            st.fault("redirect")
            self._send_simple(307, [("Location", rb.rstrip("/") + self.path)],
                              b"")
            self._record(307, "redirect")
            return

        self._continue()
        body = None
        if cfg["buffer_body"] and has_body:
            body = self._buffer(cfg, m)
            if body is None:
                return
            chunked = False
            clen = str(body.seek(0, os.SEEK_END))
            body.seek(0)
        up = self.server.connect_upstream()
        try:
            self._forward(up, cfg, m, chunked, clen, body)
        finally:
            try:
                up.close()
            except OSError:
                pass
            if body:
                body.close()

    def _buffer(self, cfg, m):
        """Read the whole body first; None if the client went away (the
        registry then never hears of the request)."""
        st = self.st
        f = tempfile.SpooledTemporaryFile(max_size=32 << 20,
                                          dir=self.server.spool)
        n = 0
        try:
            for b in self._body_chunks():
                n += len(b)
                mb = cfg["max_body"]
                if mb is not None and n > int(mb):
                    st.fault("too_large")
                    self._record(None, "too_large_chunked")
                    f.close()
                    self._reset_client()
                f.write(b)
            if not self._client_alive():
                raise ConnectionError("client went away after its body")
        except (ConnectionError, OSError):
            st.add("body_received", m, n)
            st.fault("client_gone")
            self._record(None, "client_gone")
            self.close_connection = True
            f.close()
            return None
        st.add("body_received", m, n)
        return f

    def _client_alive(self):
        """A client killed after its body reached our socket buffer must not
        have that body forwarded: peek at the raw TCP stream (under TLS
        too) for an EOF or a reset."""
        try:
            s = socket.socket(fileno=os.dup(self.connection.fileno()))
        except OSError:
            return False
        try:
            s.setblocking(False)
            return s.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _pieces(self, body):
        if body is None:
            yield from self._body_chunks()
            return
        while True:
            b = body.read(BUF)
            if not b:
                return
            yield b

    def _forward(self, up, cfg, m, chunked, clen, body):
        st = self.st
        proto = "https" if self.server.tls else "http"
        lines = ["%s %s HTTP/1.1" % (m, self.path)]
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in HOP or lk.startswith("x-forwarded-"):
                continue
            lines.append("%s: %s" % (k, v))
        lines.append("X-Forwarded-Proto: " + proto)
        if cfg["forwarded_host"]:
            lines.append("X-Forwarded-Host: " + cfg["forwarded_host"])
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif clen is not None:
            lines.append("Content-Length: " + clen)
        lines.append("Connection: close")
        up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

        cut_at = None
        if (cfg["cut_body_after"] is not None and m in cfg["cut_methods"]):
            cut_at = int(cfg["cut_body_after"])
        mb = cfg["max_body"]
        rate = cfg["rate"]
        recv = fwd = 0
        up_ok = True
        t0 = time.monotonic()
        try:
            for b in self._pieces(body):
                recv += len(b)
                if mb is not None and recv > int(mb):
                    st.fault("too_large")
                    self._record(None, "too_large_chunked")
                    self._reset_client()
                if cut_at is not None and fwd + len(b) >= cut_at:
                    if st.take("cut_times"):
                        head = b[:cut_at - fwd]
                        if up_ok and head:
                            self._send_up(up, head, chunked)
                            fwd += len(head)
                        st.fault("cut_body")
                        self._record(None, "cut_body")
                        self._reset_client()
                    cut_at = None
                if up_ok:
                    try:
                        self._send_up(up, b, chunked)
                        fwd += len(b)
                    except OSError:
                        up_ok = False  # it answered early; keep draining
                if rate:
                    ahead = recv / float(rate) - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            if chunked and up_ok:
                up.sendall(b"0\r\n\r\n")
        finally:
            if body is None:
                st.add("body_received", m, recv)
            st.add("body_forwarded", m, fwd)

        resp = http.client.HTTPResponse(up, method=m)
        try:
            resp.begin()
        except (http.client.HTTPException, OSError):
            self._send_simple(502, [], b"upstream failed", close=True)
            self._record(502, "upstream")
            return
        self._relay(resp, cfg, m)

    def _send_up(self, up, b, chunked):
        if chunked:
            up.sendall(b"%x\r\n" % len(b) + b + b"\r\n")
        else:
            up.sendall(b)

    def _relay(self, resp, cfg, m):
        st = self.st
        status = resp.status
        self.send_response_only(status, resp.reason)
        length = resp.getheader("Content-Length")
        nobody = m == "HEAD" or status in (204, 304) or 100 <= status < 200
        for k, v in resp.getheaders():
            if k.lower() in HOP:
                continue
            self.send_header(k, v)
        if cfg["ratelimit_remaining"] is not None:
            self.send_header("ratelimit-limit", "100;w=21600")
            self.send_header("ratelimit-remaining",
                             "%s;w=21600" % cfg["ratelimit_remaining"])
        use_chunked = False
        if length is not None:
            self.send_header("Content-Length", length)
        elif not nobody:
            use_chunked = True
            self.send_header("Transfer-Encoding", "chunked")
        sa = cfg["stall_response_after"]
        if sa is not None:
            # trickle: the head and N bytes, then a byte a second
            self.wfile = Trickle(self.wfile, int(sa))
        self.end_headers()
        st.add("statuses", str(status))
        self._record(status)
        if nobody:
            self.wfile.flush()
            return
        cut_at = None
        if (cfg["cut_response_after"] is not None
                and m in cfg["cut_response_methods"]):
            cut_at = int(cfg["cut_response_after"])
        flip_at = None
        if (cfg["corrupt_response_after"] is not None and m == "GET"
                and BLOB_RE.match(self.path.split("?")[0])):
            flip_at = int(cfg["corrupt_response_after"])
        sent = 0
        t0 = time.monotonic()
        while True:
            b = resp.read1(BUF) if hasattr(resp, "read1") else resp.read(BUF)
            if not b:
                break
            if flip_at is not None and sent <= flip_at < sent + len(b):
                b = bytearray(b)
                b[flip_at - sent] ^= 0xFF
                b = bytes(b)
                st.fault("corrupt_response")
            if cut_at is not None and sent + len(b) >= cut_at:
                if st.take("cut_response_times"):
                    b = b[:cut_at - sent]
                    self._write(b, use_chunked)
                    self.wfile.flush()
                    st.add("response_bytes", m, len(b))
                    st.fault("cut_response")
                    self._reset_client()
                cut_at = None
            self._write(b, use_chunked)
            sent += len(b)
            if cfg["response_rate"]:
                ahead = sent / float(cfg["response_rate"]) - (
                    time.monotonic() - t0)
                if ahead > 0:
                    self.wfile.flush()
                    time.sleep(ahead)
        if use_chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        st.add("response_bytes", m, sent)

    def _write(self, b, chunked):
        if not b:
            return
        if chunked:
            self.wfile.write(b"%x\r\n" % len(b) + b + b"\r\n")
        else:
            self.wfile.write(b)


class Trickle:
    """A writer that passes `free` bytes, then one byte a second."""

    def __init__(self, f, free):
        self.f = f
        self.free = free

    def write(self, b):
        b = bytes(b)
        n = min(len(b), max(self.free, 0))
        if n:
            self.f.write(b[:n])
            self.f.flush()
            self.free -= n
        for i in range(n, len(b)):
            time.sleep(1)
            self.f.write(b[i:i + 1])
            self.f.flush()
        return len(b)

    def flush(self):
        self.f.flush()

    def close(self):
        self.f.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def get_request(self):
        sock, addr = self.socket.accept()
        with self.state.lock:
            self.state.stats["connections"] += 1
        if self.tls:
            # the handshake runs in the handler thread, not in accept()
            sock = self.tls.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False)
        return sock, addr

    def connect_upstream(self):
        s = socket.create_connection(self.upstream, timeout=120)
        if self.upstream_tls:
            s = self.upstream_tls.wrap_socket(
                s, server_hostname=self.upstream[0])
        return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the bound port here")
    p.add_argument("--upstream", required=True, help="HOST:PORT")
    p.add_argument("--upstream-tls", action="store_true")
    p.add_argument("--upstream-ca", help="CA file for --upstream-tls")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--log", help="append one JSON line per request")
    p.add_argument("--max-seconds", type=float, default=600)
    p.add_argument("--cut-body-after", type=int)
    p.add_argument("--cut-times", type=int, default=1)
    p.add_argument("--cut-methods", default="PATCH,PUT")
    p.add_argument("--cut-response-after", type=int)
    p.add_argument("--cut-response-times", type=int, default=1)
    p.add_argument("--cut-response-methods", default="GET")
    p.add_argument("--error-every", type=int)
    p.add_argument("--error-status", type=int, default=503)
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--error-methods", default="")
    p.add_argument("--error-times", type=int, default=-1)
    p.add_argument("--max-body", type=int)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--rate", type=int)
    p.add_argument("--redirect-blobs-to")
    p.add_argument("--forwarded-host")
    p.add_argument("--buffer-body", action="store_true")
    p.add_argument("--stall-body-after", type=int)
    p.add_argument("--bucket-rate", type=float)
    p.add_argument("--bucket-burst", type=int, default=1)
    p.add_argument("--ratelimit-remaining", type=int)
    p.add_argument("--ping-ok", action="store_true")
    p.add_argument("--stall-response-after", type=int)
    p.add_argument("--corrupt-response-after", type=int)
    p.add_argument("--response-rate", type=int)
    p.add_argument("--refuse-chunks", type=int)
    p.add_argument("--spool-dir", help="where buffered bodies spill")
    a = p.parse_args()

    cfg = {k: getattr(a, k) for k in DEFAULTS}
    for k in ("cut_methods", "cut_response_methods", "error_methods"):
        cfg[k] = methods(cfg[k])
    host, _, port = a.upstream.rpartition(":")
    srv = Server((a.host, a.port), Handler)
    srv.state = State(cfg)
    srv.upstream = (host.strip("[]"), int(port))
    srv.logfile = a.log
    srv.spool = a.spool_dir
    srv.loglock = threading.Lock()
    srv.tls = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.tls = ctx
    srv.upstream_tls = None
    if a.upstream_tls:
        ctx = ssl.create_default_context(cafile=a.upstream_ca)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.upstream_tls = ctx
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, a.port_file)
    t = threading.Timer(a.max_seconds, lambda: os._exit(0))
    t.daemon = True
    t.start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
