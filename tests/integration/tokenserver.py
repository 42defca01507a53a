#!/usr/bin/env python3
"""tokenserver.py: a token issuer for docker-registry 2.8's `auth: token:`.

Python standard library only. Tokens are RS256 JWTs signed with pow() over
the PEM key (PKCS#1 or PKCS#8, parsed by the tiny DER reader below). The JWT
header names the signer as 2.8 expects (testbed.md 2.4): by default `kid`,
the libtrust key id of the certificate's public key; `--header-mode x5c`
embeds the certificate, `jwk` the public key.

Endpoints (any path): GET ?service=&scope=...&account= with or without
Basic credentials, and the OAuth2 POST form (grant_type=password or
refresh_token; access_type=offline issues a refresh token).

Users given with --user get every action they ask for; --readonly users get
only pull; anonymous requests get pull only with --anonymous and a 401
otherwise. Bad credentials are always a 401.

--log FILE gets one JSON object per request (method, grant type, scopes,
whether Basic credentials were sent, user, status), so tests can assert who
got credentials and count token fetches. Binds 127.0.0.1 only; --port 0
picks a free port, written to --port-file once listening. --tls-cert and
--tls-key serve https. hoist sends the registry's credentials to whatever
realm the registry names, as Docker does; an https registry needs an https
realm.
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_read(data, pos):
    """One DER TLV at pos: (tag, value start, value end)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def der_children(data, start, end):
    out = []
    pos = start
    while pos < end:
        tag, vs, ve = der_read(data, pos)
        out.append((tag, pos, vs, ve))
        pos = ve
    return out


def pem_blocks(text):
    blocks = []
    cur = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("-----BEGIN "):
            cur = (line[11:-5], [])
        elif line.startswith("-----END ") and cur:
            blocks.append((cur[0], base64.b64decode("".join(cur[1]))))
            cur = None
        elif cur is not None:
            cur[1].append(line)
    return blocks


def load_rsa_key(path):
    """(n, e, d) from a PKCS#1 or PKCS#8 RSA private key."""
    kind, der = pem_blocks(open(path).read())[0]
    if kind == "PRIVATE KEY":  # PKCS#8: the PKCS#1 key in an OCTET STRING
        _, s, e = der_read(der, 0)
        kids = der_children(der, s, e)
        der = der[kids[2][2]:kids[2][3]]
    _, s, e = der_read(der, 0)
    ints = [int.from_bytes(der[vs:ve], "big")
            for _, _, vs, ve in der_children(der, s, e)]
    return ints[1], ints[2], ints[3]


def load_cert(path):
    """(cert DER, SubjectPublicKeyInfo DER)."""
    der = [b for k, b in pem_blocks(open(path).read()) if k == "CERTIFICATE"][0]
    _, s, e = der_read(der, 0)
    tbs = der_children(der, s, e)[0]
    fields = der_children(der, tbs[2], tbs[3])
    if fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    _, start, _, end = fields[5]
    return der, der[start:end]


def libtrust_kid(spki):
    s = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode()
    s = s.rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def rs256(key, msg):
    n, _, d = key
    k = (n.bit_length() + 7) // 8
    t = SHA256_PREFIX + hashlib.sha256(msg).digest()
    em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


class State:
    def __init__(self, args):
        self.args = args
        self.key = load_rsa_key(args.key)
        self.cert_der, self.spki = load_cert(args.cert)
        self.kid = libtrust_kid(self.spki)
        self.users = dict(u.split(":", 1) for u in args.user)
        self.readonly = set(args.readonly)
        self.refresh = {}
        for r in args.refresh_token:
            tok, user = r.split("=", 1)
            self.refresh[tok] = user
        self.count = 0
        self.lock = threading.Lock()
        self.logf = open(args.log, "a") if args.log else None

    def header(self):
        h = {"typ": "JWT", "alg": "RS256"}
        mode = self.args.header_mode
        if mode == "kid":
            h["kid"] = self.kid
        elif mode == "x5c":
            h["x5c"] = [base64.b64encode(self.cert_der).decode()]
        else:
            n, e, _ = self.key
            size = (n.bit_length() + 7) // 8
            h["jwk"] = {"kty": "RSA", "kid": self.kid,
                        "n": b64url(n.to_bytes(size, "big")),
                        "e": b64url(e.to_bytes(3, "big").lstrip(b"\0"))}
        return h

    def token(self, user, access):
        now = int(time.time())
        claims = {"iss": self.args.issuer, "sub": user or "",
                  "aud": self.args.service, "exp": now + self.args.expires,
                  "nbf": now - 1, "iat": now, "jti": secrets.token_hex(8),
                  "access": access}
        signing = (b64url(json.dumps(self.header()).encode()) + "." +
                   b64url(json.dumps(claims).encode()))
        return signing + "." + b64url(rs256(self.key, signing.encode()))

    def grant(self, user, scopes):
        """Access entries for the requested scopes, as this user may."""
        access = []
        for scope in scopes:
            # resource type : name (may hold host:port) : actions
            typ, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if not typ or not name:
                continue
            want = [a for a in actions.split(",") if a]
            if user is None or user in self.readonly:
                allowed = [a for a in want if a == "pull"]
            else:
                allowed = want
            access.append({"type": typ, "name": name, "actions": allowed})
        return access

    def log(self, entry):
        if self.logf:
            with self.lock:
                self.logf.write(json.dumps(entry) + "\n")
                self.logf.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def basic(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None
        try:
            u, _, p = base64.b64decode(h[6:].strip()).decode().partition(":")
        except Exception:
            return ("", "")
        return (u, p)

    def handle_token(self, method, params):
        st = self.server.state
        entry = {"method": method, "path": self.path.split("?")[0],
                 "grant_type": params.get("grant_type", [None])[0],
                 "service": params.get("service", [None])[0],
                 "account": params.get("account", [None])[0],
                 "basic": False, "user": None}
        with st.lock:
            st.count += 1
            n = st.count
        if st.args.fail_every and n % st.args.fail_every == 0:
            entry["status"] = 503
            entry["scopes"] = []
            st.log(entry)
            return self.reply(503, {"errors": [{"code": "UNAVAILABLE"}]},
                              {"Retry-After": "1"})
        if method == "POST":
            scopes = " ".join(params.get("scope", [])).split()
        else:
            scopes = params.get("scope", [])
        entry["scopes"] = scopes
        user = None
        status = 200
        gt = entry["grant_type"]
        creds = self.basic()
        if creds is not None:
            entry["basic"] = True
        if method == "POST" and gt == "password":
            creds = (params.get("username", [""])[0],
                     params.get("password", [""])[0])
        if method == "POST" and gt == "refresh_token":
            user = st.refresh.get(params.get("refresh_token", [""])[0])
            if user is None:
                status = 401
        elif method == "POST" and gt != "password":
            status = 400
        elif creds is not None:
            if st.users.get(creds[0]) == creds[1] and creds[0]:
                user = creds[0]
            else:
                status = 401
        elif not st.args.anonymous:
            status = 401
        entry["user"] = user
        entry["status"] = status
        st.log(entry)
        if status != 200:
            return self.reply(status, {"errors": [{"code": "UNAUTHORIZED"}]},
                              {"WWW-Authenticate": 'Basic realm="token"'}
                              if status == 401 else None)
        tok = st.token(user, st.grant(user, scopes))
        body = {"token": tok, "access_token": tok,
                "expires_in": st.args.expires,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                           time.gmtime())}
        offline = params.get("access_type", [None])[0] == "offline"
        if user and (offline or params.get("offline_token", [""])[0] == "true"):
            rt = secrets.token_urlsafe(24)
            with st.lock:
                st.refresh[rt] = user
            body["refresh_token"] = rt
        return self.reply(200, body)

    def do_GET(self):
        q = urllib.parse.urlsplit(self.path).query
        self.handle_token("GET", urllib.parse.parse_qs(q))

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        data = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")
        self.handle_token("POST", urllib.parse.parse_qs(data))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5001)
    ap.add_argument("--port-file")
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--user", action="append", default=[],
                    help="USER:PASSWORD (repeatable)")
    ap.add_argument("--readonly", action="append", default=[],
                    help="USER that only gets pull")
    ap.add_argument("--refresh-token", action="append", default=[],
                    help="TOKEN=USER, an identity token the server accepts")
    ap.add_argument("--anonymous", action="store_true",
                    help="pull-only tokens without credentials")
    ap.add_argument("--expires", type=int, default=300)
    ap.add_argument("--fail-every", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=0)
    # the defaults match tests/integration/registry.sh's registry config
    ap.add_argument("--issuer", default="hoist-testbed-issuer")
    ap.add_argument("--service", default="hoist-testbed")
    ap.add_argument("--tls-cert", help="serve https with this certificate")
    ap.add_argument("--tls-key")
    ap.add_argument("--header-mode", choices=["kid", "x5c", "jwk"],
                    default="kid")
    ap.add_argument("--log")
    args = ap.parse_args()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if args.max_seconds:
        t = threading.Timer(args.max_seconds, lambda: os._exit(0))
        t.daemon = True
        t.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
