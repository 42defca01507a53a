#!/bin/sh
# fs.sh: local and tar exporters: the root filesystem, unpacked from the
# image's layers, into a directory or a tarball.
. "$(dirname "$0")/lib.sh"
need tar bsdtar python3

S=$T_TMP
mktree "$S/tree"

check "local export into a new dir" "$HOIST" build --rootfs "$S/tree" -o "type=local,dest=$S/out"
check "local tree equals the source" treecmp "$S/tree" "$S/out" --no-owner
check "local shorthand -o DIR" "$HOIST" build --rootfs "$S/tree" -o "$S/out2"
check "shorthand tree equals the source" treecmp "$S/tree" "$S/out2" --no-owner
check "new dest directory is mode 0700" test "$(stat -c %a "$S/out2")" = 700

mkdir -p "$S/merge" && echo keep > "$S/merge/extra"
check "local copy mode merges into an existing dir" "$HOIST" build --rootfs "$S/tree" -o "type=local,dest=$S/merge"
check "extra file survives, tree is complete" sh -c "test -f '$S/merge/extra' && python3 '$HOIST_SRCDIR/tests/integration/treecmp.py' '$S/tree' '$S/merge' --no-owner --ignore extra"
check "local mode=delete mirrors" "$HOIST" build --rootfs "$S/tree" -o "type=local,dest=$S/merge,mode=delete"
check "extra file is gone" test ! -e "$S/merge/extra"

# mode=copy replaces a symlink that stands where the image has a
# directory (hoist-output(7): "anything else ... is replaced") and never
# writes through it
d=$(cd "$S/tree" && find . -mindepth 1 -maxdepth 1 -type d | head -n 1)
d=${d#./}
mkdir -p "$S/symdest" "$S/elsewhere"
ln -s "$S/elsewhere" "$S/symdest/$d"
check "mode=copy over a symlink where a directory comes" \
	"$HOIST" build --rootfs "$S/tree" -o "type=local,dest=$S/symdest"
check "the symlink is replaced by the directory, nothing written through it" \
	sh -c "test -d '$S/symdest/$d' && test ! -L '$S/symdest/$d' && test -z \"\$(ls -A '$S/elsewhere')\""

check "tar export to a file" "$HOIST" build --rootfs "$S/tree" -o "type=tar,dest=$S/fs.tar"
check "tar extracts to the source tree" sh -c "mkdir '$S/x' && tar --xattrs --xattrs-include='*' -C '$S/x' -xpf '$S/fs.tar' && python3 '$HOIST_SRCDIR/tests/integration/treecmp.py' '$S/tree' '$S/x'"
check "bsdtar lists the same names" sh -c "bsdtar -tf '$S/fs.tar' | sort > '$S/b' && tar -tf '$S/fs.tar' | sort > '$S/g' && cmp '$S/b' '$S/g'"
check "tar keeps hardlinks as links" sh -c "tar -tvf '$S/fs.tar' | grep -q 'link to'"
check "tar on stdout with -o -" sh -c "'$HOIST' build --rootfs '$S/tree' -o - > '$S/stdout.tar' && cmp '$S/stdout.tar' '$S/fs.tar'"
check "source-date-epoch sets every mtime" sh -c "
	'$HOIST' build --rootfs '$S/tree' -o 'type=tar,dest=$S/epoch.tar,source-date-epoch=86400' &&
	tar -tvf '$S/epoch.tar' --full-time | awk '{print \$4}' | sort -u | tr -d '\n' | grep -qx 1970-01-02"

# two layers: the second overrides the first
mkdir -p "$S/l1/etc" "$S/l2/etc" && echo one > "$S/l1/etc/v" && echo two > "$S/l2/etc/v" && echo only1 > "$S/l1/etc/only1"
check "two layers into local" "$HOIST" build --rootfs "$S/l1" --layer "$S/l2" -o "type=local,dest=$S/two"
check "upper layer wins, lower files stay" sh -c "grep -qx two '$S/two/etc/v' && grep -qx only1 '$S/two/etc/only1'"

# multi-platform: one directory per platform
check "multi-platform local export" "$HOIST" build --rootfs "$S/l1" --platform linux/amd64,linux/arm/v7 -o "type=local,dest=$S/mp"
check "per-platform directories" sh -c "test -f '$S/mp/linux_amd64/etc/v' && test -f '$S/mp/linux_arm_v7/etc/v'"
check "platform-split=false merges" "$HOIST" build --rootfs "$S/l1" --platform linux/amd64,linux/arm64 -o "type=local,dest=$S/mp2,platform-split=false"
check "merged tree at the root" test -f "$S/mp2/etc/v"
check "multi-platform tar export" "$HOIST" build --rootfs "$S/l1" --platform linux/amd64,linux/arm64 -o "type=tar,dest=$S/mp.tar"
check "tar has platform directories" sh -c "tar -tf '$S/mp.tar' | grep -qx 'linux_arm64/etc/v' && tar -tf '$S/mp.tar' | grep -qx 'linux_amd64/'"

done_testing
