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

done_testing
