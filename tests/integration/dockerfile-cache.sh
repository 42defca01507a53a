#!/bin/sh
# dockerfile-cache.sh: the per-instruction cache of `hoist build CONTEXT`.
# A three-stage Dockerfile (a stage on base:1, a scratch stage, a final
# stage with COPY --from) is built cold, then again: every COPY/WORKDIR
# step says CACHED in --progress plain and cached:true in rawjson, no
# file of the context is opened (strace -y; the cold build is the
# control), and the image digest is the cold one. Then: a changed file
# rebuilds from its COPY on while earlier steps and the other stages stay
# cached; a change that keeps size and mtime is caught (ctime); a change
# seen only by the last stage reuses the stages it copies from; --no-cache
# runs every step to the same digest; a layer blob gone from the store is
# built again; two builds at once agree; a file .dockerignore leaves out
# does not invalidate COPY .; prune --all empties the cache.
. "$(dirname "$0")/lib.sh"
need jq strace
S=$T_TMP
. "$(dirname "$0")/dockerfile-lib.sh"
H="timeout 120 $HOIST"
export SOURCE_DATE_EPOCH=1700000000

df_base "$S/base"
check "build the base image base:1 into the store" \
	$H build --progress quiet --rootfs "$S/base" -t base:1 -o type=image

C=$S/ctx
mkdir -p "$C/src/lib"
echo app >"$C/app"
echo one >"$C/src/one.c"
echo lib >"$C/src/lib/lib.c"
echo conf >"$C/conf.txt"
echo late >"$C/late.md"
echo ignored >"$C/debug.log"
printf '*.log\n' >"$C/.dockerignore"
cat >"$C/Dockerfile" <<'EOF'
FROM base:1 AS build
COPY app /bin/app
COPY src /src

FROM scratch AS assets
COPY *.txt /etc/

FROM base:1
COPY --from=build /src /usr/src
COPY --from=assets /etc/conf.txt /etc/
WORKDIR /srv
COPY app /srv/app
COPY late.md /srv/
EOF
# the steps: 8 COPY/WORKDIR instructions
NSTEPS=8
# Entries as new as a build are not trusted (racy-git): let the clock pass.
sleep 1

# build TAG [ARGS...]: build the context into an OCI layout S/TAG with
# plain progress in S/TAG.err
build() {
	t=$1
	shift
	rm -rf "$S/$t"
	$H build --progress plain "$@" -o "type=oci,tar=false,name=img,dest=$S/$t" \
		"$C" 2>"$S/$t.err"
}
digest() { jq -r '.manifests[0].digest' "$S/$1/index.json"; }
# status STEP-NAME-PATTERN LOG: CACHED or DONE, what the plain log says
# about the step whose name matches
status() {
	n=$(grep -E "^#[0-9]+ \[[^]]*\] $1\$" "$2" | head -1 | cut -d' ' -f1)
	[ -n "$n" ] || { echo none; return; }
	grep -E "^$n (CACHED|DONE [0-9.]+s)\$" "$2" | head -1 |
		cut -d' ' -f2
}
# cached LOG: how many steps are CACHED
cached() { grep -cE '^#[0-9]+ CACHED$' "$1" || true; }
# file_opens TRACE: opens of a context entry that is not a directory
file_opens() {
	grep -E "open(at|at2)?\(" "$1" | grep -F "$C/" |
		grep -v O_DIRECTORY | grep -v ENOENT || true
}
traced() { # TRACE TAG: build TAG under strace (no leak check under ptrace)
	tr=$1
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -y -qq \
		-e trace=open,openat,openat2 -o "$tr" sh -c '"$0" "$@"' \
		$H build --progress plain -o "type=oci,tar=false,name=img,dest=$S/$1" \
		"$C" 2>"$S/$1.err"
}

check "cold build" traced "$S/cold.trace" cold
check "the cold build ran every step (no CACHED)" \
	test "$(cached "$S/cold.err")" -eq 0
check "the cold build read the context's files (control)" \
	test "$(file_opens "$S/cold.trace" | wc -l)" -gt 0
check "unchanged rebuild" traced "$S/warm.trace" warm
t_all_cached() {
	test "$(cached "$S/warm.err")" -eq $NSTEPS &&
		grep -qE '^#[0-9]+ \[build 2/3\] COPY app /bin/app$' "$S/warm.err" &&
		grep -qE '^#[0-9]+ \[stage-2 4/6\] WORKDIR /srv$' "$S/warm.err"
}
check "every COPY/WORKDIR step is CACHED in --progress plain" t_all_cached
n=$(file_opens "$S/warm.trace" | grep -v '/Dockerfile>\|/\.dockerignore>' | wc -l)
if [ -s "$S/warm.trace" ] && [ "$n" -eq 0 ]; then
	ok "the rebuild opened no context file but the Dockerfile and .dockerignore"
else
	not_ok "the rebuild opened no context file ($n opens)"
	file_opens "$S/warm.trace" | head -5 | sed 's/^/# /'
fi
COLD=$(digest cold)
check "the cached build gives the cold build's digest" \
	test "$(digest warm)" = "$COLD"
t_rawjson() {
	$H build --progress rawjson -o "type=oci,tar=false,dest=$S/raw" "$C" \
		2>"$S/raw.err" &&
		jq -se '[.[] | .vertexes // [] | .[] | select(.completed and
		(.name | test("(COPY|WORKDIR) ")))] |
		length == '$NSTEPS' and all(.cached == true)' "$S/raw.err" >/dev/null
}
check "rawjson: the cached vertexes say cached: true" t_rawjson

# a changed file: from its COPY on, in its stage and the stages after
echo more >>"$C/src/lib/lib.c"
check "a changed file: build" build changed
t_changed() {
	test "$(status 'COPY app /bin/app' "$S/changed.err")" = CACHED &&
		test "$(status 'COPY src /src' "$S/changed.err")" = DONE &&
		test "$(status 'COPY \*.txt /etc/' "$S/changed.err")" = CACHED &&
		test "$(status 'COPY --from=build /src /usr/src' "$S/changed.err")" = DONE &&
		test "$(status 'COPY late.md /srv/' "$S/changed.err")" = DONE
}
check "its COPY and what follows run; earlier steps and other stages are cached" t_changed
check "and gives another digest" test "$(digest changed)" != "$COLD"
CHANGED=$(digest changed)

# same size, same mtime, other content: only ctime tells
m=$(stat -c %y "$C/app")
echo ppa >"$C/app"
touch -d "$m" "$C/app"
sleep 1
check "content changed with size and mtime restored: build" build ctime
t_ctime() {
	test "$(status 'COPY app /bin/app' "$S/ctime.err")" = DONE &&
		test "$(status 'COPY app /srv/app' "$S/ctime.err")" = DONE &&
		test "$(digest ctime)" != "$CHANGED"
}
check "the change is seen (ctime): COPY app runs, to another digest" t_ctime
t_nocache() {
	build nocache --no-cache && test "$(cached "$S/nocache.err")" -eq 0 &&
		test "$(digest nocache)" = "$(digest ctime)"
}
check "--no-cache runs every step, to the same digest" t_nocache
CTIME=$(digest ctime)

# a change only the last stage sees: the stages it copies from are reused
echo later >"$C/late.md"
sleep 1
check "a change in the last stage: build" build last
t_last() {
	test "$(cached "$S/last.err")" -eq $((NSTEPS - 1)) &&
		test "$(status 'COPY late.md /srv/' "$S/last.err")" = DONE &&
		test "$(status 'COPY --from=build /src /usr/src' "$S/last.err")" = CACHED
}
check "COPY --from reuses the cached stages; only COPY late.md runs" t_last
t_last_cold() {
	build last-cold --no-cache &&
		test "$(digest last-cold)" = "$(digest last)" &&
		test "$(digest last)" != "$CTIME"
}
check "and its digest is a cold build's (--no-cache)" t_last_cold

# a recorded layer whose blob is gone is built again
M=$(digest last | cut -d: -f2)
LAYER=$(jq -r '.layers[-1].digest' "$S/last/blobs/sha256/$M")
rm -f "$HOIST_ROOT/blobs/sha256/${LAYER#sha256:}"
t_gone() {
	build gone && test "$(status 'COPY late.md /srv/' "$S/gone.err")" = DONE &&
		test "$(cached "$S/gone.err")" -eq $((NSTEPS - 1)) &&
		test "$(digest gone)" = "$(digest last)"
}
check "a cached step whose layer blob is gone runs again, to the same digest" t_gone

# two builds at once over a fresh change agree, and a third is cached
echo again >>"$C/conf.txt"
sleep 1
t_parallel() {
	build par1 &
	p=$!
	build par2
	r2=$?
	wait $p && test $r2 -eq 0 && test "$(digest par1)" = "$(digest par2)"
}
check "two concurrent builds succeed with the same digest" t_parallel
t_third() {
	build par3 && test "$(cached "$S/par3.err")" -eq $NSTEPS &&
		test "$(digest par3)" = "$(digest par1)"
}
check "and a third is entirely cached" t_third
t_pruned() {
	"$HOIST" prune --all >/dev/null && build pruned &&
		test "$(cached "$S/pruned.err")" -eq 0 &&
		test "$(digest pruned)" = "$(digest par1)"
}
check "prune --all empties the cache: the next build runs every step" t_pruned
# what .dockerignore leaves out is not part of a source's content digest
printf 'FROM scratch\nCOPY . /ctx/\n' >"$S/Dockerfile.dot"
t_ignored() {
	build dot1 -f "$S/Dockerfile.dot" && echo more >>"$C/debug.log" &&
		sleep 1 && build dot2 -f "$S/Dockerfile.dot" &&
		test "$(status 'COPY \. /ctx/' "$S/dot2.err")" = CACHED &&
		echo more >>"$C/conf.txt" && sleep 1 &&
		build dot3 -f "$S/Dockerfile.dot" &&
		test "$(status 'COPY \. /ctx/' "$S/dot3.err")" = DONE
}
check "COPY . stays cached when only an ignored file changes" t_ignored
done_testing
