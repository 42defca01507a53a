#!/bin/sh
# check-layering.sh [SRCDIR]: the include rules of src/, as a TAP test.
#
# Dependencies point one way (architecture.md section 2):
#   - src/util includes nothing from src/lib or src/cli;
#   - src/lib includes nothing from src/cli;
#   - only src/lib/http.c includes <curl/...>;
#   - the engines without I/O (lib/upload.c, lib/upload-answer.c,
#     lib/download.c and their headers) never reach lib/http.h, directly
#     or through other headers;
#   - the lib header-include graph has no cycle: a module is a basename
#     (store.c, store.h and its private header store-int.h are module
#     "store"), and module A depends on B
#     when a file of A includes B.h; every edge that lies on a cycle is
#     reported with the cycle it closes.
# Every violation prints its edge as "FILE:LINE: includes TARGET (rule)".
# A known violation may be listed in ALLOW below, with a TODO naming its
# owner; the owner removes the line with the fix.
#
# Test 1 checks SRCDIR (default: the source tree's src). The others feed
# small made-up trees to the same checker and expect each rule to fire, so
# a broken checker cannot pass silently.
set -u

# Known violations: "FILE -> TARGET" per line (paths relative to src/),
# each with a TODO naming its owner. An allowed edge is left out of every
# rule, the cycle search included.
# TODO(buildx): sbom.c includes attest.h only for hoist_attest_purl_add,
# while attest.c drives the sbom scan; give the purl encoder to sbom (or
# to util) so the dependency points one way.
ALLOW='lib/sbom.c -> lib/attest.h'

here=$(cd "$(dirname "$0")" && pwd)
src=${1:-${HOIST_SRCDIR:-$here/..}/src}

# check_tree ROOT: print violations, exit 1 if there are any.
check_tree() {
	root=$1
	files=$(cd "$root" && ls util/*.[ch] lib/*.[ch] cli/*.[ch] 2>/dev/null)
	[ -n "$files" ] || {
		echo "no sources under '$root'"
		return 1
	}
	# one record per include: FILE LINE KIND TARGET
	(cd "$root" && awk '
		/^[ \t]*#[ \t]*include[ \t]*[<"]/ {
			s = $0
			sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
			kind = substr(s, 1, 1) == "<" ? "sys" : "local"
			s = substr(s, 2)
			sub(/[>"].*/, "", s)
			print FILENAME, FNR, kind, s
		}' $files) |
		awk -v allow="$ALLOW" '
		function mod(path) { # lib/store.c, lib/store-int.h -> lib/store
			sub(/\.[ch]$/, "", path)
			sub(/-int$/, "", path)
			return path
		}
		function report(file, line, target, why) {
			printf "%s:%s: includes %s (%s)\n", file, line, target, why
			bad++
		}
		BEGIN {
			n = split(allow, a, "\n")
			for (i = 1; i <= n; i++)
				if (a[i] != "")
					allowed[a[i]] = 1
		}
		{
			file = $1; line = $2; kind = $3; target = $4
			if ((file " -> " target) in allowed)
				next
			split(file, fp, "/"); layer = fp[1]
			split(target, tp, "/"); tlayer = tp[1]
			if (kind == "sys") {
				if (tlayer == "curl" && file != "lib/http.c")
					report(file, line, target,
					    "only lib/http.c may use curl")
				next
			}
			if (layer == "util" && (tlayer == "lib" || tlayer == "cli"))
				report(file, line, target,
				    "util must not depend on " tlayer)
			if (layer == "lib" && tlayer == "cli")
				report(file, line, target,
				    "lib must not depend on cli")
			if (layer != "lib" || tlayer != "lib")
				next
			# lib header graph, for the engines
			if (file ~ /\.h$/ || file == "lib/upload.c" ||
			    file == "lib/upload-answer.c" ||
			    file == "lib/download.c") {
				hdr[file, ++nh[file]] = target
				hline[file, nh[file]] = line
			}
			# lib module graph, for cycles
			from = mod(file); to = mod(target)
			mods[from] = 1; mods[to] = 1
			if (from != to && !((from, to) in edge)) {
				edge[from, to] = file ":" line
				edgetarget[from, to] = target
			}
		}
		END {
			# the engines: no path of header includes to lib/http.h
			ne = split("lib/upload.c lib/upload-answer.c " \
			    "lib/download.c", eng, " ")
			for (e = 1; e <= ne; e++) {
				if (!(eng[e] in nh))
					continue
				delete seen; delete via
				q[1] = eng[e]; qh = 1; qt = 1; seen[eng[e]] = 1
				while (qh <= qt) {
					f = q[qh++]
					for (i = 1; i <= nh[f]; i++) {
						t = hdr[f, i]
						if (t in seen)
							continue
						seen[t] = 1; via[t] = f
						viaLine[t] = hline[f, i]
						q[++qt] = t
					}
				}
				if (!("lib/http.h" in seen))
					continue
				chain = "lib/http.h"
				for (t = "lib/http.h"; t != eng[e]; t = via[t])
					chain = via[t] " -> " chain
				t = "lib/http.h"
				while (via[t] != eng[e])
					t = via[t]
				report(eng[e], viaLine[t], t,
				    "an engine must not reach http: " chain)
			}
			# cycles: Floyd-Warshall reachability over modules
			nm = 0
			for (m in mods)
				ml[++nm] = m
			for (i = 1; i <= nm; i++)
				for (j = 1; j <= nm; j++)
					if ((ml[i], ml[j]) in edge)
						nxt[ml[i], ml[j]] = ml[j]
			for (k = 1; k <= nm; k++)
				for (i = 1; i <= nm; i++) {
					if (!((ml[i], ml[k]) in nxt))
						continue
					for (j = 1; j <= nm; j++)
						if (!((ml[i], ml[j]) in nxt) &&
						    ((ml[k], ml[j]) in nxt))
							nxt[ml[i], ml[j]] = nxt[ml[i], ml[k]]
				}
			for (p in edge) {
				split(p, ab, SUBSEP)
				if (!((ab[2], ab[1]) in nxt))
					continue
				cyc = ab[1] " -> " ab[2]
				for (m = ab[2]; m != ab[1]; m = nxt[m, ab[1]])
					cyc = cyc " -> " nxt[m, ab[1]]
				split(edge[p], fl, ":")
				report(fl[1], fl[2], edgetarget[p],
				    "include cycle: " cyc)
			}
			exit bad ? 1 : 0
		}'
}

# expect_fail DESC WANT [exact]: build a tree from "FILE<TAB>INCLUDE"
# lines on stdin, run the checker, want a failure whose output contains
# WANT (with "exact": is WANT).
expect_fail() {
	desc=$1 want=$2 exact=${3:-}
	t=$(mktemp -d "${TMPDIR:-/tmp}/hoist-layering.XXXXXX")
	mkdir -p "$t/util" "$t/lib" "$t/cli"
	while IFS='	' read -r f inc; do
		echo "#include $inc" >>"$t/$f"
	done
	out=$(check_tree "$t" 2>&1)
	rc=$?
	rm -rf "$t"
	n=$((n + 1))
	[ -z "$exact" ] || [ "$out" = "$want" ] || rc=2
	case $rc:$out in
	1:*"$want"*) echo "ok $n - self-test: $desc" ;;
	*)
		echo "not ok $n - self-test: $desc"
		echo "$out" | sed 's/^/# /'
		;;
	esac
}

echo "1..11"
n=1
if out=$(check_tree "$src"); then
	echo "ok 1 - the include rules hold in src"
else
	echo "not ok 1 - the include rules hold in src"
	echo "$out" | sed 's/^/# /'
fi

tab='	'
expect_fail "util -> lib" 'util/fs.c:1: includes lib/store.h (util must not depend on lib)' <<EOF
util/fs.c${tab}"lib/store.h"
EOF
expect_fail "lib -> cli" 'lib/store.c:2: includes cli/msg.h (lib must not depend on cli)' <<EOF
lib/store.c${tab}"util/fs.h"
lib/store.c${tab}"cli/msg.h"
EOF
expect_fail "curl outside http.c" 'lib/pull.c:1: includes curl/curl.h' <<EOF
lib/pull.c${tab}<curl/curl.h>
lib/http.c${tab}<curl/curl.h>
EOF
expect_fail "an engine includes http.h" 'lib/download.c:1: includes lib/http.h' <<EOF
lib/download.c${tab}"lib/http.h"
EOF
expect_fail "an engine reaches http.h through a header" 'lib/upload.c -> lib/retry.h -> lib/regconn.h -> lib/http.h' <<EOF
lib/upload.c${tab}"lib/retry.h"
lib/retry.h${tab}"lib/regconn.h"
lib/regconn.h${tab}"lib/http.h"
EOF
expect_fail "two modules include each other" 'include cycle: lib/export -> lib/export-oci -> lib/export' <<EOF
lib/export.c${tab}"lib/export-oci.h"
lib/export-oci.c${tab}"lib/export.h"
EOF
expect_fail "a private header does not hide a cycle" 'include cycle: lib/a -> lib/b -> lib/a' <<EOF
lib/a.c${tab}"lib/a-int.h"
lib/a-int.h${tab}"lib/b.h"
lib/b.c${tab}"lib/a.h"
EOF
expect_fail "a longer cycle through headers" 'lib/c.h:1: includes lib/a.h (include cycle: lib/c -> lib/a -> lib/b -> lib/c)' <<EOF
lib/a.c${tab}"lib/b.h"
lib/b.h${tab}"lib/c.h"
lib/c.h${tab}"lib/a.h"
EOF
# an allowed edge breaks its cycle, and the other rules still hold
saved=$ALLOW
ALLOW='lib/x.h -> lib/y.h'
expect_fail "an allowed edge is skipped, not the rest" 'lib/b.c:1: includes cli/msg.h (lib must not depend on cli)' exact <<EOF
lib/x.h${tab}"lib/y.h"
lib/y.c${tab}"lib/x.h"
lib/b.c${tab}"cli/msg.h"
EOF
ALLOW=$saved
# a clean tree passes (the checker is not simply always failing)
t=$(mktemp -d "${TMPDIR:-/tmp}/hoist-layering.XXXXXX")
mkdir -p "$t/util" "$t/lib" "$t/cli"
printf '#include "util/err.h"\n' >"$t/util/fs.c"
printf '#include "lib/store.h"\n#include "util/fs.h"\n' >"$t/lib/export.c"
printf '#include "lib/store-int.h"\n' >"$t/lib/store.c"
printf '#include "lib/store.h"\n' >"$t/lib/store-int.h"
printf '#include "lib/export.h"\n#include <stdio.h>\n' >"$t/cli/main.c"
printf '#include <curl/curl.h>\n#include "lib/http.h"\n' >"$t/lib/http.c"
if out=$(check_tree "$t"); then
	echo "ok 11 - self-test: a clean tree passes"
else
	echo "not ok 11 - self-test: a clean tree passes"
	echo "$out" | sed 's/^/# /'
fi
rm -rf "$t"
