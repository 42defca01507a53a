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
HERE=$(cd "$(dirname "$0")" && pwd)
MIB=${1:-512}
RUNS=${RUNS:-3}
HOIST=${HOIST:-$HERE/../_build-test/hoist}
HOIST_SRCDIR=$(cd "$HERE/.." && pwd)
TMPDIR=${TMPDIR:-/var/tmp}
REG_MAX_SECONDS=${REG_MAX_SECONDS:-7200}
export HOIST HOIST_SRCDIR TMPDIR REG_MAX_SECONDS
for t in docker-registry skopeo python3 jq curl bc tar; do
	command -v $t >/dev/null || { echo "bench: need $t"; exit 1; }
done
if ! "$HOIST" copy --help >/dev/null 2>&1; then
	echo "bench: '$HOIST copy' does not exist (set HOIST=)"
	exit 1
fi
# lib.sh gives the scratch dir ($T_TMP), HOIST_ROOT and the exit trap
. "$HOIST_SRCDIR/tests/integration/lib.sh"
. "$HOIST_SRCDIR/tests/integration/registry.sh"
push_env
export SOURCE_DATE_EPOCH=1700000000
W=$T_TMP
die() { echo "bench: $*" >&2; exit 1; }

echo "# generating a $MIB MiB tree"
python3 "$HERE/gen-tree.py" "$W/tree" "$MIB" || die "gen-tree failed"
SIZE=$(du -sb "$W/tree" | cut -f1)
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

# timed CMD: wall seconds of one run of a shell command
timed() {
	s=$(date +%s.%N)
	if ! sh -c "$1" >"$W/last.log" 2>&1; then
		tail -n 20 "$W/last.log" >&2
		echo "bench: failed: $1" >&2
		return 1
	fi
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}

# median PREPARE CMD CHECK: median of RUNS runs; PREPARE runs untimed
# before each, CHECK (untimed) after each must pass; @N@ in any of them
# is replaced by the run number
median() {
	: >"$W/times"
	for r in $(seq 1 "$RUNS"); do
		p=$(echo "$1" | sed "s/@N@/$r/g")
		c=$(echo "$2" | sed "s/@N@/$r/g")
		k=$(echo "$3" | sed "s/@N@/$r/g")
		eval "$p" || return 1
		timed "$c" >>"$W/times" || return 1
		eval "$k" || { echo "bench: wrong result of: $c" >&2; return 1; }
	done
	sort -n "$W/times" | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

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
