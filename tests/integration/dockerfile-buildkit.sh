#!/bin/sh
# dockerfile-buildkit.sh: hoist and BuildKit build the same Dockerfile.
# Debian's dockerd 20.10 (started from scratch by dockerd.sh: vfs, no
# bridge, no iptables) embeds BuildKit; Debian's own client
# (/usr/bin/docker, DOCKER_BUILDKIT=1) builds offline from a base image
# hoist built and `docker load`ed. The image configs (Env, Cmd,
# Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes,
# StopSignal, Healthcheck, Shell, OnBuild) and the root filesystems
# after `docker save` (unpacked with umoci, compared file by file: path,
# type, mode, owner, size, content, link target) must be the same.
. "$(dirname "$0")/lib.sh"
need jq umoci skopeo dockerd containerd python3
"$HOIST" build --help 2>/dev/null | grep -q -- '--target' || {
	echo "1..0 # SKIP 'hoist build CONTEXT' does not exist"
	exit 0
}
DOCKER=/usr/bin/docker
if [ ! -x "$DOCKER" ]; then
	[ "${CI:-}" = true ] && { echo "not ok 1 - $DOCKER missing"; exit 1; }
	echo "1..0 # SKIP Debian's $DOCKER is missing"
	exit 0
fi
. "$(dirname "$0")/dockerd.sh"
export SOURCE_DATE_EPOCH=1700000000
S=$T_TMP
H="timeout 120 $HOIST"
. "$(dirname "$0")/dockerfile-lib.sh"

# the fields compared, unset and empty ones dropped
FIELDS='.config | {Env, Cmd, Entrypoint, WorkingDir, User, Labels,
	ExposedPorts, Volumes, StopSignal, Healthcheck, Shell, OnBuild} |
	with_entries(select(.value != null and .value != "" and .value != []
	and .value != {}))'

df_base "$S/base"
check "hoist builds the base image (store and docker tarball)" \
	$H build --progress quiet --rootfs "$S/base" --env BASE=1 \
	--label base=yes --cmd '["/bin/base"]' -t example.test/base:1 \
	-o type=image -o "type=docker,dest=$S/base.tar"

C=$S/ctx
df_context "$C"
cat >"$C/Dockerfile" <<'EOT'
ARG VERSION=0.1
FROM scratch AS assets
COPY site /www/
COPY *.txt /txt/

FROM example.test/base:1
ARG VERSION
ARG FLAVOUR=plain
ENV APP_VERSION=$VERSION APP_FLAVOUR=$FLAVOUR
LABEL org.opencontainers.image.version=$VERSION maintainer=me
COPY --from=assets /www /srv/www
COPY --from=assets /txt/one.txt /srv/
COPY --chown=app:staff --chmod=750 app /bin/app
COPY --chown=4242 one.txt two.txt /numeric/
COPY . /ctx/
ADD pkg.tar.gz /opt/
COPY one.txt /renamed
COPY site/ ./rel/
EOT
df_tail >>"$C/Dockerfile"

check "dockerd is up" dockerd_start "$S/d"
check "docker load the base" $DK load -i "$S/base.tar"
check "BuildKit builds the Dockerfile" env DOCKER_BUILDKIT=1 \
	$DK build --build-arg VERSION=1.2 -t example.test/bk:1 "$C"
check "docker save, into an OCI layout" sh -c "
	$DK save -o $S/bk.tar example.test/bk:1 &&
	skopeo copy -q --format oci docker-archive:$S/bk.tar:example.test/bk:1 \
	oci:$S/bk:latest"
check "hoist builds the Dockerfile" $H build --progress quiet \
	--build-arg VERSION=1.2 -o "type=oci,tar=false,name=img,dest=$S/ho" "$C"
# BuildKit's config as docker save wrote it (skopeo's conversion to OCI
# would drop Healthcheck, Shell and OnBuild)
tar -xOf "$S/bk.tar" "$(tar -xOf "$S/bk.tar" manifest.json | jq -r '.[0].Config')" |
	jq -S "$FIELDS" >"$S/bk.json"
cfg "$S/ho" | jq -S "$FIELDS" >"$S/ho.json"
check "the configs agree (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck, Shell, OnBuild)" \
	diff -u "$S/bk.json" "$S/ho.json"
check "BuildKit's config has every field compared" jq -e '
	[.Env, .Cmd, .Entrypoint, .WorkingDir, .User, .Labels, .ExposedPorts,
	 .Volumes, .StopSignal, .Healthcheck, .Shell, .OnBuild] |
	all(. != null)' "$S/bk.json"
check "unpack both with umoci" sh -c "
	umoci unpack --image $S/bk:latest $S/bk-b >/dev/null &&
	umoci unpack --image $S/ho:latest $S/ho-b >/dev/null"
trees_agree() {
	[ -f "$S/bk-b/rootfs/srv/www/index.html" ] &&
		[ -f "$S/ho-b/rootfs/srv/www/index.html" ] &&
		python3 "$HOIST_SRCDIR/tests/integration/treecmp.py" --no-xattr \
			"$S/bk-b/rootfs" "$S/ho-b/rootfs"
}
check "the root filesystems agree file by file (type, mode, owner, size, content, link)" \
	trees_agree

# ONBUILD triggers: a base with triggers (built by hoist, loaded), and a
# Dockerfile FROM it built by both: the triggers run as if they followed
# the FROM line, and the child has no OnBuild
O=$S/onb
mkdir -p "$O/base" "$O/child"
echo trig >"$O/child/t.txt"
cat >"$O/base/Dockerfile" <<'EOT'
FROM example.test/base:1
ONBUILD COPY t.txt /onbuild/
ONBUILD ENV TRIGGERED=yes
ONBUILD WORKDIR /w
LABEL withtriggers=1
EOT
printf 'FROM example.test/onb:1\nCOPY t.txt after\n' >"$O/child/Dockerfile"
check "ONBUILD: hoist builds a base with triggers" $H build --progress quiet \
	-t example.test/onb:1 -o type=image -o "type=docker,dest=$S/onb.tar" \
	"$O/base"
check "ONBUILD: docker load it" $DK load -i "$S/onb.tar"
check "ONBUILD: BuildKit builds FROM it" env DOCKER_BUILDKIT=1 \
	$DK build -t example.test/onbc:1 "$O/child"
check "ONBUILD: hoist builds FROM it" $H build --progress quiet \
	-o "type=oci,tar=false,name=img,dest=$S/onbh" "$O/child"
$DK save -o "$S/onbc.tar" example.test/onbc:1
tar -xOf "$S/onbc.tar" "$(tar -xOf "$S/onbc.tar" manifest.json | jq -r '.[0].Config')" \
	>"$S/onbc.json"
HIST='[.history[] | {created_by, empty_layer: (.empty_layer // false)}]'
onb_cfg() {
	jq -S "$FIELDS" "$S/onbc.json" >"$S/onb-bk.json" &&
		cfg "$S/onbh" | jq -S "$FIELDS" >"$S/onb-ho.json" &&
		diff -u "$S/onb-bk.json" "$S/onb-ho.json" &&
		jq -e '.Env | index("TRIGGERED=yes")' "$S/onb-ho.json" >/dev/null
}
onb_hist() {
	jq -S "$HIST" "$S/onbc.json" >"$S/onb-bkh.json" &&
		cfg "$S/onbh" | jq -S "$HIST" >"$S/onb-hoh.json" &&
		diff -u "$S/onb-bkh.json" "$S/onb-hoh.json"
}
onb_tree() {
	skopeo copy -q --format oci \
		"docker-archive:$S/onbc.tar:example.test/onbc:1" \
		"oci:$S/onbbk:latest" &&
		umoci unpack --image "$S/onbbk:latest" "$S/onbbk-b" >/dev/null &&
		umoci unpack --image "$S/onbh:latest" "$S/onbh-b" >/dev/null &&
		[ -f "$S/onbh-b/rootfs/onbuild/t.txt" ] &&
		[ -f "$S/onbh-b/rootfs/w/after" ] &&
		python3 "$HOIST_SRCDIR/tests/integration/treecmp.py" --no-xattr \
			"$S/onbbk-b/rootfs" "$S/onbh-b/rootfs"
}
check "ONBUILD: the configs agree (the triggers' ENV and WORKDIR, no OnBuild)" onb_cfg
check "ONBUILD: the history entries agree (created_by, empty_layer)" onb_hist
check "ONBUILD: the root filesystems agree" onb_tree

done_testing
