#!/bin/sh
# dockerfile-features.sh: the Dockerfile features beyond the basics that
# dockerfile.sh covers, each checked on the image hoist writes (jq on the
# config, tar/umoci on the layers):
#  - ADD https://... and http://... from a static server on 127.0.0.1
#    (tests/integration/fileserver.py; TLS with the run's CA through
#    HOIST_CERTS_D): the file's name from the URL, mode 0600, owner 0:0,
#    mtime from Last-Modified, redirects (https to http refused),
#    --checksum verified, a mismatch failing in one line with nothing
#    written, COPY of a URL refused;
#  - --build-context NAME=DIR|docker-image://REF|oci-layout://DIR:TAG
#    and @DIGEST, used by FROM NAME and COPY --from=NAME (as buildx
#    documents it), and its errors; a context named as a stage is that
#    stage (FROM, COPY --from and --target get the context; the stage's
#    own RUN is never looked at);
#  - COPY --parents, with globs and the "/./" pivot, against the
#    Dockerfile reference's examples (dockerd 20.10 lacks it);
#  - symbolic --chmod (u+x, go-w, a=rX) on files, directories, heredocs;
#  - ONBUILD triggers of a base image and of an earlier stage, run as if
#    they followed the FROM line (BuildKit's own comparison is in
#    dockerfile-buildkit.sh), a RUN trigger failing in one line, and a
#    trigger's COPY --from=STAGE of a stage defined later, which is then
#    built first;
#  - layer file times kept with SOURCE_DATE_EPOCH, clamped only with
#    rewrite-timestamp=true.
. "$(dirname "$0")/lib.sh"
need jq tar umoci python3 openssl curl
. "$(dirname "$0")/registry.sh"
export SOURCE_DATE_EPOCH=1700000000
S=$T_TMP
H="timeout 120 $HOIST"

. "$(dirname "$0")/fileserver.sh"

# ---- ADD URL ----
W=$S/www
mkdir -p "$W/dl"
printf 'remote payload\n' >"$W/dl/tool.sh"
touch -d '2021-03-04 05:06:07 UTC' "$W/dl/tool.sh"
printf 'x' | gzip >"$W/dl/arch.tar.gz" # never unpacked
WSUM=$(sha256sum "$W/dl/tool.sh" | cut -d' ' -f1)
check "an https file server on 127.0.0.1" fs_start TS "$W" tls
check "a plain http file server on 127.0.0.1" fs_start PS "$W"
HOIST_CERTS_D=$S/certs.d
export HOIST_CERTS_D
mkdir -p "$HOIST_CERTS_D/$TS_ADDR"
cp "$REG_PKI/ca.crt" "$HOIST_CERTS_D/$TS_ADDR/ca.crt"

U=$S/url
mkdir -p "$U"
cat >"$U/Dockerfile" <<EOF
FROM scratch
ADD --checksum=sha256:$WSUM $TS_URL/dl/tool.sh /bin/
ADD $PS_URL/dl/tool.sh /plain/renamed
ADD --chmod=755 --chown=7:8 $TS_URL/redir/dl/tool.sh /redirected/
ADD $TS_URL/dl/arch.tar.gz /keep/
ADD $TS_URL/ /idx/
EOF
check "ADD https/http URLs: the build succeeds" $H build --progress quiet \
	-o "type=oci,tar=false,name=img,dest=$S/url-out" "$U"
check "unpack it with umoci" umoci unpack --image "$S/url-out:latest" "$S/ub"
R=$S/ub/rootfs
check "the file is named from the URL path, mode 0600, 0:0" sh -c "
	[ \"\$(cat $R/bin/tool.sh)\" = 'remote payload' ] &&
	[ \"\$(stat -c '%u:%g %a' $R/bin/tool.sh)\" = '0:0 600' ]"
check "its time is Last-Modified, not the epoch" sh -c "
	l=\$(jq -r '.manifests[0].digest' $S/url-out/index.json | cut -d: -f2) &&
	ld=\$(jq -r '.layers[0].digest' $S/url-out/blobs/sha256/\$l | cut -d: -f2) &&
	tar -tvzf $S/url-out/blobs/sha256/\$ld --full-time | grep 'bin/tool.sh' |
	grep -q '2021-03-04 05:06:07'"
check "plain http to a file destination" sh -c "
	[ \"\$(cat $R/plain/renamed)\" = 'remote payload' ]"
check "a redirect followed; --chmod and --chown applied" sh -c "
	[ \"\$(stat -c '%u:%g %a' $R/redirected/tool.sh)\" = '7:8 755' ]"
check "a remote archive is not unpacked" cmp "$R/keep/arch.tar.gz" "$W/dl/arch.tar.gz"
check "a URL without a file name gives __unnamed__" test -f "$R/idx/__unnamed__"
check "history: ADD with the URL" jq -e --arg u "$TS_URL/dl/tool.sh" '
	.history[0].created_by == "ADD \($u) /bin/ # buildkit"' \
	"$S/url-out/blobs/sha256/$(jq -r '.config.digest' \
	"$S/url-out/blobs/sha256/$(jq -r '.manifests[0].digest' \
	"$S/url-out/index.json" | cut -d: -f2)" | cut -d: -f2)"

. "$(dirname "$0")/dockerfile-lib.sh"
url_fails() { df_fails "$U" "$1" "FROM scratch
$2" "$3"; } # NAME LINE EXPECTED
BAD=0000000000000000000000000000000000000000000000000000000000000000
url_fails checksum "ADD --checksum=sha256:$BAD $TS_URL/dl/tool.sh /t" \
	"Dockerfile.checksum:2: digest mismatch for '$TS_URL/dl/tool.sh': got sha256:$WSUM"
url_fails 404 "ADD $TS_URL/nothere /t" \
	"Dockerfile.404:2: GET '$TS_URL/nothere': invalid response status 404"
url_fails downgrade "ADD $TS_URL/to/$PS_URL/dl/tool.sh /t" \
	"refusing the redirect from https to '$PS_URL/dl/tool.sh'"
url_fails copy "COPY $TS_URL/dl/tool.sh /t" \
	"Dockerfile.copy:2: source can't be a URL for COPY"
url_fails git "ADD git://127.0.0.1/x.git /t" "hoist fetches only http(s) URLs"
check "without the CA, TLS verification fails" sh -c "
	! HOIST_CERTS_D=$S/none $H build --progress quiet -f $U/Dockerfile \
	-o type=oci,dest=$S/noca.tar $U 2>$S/noca.err &&
	[ ! -e $S/noca.tar ] && grep -qi 'certificate' $S/noca.err"

# ---- --build-context ----
B=$S/bctx
mkdir -p "$B/ctx" "$B/files/sub" "$B/rf/etc"
echo f >"$B/files/sub/f"
chmod 640 "$B/files/sub/f"
echo base >"$B/rf/etc/base"
check "--build-context: a base image in the store and in an OCI layout" \
	$H build --progress quiet --rootfs "$B/rf" --env FROMCTX=1 -t ctxbase:7 \
	-o type=image -o "type=oci,tar=false,name=ctxbase:7,dest=$B/lay"
LD=$(jq -r '.manifests[0].digest' "$B/lay/index.json")
cat >"$B/ctx/Dockerfile" <<'EOF'
FROM img AS a
COPY --from=files sub /files/
FROM lay AS b
COPY --from=a /files /x
COPY --from=files . /all/
FROM dirbase
COPY --from=laydigest /etc/base /b2
COPY --from=b /x /x
EOF
BC="--build-context files=$B/files --build-context img=docker-image://ctxbase:7
	--build-context lay=oci-layout://$B/lay:7
	--build-context laydigest=oci-layout://$B/lay@$LD
	--build-context dirbase=$B/files"
# shellcheck disable=SC2086
check "  the build succeeds (no image named img, lay... exists)" \
	$H build --progress quiet $BC -o "type=oci,tar=false,name=img,dest=$S/bc-out" "$B/ctx"
check "  unpack it" umoci unpack --image "$S/bc-out:latest" "$S/bcb"
R=$S/bcb/rootfs
check "  FROM a directory: its files (0:0, modes kept) as the first layer" sh -c "
	[ \"\$(stat -c '%u:%g %a' $R/sub/f)\" = '0:0 640' ]"
check "  COPY --from=docker-image and oci-layout@DIGEST contexts" sh -c "
	[ \"\$(cat $R/b2)\" = base ] && [ \"\$(cat $R/x/f)\" = f ]"
check "  FROM a directory starts as scratch (PATH, no base config)" jq -e '
	.config.Env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' \
	"$S/bc-out/blobs/sha256/$(jq -r '.config.digest' \
	"$S/bc-out/blobs/sha256/$(jq -r '.manifests[0].digest' \
	"$S/bc-out/index.json" | cut -d: -f2)" | cut -d: -f2)"
# shellcheck disable=SC2086
check "  --target b: FROM oci-layout://DIR:TAG keeps its config; COPY --from=DIR" sh -c "
	$H build --progress quiet $(echo $BC) --target b \
		-o type=oci,tar=false,name=img,dest=$S/bc-b $B/ctx &&
	umoci unpack --image $S/bc-b:latest $S/bcbb >/dev/null &&
	[ -f $S/bcbb/rootfs/etc/base ] && [ -f $S/bcbb/rootfs/all/sub/f ] &&
	[ -f $S/bcbb/rootfs/x/f ]"
bc_fails() { # DESCRIPTION EXPECTED ARGS...
	d=$1
	e=$2
	shift 2
	: >"$T_LOG"
	if $H build --progress quiet "$@" -o "type=oci,dest=$S/bcf.tar" \
		"$B/ctx" >>"$T_LOG" 2>&1; then
		not_ok "$d (it succeeded)"
	elif [ -e "$S/bcf.tar" ] || ! grep -q -- "$e" "$T_LOG"; then
		not_ok "$d: want '$e', nothing written"
	else
		ok "$d: $e"
	fi
}
bc_fails "--build-context without a name" "invalid --build-context '=x'" \
	--build-context =x
bc_fails "--build-context with a missing directory" \
	"'$B/none' is not a directory" --build-context "x=$B/none"
bc_fails "--build-context git://" "hoist takes a directory" \
	--build-context x=git://127.0.0.1/r
bc_fails "--build-context oci-layout with a missing tag" \
	"Dockerfile:3: import '$B/lay': reference 'nope' not found" \
	--build-context img=docker-image://ctxbase:7 \
	--build-context "files=$B/files" \
	--build-context "lay=oci-layout://$B/lay:nope" --target b

# a context with a stage's name is that stage; alone, its RUN fails
OVR='FROM scratch AS base
RUN false
FROM base
COPY --from=base /etc/base /copied'
df_fails "$B/ctx" ovr "$OVR" \
	"Dockerfile.ovr:2: RUN needs a container runtime; hoist builds without one"
check "--build-context base=docker-image:// replaces stage base" \
	$H build --progress quiet -f "$B/ctx/Dockerfile.ovr" \
	--build-context base=docker-image://ctxbase:7 \
	-o "type=oci,tar=false,name=img,dest=$S/ovr" "$B/ctx"
check "  FROM base and COPY --from=base read the image" sh -c "
	umoci unpack --image $S/ovr:latest $S/ovrb >/dev/null &&
	[ \"\$(cat $S/ovrb/rootfs/copied)\" = base ] &&
	[ -f $S/ovrb/rootfs/etc/base ]"
cfg "$S/ovr" >"$S/ovr.json"
check "  and its config (FROMCTX=1) is the base's" sh -c "
	[ -s $S/ovr.json ] && jq -e '.config.Env | index(\"FROMCTX=1\")' $S/ovr.json"
printf 'FROM scratch AS base\nRUN false\nFROM base\nCOPY --from=base sub/f /copied\n' \
	>"$B/ctx/Dockerfile.ovrdir"
check "--build-context base=DIR replaces stage base" sh -c "
	$H build --progress quiet -f $B/ctx/Dockerfile.ovrdir \
		--build-context base=$B/files -o type=local,dest=$S/ovrd $B/ctx &&
	[ \"\$(cat $S/ovrd/sub/f)\" = f ] && [ \"\$(cat $S/ovrd/copied)\" = f ]"
check "--target base gives the context's image" \
	$H build --progress quiet -f "$B/ctx/Dockerfile.ovr" --target base \
	--build-context base=docker-image://ctxbase:7 \
	-o "type=oci,tar=false,name=img,dest=$S/ovrt" "$B/ctx"
cfg "$S/ovrt" >"$S/ovrt.json"
check "  with the context's config and files" sh -c "
	[ -s $S/ovrt.json ] &&
	jq -e '.config.Env | index(\"FROMCTX=1\")' $S/ovrt.json >/dev/null &&
	umoci unpack --image $S/ovrt:latest $S/ovrtb >/dev/null &&
	[ -f $S/ovrtb/rootfs/etc/base ]"

# ---- COPY --parents ----
P=$S/parents
mkdir -p "$P/x/a" "$P/x/b" "$P/y/c"
echo 1 >"$P/x/a/f.txt"
echo 2 >"$P/x/b/f.txt"
echo 3 >"$P/y/c/f.txt"
echo 4 >"$P/y/c/g.md"
chmod 750 "$P/x/b"
cat >"$P/Dockerfile" <<'EOF'
FROM scratch
COPY x/a/f.txt y/c/f.txt /none/
COPY --parents x/a/f.txt y/c/f.txt /p1/
COPY --parents x/*/f.txt /p2/
COPY --parents ./x/./b/f.txt /p3/
COPY --parents y /p4/
COPY --parents ./y/./ /p5/
EOF
check "COPY --parents: the build succeeds" $H build --progress quiet \
	-o "type=local,dest=$S/parents-out" "$P"
(cd "$S/parents-out" && find . -mindepth 1 -printf '%p %m\n' | sort) >"$S/parents.ls"
cat >"$S/parents.want" <<'EOF'
./none 755
./none/f.txt 644
./p1 755
./p1/x 755
./p1/x/a 755
./p1/x/a/f.txt 644
./p1/y 755
./p1/y/c 755
./p1/y/c/f.txt 644
./p2 755
./p2/x 755
./p2/x/a 755
./p2/x/a/f.txt 644
./p2/x/b 750
./p2/x/b/f.txt 644
./p3 755
./p3/b 750
./p3/b/f.txt 644
./p4 755
./p4/y 755
./p4/y/c 755
./p4/y/c/f.txt 644
./p4/y/c/g.md 644
./p5 755
./p5/c 755
./p5/c/f.txt 644
./p5/c/g.md 644
EOF
check "  the reference's layout: paths kept (from the pivot), directories with their modes" \
	diff -u "$S/parents.want" "$S/parents.ls"
check "  without --parents, the second a.txt wins" \
	test "$(cat "$S/parents-out/none/f.txt")" = 3

# ---- symbolic --chmod ----
M=$S/chmod
mkdir -p "$M/tree/sub"
echo a >"$M/a"
chmod 644 "$M/a"
echo b >"$M/tree/b"
chmod 755 "$M/tree/b"
echo c >"$M/tree/sub/c"
chmod 666 "$M/tree/sub/c"
chmod 700 "$M/tree/sub"
cat >"$M/Dockerfile" <<'EOF'
FROM scratch
COPY --chmod=u+x,go-r a /a
COPY --chmod=a=rX tree /tree/
COPY --chmod=go-w tree /w/
COPY --chmod=0640 a /octal
COPY --chmod=g+w <<EOT /doc
doc
EOT
EOF
check "symbolic --chmod: the build succeeds" $H build --progress quiet \
	-o "type=oci,tar=false,name=img,dest=$S/chmod-out" "$M"
check "  unpack it" umoci unpack --image "$S/chmod-out:latest" "$S/cb"
R=$S/cb/rootfs
modes_ok() {
	for want in "a 700" "tree/b 555" "tree/sub 555" "tree/sub/c 444" \
		"w/b 755" "w/sub 700" "w/sub/c 644" "octal 640" "doc 664"; do
		got=$(stat -c %a "$R/${want% *}") || return 1
		[ "$got" = "${want#* }" ] || {
			echo "${want% *}: $got, want ${want#* }"
			return 1
		}
	done
}
check "  u+x,go-r, a=rX (X for directories and executables), go-w, octal, a heredoc's 0644 g+w" modes_ok

# ---- ONBUILD ----
N=$S/onb
mkdir -p "$N/base" "$N/child"
echo t >"$N/child/t.txt"
printf 'FROM scratch\nONBUILD COPY t.txt /from-trigger\nONBUILD ENV T=1\n' \
	>"$N/base/Dockerfile"
printf 'FROM scratch\nONBUILD RUN make\n' >"$N/base/Dockerfile.run"
check "ONBUILD: a base with triggers into the store" $H build --progress quiet \
	-t onb:1 -o type=image "$N/base"
check "  and one with a RUN trigger" $H build --progress quiet \
	-f "$N/base/Dockerfile.run" -t onbrun:1 -o type=image "$N/base"
cat >"$N/child/Dockerfile" <<'EOF'
FROM onb:1 AS mid
ENV AFTER=$T
ONBUILD COPY t.txt /from-stage-trigger
FROM mid
EOF
check "  a Dockerfile FROM it builds" $H build --progress quiet \
	-o "type=oci,tar=false,name=img,dest=$S/onb-out" "$N/child"
. "$(dirname "$0")/dockerfile-lib.sh"
check "  the base's triggers ran after FROM (ENV before AFTER=\$T), OnBuild is the stage's own, run by FROM mid" sh -c "
	umoci unpack --image $S/onb-out:latest $S/onbb >/dev/null &&
	[ -f $S/onbb/rootfs/from-trigger ] && [ -f $S/onbb/rootfs/from-stage-trigger ]"
cfg "$S/onb-out" >"$S/onb.json"
check "  config: T=1, AFTER=1, no OnBuild left; history has the triggers" jq -e '
	(.config.Env | index("T=1")) and (.config.Env | index("AFTER=1")) and
	.config.OnBuild == null and
	([.history[].created_by] | index("COPY t.txt /from-trigger # buildkit"))' \
	"$S/onb.json"
# a trigger copying from a stage defined after the one that runs it
printf 'FROM scratch\nONBUILD COPY --from=late /l.txt /from-late\n' \
	>"$N/base/Dockerfile.late"
check "  a base whose trigger copies from a stage 'late'" \
	$H build --progress quiet -f "$N/base/Dockerfile.late" -t onblate:1 \
	-o type=image "$N/base"
cat >"$N/child/Dockerfile.late" <<'EOF'
FROM onblate:1 AS app
COPY t.txt /t
FROM scratch AS parent
ONBUILD COPY --from=late /l.txt /from-late2
FROM parent AS app2
FROM scratch AS late
COPY t.txt /l.txt
EOF
check "  the base image's trigger: stage late is built first" sh -c "
	$H build --progress quiet -f $N/child/Dockerfile.late --target app \
		-o type=local,dest=$S/late1 $N/child &&
	[ \"\$(cat $S/late1/from-late)\" = t ] && [ -f $S/late1/t ]"
check "  an earlier stage's trigger: likewise" sh -c "
	$H build --progress quiet -f $N/child/Dockerfile.late --target app2 \
		-o type=local,dest=$S/late2 $N/child &&
	[ \"\$(cat $S/late2/from-late2)\" = t ]"
df_fails "$N/child" trigcycle 'FROM onblate:1 AS late' \
	"circular dependency detected on stage: late"
df_fails "$N/child" runtrig 'FROM scratch
COPY t.txt /t
FROM onbrun:1' "Dockerfile.runtrig:3: RUN needs a container runtime; hoist builds without one (in 'RUN make')"

df_fails "$N/child" missing 'FROM nosuch.invalid/x:1' \
	"Dockerfile.missing:1: image 'nosuch.invalid/x:1' is not in the staging area, and pull 'nosuch.invalid/x:1'"

# ---- SOURCE_DATE_EPOCH and layer file times ----
E=$S/epoch
mkdir -p "$E"
echo old >"$E/old.txt"
touch -d '2001-01-01 00:00:00 UTC' "$E/old.txt"
echo new >"$E/new.txt"
touch -d '2030-01-01 00:00:00 UTC' "$E/new.txt"
printf 'FROM scratch\nCOPY old.txt new.txt /f/\n' >"$E/Dockerfile"
layer_times() { # LAYOUT: the file times of the first layer, one per line
	m=$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)
	l=$(jq -r '.layers[0].digest' "$1/blobs/sha256/$m" | cut -d: -f2)
	tar -tvzf "$1/blobs/sha256/$l" --full-time | grep 'txt$' |
		awk '{print $4}' | sort
}
check "SOURCE_DATE_EPOCH alone: build" \
	$H build --progress quiet -o "type=oci,tar=false,dest=$S/e1" "$E"
layer_times "$S/e1" >"$S/e1.times"
check "  keeps the files' times (2001-01-01 and 2030-01-01)" sh -c "
	[ \"\$(tr '\n' ' ' <$S/e1.times)\" = '2001-01-01 2030-01-01 ' ]"
check "rewrite-timestamp=true clamps them to the epoch" sh -c "
	$H build --progress quiet \
	-o type=oci,tar=false,dest=$S/e2,rewrite-timestamp=true $E"
layer_times "$S/e2" >"$S/e2.times"
check "  2001-01-01 and 2023-11-14" sh -c "
	[ \"\$(tr '\n' ' ' <$S/e2.times)\" = '2001-01-01 2023-11-14 ' ]"

done_testing
