#!/bin/sh
# repro.sh: SOURCE_DATE_EPOCH with rewrite-timestamp=true (the documented
# way to bit-identical digests, as BuildKit) gives the same manifest digest
# for the same tree copied to two directories at two different times;
# SOURCE_DATE_EPOCH alone sets the config's times and leaves file times,
# and the exporter's source-date-epoch= does the same for its output.
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
		-o "type=oci,dest=$S/a-$comp.tar,compression=$comp,rewrite-timestamp=true" --metadata-file "$S/a-$comp.json"
	check "build B ($comp), other dir, other times, other store" env SOURCE_DATE_EPOCH=1600000000 \
		"$HOIST" --root "$S/store2" build \
		--rootfs "$S/somewhere-else" -t example.test/r:1 \
		-o "type=oci,dest=$S/b-$comp.tar,compression=$comp,rewrite-timestamp=true" --metadata-file "$S/b-$comp.json"
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

# SOURCE_DATE_EPOCH alone: config and history times, not file times
check "epoch without rewrite-timestamp" env SOURCE_DATE_EPOCH=1600000000 "$HOIST" --root "$S/store1" build \
	--rootfs "$S/a" -o "type=oci,dest=$S/k.tar" --metadata-file "$S/k.json"
check "  keeps the file times and sets created" sh -c "
	mkdir -p '$S/k' && tar -C '$S/k' -xf '$S/k.tar' &&
	m=\$(jq -r '.manifests[0].digest' '$S/k/index.json' | cut -d: -f2) &&
	cd=\$(jq -r '.config.digest' '$S/k/blobs/sha256/'\$m | cut -d: -f2) &&
	jq -e '.created == \"2020-09-13T12:26:40Z\" and ([.history[].created] | unique) == [\"2020-09-13T12:26:40Z\"]' '$S/k/blobs/sha256/'\$cd &&
	ld=\$(jq -r '.layers[0].digest' '$S/k/blobs/sha256/'\$m | cut -d: -f2) &&
	tar -tvzf '$S/k/blobs/sha256/'\$ld --full-time | awk '{print \$4}' | grep -q 2023-11-14"
check "  so other file times give another layer" sh -c "
	env SOURCE_DATE_EPOCH=1600000000 '$HOIST' --root '$S/store2' build --rootfs '$S/somewhere-else' \
		-o 'type=oci,dest=$S/k2.tar' --metadata-file '$S/k2.json' &&
	test \"\$(jq -r '.\"containerimage.digest\"' '$S/k.json')\" != \"\$(jq -r '.\"containerimage.digest\"' '$S/k2.json')\""
check "source-date-epoch= sets the config's created" sh -c "
	'$HOIST' --root '$S/store1' build --rootfs '$S/a' \
		-o 'type=oci,tar=false,dest=$S/sde,source-date-epoch=1500000000' &&
	m=\$(jq -r '.manifests[0].digest' '$S/sde/index.json' | cut -d: -f2) &&
	cd=\$(jq -r '.config.digest' '$S/sde/blobs/sha256/'\$m | cut -d: -f2) &&
	jq -e '.created == \"2017-07-14T02:40:00Z\"' '$S/sde/blobs/sha256/'\$cd &&
	jq -e '.manifests[0].annotations.\"org.opencontainers.image.created\" == \"2017-07-14T02:40:00Z\"' '$S/sde/index.json'"
mkdir -p "$S/dctx"
echo x >"$S/dctx/f"
printf 'FROM scratch\nCOPY f /f\nENV A=1\n' >"$S/dctx/Dockerfile"
check "source-date-epoch= clamps a Dockerfile build's history too" sh -c "
	env SOURCE_DATE_EPOCH=1600000000 '$HOIST' --root '$S/store1' build \
		-o 'type=oci,tar=false,dest=$S/sdf,source-date-epoch=1500000000' '$S/dctx' &&
	m=\$(jq -r '.manifests[0].digest' '$S/sdf/index.json' | cut -d: -f2) &&
	cd=\$(jq -r '.config.digest' '$S/sdf/blobs/sha256/'\$m | cut -d: -f2) &&
	jq -e '.created == \"2017-07-14T02:40:00Z\" and (.history | length) == 2 and
		([.history[].created] | unique) == [\"2017-07-14T02:40:00Z\"]' '$S/sdf/blobs/sha256/'\$cd"
check "--build-arg SOURCE_DATE_EPOCH=N is the epoch too, over the environment's" sh -c "
	env SOURCE_DATE_EPOCH=1600000000 '$HOIST' --root '$S/store1' build \
		--build-arg SOURCE_DATE_EPOCH=1500000000 \
		-o 'type=oci,tar=false,dest=$S/sba' '$S/dctx' &&
	m=\$(jq -r '.manifests[0].digest' '$S/sba/index.json' | cut -d: -f2) &&
	cd=\$(jq -r '.config.digest' '$S/sba/blobs/sha256/'\$m | cut -d: -f2) &&
	jq -e '.created == \"2017-07-14T02:40:00Z\" and
		([.history[].created] | unique) == [\"2017-07-14T02:40:00Z\"]' '$S/sba/blobs/sha256/'\$cd"
check "two builds with source-date-epoch= and rewrite-timestamp=true: one digest" sh -c "
	'$HOIST' --root '$S/store1' build --rootfs '$S/a' -o 'type=oci,dest=$S/r1.tar,source-date-epoch=1500000000,rewrite-timestamp=true' --metadata-file '$S/r1.json' &&
	'$HOIST' --root '$S/store2' build --rootfs '$S/somewhere-else' -o 'type=oci,dest=$S/r2.tar,source-date-epoch=1500000000,rewrite-timestamp=true' --metadata-file '$S/r2.json' &&
	test \"\$(jq -r '.\"containerimage.digest\"' '$S/r1.json')\" = \"\$(jq -r '.\"containerimage.digest\"' '$S/r2.json')\" &&
	cmp '$S/r1.tar' '$S/r2.tar'"
check "rewrite-timestamp without an epoch warns, as BuildKit" sh -c "
	'$HOIST' --root '$S/store1' build --rootfs '$S/a' -o 'type=oci,dest=$S/w.tar,rewrite-timestamp=true' 2>'$S/w.err' &&
	grep -q 'rewrite-timestamp is specified, but no source-date-epoch was found' '$S/w.err'"
check "oci-artifact with oci-mediatypes=false is refused" sh -c "
	! '$HOIST' --root '$S/store1' build --rootfs '$S/a' -o 'type=oci,dest=$S/c1.tar,oci-artifact=true,oci-mediatypes=false' 2>'$S/c1.err' &&
	grep -q 'exporter option \"oci-artifact\" conflicts with \"oci-mediatypes=false\"' '$S/c1.err' && test ! -e '$S/c1.tar'"
check "unpack with rewrite-timestamp is refused" sh -c "
	! '$HOIST' --root '$S/store1' build --rootfs '$S/a' -o 'type=image,name=c:2,unpack=true,rewrite-timestamp=true' 2>'$S/c2.err' &&
	grep -q 'exporter option \"rewrite-timestamp\" conflicts with \"unpack\"' '$S/c2.err'"

# without the epoch, a different time gives a different config (created)
check "no epoch: builds differ in time only" sh -c "
	'$HOIST' build --rootfs '$S/a' -o 'type=oci,dest=$S/n1.tar' --metadata-file '$S/n1.json' && sleep 1.1 &&
	'$HOIST' build --rootfs '$S/a' -o 'type=oci,dest=$S/n2.tar' --metadata-file '$S/n2.json' &&
	test \"\$(jq -r '.\"containerimage.digest\"' '$S/n1.json')\" != \"\$(jq -r '.\"containerimage.digest\"' '$S/n2.json')\""
check "invalid SOURCE_DATE_EPOCH is refused" sh -c "
	! env SOURCE_DATE_EPOCH=yesterday '$HOIST' build --rootfs '$S/a' -o 'type=oci,dest=$S/e.tar' 2>'$S/err' &&
	grep -q 'invalid SOURCE_DATE_EPOCH' '$S/err' && test ! -e '$S/e.tar'"

done_testing
