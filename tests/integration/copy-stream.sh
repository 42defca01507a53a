#!/bin/sh
# copy-stream.sh: `hoist copy` between two registries streams each layer
# from the download into the upload. The source is slowed down by a
# faultproxy (answer bodies at 8 MB/s), so the first chunk of the layer
# reaches the destination seconds before its download ends; the copy is
# read back by skopeo with the source's digest. Then a proxy that flips
# one byte of every blob body: the copy fails with one error line and
# exit 1, the destination's upload session is cancelled (DELETE), and the
# destination holds neither the layer nor a manifest; the staging area
# holds no unverified blob.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout
. "$(dirname "$0")/registry.sh"
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 120 $HOIST"
SK="timeout 60 skopeo --insecure-policy"
BUILD_STORE=$HOIST_ROOT
RATE=8000000

mkdir -p "$S/tree"
head -c 41943040 /dev/urandom >"$S/tree/random-40m"
echo small >"$S/tree/small"
check "build app:1 (one 40 MiB layer, uncompressed) into the store" \
	$H build --progress quiet --rootfs "$S/tree" -t app:1 \
	-o type=image,compression=uncompressed
APP=$(store_digest app:1)
LAYER=$("$HOIST" inspect app:1 | jq -r '.images[0].manifest.layers[0].digest')
LSIZE=$("$HOIST" inspect app:1 | jq -r '.images[0].manifest.layers[0].size')
check "source registry R starts" reg_start_plain R
check "destination registry D starts" reg_start_plain D
check "push app:1 to R/src/app:1" $H push --progress quiet --insecure app:1 "$R_ADDR/src/app:1"
check "proxy F (source answers at $RATE B/s) starts" \
	proxy_start F "$R_ADDR" --response-rate "$RATE"
check "proxy G (logs the destination's requests) starts" proxy_start G "$D_ADDR"

# 1. streamed: chunks go up while the layer comes down
export HOIST_ROOT=$S/store1
check "copy docker://F/src/app:1 -> docker://G/dst/app:1" \
	$H copy --progress quiet --insecure "docker://$F_ADDR/src/app:1" "docker://$G_ADDR/dst/app:1"
got=$(remote_digest "$D_ADDR/dst/app:1" --tls-verify=false)
check "skopeo reads G/dst/app:1 with the source's digest" [ "$got" = "$APP" ]
check "skopeo copies it (every blob hashed)" \
	$SK copy --src-tls-verify=false "docker://$D_ADDR/dst/app:1" "dir:$S/got"
get_t=$(proxy_stats F "[.log[] | select(.method == \"GET\" and (.path | endswith(\"$LAYER\")))][0].t")
patch_t=$(proxy_stats G '[.log[] | select(.method == "PATCH")][0].t')
npatch=$(proxy_stats G '[.log[] | select(.method == "PATCH")] | length')
if [ "$npatch" -ge 1 ]; then ok "the layer went up in chunks ($npatch PATCHes)"; else not_ok "no PATCH at the destination"; fi
# the download of the layer takes LSIZE/RATE seconds from its GET
if python3 -c "import sys; g, p, n, r = map(float, sys.argv[1:]); sys.exit(0 if p < g + n / r - 1 else 1)" \
	"$get_t" "$patch_t" "$LSIZE" "$RATE"; then
	ok "the first chunk was accepted over a second before the download could end (GET $get_t, PATCH $patch_t)"
else
	not_ok "first PATCH at $patch_t, layer GET at $get_t: not streamed"
fi
check "the layer is verified in the staging area" \
	cmp "$(store_blob "$LAYER")" "$(HOIST_ROOT=$BUILD_STORE store_blob "$LAYER")"

# 2. a corrupted body: session cancelled, nothing at the destination
check "proxy C (flips byte 20000000 of every blob body) starts" \
	proxy_start C "$R_ADDR" --corrupt-response-after 20000000
export HOIST_ROOT=$S/store2
mark=$(reg_log_lines D)
check_fails "copy through the corrupting proxy fails" \
	sh -c "$H copy --progress quiet --insecure 'docker://$C_ADDR/src/app:1' 'docker://$D_ADDR/bad/app:1' 2>'$S/bad.err'"
check "one error line, naming the layer" sh -c "
	[ \$(grep -c '^hoist: error: ' '$S/bad.err') -eq 1 ] &&
	grep '^hoist: error: ' '$S/bad.err' | grep -q '$LAYER'"
check "the proxy corrupted the layer" [ "$(proxy_stats C '.faults.corrupt_response // 0')" -ge 1 ]
n=$(reg_requests D "$mark" | grep -c '^PATCH /v2/bad/app/blobs/uploads/')
if [ "$n" -ge 1 ]; then ok "chunks had gone up before the mismatch ($n PATCHes)"; else not_ok "no PATCH before the mismatch"; fi
n=$(reg_requests D "$mark" | grep -c '^DELETE /v2/bad/app/blobs/uploads/[^ ]* 204$')
if [ "$n" -ge 1 ]; then ok "the upload session was cancelled (DELETE 204)"; else not_ok "no DELETE of the session"; reg_requests D "$mark" | sed 's/^/# /'; fi
n=$(reg_requests D "$mark" | grep -c "^PUT /v2/bad/app/blobs/uploads/.*digest=sha256%3A${LAYER#sha256:}")
if [ "$n" -eq 0 ]; then ok "no closing PUT for the layer"; else not_ok "$n closing PUTs for the layer"; fi
n=$(reg_requests D "$mark" | grep -c '^PUT /v2/bad/app/manifests/')
if [ "$n" -eq 0 ]; then ok "no manifest PUT"; else not_ok "$n manifest PUTs"; fi
check_fails "the destination has no such layer" \
	curl -sf -o /dev/null -I "http://$D_ADDR/v2/bad/app/blobs/$LAYER"
check_fails "the destination has no manifest" \
	curl -sf -o /dev/null -I "http://$D_ADDR/v2/bad/app/manifests/1"
check_fails "the staging area holds no blob for the layer" test -e "$(store_blob "$LAYER")"
check "fsck: the staging area is consistent" $H fsck

done_testing
