#!/bin/sh
# crash.sh: kill build, push, copy, sync and prune with SIGKILL at seeded
# random moments (CRASH_SEED=N repeats a run; the seed is printed). After
# each kill: `hoist fsck` passes, the same command run again completes,
# and no destination holds a half-written file (every blob of an OCI
# layout matches its digest, an archive is absent or whole, the registry
# serves the image the store has). Each round builds new content, so every
# command has work to do when it is killed.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout awk tar sha256sum
. "$(dirname "$0")/registry.sh"
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 120 $HOIST"
SEED=${CRASH_SEED:-$(date +%s)}
echo "# seed $SEED (CRASH_SEED=$SEED repeats this run)"
awk -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < 1000; i++) printf "%.4f\n", rand() }' >"$S/rand"
RN=0
# next_rand: the next seeded number in [0, 1)
next_rand() {
	RN=$((RN + 1))
	sed -n "${RN}p" "$S/rand"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

check "registry P starts" reg_start_plain P
check "registry Q starts" reg_start_plain Q
P=$P_ADDR
Q=$Q_ADDR

mkdir -p "$S/tree"
head -c 3000000 /dev/urandom >"$S/tree/base"
mktree "$S/tree/files" --no-special

KILLS=0
MISSED=0
# Per command: how long a whole run took last time (ms); kills land in it.
DUR_build=800 DUR_push=800 DUR_copy=800 DUR_sync=800 DUR_prune=200

# crash NAME CMD...: run CMD, SIGKILL it after a seeded delay, then check
# that fsck passes and that CMD run again completes (timing that run).
crash() {
	name=$1
	shift
	dur=$(eval echo "\$DUR_$name")
	# within the first 80 % of the last run: a re-run can be quicker than
	# a fresh one, and a kill after the end lands nowhere
	delay=$(awk -v r="$(next_rand)" -v d="$dur" 'BEGIN { printf "%.3f", 0.02 + r * 0.8 * d / 1000 }')
	"$@" >/dev/null 2>"$S/crash.err" &
	pid=$!
	sleep "$delay"
	kill -KILL $pid 2>/dev/null
	wait $pid
	st=$?
	if [ $st -eq 137 ]; then
		KILLS=$((KILLS + 1))
		what="killed after ${delay}s"
	else
		MISSED=$((MISSED + 1))
		what="finished (status $st) before the kill at ${delay}s"
	fi
	check "$name: $what; fsck passes" sh -c "$HOIST fsck >'$S/fsck.out' 2>&1 || { cat '$S/fsck.out'; exit 1; }"
	t0=$(now_ms)
	check "$name: run again, completes" "$@"
	eval "DUR_$name=$(($(now_ms) - t0))"
}

# oci_sound DIR: every blob of the layout matches its digest, and
# index.json, if there, is JSON
oci_sound() {
	[ -d "$1" ] || return 0
	if [ -d "$1/blobs/sha256" ]; then
		(cd "$1/blobs/sha256" && for f in *; do
			[ -e "$f" ] || continue
			echo "$f  $f"
		done | sha256sum -c --quiet) || return 1
	fi
	[ ! -e "$1/index.json" ] || jq -e . "$1/index.json" >/dev/null
}
# archive_sound FILE: absent, or a whole tar
archive_sound() { [ ! -e "$1" ] || tar -tf "$1" >/dev/null; }

# Rounds until 20 kills have landed (at least 4 rounds, at most 12: copy
# and prune are often over before their kill, so 8 rounds left a margin
# of one or two kills).
r=0
while [ $r -lt 4 ] || { [ $KILLS -lt 20 ] && [ $r -lt 12 ]; }; do
	r=$((r + 1))
	head -c 2000000 /dev/urandom >"$S/tree/round"
	crash build $H build --progress quiet --rootfs "$S/tree" -t crash/app:$r -o type=image
	check "round $r: the name resolves" $HOIST inspect crash/app:$r

	crash push $H push --progress quiet --insecure crash/app:$r "$P/crash/app:$r"
	check "round $r: P serves what the store has" sh -c "
		test \"\$(skopeo inspect --tls-verify=false --raw docker://$P/crash/app:$r | sha256sum | cut -d' ' -f1)\" = \
			\"\$($HOIST inspect crash/app:$r | jq -r .descriptor.digest | sed s/sha256://)\""

	if [ $((r % 2)) -eq 0 ]; then
		dest="oci:$S/layout:$r"
	else
		dest="oci-archive:$S/app-$r.tar:app"
	fi
	crash copy $H copy --progress quiet --insecure "docker://$P/crash/app:$r" "$dest"
	if oci_sound "$S/layout" && archive_sound "$S/app-$r.tar"; then
		ok "round $r: no half-written file in the copy's destination"
	else
		not_ok "round $r: no half-written file in the copy's destination"
	fi
	check "round $r: skopeo reads the copy" skopeo inspect --raw "$dest"

	echo "docker://$P/crash/app:$r docker://$Q/mirror/app:$r" >"$S/sync.list"
	crash sync $H sync --progress quiet --insecure "$S/sync.list"
	check "round $r: Q serves the same image" sh -c "
		test \"\$(skopeo inspect --tls-verify=false --raw docker://$Q/mirror/app:$r | sha256sum)\" = \
			\"\$(skopeo inspect --tls-verify=false --raw docker://$P/crash/app:$r | sha256sum)\""

	# Garbage for prune: the previous round's image.
	[ $r -gt 1 ] && $HOIST rm crash/app:$((r - 1)) >/dev/null
	crash prune $H prune
	check "round $r: the current name still resolves" $HOIST inspect crash/app:$r
done

echo "# $KILLS kills, $MISSED commands finished before their kill"
check "at least 20 kills landed" test "$KILLS" -ge 20
check "the staging area is sound at the end" $HOIST fsck

done_testing
