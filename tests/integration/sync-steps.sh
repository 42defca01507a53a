#!/bin/sh
# sync-steps.sh: push, copy, sync and build's push phase print buildx's
# numbered steps (tests/integration/steps.py checks the rules): in plain,
# every line before the summary is "#N ...", each step ends in DONE,
# CACHED or ERROR, nothing follows the summary; each image of a
# `sync --jobs 2` is its own step, CACHED on a re-run; rawjson lines are
# SolveStatus JSON with buildx's keys; tty draws the same steps.
. "$(dirname "$0")/lib.sh"
need docker-registry python3 jq timeout script
. "$(dirname "$0")/registry.sh"
push_env

S=$T_TMP
H="timeout 60 $HOIST"
STEPS="python3 $HOIST_SRCDIR/tests/integration/steps.py"

check "registry P starts" reg_start_plain P
check "registry Q starts" reg_start_plain Q
P=$P_ADDR
Q=$Q_ADDR

# one:1 and two:1, 1 MB of random bytes each
for img in one two; do
	mkdir -p "$S/$img"
	head -c $((${#img} * 333333)) /dev/urandom >"$S/$img/data"
	$H build -q --rootfs "$S/$img" -t "$img:1" -o type=image >/dev/null ||
		not_ok "build $img:1"
done

# push
check "push --progress plain" sh -c "
	$H push --progress plain --insecure one:1 $P/lib/app:1.0 2>'$S/push1'"
check "push: one step that ends DONE, then the summary line" sh -c "
	$STEPS plain '$S/push1' --summary '^pushed ' >'$S/push1.steps' &&
	[ \"\$(cat '$S/push1.steps')\" = 'STEP DONE pushing docker.io/library/one:1 to $P/lib/app:1.0' ]"
check "push: the transfers and 'pushing layers' belong to the step" sh -c "
	grep -Eq '^#1 pushing layers [0-9.]+s done\$|^#1 pushing layers done\$' '$S/push1' &&
	grep -Eq '^#1 pushed sha256:[0-9a-f]{12} .* done\$' '$S/push1'"
check "push again: the step is CACHED" sh -c "
	$H push --progress plain --insecure one:1 $P/lib/app:1.0 2>'$S/push2' &&
	$STEPS plain '$S/push2' --summary '^pushed ' | grep -qx 'STEP CACHED pushing .*'"
check "push --progress rawjson: SolveStatus lines, one cached vertex" sh -c "
	$H push --progress rawjson --insecure one:1 $P/lib/app:1.0 2>'$S/push3' &&
	$STEPS rawjson '$S/push3' --summary '^pushed ' | grep -qx 'STEP CACHED pushing .*'"
for t in 2.0 3.0; do
	$H push --progress quiet --insecure two:1 "$P/lib/app:$t" || not_ok "push two:1 to lib/app:$t"
done
$H push --progress quiet --insecure two:1 "$P/other/x:1" || not_ok "push two:1 to other/x:1"

# build's push phase: inside "exporting to image"
check "build with push=true: plain steps" sh -c "
	$H build --progress plain --rootfs '$S/two' \
		-o 'type=image,name=$Q/built/x:1,push=true,registry.insecure=true' 2>'$S/build' &&
	$STEPS plain '$S/build' >'$S/build.steps' &&
	grep -qx 'STEP DONE exporting to image' '$S/build.steps' &&
	grep -Eq '^#[0-9]+ pushing layers( [0-9.]+s)? done\$' '$S/build'"

# a fresh staging area, so copies pull for real
export HOIST_ROOT=$S/copy-store
check "copy --progress plain" sh -c "
	$H copy --progress plain --insecure docker://$P/lib/app:1.0 docker://$Q/c/app:1.0 2>'$S/copy1'"
check "copy: one step, DONE, and nothing after it" sh -c "
	[ \"\$($STEPS plain '$S/copy1')\" = 'STEP DONE copying docker://$P/lib/app:1.0 to docker://$Q/c/app:1.0' ] &&
	tail -n 1 '$S/copy1' | grep -Eq '^#1 DONE [0-9]+\.[0-9]s\$'"
check "copy: the pull thread's transfers are lines of the step" \
	grep -Eq '^#1 pulled sha256:[0-9a-f]{12} .* done$' "$S/copy1"
check "copy again: CACHED" sh -c "
	$H copy --progress plain --insecure docker://$P/lib/app:1.0 docker://$Q/c/app:1.0 2>'$S/copy2' &&
	[ \"\$($STEPS plain '$S/copy2')\" = 'STEP CACHED copying docker://$P/lib/app:1.0 to docker://$Q/c/app:1.0' ]"

# sync --jobs 2
export HOIST_ROOT=$S/sync-store
cat >"$S/list" <<LIST
docker://$P/lib/app docker://$Q/lib/app *
docker://$P/other/x:1 docker://$Q/other/x:1
docker://$P/missing/app:1 docker://$Q/missing/app:1
LIST
$H sync --progress plain --insecure --jobs 2 "$S/list" 2>"$S/sync1"
rc=$?
if [ "$rc" -eq 3 ]; then ok "sync --jobs 2 with one missing image: exit 3"; else not_ok "sync: exit $rc"; sed 's/^/# /' "$S/sync1"; fi
check "sync: plain steps, summary last" sh -c "
	$STEPS plain '$S/sync1' --summary '^sync: [0-9]+ copied' \
		--tail '^sync: failed: ' >'$S/sync1.steps'"
sed 's/^/# /' "$S/sync1.steps"
# the first sync's error lines, kept in the log: one image other than
# missing/app:1 failed here twice in ~50 runs (not reproduced since)
grep -E 'error|ERROR' "$S/sync1" | sed 's/^/# /'
check "sync: each image is its own step (4 DONE, 1 ERROR) after the tag list" sh -c "
	[ \$(grep -c '^STEP DONE copying ' '$S/sync1.steps') -eq 4 ] &&
	grep -qx 'STEP ERROR copying docker://$P/missing/app:1 to docker://$Q/missing/app:1' '$S/sync1.steps' &&
	head -n 1 '$S/sync1.steps' | grep -qx 'STEP DONE \[internal\] list tags of docker://$P/lib/app' &&
	[ \$(grep -c . '$S/sync1.steps') -eq 6 ]"
check "sync: the failure is an error line too, and in the summary" sh -c "
	grep -q '^hoist: error: .*missing/app:1' '$S/sync1' &&
	grep -q '^sync: failed: docker://$P/missing/app:1 ' '$S/sync1'"
mark=$(reg_log_lines Q)
$H sync --progress plain --insecure --jobs 2 "$S/list" 2>"$S/sync2"
check "sync again: every copied image is CACHED" sh -c "
	$STEPS plain '$S/sync2' --summary '^sync: [0-9]+ copied' \
		--tail '^sync: failed: ' >'$S/sync2.steps' &&
	[ \$(grep -c '^STEP CACHED copying ' '$S/sync2.steps') -eq 4 ] &&
	[ \$(grep -c '^STEP DONE copying ' '$S/sync2.steps') -eq 0 ]"
n=$(reg_requests Q "$mark" | grep -vc '^GET /v2/ ')
m=$(reg_requests Q "$mark" | grep -c '^HEAD /v2/[^ ]*/manifests/[^ ]* 200$')
if [ "$n" -eq 4 ] && [ "$m" -eq 4 ]; then ok "a CACHED image cost Q one manifest HEAD"; else not_ok "the re-run made $n requests at Q ($m manifest HEADs) for 4 images"; reg_requests Q "$mark" | sed 's/^/# /'; fi
check "sync --progress rawjson: SolveStatus lines, one vertex per image" sh -c "
	$H sync --progress rawjson --insecure --jobs 2 '$S/list' 2>'$S/sync3';
	$STEPS rawjson '$S/sync3' --summary '^sync: [0-9]+ copied' \
		--tail '^sync: failed: ' >'$S/sync3.steps' &&
	[ \$(grep -c '^STEP CACHED copying ' '$S/sync3.steps') -eq 4 ] &&
	[ \$(grep -c '^STEP ERROR copying ' '$S/sync3.steps') -eq 1 ]"
check "sync --progress tty under a pseudo-terminal" sh -c "
	TERM=xterm script -qec \"$H sync --progress tty --insecure --jobs 2 '$S/list'\" \
		'$S/typescript' >'$S/sync4' 2>&1;
	grep -aEq '\[\+\] Building [0-9]+\.[0-9]s \([0-9]+/[0-9]+\) FINISHED' '$S/sync4' &&
	grep -aq ' => CACHED copying docker://$P/other/x:1 ' '$S/sync4' &&
	grep -aq ' => ERROR copying docker://$P/missing/app:1 ' '$S/sync4' &&
	tail -n 3 '$S/sync4' | grep -aq '^sync: 4 copied, 1 failed'"
check "sync --progress quiet: no steps, one 'synced' line per image" sh -c "
	$H sync --progress quiet --insecure --jobs 2 '$S/list' 2>'$S/sync5';
	! grep -q '^#' '$S/sync5' && [ \$(grep -c '^synced ' '$S/sync5') -eq 4 ]"

done_testing
