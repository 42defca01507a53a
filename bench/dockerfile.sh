#!/bin/sh
# dockerfile.sh [MIB]: the per-instruction cache of `hoist build CONTEXT`.
# The context is a copy of a real tree (TREE=DIR, e.g.
# /usr/lib/x86_64-linux-gnu) or bench/gen-tree.py's MIB MiB (default 256),
# plus a small file; the Dockerfile is
#   FROM scratch / COPY tree / / COPY app.conf /etc/app.conf
# Rows (medians of RUNS runs, default 3), each into the staging area:
#   cold       a fresh staging area (no cache): walk, read, tar, gzip
#   no-cache   --no-cache over a warm staging area
#   unchanged  a rebuild with nothing changed: every step CACHED, no
#              file read (stat only)
#   small      app.conf changed: COPY tree / CACHED, the last COPY runs
# and the ratio of each to cold (the issue asks unchanged < 5%). Every run
# is checked: the cold and --no-cache builds give the same digest as the
# cached rebuild, the unchanged rebuild prints CACHED for both steps and
# the small one for the first only.
# Needs: python3, jq, bc.
MIB=${1:-256}
BENCH_TOOLS="python3 jq bc"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_tree
C=$W/ctx
mkdir -p "$C"
mv "$W/tree" "$C/tree"
echo conf >"$C/app.conf"
printf 'FROM scratch\nCOPY tree /\nCOPY app.conf /etc/app.conf\n' \
	>"$C/Dockerfile"
NFILES=$(find "$C/tree" -type f | wc -l)
sleep 1 # the build cache trusts no entry as new as the build (racy-git)
export HOIST_ROOT=$W/store
B="'$HOIST' build --progress plain -o type=image,name=df:1 '$C'"
digest() { "$HOIST" inspect df:1 | jq -r '.descriptor.digest'; }
cached() { grep -cE '^#[0-9]+ CACHED$' "$W/last.log" || true; }

echo "# context: $MIB MiB, $NFILES files; runs: $RUNS"
# the reference digest and a warm staging area
sh -c "$B" >"$W/last.log" 2>&1 || die "first build failed"
REF=$(digest)
[ -n "$REF" ] && [ "$REF" != null ] || die "no digest for df:1"

T_COLD=$(median "rm -rf '$HOIST_ROOT'" "$B" \
	'[ "$(digest)" = "$REF" ] && [ "$(cached)" -eq 0 ]') || die "cold"
T_NOCACHE=$(median true "$B --no-cache" \
	'[ "$(digest)" = "$REF" ] && [ "$(cached)" -eq 0 ]') || die "no-cache"
sh -c "$B" >"$W/last.log" 2>&1 || die "warm-up failed"
T_WARM=$(median true "$B" \
	'[ "$(digest)" = "$REF" ] && [ "$(cached)" -eq 2 ]') || die "unchanged"
T_SMALL=$(median "echo @N@ >>'$C/app.conf'" "$B" \
	'[ "$(cached)" -eq 1 ] && grep -qE "^#[0-9]+ \[2/3\] COPY tree /$" "$W/last.log"') ||
	die "small change"

printf '%-52s %9s %9s\n' "case ($MIB MiB context, $RUNS runs)" "median s" "vs cold"
row() { printf '%-52s %9.3f %8.1f%%\n' "$1" "$2" "$(echo "100 * $2 / $T_COLD" | bc -l)"; }
row "cold build (fresh staging area)" "$T_COLD"
row "--no-cache (every step runs, blobs present)" "$T_NOCACHE"
row "unchanged rebuild (every step CACHED)" "$T_WARM"
row "one small file changed (its COPY runs)" "$T_SMALL"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
