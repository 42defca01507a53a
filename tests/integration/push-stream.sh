#!/bin/sh
# push-stream.sh: a build that pushes to a registry taking no chunked
# uploads streams each layer while it compresses it, as the body of ONE
# PATCH without Content-Range. The faultproxy in front of the registry
# refuses every PATCH that carries a Content-Range (416 RANGE_INVALID, as
# GHCR does to chunks it refuses): the first build learns that (its chunks
# are refused down to 1 MiB, then a new session streams) and remembers
# stream mode for the registry; a build with stream mode remembered starts
# in it. For both: the push succeeds, skopeo reads the image back (hashing every
# blob) with the digest the build reported, the proxy saw the streamed
# PATCH's body arrive while the build had not yet finished the layer (its
# log says "built layer 1 from" only once the layer is whole), the layer's
# session got exactly one PATCH, without Content-Range, carrying the whole
# layer chunked, then the closing PUT naming its digest. A build that fails
# while its layer streams (the file shrinks under it) ends the PATCH and
# cancels the session. fsck stays clean.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout truncate
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 300 $HOIST"
# zstd at level 16 takes seconds for 64 MiB of random bytes: the layer is
# written for a long while after its first bytes exist
COMP=zstd,compression-level=16
mkdir -p "$S/tree/data"
head -c $((64 * MIB)) /dev/urandom >"$S/tree/data/random-64m"
mktree "$S/tree/files" --no-special

check "plain registry starts" reg_start_plain P
check "faultproxy refusing chunked PATCHes starts" \
	proxy_start X "$P_ADDR" --refuse-chunks 416
XLOG=$(_get X LOG)
MEM=$HOIST_ROOT/registries/$(echo "$X_ADDR" | tr ':' '_').json

# streamed_early LOG: the proxy has body bytes of a PATCH without
# Content-Range in flight, and (read after that) the build has not said
# that its layer is whole
streamed_early() {
	n=$(proxy_stats X '[.inflight[] | select(.method == "PATCH" and
		.content_range == null) | .received] | max // 0')
	[ "$n" -gt 0 ] || return 1
	if grep -q "built layer 1 from" "$1"; then
		echo "late: $n bytes" >"$1.seen"
		return 1
	fi
	echo "$n" >"$1.seen"
}

# build_watched NAME EXTRA...: build --push in the background, watching the
# proxy until the streamed PATCH is seen early; the build's result
build_watched() {
	n=$1
	shift
	rm -f "$S/$n.log.seen"
	$H build --progress plain --rootfs "$S/tree" "$@" \
		--metadata-file "$S/m-$n.json" \
		-o "type=registry,name=$X_ADDR/p/$n:1,compression=$COMP" \
		>"$S/$n.log" 2>&1 &
	bp=$!
	wait_for 240 watch_build "$S/$n.log" "$bp"
	wait "$bp"
}

# watch_build LOG PID: the streamed PATCH was seen early, or the build ended
watch_build() {
	streamed_early "$1" || ! kill -0 "$2" 2>/dev/null
}

# one_streamed_patch REPO LAYER: in the proxy's log, the session whose
# closing PUT named LAYER got exactly one PATCH: no Content-Range, chunked,
# carrying the layer's bytes, answered 202
one_streamed_patch() {
	hex=${2#sha256:}
	size=$3
	jq -c "select(.path | test(\"^/v2/$1/blobs/uploads/\"))" "$XLOG" \
		>"$S/session.jsonl"
	put=$(jq -r "select(.method == \"PUT\" and .status == 201 and
		(.path | contains(\"digest=sha256%3A$hex\"))) | .path" \
		"$S/session.jsonl" | head -n 1)
	[ -n "$put" ] || { echo "no closing PUT for $2"; return 1; }
	uuid=$(echo "$put" | sed 's|.*/uploads/\([^?]*\)?.*|\1|')
	jq -c "select(.method == \"PATCH\" and
		(.path | contains(\"/uploads/$uuid\")))" "$S/session.jsonl" \
		>"$S/patches.jsonl"
	sed 's/^/# /' "$S/patches.jsonl" | cut -c1-400
	[ "$(wc -l <"$S/patches.jsonl")" -eq 1 ] &&
		jq -e ".status == 202 and .content_range == null and
			.transfer_encoding == \"chunked\" and
			.body == $size" "$S/patches.jsonl" >/dev/null
}

# pushed_ok NAME: the push's image reads back, and its layer went up in
# one streamed PATCH
pushed_ok() {
	n=$1
	D=$(jq -r '."containerimage.digest"' "$S/m-$n.json")
	check "$n: skopeo reads the image back, manifest bytes hash to the reported digest" \
		readback_ok "$D" "$P_ADDR/p/$n:1" --src-tls-verify=false
	skopeo inspect --raw --tls-verify=false "docker://$P_ADDR/p/$n:1" \
		>"$S/$n.manifest"
	L=$(jq -r '.layers[0].digest' "$S/$n.manifest")
	LS=$(jq -r '.layers[0].size' "$S/$n.manifest")
	check "$n: its session got ONE PATCH without Content-Range carrying the whole layer, then the PUT" \
		one_streamed_patch "p/$n" "$L" "$LS"
	seen=$(cat "$S/$n.log.seen" 2>/dev/null)
	case $seen in
	'' | late*)
		not_ok "$n: the PATCH's body arrived before the layer was whole (${seen:-never seen})"
		;;
	*)
		if [ "$seen" -lt "$LS" ]; then
			ok "$n: the PATCH's body arrived before the layer was whole ($seen of $LS bytes in flight)"
		else
			not_ok "$n: $seen bytes in flight is not less than the $LS-byte layer"
		fi
		;;
	esac
}

# 1. nothing known: the chunks are refused, then the layer streams
rm -f "$MEM"
check "learn: build -o type=registry succeeds against a registry refusing chunks" \
	build_watched learn
sed 's/^/# /' "$S/learn.log" | grep -i "refuses\|stream\|built layer" | head
check "learn: the registry's chunk refusal was seen" \
	grep -q "refuses chunks" "$S/learn.log"
check "learn: stream mode is remembered for the registry" \
	jq -e '.mode == "stream"' "$MEM"
pushed_ok learn

# 2. remembered (written here, so that this part does not depend on the
# first): the layer streams from its first bytes, without a chunk
mkdir -p "$(dirname "$MEM")"
echo '{"mode": "stream"}' >"$MEM"
proxy_reset X
: >"$XLOG"
check "again: the next build succeeds" build_watched again --no-cache
check "again: it started in stream mode as learned" \
	grep -q "using stream uploads as learned earlier" "$S/again.log"
# (the push's lines show in the export step, after the build's: that the
# bytes went up before the layer was whole, the proxy shows, pushed_ok)
check "again: it says it streams the layer while it is written" \
	grep -q "layer 1: streaming it to the registry in one PATCH while it is being written" \
	"$S/again.log"
check_fails "again: no chunk was sent" \
	jq -e 'select(.content_range != null)' "$XLOG"
pushed_ok again
check "fsck: the staging area is consistent" "$HOIST" fsck

# 3. a build that fails while its layer streams ends the PATCH and cancels
# the session: the big file shrinks under the compressor
cp -a "$S/tree" "$S/shrink"
proxy_reset X
: >"$XLOG"
$H build --progress plain --no-cache --rootfs "$S/shrink" \
	-o "type=registry,name=$X_ADDR/p/shrink:1,compression=$COMP" \
	>"$S/shrink.log" 2>&1 &
bp=$!
if wait_for 240 watch_build "$S/shrink.log" "$bp" &&
	[ -f "$S/shrink.log.seen" ] && ! grep -q late "$S/shrink.log.seen"; then
	truncate -s $((4 * MIB)) "$S/shrink/data/random-64m"
	ok "the layer was streaming when its file shrank"
else
	not_ok "the layer was streaming when its file shrank"
fi
if wait "$bp"; then
	not_ok "a build whose file shrank while streamed fails"
else
	ok "a build whose file shrank while streamed fails"
fi
sed 's/^/# /' "$S/shrink.log" | tail -n 5
check "it names the shrunk file" grep -q "shrank" "$S/shrink.log"
check "the streamed PATCH ended (nothing in flight at the proxy)" \
	wait_for 30 proxy_holds X '.inflight == {}'
check "the upload session was cancelled (DELETE)" \
	jq -e 'select(.method == "DELETE" and
		(.path | test("^/v2/p/shrink/blobs/uploads/")))' "$XLOG"
check_fails "no layer was committed for it" \
	jq -e 'select(.method == "PUT" and (.path | test("digest=")))' "$XLOG"
check "fsck: consistent after the failed build" "$HOIST" fsck

done_testing
