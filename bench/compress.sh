#!/bin/sh
# compress.sh [BUILDDIR]: hoist's compressor (bench/compress-drv.c, built
# here against BUILDDIR/libhoist.a) against gzip -6, pigz -6 -p1/-p2 and
# zstd -3 -T2 on one tar, each reading it from the page cache and writing
# to /dev/null. Prints the median of RUNS runs (default 3): MB/s of input
# (MB = 10^6 bytes), CPU seconds per GB of input, and the output size as a
# share of the input. Every output is checked to decompress to the input.
#
# The corpus is bench/gen-tree.py's tree of MIB MiB (default 512; half
# random, half text) tarred once, or any tar given as CORPUS=file.
# Needs: a C compiler, pkg-config, python3, tar, gzip, pigz, zstd.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-.}" && pwd)
MIB=${MIB:-512}
RUNS=${RUNS:-3}
[ -f "$BUILD/libhoist.a" ] || { echo "no libhoist.a in $BUILD" >&2; exit 2; }
for t in cc pkg-config python3 tar gzip pigz zstd; do
	command -v $t >/dev/null || { echo "bench: need $t" >&2; exit 2; }
done
W=$(mktemp -d "${TMPDIR:-/var/tmp}/hoist-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

PKGS="libdeflate zlib libzstd libcrypto" # libcrypto: util/hash.c (SHA-256)
# shellcheck disable=SC2046
cc -O2 -I"$SRC/src" -I"$BUILD" -o "$W/drv" "$SRC/bench/compress-drv.c" \
	"$BUILD/libhoist.a" $(pkg-config --cflags --libs $PKGS) -pthread
DRV=$W/drv

if [ -n "${CORPUS:-}" ]; then
	IN=$CORPUS
	WHAT="$(basename "$CORPUS")"
else
	python3 "$HERE/gen-tree.py" "$W/tree" "$MIB"
	tar -C "$W/tree" --sort=name --mtime=@0 --owner=0 --group=0 \
		--numeric-owner -cf "$W/corpus.tar" .
	rm -rf "$W/tree"
	IN=$W/corpus.tar
	WHAT="gen-tree.py $MIB MiB"
fi
SIZE=$(wc -c < "$IN")
cat "$IN" > /dev/null # into the page cache

# one run: wall and CPU seconds of a filter command reading IN
run1() {
	python3 - "$1" "$IN" <<'PY'
import os, subprocess, sys, time
cmd, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as f, open(os.devnull, "wb") as null:
    t = time.monotonic()
    r = subprocess.run(["sh", "-c", cmd], stdin=f, stdout=null)
    wall = time.monotonic() - t
u = os.times()
if r.returncode:
    sys.exit("FAILED: " + cmd)
print("%.4f %.4f" % (wall, u.children_user + u.children_system))
PY
}

printf '%s: %s, %d bytes, median of %d runs\n' "$(uname -n)" "$WHAT" \
	"$SIZE" "$RUNS"
printf '%-36s %8s %9s %8s %8s\n' "compressor" "MB/s" "CPU-s/GB" "cpu/wall" \
	"output"
row() { # NAME COMMAND DECOMPRESS
	sh -c "$2" < "$IN" > "$W/out"
	sh -c "$3" < "$W/out" | cmp -s - "$IN" ||
		{ echo "bench: '$1' does not round-trip" >&2; exit 1; }
	OUT=$(wc -c < "$W/out")
	rm -f "$W/out"
	for r in $(seq 1 "$RUNS"); do
		run1 "$2"
	done | sort -n | awk -v n="$1" -v size="$SIZE" -v out="$OUT" '
		{ w[NR] = $1; c[NR] = $2 }
		END {
			m = int((NR + 1) / 2)
			printf "%-36s %8.1f %9.2f %8.2f %7.2f%%\n", n,
				size / w[m] / 1e6, c[m] / size * 1e9,
				c[m] / w[m], out * 100 / size
		}'
}

row "hoist gzip -6 (libdeflate, 2 workers)" "$DRV gzip 6" "gzip -dc"
row "hoist gzip -6 (libdeflate, 1 worker)" "$DRV gzip 6 1" "gzip -dc"
row "hoist gzip -6 (libdeflate, inline)" "$DRV gzip 6 0" "gzip -dc"
row "hoist gzip -1 (libdeflate, 2 workers)" "$DRV gzip 1" "gzip -dc"
row "hoist gzip -9 (libdeflate, 2 workers)" "$DRV gzip 9" "gzip -dc"
row "gzip -6" "gzip -6" "gzip -dc"
row "pigz -6 -p2 (zlib)" "pigz -6 -p2" "pigz -dc"
row "pigz -6 -p1 (zlib)" "pigz -6 -p1" "pigz -dc"
row "zstd -3 -T2" "zstd -q -3 -T2" "zstd -q -dc"
row "hoist zstd -3 (libzstd, 2 workers)" "$DRV zstd 3" "zstd -q -dc"
