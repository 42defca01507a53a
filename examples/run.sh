#!/bin/sh
# run.sh: hoist's main job on the example tree: build an image and export it
# as an OCI tarball and a docker tarball (loadable with docker/podman load),
# then show what was written. Run from the source tree after building.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${HOIST:-}" ]; then
	for h in ./_build/hoist ./hoist ./_build-test/hoist; do
		[ -x "$h" ] && HOIST=$h && break
	done
fi
: "${HOIST:?build hoist first (see README.md)}"
OUT=${OUT:-examples/out}
mkdir -p "$OUT"
export HOIST_ROOT=${HOIST_ROOT:-$OUT/store}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

"$HOIST" build --rootfs examples/rootfs \
	--cmd '["/usr/bin/hello"]' --label org.opencontainers.image.title=hello \
	-t example.test/hello:1 \
	-o "type=oci,dest=$OUT/hello-oci.tar" \
	-o "type=docker,dest=$OUT/hello-docker.tar" \
	--metadata-file "$OUT/metadata.json"
echo "OCI tarball:    $OUT/hello-oci.tar"
echo "docker tarball: $OUT/hello-docker.tar (docker load -i / podman load -i)"
echo "metadata:       $OUT/metadata.json"
cat "$OUT/metadata.json"
echo
if command -v skopeo >/dev/null 2>&1; then
	skopeo inspect "oci-archive:$OUT/hello-oci.tar"
fi

# The registry exporter: start Debian's docker-registry on loopback from a
# scratch config (never the packaged service, which listens everywhere),
# push the same image to it and read it back.
if command -v docker-registry >/dev/null 2>&1; then
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	REG=$OUT/registry
	rm -rf "$REG" && mkdir -p "$REG/data"
	cat >"$REG/config.yml" <<EOT
version: 0.1
storage:
  filesystem:
    rootdirectory: $REG/data
http:
  addr: 127.0.0.1:$PORT
EOT
	docker-registry serve "$REG/config.yml" >"$REG/log" 2>&1 &
	RPID=$!
	trap 'kill $RPID 2>/dev/null' EXIT
	i=0
	until curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "registry did not start"; exit 1; }
		sleep 0.1
	done
	"$HOIST" build --rootfs examples/rootfs \
		--cmd '["/usr/bin/hello"]' --label org.opencontainers.image.title=hello \
		-o "type=registry,name=127.0.0.1:$PORT/example/hello:1,registry.insecure=true" \
		--progress plain
	echo "pushed:         127.0.0.1:$PORT/example/hello:1"
	if command -v skopeo >/dev/null 2>&1; then
		skopeo inspect --tls-verify=false "docker://127.0.0.1:$PORT/example/hello:1" |
			grep -E '"(Name|Digest|Architecture)"'
	fi
fi
