#!/bin/sh
# push-resume.sh: SIGKILL hoist in the middle of pushing a ~200 MiB layer
# in 8 MiB chunks, run it again, and check that it continued the upload
# instead of starting over: the proxy must receive fewer bytes in the
# second run than the blob holds, and over several kills the registry must
# be sent the blob about once in all. The summary counts the layer
# resumed, but not when the registry forgot the session (wiped).
#
# docker-registry 2.8 keeps the partial bytes of a PATCH whose client died
# and then refuses the session (testbed.md 3), so no client can resume
# against it directly. The proxy therefore runs in store-and-forward mode,
# as nginx does by default: a chunk the client did not finish never
# reaches the registry. Its stall mode holds a chunk mid-body at a chosen
# byte count, so every kill lands at a known point inside a chunk.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout awk
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
CHUNK=$((8 * MIB))
mkdir -p "$S/tree/data"
head -c $((200 * MIB)) /dev/urandom >"$S/tree/data/random-200m"
# random bytes do not compress: skip gzip's cost
check "build a 200 MiB layer into the store" $HOIST build --rootfs "$S/tree" \
	-t big:1 -o type=image,compression=uncompressed
APP=$(store_digest big:1)
BIG=$("$HOIST" inspect big:1 | jq '[.images[0].manifest.layers[].size] | max')
BLOBS=$(image_blob_bytes big:1)
echo "# image $APP, layer $BIG bytes"

check "plain registry starts" reg_start_plain P
check "store-and-forward faultproxy starts" proxy_start F "$P_ADDR" --buffer-body

# push_killed REPO AT: push, hold the body once AT bytes arrived in this
# run, SIGKILL hoist there, and let the proxy drop the held chunk. Adds
# the bytes forwarded to the registry to FWD_TOTAL.
push_killed() {
	proxy_config F "{\"stall_body_after\": $2, \"reset_stats\": true}" >/dev/null
	# no timeout(1) wrapper here: SIGKILL must reach hoist itself, not a
	# parent that would leave it running; wait_for bounds the wait
	"$HOIST" push --insecure --chunk-size 8MiB big:1 \
		"$F_ADDR/$1:1" >>"$S/push.log" 2>&1 &
	hp=$!
	if ! wait_for 120 proxy_holds F '.stalled >= 1'; then
		kill -KILL "$hp" 2>/dev/null
		wait "$hp"
		not_ok "$1: the push reached $2 bytes to be killed there"
		return 1
	fi
	kill -KILL "$hp"
	wait "$hp" 2>/dev/null
	if proxy_drop_held F; then
		ok "$1: hoist killed mid-chunk after $2 bytes"
	else
		not_ok "$1: the held chunk was not dropped"
	fi
	FWD_TOTAL=$((FWD_TOTAL + $(proxy_body_bytes F forwarded)))
}

# push_finish REPO: run the push to the end and check that it resumed:
# this run sent less than the layer, and the registry was sent the blobs
# about once in all the runs (FWD_TOTAL, at most one chunk more)
push_finish() {
	proxy_config F '{"stall_body_after": null, "reset_stats": true}' >/dev/null
	check "$1: the push run again finishes" sh -c "timeout 300 '$HOIST' \
		push --insecure --chunk-size 8MiB big:1 '$F_ADDR/$1:1' \
		2>'$S/finish.err'"
	check "$1: its summary counts the layer resumed" \
		grep -q ', 1 resumed, ' "$S/finish.err"
	RECV=$(proxy_body_bytes F received)
	FWD_TOTAL=$((FWD_TOTAL + $(proxy_body_bytes F forwarded)))
	d=$(remote_digest "$P_ADDR/$1:1" --tls-verify=false)
	if [ "$d" = "$APP" ]; then ok "$1: the registry has the right manifest"; else not_ok "$1: the registry has '$d', want $APP"; fi
	check "$1: every blob reads back with its digest" \
		readback_ok "$APP" "$P_ADDR/$1:1" --src-tls-verify=false
	if [ "$RECV" -lt "$BIG" ]; then
		ok "$1: resumed: the last run sent $RECV bytes, less than the $BIG-byte layer"
	else
		not_ok "$1: restarted: the last run sent $RECV bytes for a $BIG-byte layer"
	fi
	if [ "$FWD_TOTAL" -le $((BLOBS + CHUNK)) ]; then
		ok "$1: the registry was sent $FWD_TOTAL bytes in all for $BLOBS blob bytes"
	else
		not_ok "$1: the registry was sent $FWD_TOTAL bytes in all for $BLOBS blob bytes (want <= +1 chunk: a restart resent data)"
	fi
}

# rand LO HI: a random integer in [LO, HI]
rand() { awk -v lo="$1" -v hi="$2" 'BEGIN { srand(); print int(lo + rand() * (hi - lo + 1)) }'; }

# 1. one kill at 40-60 % of the layer, then a second run
FWD_TOTAL=0
at=$(rand $((BIG * 2 / 5)) $((BIG * 3 / 5)))
push_killed r/once "$at"
push_finish r/once

# 2. three kills at random points, each 16-48 MiB into its run, then the
# end; a restart anywhere would resend at least 16 MiB
reg_wipe P
FWD_TOTAL=0
points=
for i in 1 2 3; do
	at=$(rand $((16 * MIB)) $((48 * MIB)))
	points="$points $at"
	push_killed r/loop "$at"
done
echo "# kill points (bytes into each run):$points"
push_finish r/loop

# 3. a session the registry forgot (wiped between the runs): its status
# GET is a 404, the layer goes again in full, and nothing is "resumed"
reg_wipe P
push_killed r/lost "$(rand $((16 * MIB)) $((48 * MIB)))"
reg_wipe P
proxy_config F '{"stall_body_after": null, "reset_stats": true}' >/dev/null
check "r/lost: the push after the registry forgot the session finishes" \
	sh -c "timeout 300 '$HOIST' push --insecure --chunk-size 8MiB big:1 \
		'$F_ADDR/r/lost:1' 2>'$S/lost.err'"
RECV=$(proxy_body_bytes F received)
if [ "$RECV" -ge "$BIG" ]; then ok "r/lost: the layer went again in full ($RECV bytes)"; else not_ok "r/lost: $RECV bytes sent for the $BIG-byte layer"; fi
check "r/lost: its summary counts nothing resumed" \
	grep -q ', 0 resumed, ' "$S/lost.err"

done_testing
