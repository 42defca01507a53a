#!/bin/sh
# bad.sh: bad input gets one clear error line, a non-zero exit status, and
# leaves nothing behind: no dest, no temporary next to it, a store whose
# ingest area is empty.
. "$(dirname "$0")/lib.sh"
need python3 jq

S=$T_TMP
mktree "$S/tree" --no-special
mkdir -p "$S/out"

# expect_error DESCRIPTION PATTERN CMD...: fails with exactly one error
# line on stderr (progress lines start with '#', blank lines separate
# steps as in buildx), matching PATTERN, and
# leaves $S/out empty.
expect_error() {
	desc=$1 pat=$2
	shift 2
	: >"$T_LOG"
	"$@" >"$S/stdout" 2>"$S/stderr"
	rc=$?
	lines=$(grep -vc '^#\|^$' "$S/stderr")
	left=$(ls -A "$S/out")
	ingest=$(ls -A "$HOIST_ROOT/ingest" 2>/dev/null)
	if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$S/stderr" &&
		[ -z "$left" ] && [ -z "$ingest" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		echo "# rc=$rc lines=$lines left='$left' ingest='$ingest'"
		sed 's/^/# stderr: /' "$S/stderr"
	fi
	rm -rf "$S/out" && mkdir -p "$S/out"
}

B="$HOIST build --rootfs $S/tree"
expect_error "unknown exporter" "unknown output type 'bogus'" $B -o "type=bogus,dest=$S/out/x"
expect_error "malformed CSV" 'parse error' $B -o "type=oci,\"dest=$S/out/x"
expect_error "bare quote in a field" 'bare "' $B -o "type=oci,de\"st=$S/out/x"
expect_error "missing type" "type is required" $B -o "dest=$S/out/x.tar,compression=gzip"
expect_error "field without =" "invalid value" $B -o "type=oci,dest"
expect_error "output= instead of dest=" "you meant dest=" $B -o "type=oci,output=$S/out/x"
expect_error "upper-case repository" "lowercase" $B -t Example/App -o "type=oci,dest=$S/out/x.tar"
expect_error "empty path component" "invalid reference" $B -t "reg.example/a//b" -o "type=oci,dest=$S/out/x.tar"
expect_error "tag too long" "invalid reference" $B -t "a:$(printf 't%.0s' $(seq 1 129))" -o "type=oci,dest=$S/out/x.tar"
expect_error "bad name= in the spec" "invalid reference" $B -o "type=oci,dest=$S/out/x.tar,name=a@sha256:zz"
expect_error "bad compression" "compression" $B -o "type=oci,dest=$S/out/x.tar,compression=lzma"
expect_error "compression level out of range" "compression-level" $B -o "type=oci,dest=$S/out/x.tar,compression=gzip,compression-level=12"
expect_error "non-bool oci-mediatypes" "non-bool" $B -o "type=oci,dest=$S/out/x.tar,oci-mediatypes=maybe"
expect_error "strict bool refuses empty" "oci-mediatypes" $B -o "type=oci,dest=$S/out/x.tar,oci-mediatypes="
expect_error "push without a name" "tag is needed" $B -o "type=image,push=true"
expect_error "two outputs on stdout" "multiple outputs" $B -o "type=oci,dest=-" -o "-"
expect_error "missing rootfs" "rootfs '$S/nope'" "$HOIST" build --rootfs "$S/nope" -o "type=oci,dest=$S/out/x.tar"
expect_error "rootfs is a file" "not a directory" "$HOIST" build --rootfs "$S/tree/etc/hostname" -o "type=oci,dest=$S/out/x.tar"
expect_error "bad platform" "platform" $B --platform "linux/amd64/v3/extra" -o "type=oci,dest=$S/out/x.tar"
expect_error "dest in a missing directory" "$S/out/missing" $B -o "type=oci,dest=$S/out/missing/x.tar"
touch "$S/afile"
expect_error "local dest is a file" "is a file" $B -o "type=local,dest=$S/afile"
expect_error "oci tar=false dest is a file" "is a file" $B -o "type=oci,tar=false,dest=$S/afile"
mkdir -p "$S/adir"
expect_error "oci tar dest is a directory" "is a directory" $B -o "type=oci,dest=$S/adir"
expect_error "local needs dest" "dest is required" $B -o "type=local"
expect_error "annotations need OCI types" "oci-mediatypes=false" $B -o "type=oci,dest=$S/out/x.tar,oci-mediatypes=false,annotation.a=b"
expect_error "index annotation on one platform" "index annotations" $B -o "type=oci,dest=$S/out/x.tar,annotation-index.a=b"
expect_error "bad env" "invalid env" $B --env NOEQUALS -o "type=oci,dest=$S/out/x.tar"
expect_error "bad expose" "invalid --expose" $B --expose 99999 -o "type=oci,dest=$S/out/x.tar"
expect_error "bad entrypoint JSON" "entrypoint" $B --entrypoint '["a",' -o "type=oci,dest=$S/out/x.tar"

# destinations that would wipe or write into what must survive
"$HOIST" build --rootfs "$S/tree" -o type=image,name=guard/app:1 >/dev/null 2>&1
store_sum() { (cd "$HOIST_ROOT" && find . -path ./ingest -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum | sha256sum); }
before=$(store_sum)
expect_error "mode=delete onto the staging area" "is the staging area" \
	$B -o "type=local,dest=$HOIST_ROOT,mode=delete"
expect_error "mode=delete onto a parent of the staging area" "contains the staging area" \
	$B -o "type=local,dest=$(dirname "$HOIST_ROOT"),mode=delete"
expect_error "local dest inside the staging area" "inside the staging area" \
	$B -o "type=local,dest=$HOIST_ROOT/blobs"
expect_error "oci dir inside the staging area (copy)" "inside the staging area" \
	"$HOIST" copy guard/app:1 "oci:$HOIST_ROOT/layout"
expect_error "local dest inside the rootfs" "inside the input tree" \
	$B -o "type=local,dest=$S/tree/sub"
mkdir -p "$S/in" && cp -a "$S/tree" "$S/in/tree"
expect_error "local dest containing the rootfs" "contains the input tree" \
	"$HOIST" build --rootfs "$S/in/tree" -o "type=local,dest=$S/in,mode=delete"
expect_error "local dest /" "destination '/' contains" $B -o "type=local,dest=/,mode=delete"
mkdir -p "$S/home"
expect_error "local dest is HOME" "the home directory" \
	env HOME="$S/home" $B -o "type=local,dest=$S/home,mode=delete"
check "the staging area is intact after the refusals" sh -c "
	[ '$before' = \"\$(cd '$HOIST_ROOT' && find . -path ./ingest -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum | sha256sum)\" ] &&
	'$HOIST' images -q | grep -qx docker.io/guard/app:1"

# bad values and their documented exit statuses (hoist(1): 1 for an
# invalid option value, 2 for a usage error such as a --progress mode)
status_is() { # WANT CMD...: exits WANT
	want=$1
	shift
	"$@" >/dev/null 2>&1
	[ $? -eq "$want" ]
}
check "copy --platform 'linux/' exits 1" status_is 1 "$HOIST" copy --platform 'linux/' guard/app:1 "oci:$S/out/l"
check "copy --max-concurrent 0 exits 1" status_is 1 "$HOIST" copy --max-concurrent 0 guard/app:1 "oci:$S/out/l"
check "copy --chunk-size 0 exits 1" status_is 1 "$HOIST" copy --chunk-size 0 guard/app:1 "oci:$S/out/l"
check "push --max-concurrent 0 exits 1" status_is 1 "$HOIST" push --max-concurrent 0 guard/app:1
check "copy --progress bogus exits 2" status_is 2 "$HOIST" copy --progress bogus guard/app:1 "oci:$S/out/l"
check "build --platform 'linux/' exits 1" status_is 1 $B --platform 'linux/' -o "type=oci,dest=$S/out/x.tar"
check "build --progress bogus exits 2" status_is 2 $B --progress bogus -o "type=oci,dest=$S/out/x.tar"
check "nothing written by the refused commands" test -z "$(ls -A "$S/out")"
expect_error "-t ''" "invalid tag ''" $B -t '' -o "type=oci,dest=$S/out/x.tar"
expect_error "-t NAME@DIGEST with another image's digest" "the digest is not the image's" \
	$B -t "x/y@sha256:$(printf '0%.0s' $(seq 1 64))" -o type=image -o "type=oci,dest=$S/out/x.tar"
check "the foreign digest named nothing" sh -c "! '$HOIST' images -q | grep -q '^docker.io/x/y'"

# An unreadable file in the tree: run as an unprivileged user when root.
mkdir -p "$S/locked/sub" && echo s > "$S/locked/sub/secret" && echo ok > "$S/locked/fine"
chmod 000 "$S/locked/sub/secret"
if [ "$(id -u)" -eq 0 ]; then
	need setpriv
	chmod 755 "$S" && chmod 777 "$S/out"
	mkdir -p "$S/nobody-store" && chown 65534:65534 "$S/nobody-store"
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups env HOIST_ROOT=$S/nobody-store"
	# the build tree may sit below a private (0700) directory
	cp "$HOIST" "$S/hoist-nobody" && chmod 755 "$S/hoist-nobody"
	AS_HOIST=$S/hoist-nobody
else
	AS=""
	AS_HOIST=$HOIST
fi
expect_error "unreadable file names its path" "sub/secret" $AS "$AS_HOIST" build --rootfs "$S/locked" -o "type=oci,dest=$S/out/x.tar"
check "no ingest left in that store" sh -c "test -z \"\$(ls -A '$S/nobody-store/ingest' 2>/dev/null)\""
# A dest directory that cannot be written.
mkdir -p "$S/ro" && chmod 555 "$S/ro"
if [ "$(id -u)" -eq 0 ]; then
	check_fails "read-only dest directory" $AS "$HOIST" build --rootfs "$S/tree" -o "type=oci,dest=$S/ro/x.tar"
else
	check_fails "read-only dest directory" "$HOIST" build --rootfs "$S/tree" -o "type=oci,dest=$S/ro/x.tar"
fi
check "nothing written into it" test -z "$(ls -A "$S/ro")"

# Interrupted export: SIGTERM in the middle of a large tarball.
python3 -c "import os; open('$S/big', 'wb').write(os.urandom(300 << 20))"
mkdir -p "$S/bigtree" && mv "$S/big" "$S/bigtree/"
"$HOIST" build --rootfs "$S/bigtree" -o "type=oci,dest=$S/out/big.tar,compression=gzip" 2>/dev/null &
pid=$!
sleep 1.5
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
check "interrupted build exits non-zero" test "$rc" -ne 0
check "interrupted export leaves nothing in dest dir" test -z "$(ls -A "$S/out")"
check "interrupted build leaves no ingest file" test -z "$(ls -A "$HOIST_ROOT/ingest" 2>/dev/null)"
check "store still opens after the interruption" "$HOIST" images

# hoist login: registry names are validated before anything is stored,
# and a symlinked config.json is written through, as docker login does.
mkdir -p "$S/dc"
L="env DOCKER_CONFIG=$S/dc $HOIST login -u alice --password-stdin"
for r in '../../../etc' '..' '' 'a..b' 'reg.example:99999' 'foo bar' 'x-.example'; do
	expect_error "login refuses registry name '$r'" "invalid registry" sh -c "printf pw | $L '$r'"
done
check "nothing stored for those names" test ! -e "$S/dc/config.json"
check "login to a host:port" sh -c "printf pw | $L 127.0.0.1:5999 >/dev/null"
check "login to [::1]:port" sh -c "printf pw | $L '[::1]:5999' >/dev/null"
mkdir -p "$S/dotfiles" && mv "$S/dc/config.json" "$S/dotfiles/docker.json"
ln -s ../dotfiles/docker.json "$S/dc/config.json"
check "login through a symlinked config.json" sh -c "printf pw | $L reg.example >/dev/null"
check "the link is still a link" test -L "$S/dc/config.json"
check "the target holds the new and the old entries" sh -c "
	jq -e '.auths[\"reg.example\"].auth and .auths[\"127.0.0.1:5999\"].auth' '$S/dotfiles/docker.json' >/dev/null"
check "logout writes through the link too" sh -c "
	env DOCKER_CONFIG='$S/dc' $HOIST logout reg.example >/dev/null &&
	test -L '$S/dc/config.json' &&
	jq -e '.auths[\"reg.example\"] == null' '$S/dotfiles/docker.json' >/dev/null"
expect_error "logout refuses a bad registry name" "invalid registry" env DOCKER_CONFIG="$S/dc" "$HOIST" logout '../x'

# no output at all: buildx's warning and cacheonly
"$HOIST" build --rootfs "$S/tree" >"$S/stdout" 2>"$S/stderr"
check "no -o: exit 0" test $? -eq 0
check "no -o: buildx's no-output warning" grep -q "No output specified" "$S/stderr"

done_testing
