#!/bin/sh
# cache.sh: the build cache through the CLI. An unchanged rebuild says
# "cached", gives the same digests (and, with SOURCE_DATE_EPOCH, the same
# OCI tarball) and opens no file of the tree (strace -y: every open that
# names a path in the tree is a directory; the cold build is the control
# that shows the check can fail). A change, --no-cache, a damaged cached
# blob (which the build repairs), prune and prune --all each build again;
# a force-compression recompression of a base layer is cached the same way.
. "$(dirname "$0")/lib.sh"
need jq strace

S=$T_TMP
B="'$HOIST' build --progress plain"
mktree "$S/tree" --no-special
# Entries as new as a build are not trusted (racy-git): let the clock pass.
sleep 1
export SOURCE_DATE_EPOCH=1700000000

layer_of() { # NAME -> the digest of its only (or last) layer
	"$HOIST" inspect "$1" | jq -r '.images[0].manifest.layers[-1].digest'
}

# Opens of anything in the tree that is not a directory, in a strace -y log.
file_opens() {
	grep -E "open(at|at2)?\(" "$1" | grep -F "$S/tree" |
		grep -v O_DIRECTORY | grep -v ENOENT || true
}

# LeakSanitizer cannot run under ptrace: no leak check in the traced runs.
check "a cold build builds the layer" sh -c "
	ASAN_OPTIONS=\${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -y -qq -e trace=open,openat,openat2 -o '$S/cold.trace' \
		'$HOIST' build --progress plain --rootfs '$S/tree' \
		-o type=oci,dest='$S/a.tar' -o type=image,name=c:1 2>'$S/e1' &&
	grep -q 'built layer 1' '$S/e1'"
check "the cold build opened the tree's files (control)" \
	test "$(file_opens "$S/cold.trace" | wc -l)" -gt 0
check "an unchanged rebuild is cached and opens no file of the tree" sh -c "
	ASAN_OPTIONS=\${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -y -qq -e trace=open,openat,openat2 -o '$S/warm.trace' \
		'$HOIST' build --progress plain --rootfs '$S/tree' \
		-o type=oci,dest='$S/b.tar' -o type=image,name=c:2 2>'$S/e2' &&
	grep -q 'cached layer 1' '$S/e2' && ! grep -q 'built layer' '$S/e2'"
n=$(file_opens "$S/warm.trace" | wc -l)
if [ -s "$S/warm.trace" ] && [ "$n" -eq 0 ]; then ok "no file of the tree was opened"; else
	not_ok "no file of the tree was opened ($n opens)"
	file_opens "$S/warm.trace" | head -5 | sed 's/^/# /'
fi
d1=$(layer_of c:1)
check "the cached build gives the same layer" test "$d1" = "$(layer_of c:2)"
check "and the same OCI tarball" cmp "$S/a.tar" "$S/b.tar"
check "--no-cache builds again, to the same digest" sh -c "
	$B --no-cache --rootfs '$S/tree' -t c:3 -o type=image 2>'$S/e3' &&
	grep -q 'built layer 1' '$S/e3' &&
	test \"\$('$HOIST' inspect c:3 | jq -r '.images[0].manifest.layers[-1].digest')\" = '$d1'"
# --no-cache replaced the layer's blob file (a new inode): it recorded it,
# so the next build trusts the blob's stamp and reads neither the tree nor
# the blob.
check "after --no-cache, a rebuild is cached and opens no blob" sh -c "
	ASAN_OPTIONS=\${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -y -qq -e trace=open,openat,openat2 -o '$S/nc.trace' \
		'$HOIST' build --progress plain --rootfs '$S/tree' -t c:3 -o type=image 2>'$S/e3b' &&
	grep -q 'cached layer 1' '$S/e3b' &&
	! grep -F '$HOIST_ROOT/blobs/sha256/${d1#sha256:}' '$S/nc.trace'"
check "another compression is a separate cache entry" sh -c "
	$B --rootfs '$S/tree' -o type=image,name=z:1,compression=zstd 2>'$S/e4' &&
	grep -q 'built layer 1' '$S/e4' &&
	$B --rootfs '$S/tree' -o type=image,name=z:2,compression=zstd 2>'$S/e5' &&
	grep -q 'cached layer 1' '$S/e5'"
check "a changed file builds again, to another digest" sh -c "
	f=\$(find '$S/tree' -type f | head -1) && echo x >> \"\$f\" &&
	$B --rootfs '$S/tree' -t c:4 -o type=image 2>'$S/e6' &&
	grep -q 'built layer 1' '$S/e6' &&
	test \"\$('$HOIST' inspect c:4 | jq -r '.images[0].manifest.layers[-1].digest')\" != '$d1'"

# A cached blob damaged in the store (same size, mtime put back) is never
# reused: the build notices, builds the layer again and its bytes replace
# the damaged file, so nothing pushes or exports the damage.
check "a damaged cached blob is built again and repaired" sh -c "
	$B --rootfs '$S/tree' -t c:7 -o type=image 2>/dev/null &&
	$B --rootfs '$S/tree' -t c:7 -o type=image 2>'$S/e10' &&
	grep -q 'cached layer 1' '$S/e10' &&
	d=\$('$HOIST' inspect c:7 | jq -r '.images[0].manifest.layers[-1].digest') &&
	b='$HOIST_ROOT/blobs/sha256/'\${d#sha256:} && m=\$(stat -c %y \"\$b\") &&
	chmod u+w \"\$b\" && printf x | dd of=\"\$b\" bs=1 seek=20 conv=notrunc 2>/dev/null &&
	touch -d \"\$m\" \"\$b\" && ! sha256sum < \"\$b\" | grep -q \${d#sha256:} &&
	$B --rootfs '$S/tree' -o type=oci,dest='$S/c8.tar' -o type=image,name=c:8 2>'$S/e11' &&
	grep -q 'built layer 1' '$S/e11' && grep -q 'does not match its digest' '$S/e11' &&
	sha256sum < \"\$b\" | grep -q \${d#sha256:} &&
	test \"\$('$HOIST' inspect c:8 | jq -r '.images[0].manifest.layers[-1].digest')\" = \"\$d\" &&
	'$HOIST' fsck && '$HOIST' rm c:7 && '$HOIST' rm c:8"

# prune: entries whose blobs gc removed go; --all empties the cache
check "prune drops cache entries whose blobs are gone" sh -c "
	for n in c:1 c:2 c:3 c:4 z:1 z:2; do '$HOIST' rm \$n >/dev/null || exit 1; done &&
	'$HOIST' prune > '$S/p1' && grep -q 'Deleted [1-9][0-9]* blobs.* [1-9][0-9]* build cache entries' '$S/p1' &&
	$B --rootfs '$S/tree' -t c:5 -o type=image 2>'$S/e7' && grep -q 'built layer 1' '$S/e7'"
check "prune --all empties the cache" sh -c "
	sleep 1 && $B --rootfs '$S/tree' -t c:6 -o type=image 2>/dev/null &&
	$B --rootfs '$S/tree' -t c:6 -o type=image 2>'$S/e8' && grep -q 'cached layer 1' '$S/e8' &&
	'$HOIST' prune --all | grep -q '[1-9][0-9]* build cache entries' &&
	$B --rootfs '$S/tree' -t c:6 -o type=image 2>'$S/e9' && grep -q 'built layer 1' '$S/e9' &&
	test \"\$(ls '$HOIST_ROOT/cache')\" != ''"
check_fails "prune takes no other argument" "$HOIST" prune --everything

# force-compression: the recompressed base layer is cached
check "a recompressed base layer is cached" sh -c "
	$B --rootfs '$S/tree' -t base:1 -o type=image 2>/dev/null &&
	$B --from base:1 -o type=image,name=f:1,compression=zstd,force-compression=true 2>'$S/f1' &&
	grep -q 'recompressing base layer' '$S/f1' &&
	$B --from base:1 -o type=image,name=f:2,compression=zstd,force-compression=true 2>'$S/f2' &&
	grep -q 'cached base layer' '$S/f2' && ! grep -q 'recompressing' '$S/f2' &&
	test \"\$('$HOIST' inspect f:1 | jq -r '.images[0].manifest.layers[0].digest')\" = \
	     \"\$('$HOIST' inspect f:2 | jq -r '.images[0].manifest.layers[0].digest')\""

done_testing
