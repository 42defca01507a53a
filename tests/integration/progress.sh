#!/bin/sh
# progress.sh: --progress as buildx prints it: plain "#N" steps with DONE
# times and CACHED, rawjson lines that are BuildKit SolveStatus JSON, tty
# redrawn in place under a real pseudo-terminal (script) and refused on a
# non-terminal, quiet silent, and every mode listed by --help. A --push
# build reads as BuildKit's: the whole push (the layers that went up while
# the image was built too) in "exporting to image", every status that
# begins ends "done", naming before pushing (steps.py --statuses).
. "$(dirname "$0")/lib.sh"
need jq python3 script docker-registry
. "$(dirname "$0")/registry.sh"
push_env

S=$T_TMP
mktree "$S/tree" --no-special
H="$HOIST --root $S/store"

check "plain: a build" sh -c "$H build --progress plain --rootfs '$S/tree' \
	-t example.test/p:1 -o 'type=oci,dest=$S/p1.tar' 2>'$S/plain1'"
check "plain: numbered steps" sh -c "
	grep -q '^#1 \[internal\] load build context\$' '$S/plain1' &&
	grep -q '^#2 \[1/1\] ADD ' '$S/plain1' &&
	grep -q '^#3 exporting to oci image format\$' '$S/plain1'"
check "plain: statuses and DONE times" sh -c "
	grep -q '^#3 exporting layers.* done\$' '$S/plain1' &&
	grep -Eq '^#3 exporting manifest sha256:[0-9a-f]{64} done\$' '$S/plain1' &&
	grep -Eq '^#3 exporting config sha256:[0-9a-f]{64} done\$' '$S/plain1' &&
	grep -Eq '^#3 sending tarball( [0-9.]+s)? done\$' '$S/plain1' &&
	grep -Eq '^#2 DONE [0-9]+\.[0-9]s\$' '$S/plain1' &&
	grep -Eq '^#3 DONE [0-9]+\.[0-9]s\$' '$S/plain1'"
check "plain: an index lists each manifest, config, attestation manifest and the list" sh -c "
	$H build --progress plain --rootfs '$S/tree' --platform linux/amd64,linux/arm64 \
		--provenance=mode=min -o 'type=oci,dest=$S/pi.tar' 2>'$S/plain-ix' &&
	test \"\$(grep -Ec '^#3 exporting manifest sha256:[0-9a-f]{64} done\$' '$S/plain-ix')\" = 2 &&
	test \"\$(grep -Ec '^#3 exporting config sha256:[0-9a-f]{64} done\$' '$S/plain-ix')\" = 2 &&
	test \"\$(grep -Ec '^#3 exporting attestation manifest sha256:[0-9a-f]{64} done\$' '$S/plain-ix')\" = 2 &&
	grep -q '^#3 exporting layers done\$' '$S/plain-ix'"
check "plain: the attestation manifests come before the list" \
	before "$S/plain-ix" 'exporting attestation manifest' 'exporting manifest list sha256:'
mkdir -p "$S/dctx"
echo d >"$S/dctx/f"
printf 'FROM scratch\nCOPY f /f\n' >"$S/dctx/Dockerfile"
check "plain: several platforms put the platform in Dockerfile step names" sh -c "
	$H build --progress plain --platform linux/amd64,linux/arm64 \
		-o type=cacheonly '$S/dctx' 2>'$S/plain-mp' &&
	grep -q '^#[0-9]* \[linux/amd64 2/2\] COPY f /f\$' '$S/plain-mp' &&
	grep -q '^#[0-9]* \[linux/arm64 2/2\] COPY f /f\$' '$S/plain-mp'"
check "plain: steps are separated by a blank line" sh -c "
	grep -B1 '^#3 exporting to oci image format\$' '$S/plain1' | head -1 | grep -q '^\$'"
check "plain: a reused layer is CACHED" sh -c "
	$H build --progress plain --rootfs '$S/tree' -t example.test/p:2 \
		-o type=image 2>'$S/plain2' &&
	grep -q '^#2 CACHED\$' '$S/plain2' &&
	grep -q '^#3 exporting to image\$' '$S/plain2' &&
	grep -q '^#3 naming to docker.io/example.test/p:2 done\$\|^#3 naming to example.test/p:2 done\$' '$S/plain2'"
check "plain: a failed step says ERROR" sh -c "
	! $H build --progress plain --rootfs '$S/tree' --from nosuch/base:1 \
		-o type=image 2>'$S/plain3' &&
	grep -q '^#[0-9]* ERROR: ' '$S/plain3' &&
	grep -q '^hoist: error: ' '$S/plain3'"

check "rawjson: a build" sh -c "$H build --progress rawjson --rootfs '$S/tree' \
	-t example.test/p:3 -o 'type=docker,dest=$S/p3.tar' 2>'$S/raw'"
check "rawjson: every line is a SolveStatus with buildx's keys" python3 - "$S/raw" <<'PY'
import json, re, sys
ts = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$')
top = {"vertexes", "statuses", "logs", "warnings"}
vk = {"digest", "inputs", "name", "started", "completed", "cached", "error", "progressGroup"}
sk = {"id", "vertex", "name", "total", "current", "timestamp", "started", "completed"}
lk = {"vertex", "stream", "data", "timestamp"}
seen = set(); names = set(); done = set(); statuses = set()
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no output"
for line in lines:
    o = json.loads(line)
    assert set(o) <= top and o, line
    for v in o.get("vertexes", []):
        assert set(v) <= vk and re.match(r"^sha256:[0-9a-f]{64}$", v["digest"]), line
        assert ts.match(v["started"]), line
        if "completed" in v:
            assert ts.match(v["completed"]), line
            done.add(v["digest"])
        names.add(v["name"]); seen.add(v["digest"])
    for s in o.get("statuses", []):
        assert set(s) <= sk and {"id", "current", "timestamp"} <= set(s), line
        assert s["vertex"] in seen, line
        assert isinstance(s["current"], int), line
        statuses.add(s["id"].split(" ")[0] + " " + s["id"].split(" ")[1] if " " in s["id"] else s["id"])
    for l in o.get("logs", []):
        assert set(l) <= lk and ts.match(l["timestamp"]), line
        import base64; base64.b64decode(l["data"])
assert "exporting to docker image format" in names, names
assert "[internal] load build context" in names, names
assert seen == done, "a vertex never completed"
assert "sending tarball" in statuses and "exporting layers" in statuses, statuses
PY

check "tty: refused on a non-terminal, as buildx" sh -c "
	! $H build --progress tty --rootfs '$S/tree' -o type=cacheonly 2>'$S/tty-no' &&
	grep -q 'provided file is not a console' '$S/tty-no'"
check "tty: under a pseudo-terminal" sh -c "
	TERM=xterm script -qec \"$H build --progress tty --rootfs '$S/tree' \
		-t example.test/p:4 -o 'type=oci,dest=$S/p4.tar'\" '$S/typescript' >'$S/tty' 2>&1"
check "tty: a FINISHED header and steps redrawn in place" sh -c "
	grep -aEq '\[\+\] Building [0-9]+\.[0-9]s \([0-9]+/[0-9]+\) FINISHED' '$S/tty' &&
	grep -aq ' => exporting to oci image format' '$S/tty' &&
	grep -aq ' => => sending tarball' '$S/tty' &&
	grep -aq ' => CACHED \[1/1\] ADD' '$S/tty' &&
	grep -aq \"\$(printf '\033')\[[0-9]*A\" '$S/tty'"
check "auto is tty on a terminal" sh -c "
	TERM=xterm script -qec \"$H build --rootfs '$S/tree' -o type=cacheonly\" /dev/null 2>&1 |
		grep -aq '\[+\] Building'"
check "auto is plain elsewhere" sh -c "
	$H build --rootfs '$S/tree' -o type=cacheonly 2>&1 | grep -q '^#1 '"
check "BUILDKIT_PROGRESS picks the mode for auto" sh -c "
	BUILDKIT_PROGRESS=rawjson $H build --rootfs '$S/tree' -o type=cacheonly 2>&1 |
		head -1 | jq -e .vertexes >/dev/null"
check "quiet prints no progress" sh -c "
	$H build --progress quiet --rootfs '$S/tree' -o 'type=oci,dest=$S/p5.tar' \
		--iidfile '$S/q.iid' 2>'$S/q' >'$S/q.out' &&
	! grep -q '^#' '$S/q'"
check "quiet prints the image ID on stdout, as buildx" sh -c "
	test \"\$(cat '$S/q.out')\" = \"\$(cat '$S/q.iid')\" &&
	grep -Eqx 'sha256:[0-9a-f]{64}' '$S/q.out'"
check "-q with --progress plain is refused, as buildx" sh -c "
	! $H build -q --progress plain --rootfs '$S/tree' -o type=cacheonly 2>'$S/qp' &&
	grep -q 'progress=plain and quiet cannot be used together' '$S/qp'"
check "none prints nothing" sh -c "
	$H build --progress none --rootfs '$S/tree' -o 'type=oci,dest=$S/p6.tar' \
		>'$S/n.out' 2>&1 && test ! -s '$S/n.out'"
check "quiet does not write the ID into a tarball on stdout" sh -c "
	$H build --progress quiet --rootfs '$S/tree' -o - >'$S/q.tar' &&
	tar -tf '$S/q.tar' >/dev/null && ! grep -aq 'sha256:' '$S/q.tar'"
check "--help lists every mode" sh -c "
	$H build --help | grep -A1 -- '--progress' | tr -d '\\n' |
		grep -q 'auto, plain, tty, rawjson, quiet.*or none'"

# --push: BuildKit's image exporter prints the push in its step:
#   #8 exporting to image / exporting layers / exporting manifest ... /
#   naming to NAME / pushing layers / pushing layers 1.2s done /
#   pushing manifest for NAME@DIGEST 0.1s done / #8 DONE 2.1s
STEPS="python3 $HOIST_SRCDIR/tests/integration/steps.py"
check "registry P starts" reg_start_plain P
P=$P_ADDR
head -c 3000000 /dev/urandom >"$S/dctx/big"
printf 'FROM scratch\nCOPY big /big\nCOPY f /f\n' >"$S/dctx/Dockerfile.push"
# push_steps FILE NAME...: FILE (plain) follows the rules above for NAMEs
push_steps() {
	f=$1
	shift
	$STEPS plain "$f" --statuses --order '^#[0-9]* exporting layers' \
		--order '^#[0-9]* naming to ' --order '^#[0-9]* pushing layers' \
		>"$f.steps" || return 1
	cat "$f.steps"
	# the push is no step of its own: the last step exports and pushes
	tail -n 1 "$f.steps" | grep -qx 'STEP DONE exporting to image' || return 1
	! grep -q 'pushing' "$f.steps" || return 1
	n=$(sed -n 's/^#\([0-9]*\) exporting to image$/\1/p' "$f")
	! grep -E '^#[0-9]+ (pushing|pushed) ' "$f" | grep -v "^#$n " || return 1
	before "$f" "^#$n pushing layers" "^#$n pushing manifest for " || return 1
	test "$(grep -Ec "^#$n pushing layers( [0-9.]+s)? done\$" "$f")" = $# ||
		return 1
	for name in "$@"; do
		test "$(grep -Ec "^#$n pushing manifest for $name@sha256:[0-9a-f]{64}( [0-9.]+s)? done\$" "$f")" = 1 ||
			{ echo "# no 'pushing manifest for $name@' done"; return 1; }
	done
}
check "plain: a Dockerfile --push build, two -t, two platforms" sh -c "
	$H build --progress plain --push --insecure --platform linux/amd64,linux/arm64 \
		-t $P/df/a:1 -t $P/df/b:1 -f '$S/dctx/Dockerfile.push' '$S/dctx' 2>'$S/push-df'"
check "plain: its push is BuildKit's, in 'exporting to image'" \
	push_steps "$S/push-df" "$P/df/a:1" "$P/df/b:1"
check "plain: a --rootfs --push build, two -t, two platforms" sh -c "
	$H build --progress plain --push --insecure --platform linux/amd64,linux/arm64 \
		--rootfs '$S/dctx' -t $P/fl/a:1 -t $P/fl/b:1 2>'$S/push-fl'"
check "plain: its push is BuildKit's, in 'exporting to image'" \
	push_steps "$S/push-fl" "$P/fl/a:1" "$P/fl/b:1"
check "rawjson: a --push build" sh -c "
	$H build --progress rawjson --push --insecure --no-cache --rootfs '$S/dctx' \
		-t $P/raw/a:1 -t $P/raw/b:1 2>'$S/push-raw'"
check "rawjson: SolveStatus lines, every status completed with its vertex" sh -c "
	$STEPS rawjson '$S/push-raw' --statuses >'$S/push-raw.steps' &&
	tail -n 1 '$S/push-raw.steps' | grep -qx 'STEP DONE exporting to image' &&
	! grep -q pushing '$S/push-raw.steps'"
# raw_push FILE: the push's statuses are those of "exporting to image",
# and a pushing manifest status completes for each of the two names
raw_push() {
	v=$(jq -r '.vertexes[]? | select(.name == "exporting to image") |
		.digest' "$1" | sort -u)
	pv=$(jq -r '.statuses[]? | select(.id | test("^pushing (layers|manifest for )")) |
		.vertex' "$1" | sort -u)
	echo "# exporting to image: $v; the push's statuses: $pv"
	[ -n "$v" ] && [ "$pv" = "$v" ] || return 1
	n=$(jq -r --arg p "pushing manifest for $P/raw/" '.statuses[]? |
		select(.completed and (.id | startswith($p))) | .id' "$1" |
		sort -u | wc -l)
	[ "$n" = 2 ]
}
check "rawjson: the push's statuses belong to 'exporting to image'" \
	raw_push "$S/push-raw"
check "push --progress plain: pushing layers, then pushing manifest, both done" sh -c "
	$H push --progress plain --insecure $P/fl/a:1 $P/pushed/x:1 2>'$S/push-cli' &&
	$STEPS plain '$S/push-cli' --statuses --summary '^pushed ' \
		--order '^#1 pushing layers' --order '^#1 pushing manifest for ' &&
	grep -Eq '^#1 pushing manifest for $P/pushed/x:1@sha256:[0-9a-f]{64}( [0-9.]+s)? done\$' '$S/push-cli'"
check "tty: a --push build draws the push under 'exporting to image'" sh -c "
	TERM=xterm script -qec \"$H build --progress tty --push --insecure --no-cache \
		--rootfs '$S/dctx' -t $P/tty/a:1\" /dev/null >'$S/push-tty' 2>&1 &&
	grep -aq ' => => pushing manifest for $P/tty/a:1@sha256:' '$S/push-tty' &&
	! grep -aq 'while building' '$S/push-tty'"

# bash completion and the man page offer the same modes and values
comp() { # LINE: what bash completion offers at its end
	bash -c '. "$1"; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; _hoist
		echo "${COMPREPLY[*]}"' sh \
		"$HOIST_SRCDIR/contrib/bash-completion/hoist" "$1"
}
comp_is() { # LINE WANT
	got=$(comp "$1")
	echo "# '$1' -> '$got'"
	[ "$got" = "$2" ]
}
check "completion lists every --progress mode" \
	comp_is 'hoist build --progress ' 'auto plain quiet tty rawjson none'
check "completion offers buildx's --provenance values" \
	comp_is 'hoist build --provenance ' 'true false mode=min mode=max'
check "completion offers --sbom values" comp_is 'hoist build --sbom ' 'true false'
check "completion offers --attest types" \
	comp_is 'hoist build --attest ' 'type=provenance type=sbom type=provenance,mode=min type=provenance,mode=max'
check "completion offers --load" comp_is 'hoist build --lo' '--load'
man_modes() {
	for m in auto plain tty rawjson quiet none; do
		grep -qx "\.B $m" "$HOIST_SRCDIR/man/hoist-build.1" ||
			{ echo "# no '.B $m'"; return 1; }
	done
}
check "hoist-build(1) describes every --progress mode" man_modes

done_testing
