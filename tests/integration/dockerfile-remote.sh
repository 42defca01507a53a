#!/bin/sh
# dockerfile-remote.sh: `hoist build` with a remote CONTEXT, as buildx
# takes it, each checked on the image hoist writes (umoci, jq):
#  - Git: a repository served by `git daemon` on 127.0.0.1, built from
#    git://127.0.0.1:P/repo.git#TAG:SUBDIR (files from that tag and that
#    subdirectory only, no .git, times the commit's), the default branch
#    (no fragment), a branch, a full commit hash, -f relative to SUBDIR,
#    ssh:// and git@HOST:PATH (through a stand-in ssh), a submodule,
#    buildx 0.28's ?tag=|branch=&subdir=&checksum= (a wrong checksum,
#    an unknown key, two refs, a query and a fragment refused);
#    a rebuild says CACHED for every step and gives the same manifest;
#    a bad ref, a ref starting with '-', a missing or escaping SUBDIR
#    (a symlink to /etc) and a Dockerfile symlink to a host file fail in
#    one line with nothing written; no scratch directory is left;
#  - an https tarball URL (fileserver.py, the run's CA via
#    HOIST_CERTS_D): .tar.gz, .tar.zst and .tar unpacked as the context,
#    a rebuild CACHED; a plain-text URL is the Dockerfile with an empty
#    context; a 404 fails in one line;
#  - Git over https: the same repository through `git http-backend`
#    (fileserver.py), the same image as from git://; without the CA one
#    clear line; a password in the URL is not shown;
#  - "-": a tarball or a Dockerfile on standard input; "-" with -f -
#    refused; SIGTERM while it is read removes the scratch directory.
. "$(dirname "$0")/lib.sh"
need git jq tar umoci python3 openssl curl zstd
. "$(dirname "$0")/registry.sh"
. "$(dirname "$0")/fileserver.sh"
. "$(dirname "$0")/dockerfile-lib.sh"
export SOURCE_DATE_EPOCH=1700000000
S=$T_TMP
H="timeout 120 $HOIST"

# built OUT IMAGE-FILE: the content of a file of the image in the OCI
# layout directory OUT (unpacked once into OUT.rootfs)
built() {
	[ -d "$1.b" ] || umoci unpack --image "$1:latest" "$1.b" >/dev/null ||
		return 1
	cat "$1.b/rootfs/$2"
}

# all_cached DESC N OUT CONTEXT: a build of CONTEXT into OUT says CACHED
# for N steps
all_cached() {
	: >"$T_LOG"
	if $H build --progress plain -o "type=oci,tar=false,dest=$3" "$4" \
		>"$3.log" 2>&1 &&
		[ "$(grep -c '^#[0-9]* CACHED' "$3.log")" = "$2" ]; then
		ok "$1"
	else
		cat "$3.log" >>"$T_LOG"
		not_ok "$1"
	fi
}

# ---- a repository: tag v1, then the default branch moves on ----
G=$S/src
git init -q -b main "$G"
git -C "$G" config user.email t@example.com
git -C "$G" config user.name t
mkdir -p "$G/sub" "$G/dfl"
echo v1 >"$G/sub/hello"
printf 'FROM scratch\nCOPY hello /hello\nCOPY . /ctx/\n' >"$G/sub/Dockerfile"
printf 'FROM scratch\nCOPY hello /alt\n' >"$G/sub/Dockerfile.alt"
printf 'FROM scratch\nCOPY sub/hello /hello\n' >"$G/Dockerfile"
echo top >"$G/top"
ln -s /etc "$G/escape"
ln -s /etc/passwd "$G/dfl/Dockerfile"
git -C "$G" add -A
GIT_COMMITTER_DATE='2020-02-03T04:05:06Z' git -C "$G" commit -qm one
git -C "$G" tag v1
V1=$(git -C "$G" rev-parse HEAD)
echo v2 >"$G/sub/hello"
git -C "$G" commit -qam two
mkdir -p "$S/git"
git clone -q --bare "$G" "$S/git/repo.git"

GP=$(reg_free_port)
_bg "$REG_DIR/gitd.log" git daemon --export-all --reuseaddr \
	--base-path="$S/git" --listen=127.0.0.1 --port="$GP" "$S/git"
GURL=git://127.0.0.1:$GP/repo.git
n=0
until git ls-remote "$GURL" >/dev/null 2>&1 || [ $n -ge 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "git daemon serves the repository on 127.0.0.1" git ls-remote "$GURL"

check "build $GURL#v1:sub" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/g1" "$GURL#v1:sub"
check "  /hello is the tag's, not the branch's" \
	test "$(built "$S/g1" hello)" = v1
check "  the context is the subdirectory only, without .git" sh -c "
	[ \"\$(ls -A $S/g1.b/rootfs/ctx | tr '\n' ' ')\" = \
	'Dockerfile Dockerfile.alt hello ' ]"
check "  file times are the commit's (2020-02-03 04:05:06 UTC)" \
	test "$(stat -c %Y "$S/g1.b/rootfs/hello")" = 1580702706

all_cached "a rebuild from a fresh clone: both COPY steps CACHED" 2 "$S/g1b" \
	"$GURL#v1:sub"
check "  and the same manifest" test \
	"$(jq -r '.manifests[0].digest' "$S/g1/index.json")" = \
	"$(jq -r '.manifests[0].digest' "$S/g1b/index.json")"

check "no fragment: the default branch, CONTEXT/Dockerfile" $H build \
	--progress quiet -o "type=oci,tar=false,dest=$S/g2" "$GURL"
check "  /hello is the branch's" test "$(built "$S/g2" hello)" = v2
check "a branch: #main:sub" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/g3" "$GURL#main:sub"
check "  /hello is the branch's" test "$(built "$S/g3" hello)" = v2
check "a full commit hash: #$V1:sub" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/g4" "$GURL#$V1:sub"
check "  /hello is that commit's" test "$(built "$S/g4" hello)" = v1
check "-f is relative to the subdirectory" $H build --progress quiet \
	-f Dockerfile.alt -o "type=oci,tar=false,dest=$S/g5" "$GURL#v1:sub"
check "  /alt comes from Dockerfile.alt" test "$(built "$S/g5" alt)" = v1

# ssh:// and git@HOST:PATH, through a stand-in ssh (GIT_SSH_COMMAND) that
# runs the remote command here, from $S/git
cat >"$S/fake-ssh" <<EOF
#!/bin/sh
while [ \$# -gt 1 ]; do shift; done
cd "$S/git" && exec sh -c "\$1"
EOF
chmod +x "$S/fake-ssh"
check "ssh://git@example.invalid$S/git/repo.git#v1:sub" env \
	GIT_SSH_COMMAND="$S/fake-ssh" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/ssh1" \
	"ssh://git@example.invalid$S/git/repo.git#v1:sub"
check "  /hello is the tag's" test "$(built "$S/ssh1" hello)" = v1
check "git@example.invalid:repo.git#main:sub (scp-like)" env \
	GIT_SSH_COMMAND="$S/fake-ssh" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/ssh2" "git@example.invalid:repo.git#main:sub"
check "  /hello is the branch's" test "$(built "$S/ssh2" hello)" = v2

check "buildx's query form: ?tag=v1&subdir=sub" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/q1" "$GURL?tag=v1&subdir=sub"
check "  the same manifest as #v1:sub" test \
	"$(jq -r '.manifests[0].digest' "$S/g1/index.json")" = \
	"$(jq -r '.manifests[0].digest' "$S/q1/index.json")"
check "?branch=main&subdir=su%62 (percent-decoded)" $H build \
	--progress quiet -o "type=oci,tar=false,dest=$S/q2" \
	"$GURL?branch=main&subdir=su%62"
check "  /hello is the branch's" test "$(built "$S/q2" hello)" = v2
check "?checksum=FULL-HASH alone fetches that commit" $H build \
	--progress quiet -o "type=oci,tar=false,dest=$S/q3" \
	"$GURL?checksum=$V1&subdir=sub"
check "  /hello is that commit's" test "$(built "$S/q3" hello)" = v1
build_fails checksum "git context '$GURL': checked out commit $(git -C "$G" rev-parse main), not checksum ${V1%????????????????????????????????}" \
	"$GURL?branch=main&checksum=${V1%????????????????????????????????}"
build_fails querykey "hoist takes ref, branch, tag, checksum, commit and subdir, not query 'keep-git-dir=1'" \
	"$GURL?tag=v1&keep-git-dir=1"
build_fails tworefs "one ref, branch or tag; a second query 'branch=main'" \
	"$GURL?tag=v1&branch=main"
build_fails both "a fragment (#REF:SUBDIR) or a query, not both" \
	"$GURL?tag=v1#v1"
build_fails badref "git clone of '$GURL' failed: fatal: couldn't find remote ref nope" \
	"$GURL#nope:sub"
build_fails dashref "invalid git context '$GURL': a ref cannot start with '-'" \
	"$GURL#--upload-pack=touch $S/pwned:sub"
check "  nothing ran" test ! -e "$S/pwned"
build_fails nosub "git context '$GURL': subdirectory 'nope' is not a directory" \
	"$GURL#v1:nope"
build_fails escape "git context '$GURL': subdirectory 'escape' is not a directory" \
	"$GURL#v1:escape"
build_fails hostdf "repo/dfl/etc/passwd': No such file or directory" "$GURL#v1:dfl"
build_fails norepo "git clone of 'git://127.0.0.1:$GP/none.git' failed: fatal:" \
	"git://127.0.0.1:$GP/none.git"
# a submodule (served by the same git daemon), on a branch of its own
git init -q -b main "$S/lib"
echo inlib >"$S/lib/lib.txt"
git -C "$S/lib" add -A
git -C "$S/lib" -c user.email=t@example.com -c user.name=t commit -qm lib
git clone -q --bare "$S/lib" "$S/git/lib.git"
git -C "$G" checkout -q -b withsub
git -C "$G" submodule -q add \
	"git://127.0.0.1:$GP/lib.git" lib
printf 'FROM scratch\nCOPY lib/lib.txt /lib.txt\n' >"$G/Dockerfile.sub"
git -C "$G" add -A
git -C "$G" commit -qm withsub
git -C "$G" push -q "$S/git/repo.git" withsub
git -C "$G" checkout -q main
check "a branch with a submodule: #withsub, -f Dockerfile.sub" $H build \
	--progress quiet -f Dockerfile.sub -o "type=oci,tar=false,dest=$S/sm" \
	"$GURL#withsub"
check "  the submodule's file is in the context" \
	test "$(built "$S/sm" lib.txt)" = inlib

check "no scratch directory is left in the store" sh -c "
	! ls -a $HOIST_ROOT | grep -q hoist-tmp"

# ---- tarball and Dockerfile URLs ----
W=$S/www
mkdir -p "$W" "$S/tctx/d"
echo fromtar >"$S/tctx/d/f"
printf 'FROM scratch\nCOPY d /d/\nCOPY . /all/\n' >"$S/tctx/Dockerfile"
tar -C "$S/tctx" -czf "$W/ctx.tar.gz" .
tar -C "$S/tctx" -cf - . | zstd -q >"$W/ctx.tar.zst"
tar -C "$S/tctx" -cf "$W/ctx.tar" .
printf 'FROM scratch\nLABEL from=url\n' >"$W/Dockerfile.txt"
# one Last-Modified for all: the context root's time (see dfcontext.c)
touch -d '2021-01-01 00:00:00 UTC' "$W"/ctx.*
check "an https file server on 127.0.0.1" fs_start TS "$W" tls
HOIST_CERTS_D=$S/certs.d
export HOIST_CERTS_D
mkdir -p "$HOIST_CERTS_D/$TS_ADDR"
cp "$REG_PKI/ca.crt" "$HOIST_CERTS_D/$TS_ADDR/ca.crt"

for x in tar.gz tar.zst tar; do
	check "build $TS_URL/ctx.$x" $H build --progress quiet \
		-o "type=oci,tar=false,dest=$S/t-$x" "$TS_URL/ctx.$x"
	check "  the tarball's files are the context" \
		test "$(built "$S/t-$x" d/f)" = fromtar
done
check "  the same image from each compression" sh -c "
	[ \$(jq -r '.manifests[0].digest' $S/t-tar.gz/index.json) = \
	  \$(jq -r '.manifests[0].digest' $S/t-tar.zst/index.json) ]"
all_cached "a rebuild from the same tarball: both COPY steps CACHED" 2 "$S/t2" \
	"$TS_URL/ctx.tar.gz"
check "a plain-text URL is the Dockerfile" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/t3" "$TS_URL/Dockerfile.txt"
check "  its LABEL is in the config" sh -c "
	m=\$(jq -r '.manifests[0].digest' $S/t3/index.json | cut -d: -f2) &&
	c=\$(jq -r '.config.digest' $S/t3/blobs/sha256/\$m | cut -d: -f2) &&
	jq -e '.config.Labels.from == \"url\"' $S/t3/blobs/sha256/\$c"
printf 'FROM scratch\nCOPY Dockerfile.txt /x\n' >"$W/Dockerfile.copy"
build_fails emptyctx "Dockerfile:2: 'Dockerfile.txt': not found" \
	"$TS_URL/Dockerfile.copy"
build_fails 404 "context URL: GET '$TS_URL/nothere.tar.gz': invalid response status 404" \
	"$TS_URL/nothere.tar.gz"

# ---- Git over https (smart HTTP: git http-backend behind fileserver.py) ----
git clone -q --bare "$G" "$W/repo.git"
check "build $TS_URL/repo.git#v1:sub (git with the run's CA)" env \
	GIT_SSL_CAINFO="$REG_PKI/ca.crt" $H build --progress quiet \
	-o "type=oci,tar=false,dest=$S/h1" "$TS_URL/repo.git#v1:sub"
check "  /hello is the tag's" test "$(built "$S/h1" hello)" = v1
check "  the same manifest as from git://" test \
	"$(jq -r '.manifests[0].digest' "$S/g1/index.json")" = \
	"$(jq -r '.manifests[0].digest' "$S/h1/index.json")"
build_fails noca "git clone of '$TS_URL/repo.git' failed: fatal: unable to access" \
	"$TS_URL/repo.git#v1:sub"
SECRET_URL=https://user:s3cr3t@$TS_ADDR/repo.git
: >"$T_LOG"
if GIT_SSL_CAINFO="$REG_PKI/ca.crt" $H build --progress quiet \
	-o "type=oci,dest=$S/cred.tar" "$SECRET_URL#nope" >"$T_LOG" 2>&1; then
	not_ok "a bad ref with a password in the URL fails (it succeeded)"
elif grep -q s3cr3t "$T_LOG" ||
	! grep -qF "https://xxxxx@$TS_ADDR/repo.git" "$T_LOG"; then
	not_ok "a bad ref with a password in the URL: the message hides it"
else
	ok "a bad ref with a password in the URL: the message hides it"
fi

# ---- standard input ----
check "a tarball on standard input" sh -c "
	$H build --progress quiet -o type=oci,tar=false,dest=$S/s1 - \
	<$W/ctx.tar.gz"
check "  its files are the context" test "$(built "$S/s1" d/f)" = fromtar
check "a Dockerfile on standard input" sh -c "
	$H build --progress quiet -o type=oci,tar=false,dest=$S/s2 - \
	<$W/Dockerfile.txt"
build_fails stdin2 "cannot both be standard input" -f - -

# SIGTERM while the scratch directory exists (hoist reading a fifo)
mkfifo "$S/fifo"
$HOIST build --progress quiet -o "type=oci,dest=$S/term.tar" - \
	<"$S/fifo" >"$S/term.log" 2>&1 &
TP=$!
exec 3>"$S/fifo"
n=0
until ls -a "$HOIST_ROOT" | grep -q hoist-tmp || [ $n -ge 100 ]; do
	sleep 0.05
	n=$((n + 1))
done
check "a scratch directory exists while the context is read" sh -c "
	ls -a $HOIST_ROOT | grep -q hoist-tmp"
kill -TERM "$TP"
wait "$TP"
TS_RC=$?
exec 3>&-
check "  SIGTERM: the build fails and removes it" sh -c "
	[ $TS_RC -ne 0 ] && ! ls -a $HOIST_ROOT | grep -q hoist-tmp &&
	[ ! -e $S/term.tar ]"

done_testing
