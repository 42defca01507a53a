#!/bin/sh
# push-pipeline.sh: a build that pushes (-o type=registry) uploads each
# layer while it compresses it. Checked for gzip and zstd: the registry
# confirms the first chunk of the layer before the build has the layer
# whole (the times of hoist's --progress rawjson log lines: the push's
# lines are shown in the export step, after the build's, with the times
# they were written; 1 MiB chunks, so the first is in while 63 more MiB
# are still to write), the
# proxy in front of the registry saw PATCHes of that upload session and
# then the closing PUT naming the layer's digest, and skopeo reads the
# image back (hashing every blob) with the digest the build reported.
# Two layers compress at once, with the bytes each has alone. Also:
# a push through nginx (which buffers and caps bodies) works, and a
# build killed with SIGKILL once its layer was whole, mid-upload, resumes
# that upload when run again (the layer then comes from the build cache).
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 300 $HOIST"
mkdir -p "$S/tree/data"
head -c $((64 * MIB)) /dev/urandom >"$S/tree/data/random-64m"
mktree "$S/tree/files" --no-special

check "plain registry starts" reg_start_plain P
check "faultproxy starts" proxy_start X "$P_ADDR"
XLOG=$(_get X LOG)

# logged_before FILE A B: in a --progress rawjson log, the first log line
# matching A was written before the first matching B (their timestamps)
logged_before() {
	python3 - "$@" <<'PY'
import base64, json, re, sys
from datetime import datetime, timezone
f, a, b = sys.argv[1:4]
first = {}
for line in open(f):
    try:
        logs = json.loads(line).get("logs", [])
    except (ValueError, AttributeError):
        continue
    for lg in logs:
        text = base64.b64decode(lg["data"]).decode()
        m = re.match(r"^(.+T\d\d:\d\d:\d\d)(\.\d+)?Z$", lg["timestamp"])
        t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=timezone.utc).timestamp() + float(m.group(2) or 0)
        for k in (a, b):
            if k not in first and re.search(k, text):
                first[k] = t
print("# first written: %r" % first)
sys.exit(0 if a in first and b in first and first[a] < first[b] else 1)
PY
}

# chunked_session REPO LAYER: in the proxy's log, the upload session
# whose closing PUT named LAYER got at least two PATCHes before that PUT
chunked_session() {
	hex=${2#sha256:}
	jq -r "select(.path | test(\"^/v2/$1/blobs/uploads/\")) |
		\"\(.method) \(.status) \(.path)\"" "$XLOG" >"$S/session.txt"
	put=$(grep -n "^PUT 201 .*digest=sha256%3A$hex" "$S/session.txt" |
		head -n 1)
	[ -n "$put" ] || { echo "no closing PUT for $2"; return 1; }
	uuid=$(echo "$put" | sed 's|.*/uploads/\([^?]*\)?.*|\1|')
	n=$(head -n "${put%%:*}" "$S/session.txt" |
		grep -c "^PATCH 202 /v2/$1/blobs/uploads/$uuid?")
	echo "# session $uuid: $n PATCHes before the closing PUT"
	[ "$n" -ge 2 ]
}

# zstd at its default level compresses random bytes near memory speed
# (64 MiB in about 0.25 s on two cores), too close to one round trip
# through the proxy to show the order; at level 16 it takes seconds
for comp in gzip zstd,compression-level=16; do
	lab=${comp%%,*}
	n=app-$lab
	check "$lab: build -o type=registry pushes while it builds" sh -c "
		$H build --progress rawjson --chunk-size 1MiB --rootfs '$S/tree' \
		--metadata-file '$S/m-$n.json' \
		-o 'type=registry,name=$X_ADDR/p/$n:1,compression=$comp' \
		>'$S/$n.log' 2>&1"
	check "$lab: the registry held the layer's first chunk before the layer was whole" \
		logged_before "$S/$n.log" \
		"layer 1: the registry holds its first [0-9]* bytes while it is being written" \
		"built layer 1 from"
	D=$(jq -r '."containerimage.digest"' "$S/m-$n.json")
	check "$lab: skopeo reads the image back, manifest bytes hash to the reported digest" \
		readback_ok "$D" "$P_ADDR/p/$n:1" --src-tls-verify=false
	L=$(skopeo inspect --raw --tls-verify=false "docker://$P_ADDR/p/$n:1" |
		jq -r '.layers[0].digest')
	check "$lab: its layer went up in PATCHes, then a PUT naming its digest" \
		chunked_session "p/$n" "$L"
done

# two layers compress at once, one compressor thread each, and each has
# the bytes it has when built alone
mkdir -p "$S/two/a" "$S/two/b"
head -c $((32 * MIB)) /dev/urandom >"$S/two/a/random"
head -c $((32 * MIB)) /dev/urandom >"$S/two/b/random"
mktree "$S/two/b/files" --no-special
check "a two-layer build pushes while it builds" sh -c "
	$H build --progress plain --chunk-size 1MiB --rootfs '$S/two/a' \
	--rootfs '$S/two/b' --metadata-file '$S/m-two.json' \
	-o 'type=registry,name=$X_ADDR/p/two:1,compression=zstd' \
	>'$S/two.log' 2>&1"
check "layer 2 began before layer 1 was whole" \
	before "$S/two.log" "\[2/2\] ADD" "built layer 1 from"
check "skopeo reads the two-layer image back" readback_ok \
	"$(jq -r '."containerimage.digest"' "$S/m-two.json")" "$P_ADDR/p/two:1" \
	--src-tls-verify=false
skopeo inspect --raw --tls-verify=false "docker://$P_ADDR/p/two:1" |
	jq -r '.layers[].digest' >"$S/two.layers"
for d in a b; do
	$HOIST build --progress quiet --no-cache --rootfs "$S/two/$d" \
		-o "type=image,name=alone-$d:1,compression=zstd" >/dev/null 2>&1
	"$HOIST" inspect "alone-$d:1" |
		jq -r '.images[0].manifest.layers[0].digest'
done >"$S/alone.layers"
check "each layer has the digest it has when built alone" \
	cmp "$S/two.layers" "$S/alone.layers"

# nginx buffers each request body before passing it on, and refuses
# bodies over 10 MiB: the pipeline still works
check "nginx starts in front of the registry" nginx_start N "$P_ADDR" 10m
check "build through nginx (no cache: the layer is compressed again)" sh -c "
	$H build --progress rawjson --no-cache --chunk-size 4MiB \
	--rootfs '$S/tree' --metadata-file '$S/m-ngx.json' \
	-o 'type=registry,name=$N_ADDR/p/ngx:1' >'$S/ngx.log' 2>&1"
check "through nginx too, the first chunk was in before the layer was whole" \
	logged_before "$S/ngx.log" \
	"layer 1: the registry holds its first [0-9]* bytes while it is being written" \
	"built layer 1 from"
check "skopeo reads the nginx push back" readback_ok \
	"$(jq -r '."containerimage.digest"' "$S/m-ngx.json")" "$P_ADDR/p/ngx:1" \
	--src-tls-verify=false

# SIGKILL once the layer is whole in the store and its upload is saved
# under its digest, with a chunk held mid-body by a store-and-forward
# proxy (docker-registry 2.8 would keep the partial bytes of a chunk cut
# short and refuse the session; testbed.md 3); then run the build again
check "store-and-forward faultproxy starts" proxy_start F "$P_ADDR" --buffer-body
# held_and_saved: a chunk is held, and an upload is saved under a digest
held_and_saved() {
	proxy_holds F '.stalled >= 1' &&
		grep -q '"sha256:' "$HOIST_ROOT"/uploads/*.json
}
rm -rf "$HOIST_ROOT"
proxy_config F "{\"stall_body_after\": $((24 * MIB)), \"reset_stats\": true}" >/dev/null
# no timeout(1) wrapper: SIGKILL must reach hoist itself
"$HOIST" build --progress plain --rootfs "$S/tree" \
	-o "type=registry,name=$F_ADDR/p/kill:1" >"$S/kill.log" 2>&1 &
hp=$!
if wait_for 120 held_and_saved; then
	kill -KILL "$hp"
	wait "$hp" 2>/dev/null
	ok "killed with a chunk held and the whole layer's upload saved"
else
	kill -KILL "$hp" 2>/dev/null
	wait "$hp" 2>/dev/null
	not_ok "killed with a chunk held and the whole layer's upload saved"
	sed 's/^/# /' "$S/kill.log" | tail -n 20
fi
check "the killed build left the layer whole in the store" \
	grep -q "built layer 1 from" "$S/kill.log"
check "the proxy dropped the held chunk" proxy_drop_held F
proxy_config F '{"reset_stats": true}' >/dev/null
check "the build run again finishes" sh -c "
	$H build --progress plain --rootfs '$S/tree' \
	--metadata-file '$S/m-kill.json' \
	-o 'type=registry,name=$F_ADDR/p/kill:1' >'$S/kill2.log' 2>&1"
check "it took the layer from the build cache" \
	grep -q "cached layer 1 from" "$S/kill2.log"
check "it resumed the saved upload" grep -q "resume sha256:" "$S/kill2.log"
RECV=$(proxy_body_bytes F received)
BIG=$(skopeo inspect --raw --tls-verify=false "docker://$P_ADDR/p/kill:1" |
	jq '.layers[0].size')
if [ "$RECV" -lt "$BIG" ]; then
	ok "the second run sent $RECV bytes, less than the $BIG-byte layer"
else
	not_ok "the second run sent $RECV bytes for a $BIG-byte layer"
fi
check "skopeo reads the resumed push back" readback_ok \
	"$(jq -r '."containerimage.digest"' "$S/m-kill.json")" "$P_ADDR/p/kill:1" \
	--src-tls-verify=false
check "fsck: the staging area is consistent" "$HOIST" fsck

# a push that fails for good (403 on its first PATCH) stops the build: its
# layer is never finished, and the error is the registry's
proxy_config X '{"error_every": 1, "error_status": 403,
	"error_methods": ["PATCH"], "reset_stats": true}' >/dev/null
check_fails "a build whose push is refused fails" sh -c "
	$H build --progress plain --no-cache --chunk-size 1MiB \
	--rootfs '$S/tree' -o 'type=registry,name=$X_ADDR/p/refused:1' \
	>'$S/refused.log' 2>&1"
check "it names the registry's refusal" \
	grep -q "403" "$S/refused.log"
check_fails "the build stopped before its layer was whole" \
	grep -q "built layer 1 from" "$S/refused.log"
proxy_config X '{"error_every": null, "error_methods": []}' >/dev/null
check "fsck: consistent after the refused push" "$HOIST" fsck

done_testing
