#!/bin/sh
# dockerfile-compress.sh: the layers a Dockerfile build makes are in the
# compression its output asks, as BuildKit makes them; the FROM image's
# layers stay as they are. Checked on what a real docker-registry serves
# (skopeo inspect --raw, skopeo copy verifying every digest) and on OCI
# layouts:
#  - compression=zstd: the base image's two layers gzip, the COPY layers
#    zstd; every diff_id is the sha256 of its decompressed layer;
#  - compression=estargz: the COPY layers carry the TOC digest and the
#    uncompressed size (estargz-check.py --strict reads them back), and a
#    stage copied whole (COPY --from=files /) brings no TOC or landmark;
#  - the per-instruction cache: a gzip build's steps are never reused by
#    a zstd or an eStargz build (not CACHED, their own media types), and
#    a second build of each is CACHED to the same digest;
#  - two outputs: the first image output's compression makes the layers,
#    a second output asking another gets the build's layers (not the
#    base's) recompressed, diff_ids fixed for eStargz; a gzip or local
#    output next to an eStargz one gets no eStargz file in its layers or
#    tree.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo jq tar zstd python3 timeout
. "$(dirname "$0")/registry.sh"
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 120 $HOIST"
SK="timeout 60 skopeo --insecure-policy"
CHECK="python3 $HOIST_SRCDIR/tests/integration/estargz-check.py"
GZ=application/vnd.oci.image.layer.v1.tar+gzip
ZS=application/vnd.oci.image.layer.v1.tar+zstd
TOC=containerd.io/snapshot/stargz/toc.digest
USIZE=io.containers.estargz.uncompressed-size

# manifest LAYOUT, config LAYOUT: an OCI layout's only image
manifest() {
	m=$(jq -r '.manifests[0].digest' "$1/index.json") &&
		cat "$1/blobs/sha256/${m#sha256:}"
}
config() {
	c=$(manifest "$1" | jq -r .config.digest) &&
		cat "$1/blobs/sha256/${c#sha256:}"
}
# raw REF: the manifest the registry serves for REF, also in S/raw.json;
# fails when there is none (jq -e passes on empty input)
raw() {
	$SK inspect --tls-verify=false --raw "docker://$1" >"$S/raw.json" &&
		[ -s "$S/raw.json" ] && cat "$S/raw.json"
}
# raw_is REF FILTER [JQ-ARGS...]: FILTER holds on REF's manifest
raw_is() {
	r=$1
	shift
	raw "$r" >/dev/null && jq -e "$@" "$S/raw.json" >/dev/null
}
# mts_of LAYOUT: its layer media types, one line
mts_of() { manifest "$1" | jq -c '[.layers[].mediaType]'; }
# pull REF LAYOUT: skopeo copies REF (checking every blob's digest)
pull() {
	rm -rf "$2"
	$SK copy --src-tls-verify=false "docker://$1" "oci:$2:x" >/dev/null
}
# diffids_ok LAYOUT: each layer, decompressed as its media type says,
# hashes to the config's diff_id
diffids_ok() {
	n=$(manifest "$1" | jq '.layers | length')
	[ "$n" -gt 0 ] || return 1
	i=0
	while [ "$i" -lt "$n" ]; do
		l=$(manifest "$1" | jq -r ".layers[$i].digest")
		case $(manifest "$1" | jq -r ".layers[$i].mediaType") in
		*zstd) dec="zstd -dc" ;;
		*gzip) dec="gzip -dc" ;;
		*) dec=cat ;;
		esac
		d=$($dec "$1/blobs/sha256/${l#sha256:}" | sha256sum | cut -d' ' -f1)
		config "$1" | jq -e --arg d "sha256:$d" --argjson i "$i" \
			'.rootfs.diff_ids[$i] == $d' >/dev/null || {
			echo "layer $i: diff_id is not sha256:$d"
			return 1
		}
		i=$((i + 1))
	done
}
# esgz_ok LAYOUT N: estargz-check.py --strict passes on its N eStargz
# layers (TOC, chunks, annotations, diff_ids against the config)
esgz_ok() {
	$CHECK --strict "$1" 2>"$S/check.err" || { cat "$S/check.err"; return 1; }
	[ "$(grep -c '^ok' "$S/check.err")" -eq "$2" ]
}

# a gzip base image of two layers
mkdir -p "$S/b1/etc" "$S/b2/usr/bin"
echo one >"$S/b1/etc/one"
echo two >"$S/b2/usr/bin/two"
check "a gzip base image base:1 of two layers" $H build --progress quiet \
	--rootfs "$S/b1" --rootfs "$S/b2" -t base:1 -o type=image

C=$S/ctx
mkdir -p "$C/site"
echo app >"$C/app"
echo index >"$C/site/index.html"
cat >"$C/Dockerfile" <<'EOF'
FROM scratch AS files
COPY site /site/
FROM base:1
COPY app /bin/app
COPY --from=files / /files/
EOF
sleep 1 # files as new as a build are not trusted by the cache

check "plain registry starts" reg_start_plain P
P=$P_ADDR
# build NAME ARGS...: plain progress in S/NAME.err
build() {
	b=$1
	shift
	$H build --progress plain --insecure "$@" "$C" 2>"$S/$b.err"
}
# cached NAME: how many steps build NAME took from the cache
cached() { grep -cE '^#[0-9]+ CACHED$' "$S/$1.err" || true; }

check "gzip (the default) into an OCI layout: the cache records gzip" \
	build gz -o "type=oci,tar=false,dest=$S/gz"
check "  four layers, all gzip" \
	test "$(mts_of "$S/gz")" = "[\"$GZ\",\"$GZ\",\"$GZ\",\"$GZ\"]"
BASE0=$(manifest "$S/gz" | jq -r '.layers[0].digest')
BASE1=$(manifest "$S/gz" | jq -r '.layers[1].digest')
BASES="--arg a $BASE0 --arg b $BASE1"
SAME_BASE='.layers[0].digest == $a and .layers[1].digest == $b'

# ---- zstd ----
check "compression=zstd pushed to the registry" \
	build zstd -o "type=registry,name=$P/df/app:zstd,compression=zstd"
check "  the base's layers gzip, the COPY layers zstd" raw_is "$P/df/app:zstd" \
	"[.layers[].mediaType] == [\"$GZ\",\"$GZ\",\"$ZS\",\"$ZS\"]"
# shellcheck disable=SC2086
check "  the base layers are the base image's blobs" \
	raw_is "$P/df/app:zstd" $BASES "$SAME_BASE"
check "  no step came from the gzip build's cache" test "$(cached zstd)" -eq 0
check "  skopeo copies it back, every digest verified" \
	pull "$P/df/app:zstd" "$S/rz"
check "  every diff_id is its decompressed layer's sha256" diffids_ok "$S/rz"
check "compression=zstd,compression-level=19: built, not the level-3 record" \
	build z19 -o "type=oci,tar=false,dest=$S/z19,compression=zstd,compression-level=19"
check "  no step CACHED" test "$(cached z19)" -eq 0

# ---- eStargz ----
check "compression=estargz pushed to the registry" \
	build esgz -o "type=registry,name=$P/df/app:esgz,compression=estargz"
check "  no step came from the gzip build's cache" test "$(cached esgz)" -eq 0
check "  the base's layers plain gzip, the COPY layers annotated" \
	raw_is "$P/df/app:esgz" --arg toc "$TOC" --arg us "$USIZE" "
	[.layers[].mediaType] == [\"$GZ\",\"$GZ\",\"$GZ\",\"$GZ\"] and
	(.layers[0:2] | all(.annotations == null)) and
	(.layers[2:] | all(.annotations[\$toc] | startswith(\"sha256:\"))) and
	(.layers[2:] | all(.annotations[\$us] | test(\"^[0-9]+\$\")))"
check "  skopeo copies it back, every digest verified" \
	pull "$P/df/app:esgz" "$S/re"
check "  estargz-check: TOC, chunks, annotations and diff_ids (2 layers)" \
	esgz_ok "$S/re" 2
t_no_toc() {
	l=$(manifest "$S/re" | jq -r '.layers[3].digest')
	gzip -dc "$S/re/blobs/sha256/${l#sha256:}" | tar -tf - >"$S/last.ls" &&
		grep -qx 'files/site/index.html' "$S/last.ls" &&
		! grep -E '^files/(stargz.index.json|\.no\.prefetch\.landmark)' "$S/last.ls"
}
check "  COPY --from=files / brings the stage's files, not its eStargz TOC or landmark" t_no_toc

# ---- the cache, again ----
# again NAME COMPRESSION FIRST: a second push in COMPRESSION takes every
# step from the cache and gives the manifest the first push (tag FIRST) got
again() {
	build "$1" -o "type=registry,name=$P/df/app:$1,compression=$2" &&
		[ "$(cached "$1")" -eq 3 ] &&
		[ "$(raw "$P/df/app:$1" | sha256sum)" = "$(raw "$P/df/app:$3" | sha256sum)" ]
}
check "zstd again: every step CACHED, the same manifest" again zstd2 zstd zstd
t_gzip_again() {
	build gz2 -o "type=oci,tar=false,dest=$S/gz2" && [ "$(cached gz2)" -eq 3 ] &&
		[ "$(jq -r '.manifests[0].digest' "$S/gz2/index.json")" = \
			"$(jq -r '.manifests[0].digest' "$S/gz/index.json")" ]
}
check "gzip again: every step CACHED, the same digest" t_gzip_again
check "estargz again: every step CACHED, the same manifest" again esgz2 estargz esgz

# ---- two outputs ----
check "an OCI tar with zstd and a gzip registry push" \
	build two -o "type=oci,dest=$S/two.tar,compression=zstd" \
	-o "type=registry,name=$P/df/app:two"
mkdir -p "$S/two"
tar -xf "$S/two.tar" -C "$S/two"
check "  the OCI tar: base gzip, COPY layers zstd" \
	test "$(mts_of "$S/two")" = "[\"$GZ\",\"$GZ\",\"$ZS\",\"$ZS\"]"
# shellcheck disable=SC2086
check "  the registry: every layer gzip, the base's blobs as they were" \
	raw_is "$P/df/app:two" $BASES \
	"[.layers[].mediaType] == [\"$GZ\",\"$GZ\",\"$GZ\",\"$GZ\"] and $SAME_BASE"
check "  the registry's COPY layers are not the OCI tar's blobs" raw_is \
	"$P/df/app:two" --arg z "$(manifest "$S/two" | jq -r '.layers[2].digest')" \
	'.layers[2].digest != $z'
check "  skopeo copies the push back" pull "$P/df/app:two" "$S/rt"
check "  its diff_ids check out" diffids_ok "$S/rt"
check "  and so do the OCI tar's" diffids_ok "$S/two"
t_same_ids() {
	a=$(config "$S/two" | jq -c .rootfs.diff_ids) &&
		b=$(config "$S/rt" | jq -c .rootfs.diff_ids) &&
		[ -n "$a" ] && [ "$a" = "$b" ]
}
check "  both configs list the same diff_ids" t_same_ids
check "a gzip OCI layout and an eStargz push" \
	build two-esgz -o "type=oci,tar=false,dest=$S/two-g" \
	-o "type=registry,name=$P/df/app:two-esgz,compression=estargz"
# shellcheck disable=SC2086
check "  the push: the COPY layers made eStargz, the base's kept" \
	raw_is "$P/df/app:two-esgz" $BASES --arg toc "$TOC" "$SAME_BASE and
	(.layers[0:2] | all(.annotations == null)) and
	(.layers[2:] | all(.annotations[\$toc] | startswith(\"sha256:\")))"
check "  skopeo copies it back" pull "$P/df/app:two-esgz" "$S/rte"
check "  estargz-check: diff_ids fixed in the config (2 layers)" \
	esgz_ok "$S/rte" 2
check "an eStargz push and a gzip OCI layout" \
	build esgz-gz -o "type=registry,name=$P/df/app:esgz-gz,compression=estargz" \
	-o "type=oci,tar=false,dest=$S/esgz-gz"
check "  the push: COPY layers eStargz" raw_is "$P/df/app:esgz-gz" \
	--arg toc "$TOC" '.layers[2:] | all(.annotations[$toc] | startswith("sha256:"))'
check "  skopeo copies it back" pull "$P/df/app:esgz-gz" "$S/reg"
check "  estargz-check: the converted layers and diff_ids (2 layers)" \
	esgz_ok "$S/reg" 2
t_plain_gzip() {
	diffids_ok "$S/esgz-gz" || return 1
	for l in $(manifest "$S/esgz-gz" | jq -r '.layers[2:][].digest'); do
		gzip -dc "$S/esgz-gz/blobs/sha256/${l#sha256:}" | tar -tf - >"$S/l.ls" || return 1
		if grep -E '(^|/)(stargz.index.json|\.no\.prefetch\.landmark)$' "$S/l.ls"; then
			return 1
		fi
	done
}
check "  the OCI layout's COPY layers are plain gzip: no TOC or landmark file" t_plain_gzip
check "an eStargz push and a local directory" \
	build loc -o "type=registry,name=$P/df/app:loc,compression=estargz" \
	-o "type=local,dest=$S/loc"
check "  the push is eStargz" raw_is "$P/df/app:loc" --arg toc "$TOC" \
	'.layers[3].annotations[$toc] | startswith("sha256:")'
t_local() {
	[ -f "$S/loc/bin/app" ] && [ -f "$S/loc/files/site/index.html" ] &&
		[ -f "$S/loc/etc/one" ] &&
		[ -z "$(find "$S/loc" -name stargz.index.json -o -name '.*prefetch.landmark')" ]
}
check "  the directory has the files and no eStargz TOC or landmark" t_local

done_testing
