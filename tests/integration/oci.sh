#!/bin/sh
# oci.sh: OCI and docker exporters, read back by skopeo, umoci,
# oci-image-tool and tar.
. "$(dirname "$0")/lib.sh"
need skopeo umoci oci-image-tool jq tar bsdtar python3

S=$T_TMP
mktree "$S/tree"
mktree "$S/tree-nospecial" --no-special

# oci tarball, gzip (default), named
check "oci tarball export" \
	"$HOIST" build --rootfs "$S/tree" --entrypoint '["/bin/tool"]' \
	--env FOO=bar --label org.example=yes --expose 8080 \
	-t example.test/app:1 -o "type=oci,dest=$S/img.tar" \
	--metadata-file "$S/meta.json"
check "skopeo inspect oci-archive" skopeo inspect "oci-archive:$S/img.tar"
check "skopeo copy --insecure-policy oci-archive -> dir (hashes every blob)" \
	skopeo copy --insecure-policy "oci-archive:$S/img.tar" "dir:$S/copy-oa"
check "oci tar lists blobs, index.json, oci-layout, no manifest.json" sh -c "
	tar -tf '$S/img.tar' > '$S/list' &&
	grep -qx 'index.json' '$S/list' && grep -qx 'oci-layout' '$S/list' &&
	grep -qx 'blobs/sha256/' '$S/list' && ! grep -q manifest.json '$S/list'"
check "oci tar entries are sorted, mode 0444 blobs, uid 0, mtime 0" sh -c "
	tar -tf '$S/img.tar' | LC_ALL=C sort -c &&
	tar --numeric-owner -tvf '$S/img.tar' | grep blobs/sha256/. |
	awk '{ if (\$1 != \"-r--r--r--\" || \$2 != \"0/0\" || \$4 != \"1970-01-01\") exit 1 }'"
check "bsdtar reads the oci tar" bsdtar -tf "$S/img.tar"
check "metadata file has buildx keys" sh -c "
	jq -e '.\"containerimage.digest\" | startswith(\"sha256:\")' '$S/meta.json' &&
	jq -e '.\"containerimage.config.digest\" | startswith(\"sha256:\")' '$S/meta.json' &&
	jq -e '.\"containerimage.descriptor\".mediaType == \"application/vnd.oci.image.manifest.v1+json\"' '$S/meta.json' &&
	jq -e '.\"image.name\" == \"example.test/app:1\"' '$S/meta.json'"
check "index.json names the image like BuildKit" sh -c "
	mkdir -p '$S/x' && tar -C '$S/x' -xf '$S/img.tar' &&
	jq -e '.manifests[0].annotations.\"io.containerd.image.name\" == \"example.test/app:1\"' '$S/x/index.json' &&
	jq -e '.manifests[0].annotations.\"org.opencontainers.image.ref.name\" == \"1\"' '$S/x/index.json' &&
	jq -e '.manifests[0].platform.os == \"linux\"' '$S/x/index.json'"
check "config carries entrypoint, env, labels, ports" sh -c "
	skopeo inspect --config 'oci-archive:$S/img.tar' > '$S/cfg.json' &&
	jq -e '.config.Entrypoint == [\"/bin/tool\"]' '$S/cfg.json' &&
	jq -e '.config.Env | index(\"FOO=bar\") != null' '$S/cfg.json' &&
	jq -e '.config.Labels.\"org.example\" == \"yes\"' '$S/cfg.json' &&
	jq -e '.config.ExposedPorts | has(\"8080/tcp\")' '$S/cfg.json' &&
	jq -e '.rootfs.diff_ids | length == 1' '$S/cfg.json'"

# OCI layout directory (skopeo, umoci and oci-image-tool find images by
# org.opencontainers.image.ref.name, the tag, as in BuildKit's layouts),
# validated and unpacked by tools nobody here wrote
check "oci directory export (tar=false)" \
	"$HOIST" build --rootfs "$S/tree" -t example.test/app:1 \
	-o "type=oci,tar=false,dest=$S/layout"
check "oci-image-tool validate --type image" \
	oci-image-tool validate --type image --ref name=1 "$S/layout"
check "skopeo copy --insecure-policy oci: -> dir" skopeo copy "oci:$S/layout:1" "dir:$S/copy-oci"
check "umoci unpack" umoci unpack --image "$S/layout:1" "$S/bundle"
check "umoci rootfs equals the source tree (content, modes, links, devices, xattrs)" \
	treecmp "$S/tree" "$S/bundle/rootfs" --no-owner
check "diff -r agrees" diff -r --no-dereference "$S/tree-nospecial/data" "$S/bundle/rootfs/data" --exclude=fifo --exclude=null --exclude=loop9

# a second image accumulates in the directory; same name replaces
check "second image into the same layout" \
	"$HOIST" build --rootfs "$S/tree-nospecial" -t example.test/other:2 \
	-o "type=oci,tar=false,dest=$S/layout"
check "rebuild of the first name replaces its entry" \
	"$HOIST" build --rootfs "$S/tree-nospecial" -t example.test/app:1 \
	-o "type=oci,tar=false,dest=$S/layout"
check "layout index has exactly two names" sh -c "
	jq -e '.manifests | length == 2' '$S/layout/index.json' &&
	jq -e '[.manifests[].annotations.\"io.containerd.image.name\"] | sort == [\"example.test/app:1\",\"example.test/other:2\"]' '$S/layout/index.json'"
check "layout still validates" oci-image-tool validate --type image --ref name=2 "$S/layout"


# an OCI directory never shares an inode with the store (issue 12): a user
# who edits an exported blob corrupts neither the store nor the next export
same_inode() { # DIR: 0 when a blob of DIR is the store's inode
	for f in "$1"/blobs/sha256/*; do
		[ -e "$HOIST_ROOT/blobs/sha256/${f##*/}" ] || continue
		[ "$(stat -c %d:%i "$f")" = "$(stat -c %d:%i "$HOIST_ROOT/blobs/sha256/${f##*/}")" ] && return 0
	done
	return 1
}
check "store has the exported blobs" sh -c "
	ls '$HOIST_ROOT/blobs/sha256' | grep -qx \"\$(jq -r '.manifests[0].digest' '$S/layout/index.json' | cut -c8-)\""
check "build: no blob of the layout is a store inode" eval '! same_inode "$S/layout"'
check "name an image in the store" "$HOIST" build --rootfs "$S/tree" \
	-o type=image,name=local/app:1
check "copy to oci:DIR: no blob is a store inode" eval '
	"$HOIST" copy local/app:1 "oci:$S/copied:1" && ! same_inode "$S/copied"'
big=$(ls -S "$S/copied/blobs/sha256" | head -n 1)
check "editing an exported blob" eval '
	chmod u+w "$S/copied/blobs/sha256/$big" && printf x >> "$S/copied/blobs/sha256/$big"'
check "the store blob is intact" eval '
	[ "$(sha256sum < "$HOIST_ROOT/blobs/sha256/$big" | cut -c1-64)" = "$big" ]'
check "the next copy replaces the edited blob" eval '
	"$HOIST" copy local/app:1 "oci:$S/copied:1" 2>"$S/recopy.err" &&
	[ "$(sha256sum < "$S/copied/blobs/sha256/$big" | cut -c1-64)" = "$big" ] &&
	grep -q "does not hold blob" "$S/recopy.err"'
check "the re-exported layout validates" oci-image-tool validate --type image --ref name=1 "$S/copied"

# a symlinked blobs/sha256 (or blobs) never lets a copy write outside DIR
mkdir -p "$S/evil/blobs" "$S/elsewhere"
ln -s "$S/elsewhere" "$S/evil/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' > "$S/evil/oci-layout"
check "copy into a layout whose blobs/sha256 is a symlink is refused" eval '
	! "$HOIST" copy local/app:1 "oci:$S/evil:1" 2>"$S/evil.err" &&
	grep -q "is a symlink" "$S/evil.err" && [ -z "$(ls -A "$S/elsewhere")" ]'
mkdir -p "$S/evil2"
ln -s "$S/elsewhere" "$S/evil2/blobs"
check "copy into a layout whose blobs is a symlink is refused" eval '
	! "$HOIST" copy local/app:1 "oci:$S/evil2:1" 2>/dev/null &&
	[ -z "$(ls -A "$S/elsewhere")" ]'

# docker archive
check "docker tarball export" \
	"$HOIST" build --rootfs "$S/tree" -t app:1 -t example.test/me/app:2 \
	-o "type=docker,dest=$S/docker.tar"
check "skopeo copy --insecure-policy docker-archive -> dir" skopeo copy "docker-archive:$S/docker.tar" "dir:$S/copy-da"
check "manifest.json uses familiar RepoTags" sh -c "
	tar -xOf '$S/docker.tar' manifest.json > '$S/dm.json' &&
	jq -e '.[0].RepoTags == [\"app:1\",\"example.test/me/app:2\"]' '$S/dm.json' &&
	jq -e '.[0].Layers | length == 1' '$S/dm.json'"
check "docker tar also holds an OCI layout" sh -c "
	tar -tf '$S/docker.tar' | grep -qx index.json && tar -tf '$S/docker.tar' | grep -qx oci-layout"

# compression choices
check "zstd layer" "$HOIST" build --rootfs "$S/tree-nospecial" \
	-o "type=oci,dest=$S/zstd.tar,compression=zstd,compression-level=3"
check "zstd media type in manifest" sh -c "
	skopeo inspect --raw 'oci-archive:$S/zstd.tar' | jq -e '.layers[0].mediaType == \"application/vnd.oci.image.layer.v1.tar+zstd\"'"
check "skopeo copies the zstd image" skopeo copy --insecure-policy "oci-archive:$S/zstd.tar" "dir:$S/copy-zstd"
check "uncompressed layer, docker media types" "$HOIST" build --rootfs "$S/tree-nospecial" \
	-o "type=oci,dest=$S/raw.tar,compression=uncompressed,oci-mediatypes=false"
check "docker v2s2 types" sh -c "
	skopeo inspect --raw 'oci-archive:$S/raw.tar' > '$S/raw.json' &&
	jq -e '.mediaType == \"application/vnd.docker.distribution.manifest.v2+json\"' '$S/raw.json' &&
	jq -e '.layers[0].mediaType == \"application/vnd.docker.image.rootfs.diff.tar\"' '$S/raw.json'"

# several layers, in order; annotations
mkdir -p "$S/l2/etc" && echo override > "$S/l2/etc/hostname"
check "two layers with annotations" "$HOIST" build --rootfs "$S/tree-nospecial" --layer "$S/l2" \
	-t example.test/two:1 \
	-o "type=oci,tar=false,dest=$S/two,annotation.org.opencontainers.image.title=two,annotation-manifest-descriptor.com.example=d"
check "manifest has two layers and the annotation" sh -c "
	skopeo inspect --raw 'oci:$S/two:1' > '$S/two.json' &&
	jq -e '.layers | length == 2' '$S/two.json' &&
	jq -e '.annotations.\"org.opencontainers.image.title\" == \"two\"' '$S/two.json' &&
	jq -e '.manifests[0].annotations.\"com.example\" == \"d\"' '$S/two/index.json'"
check "umoci applies both layers in order" sh -c "
	umoci unpack --image '$S/two:1' '$S/bundle2' &&
	grep -qx override '$S/bundle2/rootfs/etc/hostname'"

# multi-platform: an index
check "two platforms give an index" "$HOIST" build --rootfs "$S/tree-nospecial" \
	--platform linux/amd64,linux/arm64 -o "type=oci,dest=$S/multi.tar"
check "index lists both platforms" sh -c "
	skopeo inspect --raw 'oci-archive:$S/multi.tar' > '$S/multi.json' &&
	jq -e '.mediaType == \"application/vnd.oci.image.index.v1+json\"' '$S/multi.json' &&
	jq -e '[.manifests[].platform.architecture] == [\"amd64\",\"arm64\"]' '$S/multi.json'"
check "docker exporter refuses an index" sh -c "
	! '$HOIST' build --rootfs '$S/tree-nospecial' --platform linux/amd64,linux/arm64 \
		-o 'type=docker,dest=$S/multi-docker.tar' && test ! -e '$S/multi-docker.tar'"

# stdout
check "oci tar on stdout" sh -c "'$HOIST' build --rootfs '$S/tree-nospecial' -o type=oci > '$S/stdout.tar' && skopeo inspect 'oci-archive:$S/stdout.tar'"

done_testing
