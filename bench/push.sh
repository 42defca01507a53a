#!/bin/sh
# push.sh [MIB]: time `hoist push` against skopeo, in one run, into one
# docker-registry 2.8 on loopback (plain HTTP, filesystem storage, wiped
# before every fresh push so no blob is reused or mounted).
#
# Input: a deterministic tree of MIB MiB (default 1024; half random, half
# text, bench/gen-tree.py), or a real tree with TREE=DIR, built once into hoist's store (gzip) and once
# as an uncompressed OCI layout for skopeo. Neither build is timed.
# Cases, RUNS runs each (default 3), median wall time:
#   hoist push              store -> fresh repository (layers already gzip)
#   hoist build+push        the tree -> fresh repository: tar, gzip and
#                           push in one command (the fair match for skopeo)
#   skopeo copy             uncompressed layout -> fresh repository; skopeo
#                           gzips while pushing (--dest-compress-format
#                           gzip), the way a build-and-push tool must
#   hoist re-push           every blob already there (HEADs + manifest)
#   skopeo re-push          the same for skopeo
# Prints seconds, MiB/s of the tree and the ratio to hoist push.
# Needs: docker-registry, skopeo, python3, jq, curl, bc.
MIB=${1:-1024}
BENCH_TOOLS="docker-registry skopeo python3 jq curl bc"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
"$HOIST" push --help >/dev/null 2>&1 ||
	die "'$HOIST push' does not exist (set HOIST=)"
bench_tree
echo "# building it into the store (gzip) and as an uncompressed layout"
"$HOIST" build --rootfs "$W/tree" -t bench/push:1 -o type=image \
	>/dev/null 2>&1 || die "hoist build (store) failed"
"$HOIST" build --rootfs "$W/tree" -t bench/push:1 \
	-o "type=oci,tar=false,dest=$W/raw,compression=uncompressed" \
	>/dev/null 2>&1 || die "hoist build (layout) failed"
BLOBS=$(image_blob_bytes bench/push:1)
reg_start_plain R || die "registry did not start"
echo "# registry $R_ADDR; tree $SIZE bytes, hoist's blobs $BLOBS bytes"

row() { # NAME SECONDS BASE
	mbs=$(echo "$SIZE / $2 / 1048576" | bc -l)
	ratio=$(echo "$2 / $3" | bc -l)
	printf '%-52s %9.3f %9.1f %7.2fx\n' "$1" "$2" "$mbs" "$ratio"
}

FRESH='reg_wipe R'
HP=$(median "$FRESH" \
	"'$HOIST' push --insecure bench/push:1 '$R_ADDR/bench/hoist-@N@:1'") ||
	die "hoist push failed"
# the whole job from the tree: tar, gzip, hash and push in one command
# (fresh store too, so nothing is reused)
HB=$(median "$FRESH; rm -rf '$W/bstore'" \
	"HOIST_ROOT='$W/bstore' '$HOIST' build --rootfs '$W/tree' -o 'type=registry,name=$R_ADDR/bench/build-@N@:1,registry.insecure=true'") ||
	die "hoist build --push failed"
SK=$(median "$FRESH" \
	"skopeo copy --insecure-policy --dest-tls-verify=false --dest-compress-format gzip 'oci:$W/raw:1' 'docker://$R_ADDR/bench/skopeo-@N@:1'") ||
	die "skopeo copy failed"
# re-push: the repositories hold everything already
reg_wipe R
HPUSH="'$HOIST' push --insecure bench/push:1 '$R_ADDR/bench/again:1'"
SPUSH="skopeo copy --insecure-policy --dest-tls-verify=false --dest-compress-format gzip 'oci:$W/raw:1' 'docker://$R_ADDR/bench/skagain:1'"
timed "$HPUSH" >/dev/null || die "hoist push failed"
timed "$SPUSH" >/dev/null || die "skopeo copy failed"
HR=$(median : "$HPUSH") || die "hoist re-push failed"
SR=$(median : "$SPUSH") || die "skopeo re-push failed"

# the pushed image is the store's, byte for byte
got=$(skopeo inspect --raw --tls-verify=false "docker://$R_ADDR/bench/again:1" |
	sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$(store_digest bench/push:1)" ] ||
	die "the pushed manifest is not the store's"

printf '%-52s %9s %9s %8s\n' "case ($MIB MiB tree, $RUNS runs)" "median s" "MiB/s" "vs hoist"
row "hoist push (fresh registry, gzip blobs from the store)" "$HP" "$HP"
row "hoist build -o type=registry (tar+gzip+push)" "$HB" "$HP"
row "skopeo copy (fresh registry, gzips while pushing)" "$SK" "$HP"
row "skopeo copy vs hoist build+push" "$SK" "$HB"
row "hoist re-push (every blob present)" "$HR" "$HR"
row "skopeo re-push (every blob present)" "$SR" "$HR"
