# lib.sh: TAP helpers for hoist's integration tests. Source it first.
#
# Tests print TAP: "ok N - what" / "not ok N - what", and the plan at the
# end. A missing tool skips the test locally; under CI=true it fails, so CI
# can never pass by skipping.
set -u

: "${HOIST:=$(pwd)/hoist}"
: "${HOIST_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
T_N=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hoist-it.XXXXXX")
T_LOG=$T_TMP/log
export HOIST_ROOT=$T_TMP/store
: >"$T_LOG"

t_cleanup() {
	if [ "$T_FAILED" -eq 0 ] || [ -z "${HOIST_KEEP:-}" ]; then
		chmod -R u+rwX "$T_TMP" 2>/dev/null
		rm -rf "$T_TMP"
	else
		echo "# kept $T_TMP"
	fi
}
trap t_cleanup EXIT

ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $*"
}

not_ok() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $*"
	if [ -s "$T_LOG" ]; then
		tail -n 20 "$T_LOG" | sed 's/^/# /'
	fi
}

# check DESCRIPTION CMD...: passes when CMD exits 0.
check() {
	desc=$1
	shift
	: >"$T_LOG"
	if "$@" >>"$T_LOG" 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

# check_fails DESCRIPTION CMD...: passes when CMD exits non-zero.
check_fails() {
	desc=$1
	shift
	: >"$T_LOG"
	if "$@" >>"$T_LOG" 2>&1; then not_ok "$desc (succeeded)"; else ok "$desc"; fi
}

# need TOOL...: every tool must be on PATH (skip locally, fail in CI).
need() {
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			if [ "${CI:-}" = true ]; then
				echo "not ok 1 - required tool '$tool' is missing under CI"
				echo "1..1"
				exit 1
			fi
			echo "1..0 # SKIP $tool not installed"
			exit 0
		fi
	done
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# The tree builder and comparer.
mktree() { python3 "$HOIST_SRCDIR/tests/integration/mktree.py" "$@"; }
treecmp() { python3 "$HOIST_SRCDIR/tests/integration/treecmp.py" "$@"; }

# json_get FILE JQ-FILTER
json_get() { jq -r "$2" "$1"; }

MIB=1048576

# wait_for SECONDS CMD...: run CMD (a shell function too) every 50 ms
# until it succeeds; 1 if it still fails after SECONDS.
wait_for() {
	_wait_end=$(($(date +%s) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_wait_end" ] || return 1
		sleep 0.05
	done
}

# before FILE A B: the first line matching A comes before the first line
# matching B
before() {
	a=$(grep -n "$2" "$1" | head -n 1 | cut -d: -f1)
	b=$(grep -n "$3" "$1" | head -n 1 | cut -d: -f1)
	echo "# lines: '$2' at ${a:-none}, '$3' at ${b:-none}"
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}
