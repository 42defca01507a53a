#!/bin/sh
# concurrency.sh: processes sharing one staging area at once (two builds
# of the same name, builds of other names, a copy out of the store, a
# prune), then fsck passes and every name that was written resolves; and
# a full disk, on the staging area and on a destination (small tmpfs
# mounts, root only): one clear error, nothing half-written, fsck clean.
. "$(dirname "$0")/lib.sh"
need python3 jq skopeo
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 120 $HOIST"
for t in a b c d; do
	mkdir -p "$S/$t"
	head -c 1500000 /dev/urandom >"$S/$t/data"
	echo "$t" >"$S/$t/name"
done
check "a base image to copy" $H build -q --rootfs "$S/a" -t conc/base:1 -o type=image

# run_all: start every command line in $S/cmds at once, wait for all;
# the exit status of line N goes to $S/st.N
run_all() {
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		sh -c "$line" >"$S/out.$n" 2>&1 &
		eval "pid_$n=\$!"
	done <"$S/cmds"
	i=0
	while [ $i -lt $n ]; do
		i=$((i + 1))
		wait "$(eval echo "\$pid_$i")"
		echo $? >"$S/st.$i"
	done
}

for round in 1 2 3; do
	cat >"$S/cmds" <<-EOF2
	$H build -q --rootfs '$S/b' -t conc/same:1 -o type=image
	$H build -q --rootfs '$S/c' -t conc/same:1 -o type=image
	$H build -q --rootfs '$S/d' -t conc/other:$round -o type=image
	$H copy --progress quiet conc/base:1 oci:$S/layout:r$round
	$H prune
	EOF2
	run_all
	for i in 1 2 3 4 5; do
		check "round $round: command $i succeeded" sh -c "test \$(cat '$S/st.$i') = 0 || { cat '$S/out.$i'; exit 1; }"
	done
	check "round $round: fsck passes" $HOIST fsck
	check "round $round: the names written resolve" sh -c "
		$HOIST inspect conc/same:1 >/dev/null &&
		$HOIST inspect conc/other:$round >/dev/null &&
		$HOIST inspect conc/base:1 >/dev/null"
	check "round $round: conc/same:1 is one of the two builds" sh -c "
		d=\$($HOIST inspect conc/same:1 | jq -r .descriptor.digest) &&
		$HOIST build -q --rootfs '$S/b' -t conc/check-b:1 -o type=image >/dev/null &&
		$HOIST build -q --rootfs '$S/c' -t conc/check-c:1 -o type=image >/dev/null &&
		{ test \"\$d\" = \"\$($HOIST inspect conc/check-b:1 | jq -r .descriptor.digest)\" ||
		  test \"\$d\" = \"\$($HOIST inspect conc/check-c:1 | jq -r .descriptor.digest)\"; }"
	check "round $round: skopeo reads the copy" skopeo inspect --raw "oci:$S/layout:r$round"
done

# A full disk. Only root can mount a tmpfs; elsewhere this part skips
# (never under CI=true).
mkdir -p "$S/small-store" "$S/small-dest"
if mount -t tmpfs -o size=1500k tmpfs "$S/small-store" 2>/dev/null &&
	mount -t tmpfs -o size=1500k tmpfs "$S/small-dest" 2>/dev/null; then
	trap 'umount "$S/small-store" "$S/small-dest" 2>/dev/null; t_cleanup' EXIT
	mkdir -p "$S/big"
	head -c 4000000 /dev/urandom >"$S/big/data"
	check "store full: the build fails with one error line" sh -c "
		! HOIST_ROOT='$S/small-store/root' $HOIST build -q --rootfs '$S/big' -t full/x:1 -o type=image,compression=uncompressed 2>'$S/e' &&
		test \$(wc -l <'$S/e') = 1 && grep -qi 'no space' '$S/e'"
	check "store full: no name, no half-written blob, fsck clean" sh -c "
		! HOIST_ROOT='$S/small-store/root' $HOIST inspect full/x:1 2>/dev/null &&
		HOIST_ROOT='$S/small-store/root' $HOIST fsck"
	check "a big image in the normal store" $H build -q --rootfs "$S/big" -t full/x:1 -o type=image,compression=uncompressed
	check "destination full: the copy fails with one error line" sh -c "
		! $HOIST copy --progress quiet full/x:1 oci-archive:$S/small-dest/x.tar 2>'$S/e' &&
		test \$(wc -l <'$S/e') = 1 && grep -qi 'no space' '$S/e'"
	check "destination full: nothing half-written is left" sh -c "test -z \"\$(ls -A '$S/small-dest')\""
	check "destination full (local exporter): one error line, nothing left" sh -c "
		! $HOIST build -q --rootfs '$S/big' -o type=local,dest=$S/small-dest/out 2>'$S/e' &&
		test \$(wc -l <'$S/e') = 1 && test ! -e '$S/small-dest/out'"
	check "destination full: fsck clean" $HOIST fsck
else
	if [ "${CI:-}" = true ]; then
		not_ok "mount a small tmpfs (needs root in CI)"
	else
		echo "# SKIP disk-full checks: cannot mount a tmpfs (not root)"
	fi
fi

done_testing
