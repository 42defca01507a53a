# lib.sh: what the registry benchmarks (compare.sh, copy.sh, push.sh)
# share. Set MIB and BENCH_TOOLS (the commands the benchmark needs), then
# source it: it checks the tools, sources the integration tests' helpers
# (tests/integration/lib.sh: the scratch dir $T_TMP, HOIST_ROOT and the
# exit trap; registry.sh: reg_start_plain, reg_start_tls and friends) so
# the benchmarks start registries exactly as the tests do, and gives:
#   W             the scratch directory
#   die MSG       print "bench: MSG" and exit 1
#   bench_tree    the input tree in W/tree: a copy of TREE=DIR when set
#                 (MIB becomes its size), else bench/gen-tree.py's MIB MiB;
#                 SIZE its bytes
#   timed CMD     wall seconds of one run of a shell command
#   median PREP CMD [CHECK]
#                 median of RUNS runs of CMD; PREP runs untimed before
#                 each, CHECK (untimed) after each must pass; @N@ in any
#                 of them is replaced by the run number
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3}
HOIST=${HOIST:-$HERE/../_build-test/hoist}
HOIST_SRCDIR=$(cd "$HERE/.." && pwd)
TMPDIR=${TMPDIR:-/var/tmp}
REG_MAX_SECONDS=${REG_MAX_SECONDS:-7200}
export HOIST HOIST_SRCDIR TMPDIR REG_MAX_SECONDS
for t in $BENCH_TOOLS; do
	command -v "$t" >/dev/null || {
		echo "bench: need $t"
		exit 1
	}
done
. "$HOIST_SRCDIR/tests/integration/lib.sh"
. "$HOIST_SRCDIR/tests/integration/registry.sh"
push_env
export SOURCE_DATE_EPOCH=1700000000
W=$T_TMP
die() {
	echo "bench: $*" >&2
	exit 1
}

bench_tree() {
	if [ -n "${TREE:-}" ]; then
		# a real tree (e.g. TREE=/usr/lib/x86_64-linux-gnu): copied so
		# the runs read the same files
		echo "# copying $TREE"
		cp -a "$TREE" "$W/tree" || die "cannot copy $TREE"
		MIB=$(($(du -sm "$W/tree" | cut -f1)))
	else
		echo "# generating a $MIB MiB tree"
		python3 "$HERE/gen-tree.py" "$W/tree" "$MIB" ||
			die "gen-tree failed"
	fi
	SIZE=$(du -sb "$W/tree" | cut -f1)
}

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

median() {
	: >"$W/times"
	for r in $(seq 1 "$RUNS"); do
		p=$(echo "$1" | sed "s/@N@/$r/g")
		c=$(echo "$2" | sed "s/@N@/$r/g")
		k=$(echo "${3:-true}" | sed "s/@N@/$r/g")
		eval "$p" || return 1
		timed "$c" >>"$W/times" || return 1
		eval "$k" || {
			echo "bench: wrong result of: $c" >&2
			return 1
		}
	done
	sort -n "$W/times" |
		awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
