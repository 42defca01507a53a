#!/bin/sh
# copy.sh [MIB]: time `hoist copy` against `skopeo copy`, in one run, on
# the same docker-registry 2.8 instances on loopback (plain HTTP,
# filesystem storage).
#
# Input: a deterministic tree of MIB MiB (default 512; half random, half
# text, bench/gen-tree.py), built once into one gzip layer and pushed to
# the source registry SRC. Neither step is timed.
# Cases, RUNS runs each (default 3), median wall time:
#   registry -> registry   SRC/bench/app:1 -> a fresh repository on DST, a
#                          second registry instance wiped before every run
#                          (nothing to skip or mount); hoist starts from an
#                          empty staging area each run, so it downloads
#                          every blob as skopeo does
#   registry -> docker-archive   SRC/bench/app:1 -> a new tarball (hoist:
#                          fresh staging area; skopeo decompresses the
#                          layers, since docker-archive: wants them so)
# Every result is checked (same manifest digest on DST; the archive's
# config is the source's) before the figures are printed with the ratio
# skopeo/hoist (> 1: hoist is faster).
# Needs: docker-registry, skopeo, python3, jq, curl, bc, tar.
# HOIST: the binary (default: ../hoist next to this directory).
MIB=${1:-512}
BENCH_TOOLS="docker-registry skopeo python3 jq curl bc tar"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
"$HOIST" copy --help >/dev/null 2>&1 ||
	die "'$HOIST copy' does not exist (set HOIST=)"
bench_tree
reg_start_plain SRC || die "source registry did not start"
reg_start_plain DST || die "target registry did not start"
echo "# building it (gzip) and pushing it to $SRC_ADDR/bench/app:1"
"$HOIST" build --rootfs "$W/tree" -t bench/copy:1 -o type=image \
	>/dev/null 2>&1 || die "hoist build failed"
"$HOIST" push --insecure bench/copy:1 "$SRC_ADDR/bench/app:1" \
	>/dev/null 2>&1 || die "hoist push failed"
DIGEST=$(store_digest bench/copy:1)
CONFIG=$("$HOIST" inspect bench/copy:1 | jq -r '.images[0].manifest.config.digest')
BLOBS=$(image_blob_bytes bench/copy:1)
rm -rf "$W/tree" "$HOIST_ROOT" # only the registries hold the image now
echo "# tree $SIZE bytes, blobs $BLOBS bytes, image $DIGEST"
SRC="docker://$SRC_ADDR/bench/app:1"

# remote_ok REPO: DST's REPO:1 has the source's manifest bytes
remote_ok() {
	[ "$(remote_digest "$DST_ADDR/$1:1" --tls-verify=false)" = "$DIGEST" ]
}
# archive_ok FILE: a docker-archive holding the source's config
archive_ok() {
	c=$(tar -xOf "$1" manifest.json | jq -r '.[0].Config') &&
		case $c in
		*"${CONFIG#sha256:}"*) return 0 ;;
		*) return 1 ;;
		esac
}

FRESH="reg_wipe DST; rm -rf '$W/store'"
HOIST_RR=$(median "$FRESH" \
	"HOIST_ROOT='$W/store' '$HOIST' copy --insecure '$SRC' 'docker://$DST_ADDR/bench/hoist-@N@:1'" \
	"remote_ok bench/hoist-@N@") || die "hoist copy (registry) failed"
SKOPEO_RR=$(median "$FRESH" \
	"skopeo copy --insecure-policy --src-tls-verify=false --dest-tls-verify=false '$SRC' 'docker://$DST_ADDR/bench/skopeo-@N@:1'" \
	"remote_ok bench/skopeo-@N@") || die "skopeo copy (registry) failed"
ARCH="rm -rf '$W/store' '$W/out.tar'"
HOIST_DA=$(median "$ARCH" \
	"HOIST_ROOT='$W/store' '$HOIST' copy --insecure '$SRC' 'docker-archive:$W/out.tar:bench/app:1'" \
	"archive_ok '$W/out.tar'") || die "hoist copy (docker-archive) failed"
SKOPEO_DA=$(median "$ARCH" \
	"skopeo copy --insecure-policy --src-tls-verify=false '$SRC' 'docker-archive:$W/out.tar:bench/app:1'" \
	"archive_ok '$W/out.tar'") || die "skopeo copy (docker-archive) failed"

row() { # NAME SECONDS
	mbs=$(echo "$BLOBS / $2 / 1048576" | bc -l)
	printf '%-44s %9.3f %9.1f\n' "$1" "$2" "$mbs"
}
ratio() { printf '%-44s %9.2fx\n' "$1" "$(echo "$2 / $3" | bc -l)"; }
printf '%-44s %9s %9s\n' "case ($MIB MiB tree, $((BLOBS / 1048576)) MiB blobs, $RUNS runs)" "median s" "MiB/s"
row "hoist copy registry -> registry" "$HOIST_RR"
row "skopeo copy registry -> registry" "$SKOPEO_RR"
row "hoist copy registry -> docker-archive" "$HOIST_DA"
row "skopeo copy registry -> docker-archive" "$SKOPEO_DA"
ratio "registry -> registry, skopeo / hoist" "$SKOPEO_RR" "$HOIST_RR"
ratio "registry -> docker-archive, skopeo / hoist" "$SKOPEO_DA" "$HOIST_DA"
