#!/bin/sh
# proxy.sh: hoist behind a corporate forward proxy, as CI runners are:
# a real tinyproxy started here on loopback, HTTPS_PROXY/HTTP_PROXY/
# NO_PROXY in the environment (libcurl's rules).
#  - push and pull to a TLS registry with Basic auth through CONNECT: the
#    proxy sees only the tunnel, the push is read back by skopeo;
#  - push and pull to a plain-http registry, proxied request by request;
#  - NO_PROXY names the registry: hoist goes direct (the proxy variable
#    points at a closed port, so going through it would fail);
#  - what reaches a proxy: a capture of the first request hoist sends to
#    its proxy is a CONNECT with no Proxy-Authorization and no
#    Authorization (the registry's credentials travel inside the tunnel).
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl openssl htpasswd python3 jq timeout tinyproxy
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY ALL_PROXY all_proxy

S=$T_TMP
H="timeout 120 $HOIST"
mkdir -p "$S/tree/etc"
echo proxied >"$S/tree/etc/hostname"
head -c 300000 /dev/urandom >"$S/tree/etc/blob"
check "build app:1 into the store" $HOIST build --rootfs "$S/tree" -t app:1 -o type=image
APP=$(store_digest app:1)

# tinyproxy on a free loopback port, in the foreground, logging every
# request; no ConnectPort line, so CONNECT may reach any port
TP_PORT=$(reg_free_port)
cat >"$S/tinyproxy.conf" <<EOF
Port $TP_PORT
Listen 127.0.0.1
Timeout 60
MaxClients 20
Allow 127.0.0.1
LogFile "$S/tinyproxy.log"
LogLevel Info
DisableViaHeader Yes
XTinyproxy No
EOF
_bg "$S/tinyproxy.out" tinyproxy -d -c "$S/tinyproxy.conf"
TP_PID=$REG_BG
check "tinyproxy starts on loopback" reg_wait "http://127.0.0.1:$TP_PORT/" "$TP_PID"
PROXY=http://127.0.0.1:$TP_PORT

check "TLS registry with a password starts" reg_start_htpasswd B alice s3cret
check "hoist login (direct)" sh -c "
	printf s3cret | $H login -u alice --password-stdin '$B_ADDR'"
check "plain registry starts" reg_start_plain P

# 1. TLS through CONNECT
: >"$S/tinyproxy.log"
check "push to the TLS registry through the proxy" \
	env HTTPS_PROXY="$PROXY" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/px/app:1"
check "the proxy tunnelled it (CONNECT to the registry)" \
	grep -q "CONNECT $B_ADDR" "$S/tinyproxy.log"
check "skopeo reads it back (direct)" \
	readback_ok "$APP" "$B_ADDR/px/app:1" --src-cert-dir "$B_CERTS" --src-creds alice:s3cret
: >"$S/tinyproxy.log"
rm -rf "$S/pull-tls"
check "pull from the TLS registry through the proxy" \
	env HTTPS_PROXY="$PROXY" $H copy --progress quiet --ca-cert "$B_CA" \
	"docker://$B_ADDR/px/app:1" "oci:$S/pull-tls:1"
check "the pull went through the tunnel" grep -q "CONNECT $B_ADDR" "$S/tinyproxy.log"
check "the pull has the pushed manifest" sh -c "
	jq -r '.manifests[0].digest' '$S/pull-tls/index.json' | grep -qx '$APP'"

# 2. plain http, proxied request by request
: >"$S/tinyproxy.log"
check "push to the plain registry through the proxy" \
	env HTTP_PROXY="$PROXY" http_proxy="$PROXY" $H push --insecure app:1 "$P_ADDR/px/app:1"
check "the proxy forwarded the requests (GET http://registry/v2/)" \
	grep -q "GET http://$P_ADDR/v2/" "$S/tinyproxy.log"
check "and the blob uploads" grep -q "PUT http://$P_ADDR/v2/px/app/blobs/uploads/" "$S/tinyproxy.log"
rm -rf "$S/pull-plain"
check "pull from the plain registry through the proxy" \
	env HTTP_PROXY="$PROXY" http_proxy="$PROXY" $H copy --progress quiet --insecure \
	"docker://$P_ADDR/px/app:1" "oci:$S/pull-plain:1"
check "the pull has the pushed manifest" sh -c "
	jq -r '.manifests[0].digest' '$S/pull-plain/index.json' | grep -qx '$APP'"

# 3. NO_PROXY: the proxy variable names a closed port
DEAD=http://127.0.0.1:$(reg_free_port)
check_fails "through a dead proxy the push fails (the variable is used)" \
	env HTTPS_PROXY="$DEAD" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/px/np:1"
check "with NO_PROXY naming the registry it goes direct" \
	env HTTPS_PROXY="$DEAD" NO_PROXY="127.0.0.1" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/px/np:1"
check "no_proxy (lower case) with host:port-less names works too" \
	env https_proxy="$DEAD" no_proxy="localhost,127.0.0.1" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/px/np2:1"

# 4. what a proxy is sent: capture the first request and refuse it
CAP_PORT=$(reg_free_port)
timeout 60 python3 - "$CAP_PORT" "$S/capture" <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2] + ".ready", "w").close()
c, _ = s.accept()
c.settimeout(10)
data = b""
while b"\r\n\r\n" not in data:
    b = c.recv(4096)
    if not b:
        break
    data += b
open(sys.argv[2], "wb").write(data)
c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
c.close()
EOF
CAP_PID=$!
i=0
while [ ! -f "$S/capture.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check_fails "a push through a refusing proxy fails" \
	env HTTPS_PROXY="http://127.0.0.1:$CAP_PORT" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/px/cap:1"
wait $CAP_PID 2>/dev/null
check "the proxy was asked for a CONNECT to the registry" grep -q "^CONNECT $B_ADDR HTTP/1.1" "$S/capture"
check_fails "with no Proxy-Authorization" grep -qi '^proxy-authorization:' "$S/capture"
check_fails "and no Authorization (credentials stay inside the tunnel)" grep -qi '^authorization:' "$S/capture"

done_testing
