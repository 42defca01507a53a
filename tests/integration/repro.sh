#!/bin/sh
# repro.sh: SOURCE_DATE_EPOCH gives the same manifest digest for the same
# tree copied to two directories at two different times.
. "$(dirname "$0")/lib.sh"
need jq python3 tar

S=$T_TMP
mktree "$S/a" --mtime 1700000000
sleep 1
mktree "$S/somewhere-else" --mtime 1800000000

digest() { jq -r '."containerimage.digest"' "$1"; }

for comp in gzip zstd uncompressed; do
	check "build A ($comp)" env SOURCE_DATE_EPOCH=1600000000 "$HOIST" --root "$S/store1" build \
		--rootfs "$S/a" -t example.test/r:1 \
		-o "type=oci,dest=$S/a-$comp.tar,compression=$comp" --metadata-file "$S/a-$comp.json"
	check "build B ($comp), other dir, other times, other store" env SOURCE_DATE_EPOCH=1600000000 \
		"$HOIST" --root "$S/store2" build \
		--rootfs "$S/somewhere-else" -t example.test/r:1 \
		-o "type=oci,dest=$S/b-$comp.tar,compression=$comp" --metadata-file "$S/b-$comp.json"
	check "same manifest digest ($comp)" test "$(digest "$S/a-$comp.json")" = "$(digest "$S/b-$comp.json")"
	check "byte-identical tarballs ($comp)" cmp "$S/a-$comp.tar" "$S/b-$comp.tar"
done

check "created is the epoch" sh -c "
	mkdir -p '$S/x' && tar -C '$S/x' -xf '$S/a-gzip.tar' &&
	cfg=\$(jq -r '.manifests[0].digest' '$S/x/index.json' | cut -d: -f2) &&
	cd=\$(jq -r '.config.digest' '$S/x/blobs/sha256/'\$cfg | cut -d: -f2) &&
	jq -e '.created == \"2020-09-13T12:26:40Z\"' '$S/x/blobs/sha256/'\$cd"
check "layer mtimes are clamped to the epoch" sh -c "
	ld=\$(jq -r '.layers[0].digest' '$S/x/blobs/sha256/'\$(jq -r '.manifests[0].digest' '$S/x/index.json' | cut -d: -f2) | cut -d: -f2) &&
	tar -tvzf '$S/x/blobs/sha256/'\$ld --full-time | awk '{print \$4}' | sort -u > '$S/dates' &&
	test \"\$(cat '$S/dates')\" = 2020-09-13"

# without the epoch, a different time gives a different config (created)
check "no epoch: builds differ in time only" sh -c "
	'$HOIST' build --rootfs '$S/a' -o 'type=oci,dest=$S/n1.tar' --metadata-file '$S/n1.json' && sleep 1.1 &&
	'$HOIST' build --rootfs '$S/a' -o 'type=oci,dest=$S/n2.tar' --metadata-file '$S/n2.json' &&
	test \"\$(jq -r '.\"containerimage.digest\"' '$S/n1.json')\" != \"\$(jq -r '.\"containerimage.digest\"' '$S/n2.json')\""
check "invalid SOURCE_DATE_EPOCH is refused" sh -c "
	! env SOURCE_DATE_EPOCH=yesterday '$HOIST' build --rootfs '$S/a' -o 'type=oci,dest=$S/e.tar' 2>'$S/err' &&
	grep -q 'invalid SOURCE_DATE_EPOCH' '$S/err' && test ! -e '$S/e.tar'"

done_testing
