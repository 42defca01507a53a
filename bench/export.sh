#!/bin/sh
# export.sh [MIB]: what it costs that an OCI-directory export never shares
# an inode with the store (issue 12). Times `hoist copy NAME oci:DIR` of a
# built image into a fresh directory (every blob a reflink where the file
# system has FICLONE, else a real copy, each checked against its digest),
# into the same directory again (every blob re-verified, nothing written),
# and, for scale, `cp -r --reflink=never` and `cp -rl` (hard links, what
# hoist did before) of the store's blobs. Prints each median of RUNS runs.
# Needs: python3, bc.
set -eu
MIB=${1:-256}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
HOIST=${HOIST:-$HERE/../_build-test/hoist}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/hoist-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 "$HERE/gen-tree.py" "$W/tree" "$MIB"
export HOIST_ROOT=$W/store SOURCE_DATE_EPOCH=1700000000
"$HOIST" build --rootfs "$W/tree" -o type=image,name=bench/export:1 >/dev/null 2>&1
SIZE=$(du -sb "$W/store/blobs" | cut -f1)

# median wall time (seconds) of RUNS runs of a shell command; PREP runs
# before each, untimed
median() { # PREP CMD
	for r in $(seq 1 "$RUNS"); do
		sh -c "$1" >/dev/null 2>&1
		sync
		s=$(date +%s.%N)
		sh -c "$2" >/dev/null 2>&1 || { echo "FAILED: $2" >&2; exit 1; }
		e=$(date +%s.%N)
		echo "$e - $s" | bc -l
	done | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
row() { # NAME SECONDS
	printf '%-46s %9s %9.0f\n' "$1" "$2" "$(echo "$SIZE / $2 / 1000000" | bc -l)"
}

printf '%-46s %9s %9s\n' "case ($((SIZE / 1048576)) MiB of blobs, $RUNS runs)" "median s" "MB/s"
row "hoist copy NAME oci:DIR (fresh)" \
	"$(median "rm -rf '$W/oci'" "'$HOIST' copy bench/export:1 'oci:$W/oci:1'")"
row "hoist copy NAME oci:DIR (again: verify only)" \
	"$(median "true" "'$HOIST' copy bench/export:1 'oci:$W/oci:1'")"
row "cp -r --reflink=never (a plain copy)" \
	"$(median "rm -rf '$W/cp'" "cp -r --reflink=never '$W/store/blobs' '$W/cp'")"
row "cp -rl (hard links: the old, unsafe way)" \
	"$(median "rm -rf '$W/ln'" "cp -rl '$W/store/blobs' '$W/ln'")"
df -T "$W" | awk 'NR == 2 { print "file system: " $2 }'
