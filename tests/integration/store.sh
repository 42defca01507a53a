#!/bin/sh
# store.sh: the image exporter and the staging-area commands.
. "$(dirname "$0")/lib.sh"
need jq python3

S=$T_TMP
mktree "$S/tree" --no-special

check "image exporter names the image" "$HOIST" build --rootfs "$S/tree" --label only=img1 -t example.test/img:1 -o type=image --metadata-file "$S/m.json"
check "images lists it" sh -c "'$HOIST' images -q | grep -qx example.test/img:1"
check "inspect shows manifest and config" sh -c "
	'$HOIST' inspect example.test/img:1 > '$S/i.json' &&
	jq -e '.images[0].manifest.layers | length == 1' '$S/i.json' &&
	jq -e '.descriptor.digest == \"'\$(jq -r '.\"containerimage.digest\"' '$S/m.json')'\"' '$S/i.json'"
check "docker.io names are normalised" sh -c "
	'$HOIST' build --rootfs '$S/tree' -o 'type=image,\"name=busybox,me/app:2\"' &&
	'$HOIST' images -q | grep -qx docker.io/library/busybox:latest &&
	'$HOIST' images -q | grep -qx docker.io/me/app:2 &&
	'$HOIST' inspect busybox >/dev/null"
check "name-canonical adds NAME@DIGEST" sh -c "
	'$HOIST' build --rootfs '$S/tree' -o 'type=image,name=example.test/c:1,name-canonical=true' &&
	'$HOIST' images -q | grep -q '^example.test/c@sha256:'"
check "an unreachable registry fails with one error naming it" sh -c "! '$HOIST' build --rootfs '$S/tree' -o 'type=registry,name=127.0.0.1:9/x:1' --progress quiet 2>'$S/e' && test \$(wc -l < '$S/e') = 1 && grep -q \"push '127.0.0.1:9/x:1'\" '$S/e'"
check "rm removes a name" sh -c "'$HOIST' rm example.test/img:1 && ! '$HOIST' images -q | grep -qx example.test/img:1"
check "rm of a missing name fails" sh -c "! '$HOIST' rm example.test/nope:1"
blobs_before=$(ls "$HOIST_ROOT/blobs/sha256" | wc -l)
check "prune deletes unreachable blobs" sh -c "'$HOIST' prune | grep -q 'Deleted [1-9]'"
blobs_after=$(ls "$HOIST_ROOT/blobs/sha256" | wc -l)
check "fewer blobs after prune" test "$blobs_after" -lt "$blobs_before"
check "kept images still inspect after prune" "$HOIST" inspect docker.io/me/app:2
check "every remaining blob matches its digest" sh -c "
	cd '$HOIST_ROOT/blobs/sha256' && for f in *; do echo \"\$f  \$f\"; done | sha256sum -c --quiet"
check "fsck passes on a sound store" sh -c "'$HOIST' fsck > '$S/f' && grep -q ' 0 problems' '$S/f'"
# Corrupt a layer by hand: same size, other bytes.
layer=$("$HOIST" inspect docker.io/me/app:2 | jq -r '.images[0].manifest.layers[0].digest' | sed 's/sha256://')
check "a blob corrupted by hand" sh -c "chmod u+w '$HOIST_ROOT/blobs/sha256/$layer' &&
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,\"rb\").read()); b[len(b)//2]^=1; open(p,\"wb\").write(b)' '$HOIST_ROOT/blobs/sha256/$layer'"
check "is found by fsck (exit 1, the image named)" sh -c "! '$HOIST' fsck > '$S/f' 2>'$S/e' &&
	grep -q '^corrupt sha256:$layer' '$S/f' && grep -q \"image 'docker.io/me/app:2'\" '$S/f' && grep -q 'not sound' '$S/e'"
check "an ingest file of a killed build" sh -c ": > '$HOIST_ROOT/ingest/123-killed'"
check "fsck --repair removes the blob and the leftover, reports the name" sh -c "! '$HOIST' fsck --repair > '$S/f' &&
	grep -q '^corrupt sha256:$layer.*removed' '$S/f' && grep -q \"^missing sha256:$layer (image 'docker.io/me/app:2')\" '$S/f' &&
	grep -q '^stale .*123-killed.*removed' '$S/f' && test ! -e '$HOIST_ROOT/blobs/sha256/$layer' && test ! -e '$HOIST_ROOT/ingest/123-killed'"
check "a rebuild heals it" sh -c "'$HOIST' build --rootfs '$S/tree' -o 'type=image,\"name=busybox,me/app:2\"' &&
	'$HOIST' fsck > '$S/f' && grep -q ' 0 problems' '$S/f'"
check "fsck takes no argument but --repair" sh -c "'$HOIST' fsck --bogus; test \$? = 2"
check "a cacheonly build leaves a warm store and no name" sh -c "
	n=\$('$HOIST' images -q | wc -l) && '$HOIST' build --rootfs '$S/tree' -o type=cacheonly &&
	test \"\$('$HOIST' images -q | wc -l)\" = \"\$n\""
check "concurrent builds into one store" sh -c "
	for i in 1 2 3 4; do '$HOIST' build --rootfs '$S/tree' -t example.test/par:\$i -o type=image & done; wait &&
	test \"\$('$HOIST' images -q | grep -c example.test/par:)\" = 4"

done_testing
