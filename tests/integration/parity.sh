#!/bin/sh
# parity.sh: small buildx mismatches: mode=delete into ".", manifest and
# descriptor annotations in sorted key order (Go map order, for byte
# parity with BuildKit), local/tar warning about ignored annotations, and
# `hoist images` columns that stay aligned with long names.
. "$(dirname "$0")/lib.sh"
need jq python3

S=$T_TMP
mktree "$S/tree" --no-special
H="$HOIST --root $S/store"

check "mode=delete,dest=. replaces the current directory's content" sh -c "
	mkdir -p '$S/here/stale-dir' && echo old > '$S/here/stale' &&
	cd '$S/here' && $H build --progress quiet --rootfs '$S/tree' \
		-o type=local,dest=.,mode=delete &&
	test ! -e stale && test ! -e stale-dir &&
	python3 '$HOIST_SRCDIR/tests/integration/treecmp.py' '$S/tree' . --no-owner --no-xattr &&
	! ls -a | grep -q '^\.hoist'"

check "manifest annotations come out sorted by key" sh -c "
	$H build --progress quiet --rootfs '$S/tree' \
		-o 'type=oci,tar=false,dest=$S/ann,annotation.zz=1,annotation.aa=2,annotation.mm=3,annotation-manifest-descriptor.zz=1,annotation-manifest-descriptor.bb=2' &&
	m=\$(jq -r '.manifests[0].digest' '$S/ann/index.json' | cut -d: -f2) &&
	jq -c '.annotations | keys_unsorted' '$S/ann/blobs/sha256/'\$m | grep -qx '\[\"aa\",\"mm\",\"zz\"\]' &&
	jq -c '.manifests[0].annotations | keys_unsorted' '$S/ann/index.json' |
		grep -qx '\[\"bb\",\"org.opencontainers.image.created\",\"org.opencontainers.image.ref.name\",\"zz\"\]'"
check "index annotations come out sorted by key" sh -c "
	$H build --progress quiet --rootfs '$S/tree' --platform linux/amd64,linux/arm64 \
		-o 'type=oci,tar=false,dest=$S/ann2,annotation-index.zz=1,annotation-index.aa=2' &&
	i=\$(jq -r '.manifests[0].digest' '$S/ann2/index.json' | cut -d: -f2) &&
	jq -c '.annotations | keys_unsorted' '$S/ann2/blobs/sha256/'\$i | grep -qx '\[\"aa\",\"zz\"\]'"

for t in local tar; do
	check "$t warns that annotations are ignored" sh -c "
		$H build --progress quiet --rootfs '$S/tree' \
			-o 'type=$t,dest=$S/ann-$t,annotation.a=1' 2>'$S/w-$t' &&
		grep -q \"warning: output type '$t': annotations are ignored\" '$S/w-$t'"
done
check "--annotation with a local output warns too" sh -c "
	$H build --progress quiet --rootfs '$S/tree' --annotation a=1 \
		-o 'type=local,dest=$S/ann-l2' 2>'$S/w-l2' &&
	grep -q 'annotations are ignored' '$S/w-l2'"

check "images: columns align with long names" sh -c "
	$H build --progress quiet --rootfs '$S/tree' -t s:1 \
		-t example.test/a/very/long/repository/name/that/goes/past/fifty/columns:1 -o type=image &&
	$H images > '$S/images' &&
	python3 - '$S/images' <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
cols = [l.index('sha256:') if 'sha256:' in l else l.index('DIGEST') for l in lines]
assert len(set(cols)) == 1, cols
mt = [l.index('application/') if 'application/' in l else l.index('MEDIA TYPE') for l in lines]
assert len(set(mt)) == 1, mt
PY"

done_testing
