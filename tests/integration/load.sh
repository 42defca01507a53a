#!/bin/sh
# load.sh: what hoist exports offline is what `docker load` and
# `podman load` take. Both run from scratch directories (vfs storage, no
# network, no iptables), as reference/testbed.md section 6 describes.
. "$(dirname "$0")/lib.sh"
need podman dockerd containerd docker jq python3

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
mkdir -p "$S/ctd" "$S/dk"
cat >"$S/ctd/config.toml" <<EOT
version = 2
root = "$S/ctd/root"
state = "$S/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$S/ctd/containerd.sock"
[ttrpc]
  address = "$S/ctd/containerd.sock.ttrpc"
[debug]
  address = "$S/ctd/debug.sock"
[metrics]
  address = ""
EOT
cat >"$S/dk/daemon.json" <<EOT
{"data-root":"$S/dk/data","exec-root":"$S/dk/exec","pidfile":"$S/dk/dockerd.pid",
 "hosts":["unix://$S/dk/docker.sock"],"storage-driver":"vfs","iptables":false,
 "ip6tables":false,"ip-masq":false,"bridge":"none",
 "containerd":"$S/ctd/containerd.sock"}
EOT
containerd --config "$S/ctd/config.toml" >"$S/ctd/log" 2>&1 &
CTD=$!
i=0
while [ ! -S "$S/ctd/containerd.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dockerd --config-file "$S/dk/daemon.json" >"$S/dk/log" 2>&1 &
DKD=$!
trap 'kill $DKD $CTD 2>/dev/null; wait $DKD $CTD 2>/dev/null; t_cleanup' EXIT
DK="docker -H unix://$S/dk/docker.sock"
i=0
while ! $DK version >/dev/null 2>&1 && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
check "dockerd is up" $DK version
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

done_testing
