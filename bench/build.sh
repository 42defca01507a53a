#!/bin/sh
# build.sh [MIB]: time hoist building a tree into an OCI tarball, side by
# side in one run with the raw limits (tar alone, tar|gzip -6, tar|pigz,
# tar|zstd -T2) and with skopeo compressing the same uncompressed layer
# into an oci-archive. Prints each median of RUNS runs and its ratio to
# hoist's time. Needs: python3, tar, gzip, pigz, zstd, skopeo.
# Results from this machine are in bench/RESULTS.md.
set -eu
MIB=${1:-256}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
HOIST=${HOIST:-$HERE/../_build-test/hoist}
for t in python3 tar gzip pigz zstd skopeo; do
	command -v $t >/dev/null || { echo "bench: need $t"; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/var/tmp}/hoist-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 "$HERE/gen-tree.py" "$W/tree" "$MIB"
export HOIST_ROOT=$W/store SOURCE_DATE_EPOCH=1700000000

# median wall time (seconds) of RUNS runs of a shell command
median() {
	for r in $(seq 1 "$RUNS"); do
		rm -rf "$W/store" "$W/out"*
		s=$(date +%s.%N)
		sh -c "$1" >/dev/null 2>&1 || { echo "FAILED: $1" >&2; exit 1; }
		e=$(date +%s.%N)
		echo "$e - $s" | bc -l
	done | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

# skopeo's input: the same tree as an uncompressed OCI layout (not timed)
"$HOIST" build --rootfs "$W/tree" -t bench/tree:1 \
	-o "type=oci,tar=false,dest=$W/raw-layout,compression=uncompressed" >/dev/null 2>&1
SIZE=$(du -sb "$W/tree" | cut -f1)

printf '%-44s %9s %9s %8s\n' "case ($MIB MiB tree, $RUNS runs)" "median s" "MB/s" "vs hoist"
row() { # NAME SECONDS BASE
	mbs=$(echo "$SIZE / $2 / 1000000" | bc -l)
	ratio=$(echo "$2 / $3" | bc -l)
	printf '%-44s %9.3f %9.1f %7.2fx\n' "$1" "$2" "$mbs" "$ratio"
}

for comp in gzip zstd uncompressed; do
	h=$(median "'$HOIST' build --rootfs '$W/tree' -o 'type=oci,dest=$W/out.tar,compression=$comp'")
	eval "H_$comp=$h"
	row "hoist build -> oci tar ($comp)" "$h" "$h"
done
row "raw: tar -c (walk + read, no compression)" "$(median "tar -C '$W/tree' -cf - . | cat > /dev/null")" "$H_uncompressed"
row "raw: tar | gzip -6 (1 core)" "$(median "tar -C '$W/tree' -cf - . | gzip -6 > '$W/out.gz'")" "$H_gzip"
row "raw: tar | pigz -6 -p2 (2 cores)" "$(median "tar -C '$W/tree' -cf - . | pigz -6 -p2 > '$W/out.gz'")" "$H_gzip"
row "raw: tar | zstd -3 -T2" "$(median "tar -C '$W/tree' -cf - . | zstd -q -3 -T2 > '$W/out.zst'")" "$H_zstd"
row "skopeo: raw layout -> oci-archive (gzip)" "$(median "skopeo copy --insecure-policy --dest-compress --dest-compress-format gzip 'oci:$W/raw-layout:1' 'oci-archive:$W/out-sk.tar'")" "$H_gzip"
row "skopeo: raw layout -> oci-archive (zstd)" "$(median "skopeo copy --insecure-policy --dest-compress --dest-compress-format zstd 'oci:$W/raw-layout:1' 'oci-archive:$W/out-sk.tar'")" "$H_zstd"
