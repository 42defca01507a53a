#!/bin/sh
# run.sh SECONDS [NAME...]: run libFuzzer targets one after another, each
# for SECONDS, and say what they found.
#
# Run it from a build directory configured with
#   CC=clang ../configure --enable-fuzzing
# (or set FUZZ_BUILDDIR); the targets are built first if needed. Without
# NAMEs every tests/fuzz/fuzz-NAME.c with a libFuzzer build runs.
#
# Each target reads its seeds from tests/fuzz/corpus/NAME (never written)
# and keeps what it learns in $FUZZ_WORK/corpus/NAME (default: fuzz-work in
# the build directory), so runs add up. Crashes, leaks and timeouts are
# written as $FUZZ_WORK/artifacts/NAME/crash-*, leak-*, timeout-*; replay
# one with the gcc build's tests/fuzz/fuzz-NAME FILE. The log of each run
# is $FUZZ_WORK/NAME.log. The last line is "fuzz: N targets, N found
# something"; the exit status is 1 when any did.
#
# To fold new inputs into the committed seeds, minimized:
#   tests/fuzz/fuzz-NAME-libfuzzer -merge=1 NEWDIR \
#       ../tests/fuzz/corpus/NAME fuzz-work/corpus/NAME
# and commit the small ones of NEWDIR that add coverage.
set -u
usage() {
	echo "usage: tests/fuzz/run.sh SECONDS [NAME...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in
'' | *[!0-9]*) usage ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILDDIR:-$(pwd)}
[ -f "$build/Makefile" ] || {
	echo "run.sh: no build in '$build' (CC=clang ../configure --enable-fuzzing)" >&2
	exit 2
}
grep -q '^S\["ENABLE_FUZZING_TRUE"\]=""' "$build/config.status" || {
	echo "run.sh: '$build' was not configured with --enable-fuzzing" >&2
	exit 2
}
work=${FUZZ_WORK:-$build/fuzz-work}

if [ $# -eq 0 ]; then
	for f in "$srcdir"/tests/fuzz/fuzz-*.c; do
		n=${f##*/fuzz-}
		n=${n%.c}
		grep -q "tests/fuzz/fuzz-$n-libfuzzer" "$build/Makefile" &&
			set -- "$@" "$n"
	done
fi

# Inputs larger than this are not tried (libFuzzer's default is 4096).
max_len() {
	case $1 in
	unpack | import) echo 65536 ;;
	*) echo 4096 ;;
	esac
}

targets=0
found=0
for n in "$@"; do
	bin=$build/tests/fuzz/fuzz-$n-libfuzzer
	targets=$((targets + 1))
	if ! make -C "$build" "tests/fuzz/fuzz-$n-libfuzzer" >/dev/null 2>&1; then
		echo "fuzz $n: does not build"
		found=$((found + 1))
		continue
	fi
	mkdir -p "$work/corpus/$n" "$work/artifacts/$n"
	seeds=$srcdir/tests/fuzz/corpus/$n
	[ -d "$seeds" ] || seeds=
	log=$work/$n.log
	before=$(ls "$work/artifacts/$n" | wc -l)
	start=$(date +%s)
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		"$bin" -max_total_time="$secs" -max_len="$(max_len "$n")" \
		-timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/$n/" \
		"$work/corpus/$n" ${seeds:+"$seeds"} >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	after=$(ls "$work/artifacts/$n" | wc -l)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
		found=$((found + 1))
		echo "fuzz $n: FOUND something after ${took}s (exit $rc), see $log and $work/artifacts/$n"
		grep -m 3 -E 'ERROR: |invariant failed|SUMMARY' "$log" | sed 's/^/  /'
	else
		echo "fuzz $n: ${took}s, ${runs:-?} inputs, ${cov:-cov: ?}, corpus $(ls "$work/corpus/$n" | wc -l), nothing found"
	fi
done
echo "fuzz: $targets targets, $found found something"
[ "$found" -eq 0 ]
