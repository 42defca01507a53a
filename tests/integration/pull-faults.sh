#!/bin/sh
# pull-faults.sh: `hoist copy docker://... oci:...` through faultproxy.py:
#  - a blob response cut mid-body: the download resumes with a Range
#    request (the proxy sees a 206), and the result is verified by skopeo;
#  - blob GETs answered with 307 to another origin, in front of an
#    htpasswd registry: the copy works, the registry's side saw
#    credentials, and the other origin never saw an Authorization header.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl openssl htpasswd python3 jq timeout
. "$(dirname "$0")/registry.sh"
"$HOIST" copy --help >/dev/null 2>&1 || {
	echo "1..0 # SKIP 'hoist copy' does not exist"
	exit 0
}
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 60 $HOIST"
SK="timeout 60 skopeo --insecure-policy"
BUILD_STORE=$HOIST_ROOT

mkdir -p "$S/tree"
head -c 4194304 /dev/urandom >"$S/tree/random-4m"
echo small >"$S/tree/small"
check "build app:1 (one 4 MiB layer) into the store" \
	$H build --progress quiet --rootfs "$S/tree" -t app:1 -o type=image
APP=$(store_digest app:1)
LAYER=$("$HOIST" inspect app:1 | jq -r '.images[0].manifest.layers[0].digest')
LSIZE=$("$HOIST" inspect app:1 | jq -r '.images[0].manifest.layers[0].size')

# 1. a cut response resumes with Range
check "plain registry R starts" reg_start_plain R
check "push app:1 to R/m/app:1" $H push --progress quiet --insecure app:1 "$R_ADDR/m/app:1"
CUT=1048576
check "faultproxy F (cut one GET response after 1 MiB) starts" \
	proxy_start F "$R_ADDR" --cut-response-after "$CUT" --cut-response-times 1
export HOIST_ROOT=$S/store-cut
mark=$(reg_log_lines R)
check "copy docker://F/m/app:1 -> oci:DIR:1 through the cut" \
	$H copy --progress plain --insecure "docker://$F_ADDR/m/app:1" "oci:$S/cut:1"
check "the proxy cut one response" [ "$(proxy_stats F '.faults.cut_response // 0')" -eq 1 ]
check "the proxy relayed a 206 (the download went on with Range)" \
	[ "$(proxy_stats F '.statuses."206" // 0')" -ge 1 ]
check "R answered a GET of the layer with 206 Partial Content" sh -c "
	tail -n +$((mark + 1)) '$R_LOG' | grep -q '\"GET /v2/m/app/blobs/$LAYER HTTP/1.1\" 206 '"
n=$(proxy_stats F "[.log[] | select(.method == \"GET\" and (.path | endswith(\"$LAYER\")))] | length")
if [ "$n" -eq 2 ]; then ok "the layer was requested twice (cut, then resumed)"; else not_ok "the layer was requested $n times, want 2"; fi
body=$(proxy_stats F '.response_bytes.GET // 0')
if [ "$body" -lt $((LSIZE + CUT / 2 + 65536)) ]; then
	ok "resumed, not restarted: $body response bytes for a $LSIZE-byte layer"
else
	not_ok "$body response bytes for a $LSIZE-byte layer (restarted from 0?)"
fi
check "the layout's root is the source's manifest (same digest)" sh -c "
	$SK inspect --raw 'oci:$S/cut:1' | sha256sum | grep -q '^${APP#sha256:} '"
check "skopeo copies oci:DIR:1 (every blob hashed)" \
	$SK copy "oci:$S/cut:1" "dir:$S/cut-dir"
check "the layer in the layout equals the built one" \
	cmp "$S/cut/blobs/sha256/${LAYER#sha256:}" "$(HOIST_ROOT=$BUILD_STORE store_blob "$LAYER")"

# every response cut before its first byte: no progress, so the copy
# gives up (bounded) with one error and exit 1
proxy_config F '{"cut_response_after": 0, "cut_response_times": -1, "reset_stats": true}' >/dev/null
export HOIST_ROOT=$S/store-cut-always
start=$(date +%s)
$H copy --progress quiet --insecure "docker://$F_ADDR/m/app:1" "oci:$S/never:1" \
	>/dev/null 2>"$S/always.err"
rc=$?
took=$(($(date +%s) - start))
if [ "$rc" -eq 1 ]; then ok "every response cut: exit 1"; else not_ok "every response cut: exit $rc"; fi
check "one error line" sh -c "
	[ \$(grep -c '^hoist: error: ' '$S/always.err') -eq 1 ] &&
	[ \$(grep -vc '^#' '$S/always.err') -eq 1 ]"
sed 's/^/# /' "$S/always.err"
if [ "$took" -le 30 ]; then ok "it gave up in ${took}s"; else not_ok "it took ${took}s to give up"; fi
check "nothing was written to the layout" test ! -e "$S/never/index.json"
proxy_config F '{"cut_response_after": null}' >/dev/null

# 2. 307 to another origin, in front of an htpasswd registry
check "htpasswd registry B starts" reg_start_htpasswd B alice s3cret
export HOIST_ROOT=$BUILD_STORE
check "push app:1 to B/m/app:1 (as alice)" sh -c "
	printf s3cret | $HOIST login -u alice --password-stdin '$B_ADDR' >/dev/null &&
	$H push --progress quiet --ca-cert '$B_CA' app:1 '$B_ADDR/m/app:1'"
# the other origin: a TLS faultproxy in front of R, which holds the same
# blobs under the same repository and asks for no credentials
check "faultproxy Q (TLS, logs what it is sent) starts in front of R" \
	proxy_start Q "$R_ADDR" --tls-cert "$REG_PKI/server.crt" \
	--tls-key "$REG_PKI/server.key"
check "faultproxy PR (TLS, 307 for blob GETs to Q) starts in front of B" \
	proxy_start_tls PR "$B_ADDR" --redirect-blobs-to "https://$Q_ADDR"
check "login alice for PR" sh -c "
	printf s3cret | $HOIST login -u alice --password-stdin '$PR_ADDR' >/dev/null"
check_fails "Q really serves blobs to anyone (sanity: B does not)" \
	curl -sf --max-time 10 --cacert "$B_CA" -o /dev/null \
	"https://$B_ADDR/v2/m/app/blobs/$LAYER"
check "Q serves the layer without credentials" \
	curl -sf --max-time 10 --cacert "$B_CA" -o /dev/null \
	"https://$Q_ADDR/v2/m/app/blobs/$LAYER"
proxy_reset Q
: >"$Q_LOG"
export HOIST_ROOT=$S/store-redirect
check "copy docker://PR/m/app:1 -> oci:DIR:1 (blobs redirected to Q)" \
	$H copy --progress plain --ca-cert "$B_CA" "docker://$PR_ADDR/m/app:1" "oci:$S/red:1"
check "PR redirected both blobs" \
	[ "$(proxy_stats PR '.faults.redirect // 0')" -eq 2 ]
check "PR (the registry's side) was sent credentials" \
	[ "$(proxy_stats PR '.auth.GET // 0')" -ge 1 ]
n=$(jq -s '[.[] | select(.method == "GET" and (.path | test("/blobs/sha256:")))] | length' "$Q_LOG")
if [ "$n" -eq 2 ]; then ok "Q served the 2 blob GETs"; else not_ok "Q served $n blob GETs, want 2"; fi
n=$(jq -s '[.[] | select(.auth != null)] | length' "$Q_LOG")
t=$(jq -s 'length' "$Q_LOG")
if [ "$n" -eq 0 ] && [ "$t" -ge 2 ]; then ok "no Authorization header reached Q ($t requests)"; else not_ok "$n of $t requests to Q carried an Authorization header"; fi
check "the layout's root is the source's manifest (same digest)" sh -c "
	$SK inspect --raw 'oci:$S/red:1' | sha256sum | grep -q '^${APP#sha256:} '"
check "skopeo copies the layout (every blob hashed)" \
	$SK copy "oci:$S/red:1" "dir:$S/red-dir"

# a redirect to plain http is refused
proxy_config PR "{\"redirect_blobs_to\": \"http://$R_ADDR\"}" >/dev/null
export HOIST_ROOT=$S/store-redirect-http
$H copy --progress quiet --ca-cert "$B_CA" "docker://$PR_ADDR/m/app:1" "oci:$S/red-http:1" \
	>/dev/null 2>"$S/http.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'redirect' "$S/http.err"; then ok "https -> http redirect refused (exit 1)"; else not_ok "https -> http redirect: exit $rc"; sed 's/^/# /' "$S/http.err"; fi

done_testing
