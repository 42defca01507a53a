#!/bin/sh
# push-faults.sh: hoist pushes through faultproxy.py (and nginx) while the
# network misbehaves: a request body cut mid-way, 503 and 429 with
# Retry-After every k-th request, 413 above a body size, added latency.
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
	"latency_ms": 0, "reset_stats": true}'

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
	check "$c: the push finishes" \
		$H push --insecure "$@" app:1 "$F_ADDR/f/$c:1"
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
fault_push patch503 '{"error_every": 2, "error_status": 503, "retry_after": 1, "error_methods": ["PATCH", "PUT"], "error_times": 3}' \
	--chunk-size 2MiB
faulted 1 patch503 .faults.error_503
fault_push latency '{"latency_ms": 150}'
# last: hoist may remember a smaller chunk size for this registry
fault_push big413 '{"max_body": 1048576}'
faulted 1 big413 .faults.too_large

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
