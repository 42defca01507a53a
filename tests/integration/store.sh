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
check "a cacheonly build leaves a warm store and no name" sh -c "
	n=\$('$HOIST' images -q | wc -l) && '$HOIST' build --rootfs '$S/tree' -o type=cacheonly &&
	test \"\$('$HOIST' images -q | wc -l)\" = \"\$n\""
check "concurrent builds into one store" sh -c "
	for i in 1 2 3 4; do '$HOIST' build --rootfs '$S/tree' -t example.test/par:\$i -o type=image & done; wait &&
	test \"\$('$HOIST' images -q | grep -c example.test/par:)\" = 4"

done_testing
