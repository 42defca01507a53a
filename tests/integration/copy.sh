#!/bin/sh
# copy.sh: `hoist copy` mirrors a two-platform image between repositories
# of one registry (blobs mounted, nothing uploaded), between registries
# (plain -> TLS, TLS -> TLS with --ca-cert), one platform of it, and into
# oci:, oci-archive: and docker-archive:, read back by skopeo, umoci and
# oci-image-tool; archives written by skopeo and by hoist are imported into
# the store and into a registry; a corrupt or missing source fails with
# one error line and exit 1. Manifest bytes are compared with skopeo's
# view of the source (skopeo inspect --raw).
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo umoci oci-image-tool curl openssl python3 jq \
	timeout tar cmp
. "$(dirname "$0")/registry.sh"
"$HOIST" copy --help >/dev/null 2>&1 || {
	echo "1..0 # SKIP 'hoist copy' does not exist"
	exit 0
}
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 60 $HOIST"
SK="timeout 60 skopeo --insecure-policy"
NSTORE=0
# fresh_store: every copy starts from an empty staging area, so the pull
# side really downloads (the build's store would already hold every blob)
fresh_store() {
	NSTORE=$((NSTORE + 1))
	HOIST_ROOT=$S/store.$NSTORE
	export HOIST_ROOT
}
# count_req NAME FROM REGEX: requests in NAME's access log after line FROM
count_req() { reg_requests "$1" "$2" | grep -c "$3"; }
# one_error FILE: exactly one "hoist: error:" line and nothing else on it
one_error() {
	[ "$(grep -c '^hoist: error: ' "$1")" -eq 1 ] &&
		[ "$(grep -vc '^#' "$1")" -eq 1 ]
}

check "plain registry starts" reg_start_plain P
P=$P_ADDR
mktree "$S/tree" --no-special
mkdir -p "$S/arm/opt" && echo arm-only >"$S/arm/opt/armfile"

check "build a two-platform image (arm64 has one more layer) into P/src/app:1" \
	$H build --progress quiet --rootfs "$S/tree" --layer "linux/arm64=$S/arm" \
	--platform linux/amd64,linux/arm64 \
	-o "type=registry,name=$P/src/app:1,registry.insecure=true"

# skopeo's view of the source: the index and each child, as bytes
SKP="--tls-verify=false"
check "skopeo reads the source index" sh -c \
	"$SK inspect --raw $SKP docker://$P/src/app:1 >'$S/src.index'"
check "the source is an index of two manifests" \
	jq -en 'input | ((.manifests | length) == 2 and (.mediaType | test("index")))' \
	"$S/src.index"
for c in $(jq -r '.manifests[].digest' "$S/src.index"); do
	$SK inspect --raw $SKP "docker://$P/src/app@$c" >"$S/src.${c#sha256:}"
done
AMD=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$S/src.index")
ARM=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$S/src.index")
# distinct blobs (configs and layers) of both platforms
NBLOBS=$(cat "$S"/src.[0-9a-f]* | jq -r '.config.digest, .layers[].digest' |
	sort -u | wc -l)
check "source: $NBLOBS distinct blobs (2 configs, 2 layers)" [ "$NBLOBS" -eq 4 ]

# same_as_src REF [SKOPEO-OPTS...]: REF's index and children are the
# source's bytes
same_as_src() {
	r=$1
	shift
	$SK inspect --raw "$@" "docker://$r" >"$S/got.index" &&
		cmp "$S/src.index" "$S/got.index" || return 1
	for c in $(jq -r '.manifests[].digest' "$S/src.index"); do
		$SK inspect --raw "$@" "docker://${r%:*}@$c" >"$S/got.child" &&
			cmp "$S/src.${c#sha256:}" "$S/got.child" || return 1
	done
}

# 1. within one registry: mounted, never uploaded
fresh_store
mark=$(reg_log_lines P)
check "copy P/src/app:1 -> P/dst/app:1" \
	$H copy --progress quiet --insecure "docker://$P/src/app:1" "docker://$P/dst/app:1"
n=$(count_req P "$mark" '^POST /v2/dst/app/blobs/uploads/?mount=sha256%3A[0-9a-f]*&from=src/app 201$')
if [ "$n" -eq "$NBLOBS" ]; then ok "every blob mounted from src/app ($n POST ?mount=&from=)"; else not_ok "$n blobs mounted, want $NBLOBS"; reg_requests P "$mark" | sed 's/^/# /'; fi
n=$(count_req P "$mark" '^\(PATCH\|PUT\) /v2/dst/app/blobs/')
if [ "$n" -eq 0 ]; then ok "no blob PATCH or PUT within one registry"; else not_ok "$n blob PATCH/PUT within one registry"; fi
n=$(count_req P "$mark" '^GET /v2/src/app/blobs/sha256:.* 200$')
if [ "$n" -eq 2 ]; then ok "only the 2 configs were downloaded, no layer (mounted without download)"; else not_ok "the pull fetched $n blobs, want the 2 configs"; fi
check "P/dst/app:1 has the source's index and manifests (bytes)" \
	same_as_src "$P/dst/app:1" $SKP
check "skopeo copies P/dst/app:1 (every blob hashed)" \
	$SK copy --all $SKP "docker://$P/dst/app:1" "dir:$S/dst-dir"

# again, same store: nothing is fetched or uploaded
mark=$(reg_log_lines P)
check "copy again" \
	$H copy --progress quiet --insecure "docker://$P/src/app:1" "docker://$P/dst/app:1"
n=$(count_req P "$mark" '^\(POST\|PATCH\|PUT\) /v2/dst/app/blobs/')
if [ "$n" -eq 0 ]; then ok "copy again skips every blob (no upload or mount)"; else not_ok "copy again made $n blob uploads"; fi
n=$(count_req P "$mark" '^HEAD /v2/dst/app/blobs/')
if [ "$n" -eq 0 ]; then ok "copy again checked no blob"; else not_ok "copy again: $n blob HEADs, want none"; fi
n=$(count_req P "$mark" '^HEAD /v2/dst/app/manifests/1 200$')
if [ "$n" -eq 1 ]; then ok "copy again: one manifest HEAD at the destination"; else not_ok "copy again: $n manifest HEADs at the destination"; fi
n=$(count_req P "$mark" '^GET /v2/src/app/blobs/')
if [ "$n" -eq 0 ]; then ok "copy again fetched no blob (the store had them)"; else not_ok "copy again fetched $n blobs"; fi

# 2. between registries: plain -> TLS (uploaded), TLS -> TLS (verified)
check "TLS registry starts" reg_start_tls TA
check "second TLS registry starts" reg_start_tls TB
fresh_store
mark=$(reg_log_lines TA)
check "copy plain P -> TLS TA (--insecure for P, --ca-cert for TA)" \
	$H copy --progress quiet --insecure --ca-cert "$TA_CA" \
	"docker://$P/src/app:1" "docker://$TA_ADDR/m/app:1"
n=$(count_req TA "$mark" '^PUT /v2/m/app/blobs/uploads/.* 201$')
if [ "$n" -eq "$NBLOBS" ]; then ok "TA received $n blobs"; else not_ok "TA received $n blobs, want $NBLOBS"; fi
n=$(count_req TA "$mark" 'mount=')
if [ "$n" -eq 0 ]; then ok "no mount across registries"; else not_ok "$n mounts across registries"; fi
check "TA/m/app:1 has the source's bytes" \
	same_as_src "$TA_ADDR/m/app:1" --cert-dir "$TA_CERTS"
fresh_store
check_fails "TLS -> TLS without the CA is refused" \
	$H copy --progress quiet "docker://$TA_ADDR/m/app:1" "docker://$TB_ADDR/m/app:1"
fresh_store
check "copy TLS TA -> TLS TB with --ca-cert (verified on both ends)" \
	$H copy --progress quiet --ca-cert "$TA_CA" \
	"docker://$TA_ADDR/m/app:1" "docker://$TB_ADDR/n/app:2"
check "TB/n/app:2 has the source's bytes" \
	same_as_src "$TB_ADDR/n/app:2" --cert-dir "$TB_CERTS"
check "skopeo copies TB/n/app:2 (every blob hashed)" \
	$SK copy --all --src-cert-dir "$TB_CERTS" "docker://$TB_ADDR/n/app:2" "dir:$S/tb-dir"

# 3. --platform: the root becomes that platform's manifest
fresh_store
check "copy --platform linux/arm64" \
	$H copy --progress quiet --insecure --platform linux/arm64 \
	"docker://$P/src/app:1" "docker://$P/one/app:arm"
check "the copied root is the arm64 manifest, byte for byte" sh -c "
	$SK inspect --raw $SKP docker://$P/one/app:arm >'$S/one.raw' &&
	cmp '$S/src.${ARM#sha256:}' '$S/one.raw'"
check "the registry serves it under the arm64 digest" sh -c "
	[ \"\$(curl -sI --max-time 10 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		http://$P/v2/one/app/manifests/arm | tr -d '\r' |
		sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')\" = '$ARM' ]"
n=$(jq '[.layers[]] | length' "$S/one.raw")
if [ "$n" -eq 2 ]; then ok "arm64 manifest has its two layers"; else not_ok "arm64 manifest has $n layers"; fi
check "the amd64 manifest was not copied" sh -c "
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		http://$P/v2/one/app/manifests/$AMD)\" = 404 ]"
check_fails "--platform with no such platform fails" \
	$H copy --progress quiet --insecure --platform linux/s390x \
	"docker://$P/src/app:1" "docker://$P/none/app:1"

# 4. layouts and archives
fresh_store
check "copy -> oci:DIR:v1 (every platform)" \
	$H copy --progress quiet --insecure "docker://$P/src/app:1" "oci:$S/od:v1"
check "skopeo sees the source index in oci:DIR:v1" sh -c "
	$SK inspect --raw 'oci:$S/od:v1' >'$S/od.raw' && cmp '$S/src.index' '$S/od.raw'"
check "skopeo copy --all oci:DIR:v1 -> dir: (every blob hashed)" \
	$SK copy --all "oci:$S/od:v1" "dir:$S/od-dir"
check "the children in dir: are the source's bytes" sh -c "
	cmp '$S/src.${AMD#sha256:}' '$S/od-dir/${AMD#sha256:}.manifest.json' &&
	cmp '$S/src.${ARM#sha256:}' '$S/od-dir/${ARM#sha256:}.manifest.json'"
check "oci-image-tool validate --type image (linux)" \
	oci-image-tool validate --type image --ref name=v1 --ref platform.os=linux "$S/od"
fresh_store
check "copy --platform linux/arm64 -> oci:DIR:arm" \
	$H copy --progress quiet --insecure --platform linux/arm64 \
	"docker://$P/src/app:1" "oci:$S/od1:arm"
check "oci-image-tool validate --type image" \
	oci-image-tool validate --type image --ref name=arm "$S/od1"
check "umoci unpack oci:DIR:arm" \
	umoci unpack --rootless --image "$S/od1:arm" "$S/bundle"
check "umoci's rootfs has both layers (tree and the arm64 file)" sh -c "
	cmp '$S/tree/data/random.bin' '$S/bundle/rootfs/data/random.bin' &&
	[ \"\$(cat '$S/bundle/rootfs/opt/armfile')\" = arm-only ]"

fresh_store
check "copy -> oci-archive:FILE:v1" \
	$H copy --progress quiet --insecure "docker://$P/src/app:1" "oci-archive:$S/oa.tar:v1"
check "skopeo sees the source index in the oci-archive" sh -c "
	$SK inspect --raw 'oci-archive:$S/oa.tar:v1' >'$S/oa.raw' && cmp '$S/src.index' '$S/oa.raw'"
check "skopeo copy --all oci-archive -> dir:" \
	$SK copy --all "oci-archive:$S/oa.tar:v1" "dir:$S/oa-dir"
check "the unpacked oci-archive validates" sh -c "
	mkdir -p '$S/oa-x' && tar -C '$S/oa-x' -xf '$S/oa.tar' &&
	oci-image-tool validate --type image --ref name=v1 --ref platform.os=linux '$S/oa-x'"

fresh_store
check "copy --platform linux/amd64 -> docker-archive:FILE:my/app:1" \
	$H copy --progress quiet --insecure --platform linux/amd64 \
	"docker://$P/src/app:1" "docker-archive:$S/da.tar:my/app:1"
check "skopeo inspect docker-archive" $SK inspect "docker-archive:$S/da.tar"
check "manifest.json names my/app:1" sh -c "
	tar -xOf '$S/da.tar' manifest.json >'$S/da.json' &&
	jq -en 'input | (.[0].RepoTags == [\"my/app:1\"])' '$S/da.json'"
check "skopeo reads the archive by its name" \
	$SK inspect "docker-archive:$S/da.tar:my/app:1"
check "skopeo copy docker-archive -> dir: (every blob hashed)" \
	$SK copy "docker-archive:$S/da.tar" "dir:$S/da-dir"
check "the docker-archive has the amd64 config (same digest)" sh -c "
	[ \"\$(jq -r .config.digest '$S/da-dir/manifest.json')\" = \
	  \"\$(jq -r .config.digest '$S/src.${AMD#sha256:}')\" ]"

# 5. imports: archives made by skopeo and by hoist, into the store and
# into another registry
fresh_store
check "skopeo copy --all -> oci-archive" \
	$SK copy --all $SKP "docker://$P/src/app:1" "oci-archive:$S/sk-oa.tar:v9"
check "skopeo copy (amd64) -> docker-archive" \
	$SK copy --override-arch amd64 --override-os linux $SKP \
	"docker://$P/src/app:1" "docker-archive:$S/sk-da.tar:sk/app:9"
check "hoist copy skopeo's oci-archive -> store name" \
	$H copy --progress quiet "oci-archive:$S/sk-oa.tar:v9" imported/oa:1
check "the store's root is the source index (same digest)" sh -c "
	[ \"\$($HOIST inspect imported/oa:1 | jq -r .descriptor.digest)\" = \
	  \"sha256:\$(sha256sum <'$S/src.index' | cut -d' ' -f1)\" ]"
check "hoist copy skopeo's docker-archive -> store name" \
	$H copy --progress quiet "docker-archive:$S/sk-da.tar" imported/da:1
check "the imported docker-archive has skopeo's config and diff_ids" sh -c "
	$SK copy --override-arch amd64 --override-os linux $SKP docker://$P/src/app:1 dir:$S/amd-dir >/dev/null &&
	cfg=\$(jq -r .config.digest '$S/amd-dir/manifest.json') &&
	$HOIST inspect imported/da:1 >'$S/imp-da.json' &&
	[ \"\$(jq -r '.images[0].manifest.config.digest' '$S/imp-da.json')\" = \"\$cfg\" ]"
check "store name -> P/imp/da:1, then skopeo copies it" sh -c "
	$H copy --progress quiet --insecure imported/da:1 docker://$P/imp/da:1 &&
	$SK copy $SKP docker://$P/imp/da:1 dir:$S/imp-da-dir"
check "docker-archive (skopeo's) -> P/imp/da2:1 directly" \
	$H copy --progress quiet --insecure "docker-archive:$S/sk-da.tar:sk/app:9" "docker://$P/imp/da2:1"
check "P/imp/da2:1 has the amd64 config" sh -c "
	$SK inspect --raw $SKP docker://$P/imp/da2:1 >'$S/da2.raw' &&
	[ \"\$(jq -r .config.digest '$S/da2.raw')\" = \
	  \"\$(jq -r .config.digest '$S/src.${AMD#sha256:}')\" ]"
check "oci-archive (skopeo's) -> TLS TA/imp/oa:1 keeps every digest" sh -c "
	$H copy --progress quiet --ca-cert '$TA_CA' 'oci-archive:$S/sk-oa.tar:v9' docker://$TA_ADDR/imp/oa:1"
check "TA/imp/oa:1 has the source's bytes" \
	same_as_src "$TA_ADDR/imp/oa:1" --cert-dir "$TA_CERTS"
fresh_store
check "hoist's oci-archive -> P/imp/hoa:1 keeps every digest" \
	$H copy --progress quiet --insecure "oci-archive:$S/oa.tar:v1" "docker://$P/imp/hoa:1"
check "P/imp/hoa:1 has the source's bytes" same_as_src "$P/imp/hoa:1" $SKP
check "hoist's docker-archive -> store -> P/imp/hda:1" sh -c "
	$H copy --progress quiet 'docker-archive:$S/da.tar:my/app:1' hda:1 &&
	$H copy --progress quiet --insecure hda:1 docker://$P/imp/hda:1 &&
	$SK copy $SKP docker://$P/imp/hda:1 dir:$S/hda-dir"
check "hoist's oci dir -> store (same root digest)" sh -c "
	$H copy --progress quiet 'oci:$S/od:v1' hod:1 &&
	[ \"\$($HOIST inspect hod:1 | jq -r .descriptor.digest)\" = \
	  \"sha256:\$(sha256sum <'$S/src.index' | cut -d' ' -f1)\" ]"

# 6. bad sources: one clear error, exit 1, nothing pushed
cp -r "$S/od" "$S/bad"
LAYER=$(jq -r '.layers[0].digest' "$S/src.${AMD#sha256:}")
chmod u+w "$S/bad/blobs/sha256/${LAYER#sha256:}"
printf 'X' | dd of="$S/bad/blobs/sha256/${LAYER#sha256:}" bs=1 seek=100 \
	conv=notrunc 2>/dev/null
fresh_store
$H copy --progress plain --insecure "oci:$S/bad:v1" "docker://$P/bad/app:1" \
	>"$S/bad.out" 2>"$S/bad.err"
rc=$?
if [ "$rc" -eq 1 ]; then ok "a corrupt oci blob: exit 1"; else not_ok "a corrupt oci blob: exit $rc"; fi
check "one error line naming the layer's digest" sh -c "
	one_error() { [ \"\$(grep -c '^hoist: error: ' \"\$1\")\" -eq 1 ]; } &&
	one_error '$S/bad.err' && grep '^hoist: error: ' '$S/bad.err' | grep -q '${LAYER#sha256:}'"
grep '^hoist: error' "$S/bad.err" | sed 's/^/# /'
check "nothing was pushed for the corrupt source" sh -c "
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		http://$P/v2/bad/app/manifests/1)\" = 404 ]"
check "the corrupt blob did not enter the store" \
	test ! -e "$HOIST_ROOT/blobs/sha256/${LAYER#sha256:}"

for src in "docker://$P/src/app:nope" "oci:$S/od:nope" \
	"oci-archive:$S/oa.tar:nope" "docker-archive:$S/da.tar:no/such:1"; do
	fresh_store
	$H copy --progress quiet --insecure "$src" "oci:$S/never:1" \
		>/dev/null 2>"$S/missing.err"
	rc=$?
	if [ "$rc" -eq 1 ] && one_error "$S/missing.err" &&
		grep -q 'nope\|no/such' "$S/missing.err"; then
		ok "missing tag in $src: exit 1, one error naming it"
	else
		not_ok "missing tag in $src: exit $rc"
		sed 's/^/# /' "$S/missing.err"
	fi
done
sed 's/^/# /' "$S/missing.err"
check "no layout was written for a missing source" test ! -e "$S/never/index.json"

done_testing
