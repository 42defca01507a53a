#!/bin/sh
# push-faults.sh: hoist pushes through faultproxy.py (and nginx) while the
# network misbehaves: a request body cut mid-way, 503 and 429 with
# Retry-After every k-th request, a token-bucket rate limiter (pushes and
# pulls), 413 above a body size, added latency.
# Every push must finish with the right digests, and the bytes the proxy
# forwarded to the registry must stay within 1.5x of the image's blobs
# (retries may resend a part, never the whole image several times).
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout nginx
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 180 $HOIST"
mkdir -p "$S/tree/etc" "$S/tree/data"
echo faults >"$S/tree/etc/hostname"
head -c 8388608 /dev/urandom >"$S/tree/data/random-8m"
seq 1 200000 >"$S/tree/data/text"
check "build app:1 into the store" $HOIST build --rootfs "$S/tree" -t app:1 -o type=image
APP=$(store_digest app:1)
BLOBS=$(image_blob_bytes app:1)
echo "# image $APP, $BLOBS blob bytes"

check "plain registry starts" reg_start_plain P
check "faultproxy starts" proxy_start F "$P_ADDR"
CLEAR='{"cut_body_after": null, "cut_times": 1, "error_every": null,
	"error_times": -1, "error_methods": [], "max_body": null,
	"latency_ms": 0, "bucket_rate": null, "stall_response_after": null,
	"ratelimit_remaining": null,
	"reset_stats": true}'

# within_1_5x BYTES: BLOBS <= BYTES <= 1.5 * BLOBS
within_1_5x() {
	awk -v f="$1" -v b="$BLOBS" 'BEGIN { exit !(f >= b && f <= 1.5 * b) }'
}

# fault_push CASE JSON [HOIST-PUSH-FLAGS...]: empty registry, faults set,
# push through the proxy to f/CASE:1; then digests and byte counts
fault_push() {
	c=$1
	j=$2
	shift 2
	reg_wipe P
	proxy_config F "$CLEAR" >/dev/null
	proxy_config F "$j" >/dev/null
	check "$c: the push finishes" push_case "$c" "$@"
	proxy_stats F . >"$S/stats-$c.json"
	d=$(remote_digest "$P_ADDR/f/$c:1" --tls-verify=false)
	if [ "$d" = "$APP" ]; then ok "$c: the registry has the right manifest"; else not_ok "$c: the registry has '$d', want $APP"; fi
	check "$c: every blob reads back with its digest" \
		readback_ok "$APP" "$P_ADDR/f/$c:1" --src-tls-verify=false
	fwd=$(jq '[.body_forwarded[]] | add // 0' "$S/stats-$c.json")
	if within_1_5x "$fwd"; then
		ok "$c: $fwd body bytes forwarded for $BLOBS blob bytes"
	else
		not_ok "$c: $fwd body bytes forwarded for $BLOBS blob bytes (want 1x..1.5x)"
	fi
}

# push_case CASE [FLAGS...]: the push of fault_push, its output kept
push_case() {
	pc=$1
	shift
	$H push --insecure "$@" app:1 "$F_ADDR/f/$pc:1" >"$S/out-$pc.log" 2>&1
}

# waits_counted CASE: the summary line counts the 429s waited out, as many
# as the proxy injected for blob and manifest requests
waits_counted() {
	inj=$(jq '.faults.error_429 // 0' "$S/stats-$1.json")
	got=$(sed -n 's/^pushed .*, \([0-9]*\) rate-limit waits$/\1/p' "$S/out-$1.log")
	if [ -n "$got" ] && [ "$inj" -gt 0 ] && [ "$got" -eq "$inj" ]; then
		ok "$1: the summary counts the $got waits"
	else
		not_ok "$1: summary waits '$got', injected 429s $inj"
		tail -n 3 "$S/out-$1.log" | sed 's/^/# /'
	fi
}

# no_status_get CASE: no GET of an upload session (a status request)
no_status_get() {
	n=$(jq '[.log[] | select(.method == "GET" and (.path | test("/blobs/uploads/")))] | length' "$S/stats-$1.json")
	if [ "$n" -eq 0 ]; then ok "$1: a 429 cost no status GET"; else not_ok "$1: $n status GETs"; fi
}

# faulted N CASE JQ-KEY: the stats say the fault fired at least N times
faulted() {
	n=$(jq "$3 // 0" "$S/stats-$2.json")
	if [ "$n" -ge "$1" ]; then ok "$2: the fault fired ($n)"; else not_ok "$2: the fault fired $n times, want >= $1"; fi
}

fault_push healthy '{}'
fault_push cut '{"cut_body_after": 1048576, "cut_times": 1, "cut_methods": ["PATCH", "PUT"]}'
faulted 1 cut .faults.cut_body
fault_push cutchunk '{"cut_body_after": 1048576, "cut_times": 1, "cut_methods": ["PATCH", "PUT"]}' \
	--chunk-size 2MiB
faulted 1 cutchunk .faults.cut_body
fault_push e503 '{"error_every": 3, "error_status": 503, "retry_after": 1}'
faulted 1 e503 .faults.error_503
fault_push e429 '{"error_every": 4, "error_status": 429, "retry_after": 1}' \
	--max-concurrent 1
faulted 1 e429 .faults.error_429
# one request at a time: whatever follows an injected 429 must come at
# least Retry-After (1 s) later
check "e429: Retry-After was honoured" jq -e '
	.log as $l
	| [range(0; ($l | length) - 1)
	   | select($l[.].fault == "error") | $l[. + 1].t - $l[.].t]
	| length > 0 and min >= 0.9' "$S/stats-e429.json"
# a limiter that refuses every second request, on every method: each 429
# is waited out and the same request sent again (the old policy gave up
# after 8 attempts)
fault_push every2 '{"error_every": 2, "error_status": 429, "retry_after": 1}' \
	--chunk-size 1MiB
faulted 4 every2 .faults.error_429
no_status_get every2
waits_counted every2
# Docker Hub's ratelimit-remaining, when low, is shown once
fault_push ratelimit '{"ratelimit_remaining": 5}'
check "ratelimit: the progress shows the requests left, once" sh -c "
	test \$(grep -c 'registry rate limit: 5 requests left (ratelimit-remaining)' '$S/out-ratelimit.log') -eq 1"
# a token bucket: 4 requests a second, 2 at once; Retry-After says when
fault_push bucket '{"bucket_rate": 4, "bucket_burst": 2}' --chunk-size 1MiB
faulted 4 bucket .faults.error_429
no_status_get bucket
waits_counted bucket
# pulls through both limiters complete too (of the last image pushed)
for c in every2 bucket; do
	proxy_config F "$CLEAR" >/dev/null
	case $c in
	every2) proxy_config F '{"error_every": 2, "error_status": 429, "retry_after": 1}' >/dev/null ;;
	bucket) proxy_config F '{"bucket_rate": 1, "bucket_burst": 1}' >/dev/null ;;
	esac
	rm -rf "$S/pull-$c"
	check "$c: a pull through the limiter completes" \
		$H copy --progress quiet --insecure "docker://$F_ADDR/f/bucket:1" "oci:$S/pull-$c:1"
	check "$c: the pull has the pushed manifest" sh -c "
		jq -r '.manifests[0].digest' '$S/pull-$c/index.json' | grep -qx '$APP'"
	n=$(proxy_stats F '.faults.error_429 // 0')
	if [ "$n" -gt 0 ]; then ok "$c: the pull met $n 429s"; else not_ok "$c: the pull met no 429"; fi
done
proxy_config F '{"bucket_rate": null}' >/dev/null
fault_push patch503 '{"error_every": 2, "error_status": 503, "retry_after": 1, "error_methods": ["PATCH", "PUT"], "error_times": 3}' \
	--chunk-size 2MiB
faulted 1 patch503 .faults.error_503
fault_push latency '{"latency_ms": 150}'
# last: hoist may remember a smaller chunk size for this registry
fault_push big413 '{"max_body": 1048576}'
faulted 1 big413 .faults.too_large

# a registry that trickles (a byte a second after the first 20 of each
# answer): --timeout 5s ends the push and a pull within 10 s, exit 1,
# naming what was in flight
proxy_config F "$CLEAR" >/dev/null
proxy_config F '{"stall_response_after": 20}' >/dev/null
for cmd in push copy; do
	t0=$(date +%s)
	case $cmd in
	push) $HOIST push --insecure --timeout 5s app:1 "$F_ADDR/f/slow:1" >"$S/slow-$cmd.log" 2>&1 ;;
	copy) $HOIST copy --insecure --timeout 5s "docker://$F_ADDR/f/e503:1" "oci:$S/slow-oci:1" >"$S/slow-$cmd.log" 2>&1 ;;
	esac
	rc=$?
	dt=$(($(date +%s) - t0))
	if [ "$rc" -eq 1 ] && [ "$dt" -le 10 ]; then ok "$cmd --timeout 5s against a trickling registry: exit 1 after ${dt}s"; else not_ok "$cmd --timeout 5s: exit $rc after ${dt}s"; fi
	check "$cmd: one error line names the deadline and what was in flight" sh -c "
		test \$(grep -c 'error:' '$S/slow-$cmd.log') -eq 1 &&
		grep -q \"overall deadline of 5.0s passed .*'http://$F_ADDR/v2/\" '$S/slow-$cmd.log'"
done
check_fails "copy --timeout with a bad duration is a usage error" \
	$HOIST copy --timeout 5parsecs "docker://$F_ADDR/f/e503:1" "oci:$S/never:1"
proxy_config F '{"stall_response_after": null}' >/dev/null

# nginx with client_max_body_size 1m and an 8 MiB layer
check "nginx starts (client_max_body_size 1m)" nginx_start N "$P_ADDR" 1m
reg_wipe P
check "push through nginx finishes" $H push --insecure app:1 "$N_ADDR/n/app:1"
d=$(remote_digest "$P_ADDR/n/app:1" --tls-verify=false)
if [ "$d" = "$APP" ]; then ok "nginx: the registry has the right manifest"; else not_ok "nginx: the registry has '$d', want $APP"; fi
check "nginx: every blob reads back" \
	readback_ok "$APP" "$P_ADDR/n/app:1" --src-tls-verify=false
# an 8 MiB body does not fit: the first try must have met the 413
check "nginx: the limit was hit (413 in its access log)" \
	grep -q '" 413 ' "$N_ACCESS"
check "nginx: the blob PATCHes that got through were 202" sh -c "
	grep -q '\"PATCH /v2/n/app/blobs/uploads/[^ ]* HTTP/1.1\" 202 ' '$N_ACCESS' ||
	grep -q '\"PUT /v2/n/app/blobs/uploads/[^ ]* HTTP/1.1\" 201 ' '$N_ACCESS'"

done_testing
