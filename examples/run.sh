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
