#!/bin/sh
# dockerfile.sh: `hoist build CONTEXT` from Dockerfiles without RUN. A
# base image built into the store (with /etc/passwd, /etc/group and a
# merged-/usr bin -> usr/bin) is the FROM of a multi-stage Dockerfile
# that uses every instruction that does not execute; the config is read
# from the OCI layout with jq and the root filesystem unpacked with
# umoci, and both are checked against the expected values. Then:
# .dockerignore, globs, --chown by name and number, --chmod, destination
# rules, ADD of a local tar.gz and --checksum, --target, --build-arg,
# -f -, heredocs, two platforms (TARGETARCH), a CLI --label, the same
# input twice giving the same digest, and the errors (RUN,
# sources outside the context, missing files) naming file:line with
# nothing written at the destination.
. "$(dirname "$0")/lib.sh"
need jq tar umoci
"$HOIST" build --help 2>/dev/null | grep -q -- '--target' || {
	echo "1..0 # SKIP 'hoist build CONTEXT' does not exist"
	exit 0
}
export SOURCE_DATE_EPOCH=1700000000
S=$T_TMP
H="timeout 120 $HOIST"
. "$(dirname "$0")/dockerfile-lib.sh"

# unpack DIR OUT: the rootfs of the OCI layout DIR (tagged "latest")
unpack() { umoci unpack --image "$1:latest" "$2" >/dev/null; }

# the base image: users, groups, a merged /usr, a config to inherit
df_base "$S/base"
check "build the base image base:1 into the store" \
	$H build --progress quiet --rootfs "$S/base" --env BASE=1 \
	--label base=yes --cmd '["/bin/base"]' -t base:1 -o type=image

# the context
C=$S/ctx
df_context "$C"
SUM=$(sha256sum "$C/one.txt" | cut -d' ' -f1)

cat >"$C/Dockerfile" <<EOF
# syntax=docker/dockerfile:1
ARG VERSION=0.1
FROM scratch AS assets
COPY site /www/
COPY *.txt /txt/

FROM base:1
ARG VERSION
ARG FLAVOUR=plain
ENV APP_VERSION=\$VERSION APP_FLAVOUR=\$FLAVOUR
LABEL org.opencontainers.image.version=\$VERSION maintainer=me
MAINTAINER someone
COPY --from=assets /www /srv/www
COPY --from=assets /txt/one.txt /srv/
COPY --chown=app:staff --chmod=750 app /bin/app
COPY --chown=4242 one.txt two.txt /numeric/
COPY . /ctx/
ADD pkg.tar.gz /opt/
ADD --checksum=sha256:$SUM one.txt /checked
EOF
df_tail >>"$C/Dockerfile"

check "build the Dockerfile (FROM base:1, two stages) to an OCI layout" \
	$H build --progress quiet --build-arg VERSION=1.2 \
	-o "type=oci,tar=false,name=img,dest=$S/out" "$C"
cfg "$S/out" >"$S/cfg.json"
check "config: Env inherited and set, args expanded" jq -e '.config.Env ==
	["BASE=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	 "APP_VERSION=1.2", "APP_FLAVOUR=plain"] or
	.config.Env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	 "BASE=1", "APP_VERSION=1.2", "APP_FLAVOUR=plain"]' "$S/cfg.json"
check "config: Entrypoint, Cmd, WorkingDir, User, StopSignal" jq -e '
	.config.Entrypoint == ["/bin/app"] and .config.Cmd == ["serve"] and
	.config.WorkingDir == "/work/dir" and .config.User == "app" and
	.config.StopSignal == "SIGQUIT"' "$S/cfg.json"
check "config: Labels (inherited, LABEL), author (MAINTAINER)" jq -e '
	.config.Labels == {"base": "yes", "maintainer": "me",
	"org.opencontainers.image.version": "1.2"} and .author == "someone"' \
	"$S/cfg.json"
check "config: ExposedPorts, Volumes" jq -e '
	.config.ExposedPorts == {"53/udp": {}, "8080/tcp": {}} and
	.config.Volumes == {"/data": {}}' "$S/cfg.json"
check "config: Healthcheck, Shell, OnBuild" jq -e '
	.config.Healthcheck == {"Test": ["CMD", "/bin/app", "ping"],
	"Interval": 30000000000, "Timeout": 5000000000, "Retries": 2} and
	.config.Shell == ["/bin/ash", "-c"] and
	.config.OnBuild == ["COPY . /onbuild"]' "$S/cfg.json"
check "history: the base's entry, then BuildKit's texts, one layer per COPY/ADD/WORKDIR" jq -e '
	(.history | length) == 23 and
	([.history[] | select(.empty_layer != true)] | length) ==
	(.rootfs.diff_ids | length) and (.rootfs.diff_ids | length) == 10 and
	(.history[6].created_by == "COPY /www /srv/www # buildkit") and
	(.history[6].comment == "buildkit.dockerfile.v0") and
	(.history[1].created_by == "ARG VERSION=1.2") and
	(.history[1].empty_layer == true) and
	(.history[13].created_by == "WORKDIR /work/dir") and
	(.created == "2023-11-14T22:13:20Z")' "$S/cfg.json"

R=$S/bundle/rootfs
check "unpack the image with umoci" unpack "$S/out" "$S/bundle"
check "COPY --from: a directory's contents, a symlink kept" sh -c "
	[ \"\$(cat $R/srv/www/index.html)\" = index ] &&
	[ \"\$(cat $R/srv/www/css/main.css)\" = css ] &&
	[ \"\$(readlink $R/srv/www/home.html)\" = index.html ] &&
	[ \"\$(cat $R/srv/one.txt)\" = one ]"
check "COPY --chown=app:staff --chmod=750 through the bin -> usr/bin link" sh -c "
	[ -L $R/bin ] && [ \"\$(stat -c '%u:%g %a' $R/usr/bin/app)\" = '1234:50 750' ]"
check "COPY --chown=4242: the group is the uid; parents made 0755" sh -c "
	[ \"\$(stat -c '%u:%g %a' $R/numeric/one.txt)\" = '4242:4242 644' ] &&
	[ \"\$(stat -c '%u:%g %a' $R/numeric/two.txt)\" = '4242:4242 644' ] &&
	[ \"\$(stat -c '%u:%g %a' $R/numeric)\" = '4242:4242 755' ]"
check "COPY . honours .dockerignore (with an exception); context files are 0:0" sh -c "
	[ -f $R/ctx/keep.log ] && [ ! -e $R/ctx/debug.log ] &&
	[ ! -e $R/ctx/secret ] && [ -f $R/ctx/site/css/main.css ] &&
	[ \"\$(stat -c '%u:%g %a' $R/ctx/app)\" = '0:0 755' ]"
check "ADD pkg.tar.gz is extracted; ADD --checksum copies the file" sh -c "
	[ \"\$(cat $R/opt/pkg/file)\" = inpkg ] && [ ! -e $R/opt/pkg.tar.gz ] &&
	[ \"\$(cat $R/checked)\" = one ]"
check "COPY --from=assets /: a stage's root is 0755" sh -c "
	[ \"\$(stat -c %a $R/assets)\" = 755 ] && [ -f $R/assets/www/index.html ]"
check "WORKDIR made the directory; /tmp keeps its mode" sh -c "
	[ -d $R/work/dir ] && [ \"\$(stat -c %a $R/tmp)\" = 1777 ]"

check "the same input twice (a second apart) gives the same image digest" sh -c "
	$H build -q --build-arg VERSION=1.2 -o type=oci,dest=$S/o1.tar $C >$S/d1 &&
	sleep 1.1 &&
	$H build -q --build-arg VERSION=1.2 -o type=oci,dest=$S/o2.tar $C >$S/d2 &&
	[ -s $S/d1 ] && cmp $S/d1 $S/d2"
check "another --build-arg gives another digest" sh -c "
	$H build -q --build-arg VERSION=1.3 -o type=oci,dest=$S/o3.tar $C >$S/d3 &&
	! cmp -s $S/d1 $S/d3"
check "--target assets, -f -, --build-arg from the environment" sh -c "
	VERSION=9 $H build --progress quiet --target assets --build-arg VERSION \
	-f - -o type=oci,tar=false,name=img,dest=$S/assets $C <$C/Dockerfile &&
	umoci unpack --image $S/assets:latest $S/ab >/dev/null &&
	[ -f $S/ab/rootfs/www/index.html ] && [ ! -e $S/ab/rootfs/etc ] &&
	[ -f $S/ab/rootfs/txt/one.txt ]"

# heredocs (expanded, and quoted: not), a CLI --label, two platforms
mkdir -p "$S/hd"
echo amd >"$S/hd/file-amd64"
echo arm >"$S/hd/file-arm64"
cat >"$S/hd/Dockerfile" <<'EOT'
FROM scratch
ARG WHO=world
ARG TARGETARCH
COPY <<EOF /greeting
hello $WHO
EOF
COPY <<"EOF" /raw
hello $WHO
EOF
COPY file-$TARGETARCH /arch
EOT
check "heredocs: expanded, and not when the delimiter is quoted" sh -c "
	$H build --progress quiet -o type=local,dest=$S/hd-out $S/hd &&
	[ \"\$(cat $S/hd-out/greeting)\" = 'hello world' ] &&
	[ \"\$(cat $S/hd-out/raw)\" = 'hello \$WHO' ]"
check "--platform linux/amd64,linux/arm64 --label to an OCI layout" \
	$H build --progress quiet --platform linux/amd64,linux/arm64 \
	--label cli=yes -o "type=oci,tar=false,dest=$S/mp" "$S/hd"
mp_ok() {
	idx=$(jq -r '.manifests[0].digest' "$S/mp/index.json" | cut -d: -f2)
	[ "$(jq '.manifests | length' "$S/mp/blobs/sha256/$idx")" = 2 ] || return 1
	for p in amd64 arm64; do
		m=$(jq -r ".manifests[] | select(.platform.architecture == \"$p\") |
			.digest" "$S/mp/blobs/sha256/$idx" | cut -d: -f2)
		c=$(jq -r .config.digest "$S/mp/blobs/sha256/$m" | cut -d: -f2)
		jq -e ".architecture == \"$p\" and .config.Labels.cli == \"yes\"" \
			"$S/mp/blobs/sha256/$c" >/dev/null || return 1
		l=$(jq -r '.layers[-1].digest' "$S/mp/blobs/sha256/$m" | cut -d: -f2)
		[ "$(tar -xzOf "$S/mp/blobs/sha256/$l" arch)" = "${p%64}" ] ||
			return 1
	done
}
check "an index: each platform's config, and its file-\$TARGETARCH" mp_ok

# errors: one line with file:line, nothing written
E=$S/err
mkdir -p "$E"
echo x >"$E/x"
err_case() { df_fails "$E" "$@"; } # NAME DOCKERFILE-TEXT EXPECTED
err_case run 'FROM scratch
COPY x /x
RUN true' "Dockerfile.run:3: RUN needs a container runtime"
err_case outside 'FROM scratch
COPY ../x /x' "Dockerfile.outside:2: source '../x' is outside the build context"
err_case missing 'FROM scratch
COPY nothere /x' "Dockerfile.missing:2: 'nothere': not found"
err_case nomatch 'FROM scratch
COPY *.none /x/' "Dockerfile.nomatch:2: no source files"
err_case multi 'FROM scratch
COPY x x /x' "destination must be a directory and end with a /"
err_case checksum "FROM scratch
ADD --checksum=sha256:$SUM x /x" "digest mismatch"
err_case user 'FROM scratch
COPY --chown=nobody x /x' "unable to find user nobody"
err_case chmod 'FROM scratch
COPY --chmod=u+q x /x' "Dockerfile.chmod:2: invalid --chmod 'u+q'"

done_testing
