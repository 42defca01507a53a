#!/bin/sh
# buildx.sh: the docker buildx build flags around outputs, against a real
# docker-registry on loopback, read back with skopeo: --push on an image
# output, repeated --platform, --provenance / --sbom / --attest (an
# attestation manifest per platform with in-toto layers in the pushed
# index, an SPDX document listing a dpkg rootfs's packages), --iidfile and
# the buildx.build.provenance metadata key.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl openssl python3 jq timeout
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 120 $HOIST"
SK="timeout 60 skopeo --insecure-policy"
mktree "$S/tree" --no-special
mkdir -p "$S/deb/var/lib/dpkg" "$S/deb/etc"
printf 'ID=debian\nVERSION_ID="12"\n' >"$S/deb/etc/os-release"
cat >"$S/deb/var/lib/dpkg/status" <<EOT
Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: GNU C Library
 shared libraries

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2

Package: gone
Status: deinstall ok config-files
Version: 1.0
EOT

check "plain registry starts" reg_start_plain P
P=$P_ADDR
raw() { $SK inspect --tls-verify=false --raw "docker://$1"; }

# --push sets push=true on the image output (buildx), no "tag is needed"
check "--push -o type=image,name=R/x:1 pushes" sh -c "
	$H build --rootfs '$S/tree' --push --insecure -o 'type=image,name=$P/bx/x:1' \
		--progress plain 2>'$S/push-plain'"
check "its exporting step has BuildKit's push statuses and a DONE time" sh -c "
	n=\$(sed -n 's/^#\([0-9]*\) exporting to image\$/\1/p' '$S/push-plain' | head -1) &&
	grep -Eq \"^#\$n pushing layers( [0-9.]+s)? done\$\" '$S/push-plain' &&
	grep -Eq \"^#\$n pushing manifest for $P/bx/x:1@sha256:[0-9a-f]{64} done\$\" '$S/push-plain' &&
	grep -Eq \"^#\$n DONE [0-9]+\\.[0-9]s\$\" '$S/push-plain'"
check "R/x:1 is in the registry" sh -c "$SK inspect --tls-verify=false docker://$P/bx/x:1 >/dev/null"

# --platform accumulates, repeated or comma-separated
check "two --platform flags give two manifests" sh -c "
	$H build --rootfs '$S/tree' --platform linux/amd64 --platform linux/arm64,linux/arm/v7 \
		--insecure -o 'type=registry,name=$P/bx/multi:1' &&
	$SK inspect --tls-verify=false --raw docker://$P/bx/multi:1 > '$S/multi.json' &&
	jq -e '[.manifests[].platform.architecture] == [\"amd64\",\"arm64\",\"arm\"]' '$S/multi.json'"

# --provenance=false is accepted; without --provenance nothing is attached
check "--provenance=false --sbom=false accepted" \
	$H build --rootfs "$S/tree" --provenance=false --sbom=false --insecure \
	-o "type=registry,name=$P/bx/noprov:1"
check "no attestation without --provenance" sh -c "
	raw $P/bx/noprov:1 | jq -e '.mediaType | test(\"manifest\")'"

# --provenance=mode=max: an attestation manifest with an in-toto layer
check "--provenance=mode=max push" \
	$H build --rootfs "$S/deb" --platform linux/amd64 --provenance=mode=max,version=v0.2 \
	--insecure --metadata-file "$S/prov.json" --iidfile "$S/iid" \
	-o "type=registry,name=$P/bx/prov:1"
raw "$P/bx/prov:1" >"$S/prov-index.json" 2>/dev/null
check "the pushed root is an index with an attestation entry" jq -e '
	(.manifests | length) == 2 and
	.manifests[1].platform == {"architecture":"unknown","os":"unknown"} and
	.manifests[1].annotations["vnd.docker.reference.type"] == "attestation-manifest" and
	.manifests[1].annotations["vnd.docker.reference.digest"] == .manifests[0].digest' \
	"$S/prov-index.json"
AM=$(jq -r '.manifests[1].digest' "$S/prov-index.json")
raw "$P/bx/prov@$AM" >"$S/prov-am.json" 2>/dev/null
check "its layer is an in-toto statement with the SLSA predicate type" jq -e '
	.layers[0].mediaType == "application/vnd.in-toto+json" and
	.layers[0].annotations["in-toto.io/predicate-type"] == "https://slsa.dev/provenance/v0.2"' \
	"$S/prov-am.json"
L=$(jq -r '.layers[0].digest' "$S/prov-am.json")
check "the statement names the image and the input tree" sh -c "
	curl -sf http://$P/v2/bx/prov/blobs/$L > '$S/stmt.json' &&
	jq -e '.subject[0].name == \"pkg:docker/$P/bx/prov@1?platform=linux%2Famd64\" and
		.predicate.metadata.reproducible == true and
		(.predicate.materials[0].uri | startswith(\"file:\")) and
		(.predicate.invocation.parameters | has(\"layer:0\"))' '$S/stmt.json'"
check "skopeo copies the index with its attestations" sh -c "
	$SK copy --all --src-tls-verify=false docker://$P/bx/prov:1 'oci:$S/copy:1' >/dev/null &&
	jq -e '.manifests | length == 1' '$S/copy/index.json'"
check "metadata has buildx.build.provenance" \
	jq -e '."buildx.build.provenance".buildType != null' "$S/prov.json"
check "--iidfile holds the index digest (attestations make an index)" sh -c "
	jq -e 'has(\"containerimage.config.digest\") | not' '$S/prov.json' &&
	test \"\$(cat '$S/iid')\" = \"\$(jq -r '.\"containerimage.digest\"' '$S/prov.json')\""

# a Dockerfile build's provenance: its context, Dockerfile, build args
# (mode=max only) and the base image by its platform's manifest digest
mkdir -p "$S/pctx"
echo p >"$S/pctx/f"
printf 'ARG T=1\nFROM %s/bx/multi:$T\nCOPY f /f\n' "$P" >"$S/pctx/Dockerfile"
# stmt_of LAYOUT: the first attestation statement of an OCI layout directory
stmt_of() {
	b=$1/blobs/sha256
	i=$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)
	a=$(jq -r '.manifests[1].digest' "$b/$i" | cut -d: -f2)
	cat "$b/$(jq -r '.layers[0].digest' "$b/$a" | cut -d: -f2)"
}
for mode in min max; do
	check "Dockerfile build with --provenance=mode=$mode" \
		$H build --platform linux/amd64 --build-arg T=1 --insecure \
		--provenance=mode=$mode,version=v0.2 -o "type=oci,tar=false,dest=$S/dp-$mode" "$S/pctx"
	stmt_of "$S/dp-$mode" >"$S/dp-$mode.json" 2>/dev/null
done
AMD=$(jq -r '.manifests[0].digest' "$S/multi.json")
check "its provenance names the context, the Dockerfile and the base by digest" jq -e --arg amd "${AMD#sha256:}" "
	.predicate.invocation.parameters.context == \"$S/pctx\" and
	.predicate.invocation.parameters.filename == \"Dockerfile\" and
	.predicate.materials == [{\"uri\": \"pkg:docker/$P/bx/multi@1?platform=linux%2Famd64\",
		\"digest\": {\"sha256\": \$amd}}]" "$S/dp-max.json"
check "build args only with mode=max" sh -c "
	jq -e '.predicate.invocation.parameters[\"build-arg:T\"] == \"1\"' '$S/dp-max.json' &&
	jq -e '(.predicate.invocation.parameters | has(\"build-arg:T\") | not) and
		.predicate.metadata.completeness.parameters == false' '$S/dp-min.json'"

check "--provenance=mode=max gives SLSA v1 (the default) in BuildKit's layout" sh -c "
	$H build --platform linux/amd64 --insecure --provenance=mode=max \
		-o 'type=oci,tar=false,dest=$S/dp-v1' '$S/pctx' &&
	b='$S/dp-v1/blobs/sha256' &&
	i=\$(jq -r '.manifests[0].digest' '$S/dp-v1/index.json' | cut -d: -f2) &&
	a=\$(jq -r '.manifests[1].digest' \$b/\$i | cut -d: -f2) &&
	jq -e '.layers[0].annotations[\"in-toto.io/predicate-type\"] == \"https://slsa.dev/provenance/v1\"' \$b/\$a &&
	l=\$(jq -r '.layers[0].digest' \$b/\$a | cut -d: -f2) &&
	jq -e '.predicateType == \"https://slsa.dev/provenance/v1\" and
		(.predicate.buildDefinition.resolvedDependencies[0].uri | startswith(\"pkg:docker/$P/bx/multi@1\")) and
		.predicate.buildDefinition.externalParameters.request.context == \"$S/pctx\" and
		.predicate.runDetails.metadata.buildkit_completeness.request == true' \$b/\$l"

check "two platforms: buildx.build.provenance/OS/ARCH metadata keys" sh -c "
	$H build --rootfs '$S/tree' --platform linux/amd64,linux/arm64 \
		--provenance=mode=min,version=v0.2 --metadata-file '$S/pm2.json' \
		-o 'type=oci,dest=$S/pm2.tar' &&
	jq -e '(keys | map(select(startswith(\"buildx.build.provenance\")))) ==
		[\"buildx.build.provenance/linux/amd64\", \"buildx.build.provenance/linux/arm64\"] and
		.[\"buildx.build.provenance/linux/arm64\"].invocation.environment.platform == \"linux/arm64\"' '$S/pm2.json'"

check "a failed build leaves no stale --iidfile, as buildx" sh -c "
	echo stale >'$S/stale.iid' &&
	! $H build --rootfs '$S/no-such-dir' --iidfile '$S/stale.iid' -o type=cacheonly &&
	test ! -e '$S/stale.iid'"
check "a build without an image writes an empty --iidfile" sh -c "
	$H build --rootfs '$S/tree' --iidfile '$S/empty.iid' -o 'type=local,dest=$S/iidloc' &&
	test -f '$S/empty.iid' && test ! -s '$S/empty.iid'"

# --sbom=true: the packages of the rootfs's dpkg database
check "--sbom=true push" \
	$H build --rootfs "$S/deb" --platform linux/amd64 --sbom=true \
	--insecure -o "type=registry,name=$P/bx/sbom:1"
raw "$P/bx/sbom:1" >"$S/sbom-index.json" 2>/dev/null
AM=$(jq -r '.manifests[1].digest' "$S/sbom-index.json")
L=$(raw "$P/bx/sbom@$AM" 2>/dev/null | jq -r '.layers[0].digest')
check "the SBOM lists bash and libc6 with versions, not removed packages" sh -c "
	curl -sf http://$P/v2/bx/sbom/blobs/$L > '$S/sbom.json' &&
	jq -e '.predicateType == \"https://spdx.dev/Document\" and
		.predicate.spdxVersion == \"SPDX-2.3\" and
		([.predicate.packages[] | select(.name != null) | \"\\(.name)=\\(.versionInfo)\"] |
		 index(\"libc6=2.36-9+deb12u4\") != null and index(\"bash=5.2.15-2+b2\") != null) and
		([.predicate.packages[].name] | index(\"gone\") == null)' '$S/sbom.json'"

# the SBOM is of the final rootfs: Dockerfile layers and base images count.
# sbom_pkgs LAYOUT: NAME=VERSION of each package in the SPDX statement of
# the first image of an OCI layout directory
sbom_pkgs() {
	b=$1/blobs/sha256
	i=$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)
	a=$(jq -r '.manifests[] | select(.annotations["vnd.docker.reference.type"]) | .digest' "$b/$i" | cut -d: -f2)
	l=$(jq -r '.layers[] | select(.annotations["in-toto.io/predicate-type"] == "https://spdx.dev/Document") | .digest' "$b/$a" | cut -d: -f2)
	jq -r '.predicate.packages[] | select(.versionInfo) | "\(.name)=\(.versionInfo)"' "$b/$l"
}
has_debs() { # LAYOUT
	sbom_pkgs "$1" >"$1.pkgs" && cat "$1.pkgs" &&
		grep -qx 'bash=5.2.15-2+b2' "$1.pkgs" &&
		grep -qx 'libc6=2.36-9+deb12u4' "$1.pkgs"
}
mkdir -p "$S/dctx"
cp -r "$S/deb" "$S/dctx/deb"
printf 'FROM scratch\nCOPY deb/ /\n' >"$S/dctx/Dockerfile"
check "--sbom=true on a Dockerfile build (COPY of a dpkg rootfs)" \
	$H build --sbom=true -o "type=oci,tar=false,dest=$S/dsb" "$S/dctx"
check "... lists the packages with their versions" has_debs "$S/dsb"
check "a base image holding a dpkg database" \
	$H build --rootfs "$S/deb" -o type=image,name=bx/debbase:1
check "--sbom=true on --from that base and another tree" \
	$H build --from bx/debbase:1 --rootfs "$S/tree" --sbom=true \
	-o "type=oci,tar=false,dest=$S/fsb"
check "... lists the base image's packages" has_debs "$S/fsb"
printf 'FROM bx/debbase:1\nCOPY deb/etc /etc2\n' >"$S/dctx/Dockerfile.base"
check "--sbom=true on a Dockerfile FROM that base" \
	$H build --sbom=true -f "$S/dctx/Dockerfile.base" \
	-o "type=oci,tar=false,dest=$S/bsb" "$S/dctx"
check "... lists the base image's packages" has_debs "$S/bsb"

# --attest type=provenance,mode=min on an oci layout; local ignores them
check "--attest type=provenance into an oci tarball" \
	$H build --rootfs "$S/tree" --attest type=provenance,mode=min \
	-o "type=oci,dest=$S/att.tar"
check "the oci tarball has the attestation manifest" sh -c "
	mkdir -p '$S/att' && tar -xf '$S/att.tar' -C '$S/att' &&
	D=\$(jq -r '.manifests[0].digest' '$S/att/index.json' | cut -d: -f2) &&
	jq -e '.manifests[1].annotations[\"vnd.docker.reference.type\"] == \"attestation-manifest\"' \"$S/att/blobs/sha256/\$D\""
check "local output ignores attestations, with a warning" sh -c "
	$H build --rootfs '$S/tree' --sbom=true -o 'type=local,dest=$S/loc' 2>'$S/loc.err' &&
	test -d '$S/loc/etc' && ! ls '$S/loc' | grep -q json &&
	grep -q \"output type 'local': attestations are ignored\" '$S/loc.err'"
check "a docker tarball keeps one plain manifest, with a warning" sh -c "
	$H build --rootfs '$S/tree' --provenance=true -o 'type=docker,dest=$S/dk.tar' 2>'$S/dk.err' &&
	grep -q \"output type 'docker': attestations are ignored\" '$S/dk.err' &&
	tar -xOf '$S/dk.tar' index.json | jq -e '.manifests[0].mediaType | test(\"manifest.v1\")'"
check_fails "--attest without type is refused" \
	$H build --rootfs "$S/tree" --attest mode=max -o "type=oci,dest=$S/x.tar"
check_fails "--provenance=mode=huge is refused" \
	$H build --rootfs "$S/tree" --provenance=mode=huge -o "type=oci,dest=$S/x.tar"
check "attestations with oci-mediatypes=false: BuildKit's error, before building" sh -c "
	! $H build --rootfs '$S/tree' --provenance=true --progress plain \
		-o 'type=oci,dest=$S/x.tar,oci-mediatypes=false' 2>'$S/omt' &&
	grep -qx 'hoist: error: cannot export attestations with \"oci-mediatypes=false\"' '$S/omt' &&
	! grep -q '^#' '$S/omt'"
check_fails "multi-platform type=docker is refused before building" \
	$H build --rootfs "$S/tree" --platform linux/amd64,linux/arm64 -o "type=docker,dest=$S/d.tar"
done_testing
