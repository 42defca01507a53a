#!/bin/sh
# load.sh: what hoist exports offline is what `docker load` and
# `podman load` take, and --load (type=docker without dest) loads through
# the Engine API into a real dockerd and a real `podman system service`,
# found from DOCKER_HOST (unix:// and tcp://) or a docker context. Both run
# from scratch directories (vfs storage, no network, no iptables), as
# reference/testbed.md section 6 describes.
. "$(dirname "$0")/lib.sh"
need podman dockerd containerd docker jq python3 curl sha256sum

S=$T_TMP
mktree "$S/tree" --no-special
check "docker tarball" "$HOIST" build --rootfs "$S/tree" --cmd '["/bin/tool"]' \
	--env LOADED=yes -t example.test/load/app:1 -t app:2 \
	-o "type=docker,dest=$S/docker.tar"
check "oci tarball" "$HOIST" build --rootfs "$S/tree" -t example.test/load/oci:1 \
	-o "type=oci,dest=$S/oci.tar"
check "docker tarball with Docker media types" "$HOIST" build \
	--rootfs "$S/tree" -t example.test/load/v2s2:1 \
	-o "type=docker,dest=$S/v2s2.tar,oci-mediatypes=false"

# podman, rootful, vfs, everything under $S
P="podman --root $S/podman/root --runroot $S/podman/run --storage-driver vfs \
	--cgroup-manager cgroupfs --events-backend file"
check "podman load (docker archive)" sh -c "$P load -i '$S/docker.tar' > '$S/pl1' 2>&1"
check "podman names both tags" sh -c "grep -q 'example.test/load/app:1' '$S/pl1' && grep -q 'localhost/app:2\|docker.io/library/app:2' '$S/pl1'"
check "podman sees the config" sh -c "
	$P image inspect example.test/load/app:1 > '$S/pi.json' &&
	jq -e '.[0].Config.Cmd == [\"/bin/tool\"]' '$S/pi.json' &&
	jq -e '.[0].Config.Env | index(\"LOADED=yes\") != null' '$S/pi.json'"
check "podman load (oci archive)" sh -c "$P load -i '$S/oci.tar' 2>&1 | grep -q 'Loaded image'"
check "podman load (docker media types)" sh -c "$P load -i '$S/v2s2.tar' 2>&1 | grep -q 'example.test/load/v2s2:1'"
check "podman mounts the image: files are the source's" sh -c "
	m=\$($P image mount example.test/load/app:1) &&
	python3 '$HOIST_SRCDIR/tests/integration/treecmp.py' '$S/tree' \"\$m\" --no-owner --no-xattr;
	rc=\$?; $P image unmount example.test/load/app:1 >/dev/null; exit \$rc"

# docker: containerd and dockerd from scratch configs on unix sockets only
. "$(dirname "$0")/dockerd.sh"
check "dockerd is up" dockerd_start "$S"
check "docker load" sh -c "$DK load -i '$S/docker.tar' > '$S/dl' 2>&1 && grep -q 'Loaded image: example.test/load/app:1' '$S/dl' && grep -q 'Loaded image: app:2' '$S/dl'"
check "docker sees the config" sh -c "
	$DK image inspect app:2 > '$S/di.json' &&
	jq -e '.[0].Config.Cmd == [\"/bin/tool\"]' '$S/di.json' &&
	jq -e '.[0].Config.Env | index(\"LOADED=yes\") != null' '$S/di.json'"
check "docker load (Docker media types)" sh -c "$DK load -i '$S/v2s2.tar' 2>&1 | grep -q 'example.test/load/v2s2:1'"
check "docker save of the loaded image imports back into hoist" sh -c "
	$DK save -o '$S/saved.tar' app:2 &&
	'$HOIST' copy 'docker-archive:$S/saved.tar:app:2' saved/app:2 &&
	'$HOIST' inspect saved/app:2 | jq -e '.images[0].config.config.Cmd == [\"/bin/tool\"]'"

# --load: POST /images/load into the engine, as buildx's client does
mkdir -p "$S/ctx"
echo engine >"$S/ctx/hello.txt"
printf 'FROM scratch\nCOPY hello.txt /\nCMD ["/hello"]\n' >"$S/ctx/Dockerfile.load"
DSOCK=$S/dk/docker.sock
check "--load with DOCKER_HOST=unix:// (flags form)" sh -c "
	DOCKER_HOST=unix://$DSOCK '$HOIST' build --rootfs '$S/tree' --load \
		-t example.test/load/engine:1 --progress plain 2>'$S/ld1' &&
	grep -q '^#[0-9]* importing to docker\$' '$S/ld1' &&
	grep -q '^#[0-9]* Loaded image: example.test/load/engine:1\$' '$S/ld1' &&
	$DK image inspect example.test/load/engine:1 >/dev/null"
check "type=docker without dest loads too (Dockerfile form, -f)" sh -c "
	DOCKER_HOST=unix://$DSOCK '$HOIST' build -f '$S/ctx/Dockerfile.load' \
		-o type=docker,name=example.test/load/df:1 '$S/ctx' &&
	$DK image inspect example.test/load/df:1 > '$S/df.json' &&
	jq -e '.[0].Config.Cmd == [\"/hello\"]' '$S/df.json'"
check "an untagged --load is found by its --iidfile" sh -c "
	echo untagged >'$S/ctx/hello.txt' &&
	DOCKER_HOST=unix://$DSOCK '$HOIST' build -f '$S/ctx/Dockerfile.load' \
		--load --iidfile '$S/ld.iid' '$S/ctx' &&
	$DK image inspect \"\$(cat '$S/ld.iid')\" >/dev/null"
check "--load with -o type=docker loads once, with a docker tarball too" sh -c "
	DOCKER_HOST=unix://$DSOCK '$HOIST' build --rootfs '$S/tree' --load \
		-o type=docker -o 'type=docker,dest=$S/also.tar' \
		-t example.test/load/once:1 --progress plain 2>'$S/once' &&
	test \"\$(grep -c 'importing to docker\$' '$S/once')\" = 1 &&
	tar -tf '$S/also.tar' manifest.json >/dev/null"
# tcp://: a loopback port forwarded to the daemon's socket
python3 -c '
import socket, sys, threading
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
while True:
    c, _ = ls.accept()
    u = socket.socket(socket.AF_UNIX)
    u.connect(sys.argv[2])
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
' "$S/fwd.port" "$DSOCK" &
FWD=$!
wait_for 20 test -s "$S/fwd.port"
check "--load with DOCKER_HOST=tcp://" sh -c "
	DOCKER_HOST=tcp://127.0.0.1:\$(cat '$S/fwd.port') '$HOIST' build \
		--rootfs '$S/tree' --load -t example.test/load/tcp:1 &&
	$DK image inspect example.test/load/tcp:1 >/dev/null"
kill "$FWD" 2>/dev/null

# the docker context of config.json, and context= naming another one
ctx_meta() { # DIR NAME HOST
	h=$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)
	mkdir -p "$1/contexts/meta/$h" &&
		printf '{"Name":"%s","Metadata":{},"Endpoints":{"docker":{"Host":"%s","SkipTLSVerify":false}}}' \
			"$2" "$3" >"$1/contexts/meta/$h/meta.json"
}
mkdir -p "$S/dcfg"
ctx_meta "$S/dcfg" scratchd "unix://$DSOCK"
ctx_meta "$S/dcfg" nowhere "unix://$S/no/such.sock"
echo '{"currentContext":"scratchd"}' >"$S/dcfg/config.json"
check "--load into the current docker context (~/.docker/contexts)" sh -c "
	unset DOCKER_HOST DOCKER_CONTEXT; DOCKER_CONFIG='$S/dcfg' '$HOIST' build \
		--rootfs '$S/tree' --load -t example.test/load/ctx:1 &&
	$DK image inspect example.test/load/ctx:1 >/dev/null"
echo '{"currentContext":"nowhere"}' >"$S/dcfg/config.json"
check "the docker exporter's context= selects another context" sh -c "
	unset DOCKER_HOST DOCKER_CONTEXT; DOCKER_CONFIG='$S/dcfg' '$HOIST' build \
		--rootfs '$S/tree' -o type=docker,context=scratchd \
		-t example.test/load/ctx:2 &&
	$DK image inspect example.test/load/ctx:2 >/dev/null"

# a multi-platform --load: buildx's message, before any step or load
check_fails "a multi-platform --load is refused" sh -c "
	DOCKER_HOST=unix://$DSOCK '$HOIST' build --rootfs '$S/tree' --load \
		--platform linux/amd64,linux/arm64 -t example.test/load/multi:1 \
		--progress plain 2>'$S/multi'"
check "... with buildx's message, before anything is built" sh -c "
	cat '$S/multi' &&
	grep -qx 'hoist: error: docker exporter does not currently support exporting manifest lists' '$S/multi' &&
	! grep -q '^#' '$S/multi' &&
	! $DK image inspect example.test/load/multi:1 >/dev/null 2>&1"

check_fails "--load without an engine fails" sh -c "
	DOCKER_HOST=unix://$S/no-engine.sock '$HOIST' build --rootfs '$S/tree' \
		--load --progress plain 2>'$S/noeng'"
check "... before anything is built, in one line" sh -c "
	cat '$S/noeng' &&
	grep -qx \"hoist: error: cannot connect to the Docker engine at 'unix://$S/no-engine.sock': No such file or directory\" '$S/noeng' &&
	! grep -q '^#' '$S/noeng'"
check "a multi-platform --load without an engine gets buildx's message" sh -c "
	! DOCKER_HOST=unix://$S/no-engine.sock '$HOIST' build --rootfs '$S/tree' \
		--load --platform linux/amd64,linux/arm64 2>'$S/noeng2' &&
	grep -q 'docker exporter does not currently support exporting manifest lists' '$S/noeng2'"

# podman system service: the same Engine API on its own socket
PSOCK=$S/podman.sock
$P system service --time=0 "unix://$PSOCK" >"$S/podman-service.log" 2>&1 &
PSVC=$!
trap 'kill $PSVC $DKD $CTD 2>/dev/null; wait $PSVC $DKD $CTD 2>/dev/null; t_cleanup' EXIT
check "podman system service answers" wait_for 30 curl -sf --unix-socket "$PSOCK" http://d/_ping
check "--load into podman's service" sh -c "
	DOCKER_HOST=unix://$PSOCK '$HOIST' build --rootfs '$S/tree' --load \
		-t example.test/load/pod:1 --progress plain 2>'$S/pl' &&
	grep -q 'Loaded image: example.test/load/pod:1' '$S/pl' &&
	$P image exists example.test/load/pod:1"
check "podman sees the loaded config" sh -c "
	$P image inspect example.test/load/pod:1 | jq -e '.[0].Architecture != null'"

done_testing
