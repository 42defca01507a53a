#!/bin/sh
# progress.sh: --progress as buildx prints it: plain "#N" steps with DONE
# times and CACHED, rawjson lines that are BuildKit SolveStatus JSON, tty
# redrawn in place under a real pseudo-terminal (script) and refused on a
# non-terminal, quiet silent, and every mode listed by --help.
. "$(dirname "$0")/lib.sh"
need jq python3 script

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
