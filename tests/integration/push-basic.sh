#!/bin/sh
# push-basic.sh: hoist pushes to docker-registry 2.8 on loopback (plain
# on loopback without flags, elsewhere with registry.insecure, TLS+h2 with --ca-cert and HOIST_CERTS_D, htpasswd
# through hoist login and a hand-written DOCKER_CONFIG, token auth), by
# every entry point (-o type=registry, --push, hoist push). Each push is
# read back by skopeo (which hashes every blob) and its manifest bytes are
# compared with the store's.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl openssl htpasswd python3 jq timeout
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
export SOURCE_DATE_EPOCH=1700000000 # builds of one tree share a digest

S=$T_TMP
H="timeout 120 $HOIST"
SK="timeout 60 skopeo --insecure-policy"
mktree "$S/tree" --no-special
head -c 6291456 /dev/urandom >"$S/tree/data/random-6m"

check "build app:1 into the store" $H build --rootfs "$S/tree" -t app:1 -o type=image
APP=$(store_digest app:1)
LAYER_SIZE=$("$HOIST" inspect app:1 | jq '.images[0].manifest.layers[0].size')

# count_req NAME FROM REGEX: requests in NAME's access log after line FROM
count_req() { reg_requests "$1" "$2" | grep -c "$3"; }

# 1. plain HTTP: a loopback registry (localhost, 127.0.0.0/8, ::1) falls
# back from https with a one-line notice; any other needs registry.insecure
# / --insecure. "127.1" reaches 127.0.0.1 too, but it is not a dotted quad:
# to the loopback rule it is a name like any other, so it stands for a
# remote plain-http registry here.
check "plain registry starts" reg_start_plain P
P=$P_ADDR
PL=localhost:${P#*:}
PN=127.1:${P#*:}
check "push to 127.0.0.1:PORT over plain http with no insecure flag" \
	sh -c "$H push app:1 '$P/b/loop:1' >'$S/loop1.log' 2>&1"
check "one notice says it used plain http for a loopback registry" sh -c "
	test \$(grep -c 'does not speak TLS; using plain http (loopback registry)' '$S/loop1.log') -eq 1"
check "push to localhost:PORT over plain http with no insecure flag" \
	sh -c "$H push app:1 '$PL/b/loop:2' >'$S/loop2.log' 2>&1"
check "skopeo reads the loopback push back" \
	readback_ok "$APP" "$PL/b/loop:2" --src-tls-verify=false
mark=$(reg_log_lines P)
check_fails "a plain-http registry that is not loopback needs registry.insecure" \
	sh -c "$H build --rootfs '$S/tree' -o 'type=registry,name=$PN/b/noinsecure:1' >'$S/noins.log' 2>&1"
check "its error says so in one line" sh -c "
	grep 'error:' '$S/noins.log' | grep -q 'speaks plain HTTP, not TLS: for a plain-http registry use --insecure or registry.insecure=true'"
n=$(count_req P "$mark" '^PUT /v2/b/noinsecure/')
if [ "$n" -eq 0 ]; then ok "nothing was written over plain http"; else not_ok "$n PUTs over plain http without insecure"; fi

check "build -o type=registry,registry.insecure=true" \
	$H build --rootfs "$S/tree" --metadata-file "$S/m1.json" \
	-o "type=registry,name=$P/b/app:1,registry.insecure=true"
check "metadata names the pushed digest (the store's)" \
	jq -e ".\"containerimage.digest\" == \"$APP\"" "$S/m1.json"
check "skopeo reads b/app:1 back, manifest bytes equal the store's" \
	readback_ok "$APP" "$P/b/app:1" --src-tls-verify=false

check "build --push --insecure -t" \
	$H build --rootfs "$S/tree" --push --insecure -t "$P/b/flag:1"
check "read back b/flag:1" readback_ok "$APP" "$P/b/flag:1" --src-tls-verify=false

check "hoist push NAME TARGET" \
	$H push --insecure --metadata-file "$S/m2.json" app:1 "$P/b/pushed:1"
check "push metadata has the digest" \
	jq -e ".\"containerimage.digest\" == \"$APP\"" "$S/m2.json"
check "read back b/pushed:1" readback_ok "$APP" "$P/b/pushed:1" --src-tls-verify=false

check "hoist push NAME (the name is the target)" sh -c "
	$H build --rootfs '$S/tree' -t '$P/b/self:1' -o type=image &&
	$H push --insecure '$P/b/self:1'"
check "read back b/self:1" readback_ok "$APP" "$P/b/self:1" --src-tls-verify=false

mark=$(reg_log_lines P)
check "re-push of the same image" $H push --insecure app:1 "$P/b/pushed:1"
n=$(count_req P "$mark" '^\(POST\|PATCH\|PUT\) /v2/b/pushed/blobs/uploads/')
if [ "$n" -eq 0 ]; then ok "re-push uploads no blob (no POST/PATCH/PUT of blobs)"; else not_ok "re-push made $n blob upload requests"; fi
n=$(count_req P "$mark" '^HEAD /v2/b/pushed/blobs/sha256:')
if [ "$n" -eq 0 ]; then ok "re-push of a tag holding the same manifest checks no blob"; else not_ok "re-push made $n blob HEADs"; fi
n=$(count_req P "$mark" '^HEAD /v2/b/pushed/manifests/1')
if [ "$n" -eq 1 ]; then ok "re-push made one manifest HEAD"; else not_ok "re-push made $n manifest HEADs"; fi
n=$(count_req P "$mark" '^PUT /v2/b/pushed/manifests/')
if [ "$n" -eq 0 ]; then ok "re-push PUT no manifest"; else not_ok "re-push made $n manifest PUTs"; fi
mark=$(reg_log_lines P)
check "push of the same image to a new tag" $H push --insecure app:1 "$P/b/pushed:2"
n=$(count_req P "$mark" '^HEAD /v2/b/pushed/blobs/sha256:')
if [ "$n" -ge 2 ]; then ok "a new tag: the blobs are checked with HEAD ($n)"; else not_ok "new tag made $n blob HEADs"; fi
# the store remembers which repositories of P hold each blob (like
# containerd's distribution.source): a push to a new repository mounts
mark=$(reg_log_lines P)
check "push the same image to a new repository b/other" \
	$H push --insecure app:1 "$P/b/other:1"
n=$(count_req P "$mark" '^POST /v2/b/other/blobs/uploads/?mount=sha256%3A[0-9a-f]*&from=[^ ]* 201$')
if [ "$n" -ge 2 ]; then ok "every blob was mounted from a repository known to hold it ($n)"; else not_ok "$n blobs mounted"; reg_requests P "$mark" | sed 's/^/# /'; fi
n=$(count_req P "$mark" '^\(PATCH\|PUT\) /v2/b/other/blobs/')
if [ "$n" -eq 0 ]; then ok "no blob bytes were sent to b/other"; else not_ok "$n blob PATCH/PUT to b/other"; fi
check "read back b/other:1" readback_ok "$APP" "$P/b/other:1" --src-tls-verify=false

# several names in one output (buildx CSV quoting)
check "one build, two names" \
	$H build --rootfs "$S/tree" \
	-o "type=registry,\"name=$P/m/a:1,$P/m/b:2\",registry.insecure=true"
check "read back m/a:1" readback_ok "$APP" "$P/m/a:1" --src-tls-verify=false
check "read back m/b:2" readback_ok "$APP" "$P/m/b:2" --src-tls-verify=false

# push by digest: no tag is created
check "build push-by-digest=true" \
	$H build --rootfs "$S/tree" --metadata-file "$S/m3.json" \
	-o "type=registry,name=$P/d/app,push-by-digest=true,registry.insecure=true"
check "push-by-digest metadata has the digest" \
	jq -e ".\"containerimage.digest\" == \"$APP\"" "$S/m3.json"
check "read back d/app@digest" readback_ok "$APP" "$P/d/app@$APP" --src-tls-verify=false
check "d/app has no tag" sh -c "
	curl -s --max-time 10 'http://$P/v2/d/app/tags/list' | jq -e '(.tags // []) | length == 0'"
check "hoist push --digest" $H push --insecure --digest app:1 "$P/d2/app"
check "read back d2/app@digest" readback_ok "$APP" "$P/d2/app@$APP" --src-tls-verify=false
check "d2/app has no tag" sh -c "
	curl -s --max-time 10 'http://$P/v2/d2/app/tags/list' | jq -e '(.tags // []) | length == 0'"
check_fails "a tagged target with --digest is refused" \
	$H push --insecure --digest app:1 "$P/d3/app:1"

# multi-platform: an index, children first
check "build a two-platform image" \
	$H build --rootfs "$S/tree" --platform linux/amd64,linux/arm64 -t mp:1 -o type=image
MP=$(store_digest mp:1)
mark=$(reg_log_lines P)
check "push the index" $H push --insecure mp:1 "$P/mp/app:1"
check "read back the index and both manifests" \
	readback_ok "$MP" "$P/mp/app:1" --src-tls-verify=false
reg_requests P "$mark" | grep '^PUT /v2/mp/app/manifests/' >"$S/mp-puts"
check "both platform manifests were PUT by digest before the index's tag" sh -c "
	[ \$(grep -c '^PUT /v2/mp/app/manifests/sha256:' '$S/mp-puts') -ge 2 ] &&
	tail -n 1 '$S/mp-puts' | grep -q '^PUT /v2/mp/app/manifests/1 201\$'"

# forced chunks: a fresh registry (no blob to mount from)
reg_wipe P
mark=$(reg_log_lines P)
check "push --chunk-size 1MiB" \
	$H push --insecure --chunk-size 1MiB app:1 "$P/c/app:1"
n=$(count_req P "$mark" '^PATCH /v2/c/app/blobs/uploads/')
want=$((LAYER_SIZE / 1048576 - 1))
if [ "$n" -ge "$want" ]; then ok "chunked: $n PATCHes for a $LAYER_SIZE-byte layer"; else not_ok "chunked: $n PATCHes, want >= $want"; fi
check "read back c/app:1" readback_ok "$APP" "$P/c/app:1" --src-tls-verify=false

reg_wipe P
check "push --max-concurrent 1 --progress plain" sh -c "
	$H push --insecure --max-concurrent 1 --progress plain app:1 '$P/p/app:1' >'$S/progress' 2>&1"
check "plain progress names the blobs being pushed" \
	grep -Eq 'pushing sha256:[0-9a-f]{6,}' "$S/progress"
check "read back p/app:1" readback_ok "$APP" "$P/p/app:1" --src-tls-verify=false

# 2. TLS with HTTP/2
check "TLS registry starts" reg_start_tls TS
check "push with --ca-cert" $H push --ca-cert "$TS_CA" app:1 "$TS_ADDR/t/app:1"
check "read back t/app:1" readback_ok "$APP" "$TS_ADDR/t/app:1" --src-cert-dir "$TS_CERTS"
check "the push spoke HTTP/2" grep -q '"PUT /v2/t/app/manifests/1 HTTP/2.0" 201' "$TS_LOG"
check_fails "push without the CA is refused" $H push app:1 "$TS_ADDR/t/noca:1"
check "HOIST_CERTS_D: HOST:PORT/ca.crt" reg_certs_d TS "$HOIST_CERTS_D"
check "push trusting certs.d" $H push app:1 "$TS_ADDR/t/certsd:1"
check "read back t/certsd:1" readback_ok "$APP" "$TS_ADDR/t/certsd:1" --src-cert-dir "$TS_CERTS"
rm -rf "${HOIST_CERTS_D:?}/$TS_ADDR"

# 3. htpasswd (Basic) through hoist login and through DOCKER_CONFIG
check "htpasswd registry starts" reg_start_htpasswd B alice s3cret
check_fails "push without credentials is refused" \
	$H push --ca-cert "$B_CA" app:1 "$B_ADDR/h/anon:1"
check_fails "hoist login with a wrong password, then push, is refused" sh -c "
	printf wrong | $H login -u alice --password-stdin '$B_ADDR' &&
	$H push --ca-cert '$B_CA' app:1 '$B_ADDR/h/wrong:1'"
check "hoist login --password-stdin" sh -c "
	printf 's3cret\n' | $H login -u alice --password-stdin '$B_ADDR'"
check "config.json holds alice's auth for the registry" \
	jq -e ".auths[\"$B_ADDR\"].auth == \"$(printf alice:s3cret | base64)\"" \
	"$DOCKER_CONFIG/config.json"
check "push with the stored login" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/h/app:1"
check "read back h/app:1" readback_ok "$APP" "$B_ADDR/h/app:1" \
	--src-cert-dir "$B_CERTS" --src-creds alice:s3cret
check "hoist logout" $H logout "$B_ADDR"
check "config.json no longer has the registry" \
	jq -e ".auths[\"$B_ADDR\"] == null" "$DOCKER_CONFIG/config.json"
check_fails "push after logout is refused" \
	$H push --ca-cert "$B_CA" app:1 "$B_ADDR/h/out:1"
mkdir -p "$S/dc2"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$B_ADDR" \
	"$(printf alice:s3cret | base64)" >"$S/dc2/config.json"
check "push with a hand-written DOCKER_CONFIG" \
	env DOCKER_CONFIG="$S/dc2" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/h/dc:1"
check "read back h/dc:1" readback_ok "$APP" "$B_ADDR/h/dc:1" \
	--src-cert-dir "$B_CERTS" --src-creds alice:s3cret
check "hoist login -p (password on the command line)" \
	env DOCKER_CONFIG="$S/dc3" $H login -u alice -p s3cret "$B_ADDR"
check "push with it" \
	env DOCKER_CONFIG="$S/dc3" $H push --ca-cert "$B_CA" app:1 "$B_ADDR/h/p:1"

# 4. token auth (Bearer) from tests/integration/tokenserver.py
check "token registry starts" reg_start_token K
check "login alice for the token registry" sh -c "
	printf s3cret | env DOCKER_CONFIG='$S/dck' $H login -u alice --password-stdin '$K_LADDR'"
check "push with a token" \
	env DOCKER_CONFIG="$S/dck" $H push --ca-cert "$K_CA" app:1 "$K_LADDR/k/app:1"
check "the token server issued alice a push token" sh -c "
	grep '\"user\": \"alice\"' '$K_TOKEN_LOG' | grep -q 'push'"
check "read back k/app:1 anonymously (pull token)" \
	readback_ok "$APP" "$K_LADDR/k/app:1" --src-cert-dir "$K_CERTS"
check_fails "read-only bob cannot push" sh -c "
	printf b0b | env DOCKER_CONFIG='$S/dcb' $H login -u bob --password-stdin '$K_LADDR' &&
	env DOCKER_CONFIG='$S/dcb' $H push --ca-cert '$K_CA' app:1 '$K_LADDR/k/bob:1'"
check_fails "anonymous push is refused" \
	env DOCKER_CONFIG="$S/none" $H push --ca-cert "$K_CA" app:1 "$K_LADDR/k/anon:1"

done_testing
