#!/bin/sh
# levels.sh [BUILDDIR]: which gzip implementation and level should serve
# each buildx compression-level. For one tar of real files (CORPUS=file;
# default: the first 256 MiB of a tar of /usr/lib/x86_64-linux-gnu and
# /usr/share/doc), it measures one run each (RUNS=N for the median of N):
#   zlib levels 1-9 (Python's zlib module: plain zlib, one stream),
#   libdeflate levels 1-12 (libdeflate-gzip, whole buffer; hoist's 1 MiB
#   members add about 0.2%),
#   igzip (ISA-L) levels 0-3, if installed,
#   hoist's gzip at buildx levels 1-9 (bench/compress-drv.c on one thread,
#   through src/lib/gzip-level.c's mapping),
# as CPU seconds per GB of input (user+sys, so other load on the machine
# does not count) and output size as a share of the input; every output
# must decompress to the input. It then prints, for each zlib level, the
# cheapest candidate whose output is at least MARGIN percent (default 0.5)
# smaller than zlib's, and whether hoist's mapping keeps that promise.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-.}" && pwd)
RUNS=${RUNS:-1}
MARGIN=${MARGIN:-0.5}
[ -f "$BUILD/libhoist.a" ] || { echo "no libhoist.a in $BUILD" >&2; exit 2; }
for t in cc pkg-config python3 tar gzip libdeflate-gzip; do
	command -v $t >/dev/null || { echo "bench: need $t" >&2; exit 2; }
done
W=$(mktemp -d "${TMPDIR:-/var/tmp}/hoist-levels.XXXXXX")
trap 'rm -rf "$W"' EXIT

# shellcheck disable=SC2046
cc -O2 -I"$SRC/src" -I"$BUILD" -o "$W/drv" "$SRC/bench/compress-drv.c" \
	"$BUILD/libhoist.a" $(pkg-config --cflags --libs libdeflate zlib libzstd libcrypto) \
	-pthread

if [ -n "${CORPUS:-}" ]; then
	IN=$CORPUS
else
	IN=$W/corpus.tar
	tar -cf - /usr/lib/x86_64-linux-gnu /usr/share/doc 2>/dev/null |
		head -c 268435456 >"$IN" || true
fi
SIZE=$(wc -c <"$IN")
cat "$IN" >/dev/null

# one run: CPU seconds of a filter command reading IN into W/out
run1() {
	python3 - "$1" "$IN" "$W/out" <<'PY'
import os, subprocess, sys
cmd, path, out = sys.argv[1:4]
with open(path, "rb") as f, open(out, "wb") as o:
    r = subprocess.run(["sh", "-c", cmd], stdin=f, stdout=o)
u = os.times()
if r.returncode:
    sys.exit("FAILED: " + cmd)
print("%.4f" % (u.children_user + u.children_system))
PY
}

ZLIB='python3 -c "import sys, zlib
c = zlib.compressobj(L, zlib.DEFLATED, 31)
r, w = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = r.read(1 << 20)
    if not b:
        break
    w.write(c.compress(b))
w.write(c.flush())"'

row() { # IMPL LEVEL COMMAND
	cpu=$(for r in $(seq 1 "$RUNS"); do run1 "$3"; done | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	gzip -dc <"$W/out" | cmp -s - "$IN" ||
		{ echo "bench: '$1 $2' does not round-trip" >&2; exit 1; }
	printf '%s %s %s %s\n' "$1" "$2" "$cpu" "$(wc -c <"$W/out")"
}

{
	for l in 1 2 3 4 5 6 7 8 9; do
		row zlib $l "$(echo "$ZLIB" | sed "s/(L,/($l,/")"
	done
	for l in 1 2 3 4 5 6 7 8 9 10 11 12; do
		row libdeflate $l "libdeflate-gzip -$l -c"
	done
	if command -v igzip >/dev/null; then
		for l in 0 1 2 3; do
			row igzip $l "igzip -$l -c"
		done
	fi
	for l in 1 2 3 4 5 6 7 8 9; do
		row hoist $l "'$W/drv' gzip $l 0"
	done
} >"$W/rows"

printf '%s: %s bytes of real files, %s run(s) each, load %s\n' \
	"$(uname -n)" "$SIZE" "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %5s %9s %8s\n' impl level CPU-s/GB output
awk -v size="$SIZE" '{ printf "%-12s %5s %9.2f %7.2f%%\n", $1, $2,
	$3 / size * 1e9, $4 * 100 / size }' "$W/rows"
echo
echo "buildx level -> the cheapest output $MARGIN% smaller than zlib's; hoist's:"
awk -v size="$SIZE" -v margin="$MARGIN" '
	$1 == "zlib" { zs[$2] = $4 * (1 - margin / 100); zc[$2] = $3; next }
	$1 == "hoist" { hs[$2] = $4; hc[$2] = $3; next }
	{ n++; impl[n] = $1; lv[n] = $2; cpu[n] = $3; out[n] = $4 }
	END {
		for (z = 1; z <= 9; z++) {
			best = 0
			for (i = 1; i <= n; i++)
				if (out[i] <= zs[z] &&
				    (!best || cpu[i] < cpu[best]))
					best = i
			printf "  %d: %s %s (%.2f CPU-s/GB, %.2f%%; zlib %.2f, %.2f%% less the margin); hoist %.2f, %.2f%% %s\n",
				z, impl[best], lv[best], cpu[best] / size * 1e9,
				out[best] * 100 / size, zc[z] / size * 1e9,
				zs[z] * 100 / size, hc[z] / size * 1e9,
				hs[z] * 100 / size, hs[z] <= zs[z] ? "ok" : "TOO BIG"
		}
	}' "$W/rows"
