#!/bin/sh
# run.sh: build hoist and run the whole test suite twice: a normal build
# with warnings as errors, then an ASan+UBSan build. Ends with one line
# "N passed, N failed". Build trees: _build-test and _build-asan.
# Set HOIST_NO_ASAN=1 to skip the sanitizer pass. With
# HOIST_FUZZ_SECONDS=N, a third build (_build-fuzz, CC=clang
# --enable-fuzzing) then runs every libFuzzer target for N seconds
# (tests/fuzz/run.sh); a target that finds something counts as failed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
JOBS=${JOBS:-2}
[ -x configure ] || autoreconf -i >/dev/null 2>&1 || { echo "autoreconf failed"; exit 1; }
# An in-tree configure blocks out-of-tree builds; undo it (the in-tree
# build is disposable: this script builds its own trees).
if [ -f config.status ]; then
	echo "== removing the in-tree configuration (make distclean)"
	make distclean >/dev/null 2>&1 || rm -f config.status Makefile
fi

passed=0
failed=0
status=0

run_suite() { # NAME CONFIGURE-ARGS...
	name=$1
	shift
	dir=$top/_build-$name
	mkdir -p "$dir"
	echo "== $name: configure $*"
	if ! (cd "$dir" && "$top/configure" "$@" >configure.out 2>&1); then
		tail -n 20 "$dir/configure.out"
		failed=$((failed + 1))
		status=1
		return
	fi
	echo "== $name: make"
	if ! (cd "$dir" && make -j"$JOBS" >make.out 2>&1); then
		tail -n 40 "$dir/make.out"
		failed=$((failed + 1))
		status=1
		return
	fi
	echo "== $name: make check"
	(cd "$dir" && make -j"$JOBS" check >check.out 2>&1) || status=1
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$dir/check.out" | grep -v '^PASS' | head -n 60
	log=$dir/test-suite.log
	if [ ! -f "$log" ]; then
		tail -n 40 "$dir/check.out"
		failed=$((failed + 1))
		status=1
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$log" | head -n 1)
	f=$(sed -n 's/^# FAIL: *//p' "$log" | head -n 1)
	e=$(sed -n 's/^# ERROR: *//p' "$log" | head -n 1)
	x=$(sed -n 's/^# XPASS: *//p' "$log" | head -n 1)
	s=$(sed -n 's/^# SKIP: *//p' "$log" | head -n 1)
	echo "== $name: ${p:-0} passed, ${f:-0} failed, ${e:-0} errors, ${s:-0} skipped"
	if [ "${f:-0}" -ne 0 ] || [ "${e:-0}" -ne 0 ]; then
		# show the failing tests' logs: their failed checks and the
		# diagnostics ("# " lines) they printed
		sed -n 's/^\(FAIL\|ERROR\): \([^ ]*\).*/\2/p' "$dir/check.out" |
			sort -u | head -n 5 | while read -r t; do
				echo "--- $t.log"
				grep -E '^(not ok|# )' "$dir/$t.log" 2>/dev/null |
					head -n 60
			done
	fi
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
	if [ "${CI:-}" = true ] && [ "${s:-0}" -ne 0 ]; then
		echo "skipped tests are failures under CI"
		failed=$((failed + ${s:-0}))
	fi
}

run_suite test --enable-debug
if [ -z "${HOIST_NO_ASAN:-}" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite asan --enable-asan
fi
if [ -n "${HOIST_FUZZ_SECONDS:-}" ]; then
	dir=$top/_build-fuzz
	mkdir -p "$dir"
	echo "== fuzz: configure CC=clang --enable-fuzzing"
	if (cd "$dir" && CC=clang "$top/configure" --enable-fuzzing \
		>configure.out 2>&1); then
		(cd "$dir" && sh "$top/tests/fuzz/run.sh" "$HOIST_FUZZ_SECONDS") |
			tee "$dir/fuzz.out"
		t=$(sed -n 's/^fuzz: \([0-9]*\) targets, \([0-9]*\) found.*/\1 \2/p' \
			"$dir/fuzz.out")
		set -- $t
		passed=$((passed + ${1:-0} - ${2:-0}))
		failed=$((failed + ${2:-1}))
	else
		tail -n 20 "$dir/configure.out"
		failed=$((failed + 1))
	fi
fi
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
