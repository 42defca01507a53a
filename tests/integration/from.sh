#!/bin/sh
# from.sh: `hoist build --from REF` on a base image from every source kind
# (docker:// registry, oci:DIR:REF, docker-archive:FILE, a store name):
# the config inherits Env, Entrypoint, Cmd, WorkingDir, User, Labels and
# ExposedPorts with our flags applied over them, history and diff_ids go
# on from the base's, and the base layers are reused as they are (unless
# force-compression=true with another compression). A two-platform base
# with a per-platform layer gives an index; type=local and type=tar apply
# a crafted base's whiteouts (file and opaque directory) and unpack a
# merged-/usr base (bin -> usr/bin, then bin/tool) into usr/bin.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout tar
. "$(dirname "$0")/registry.sh"
"$HOIST" build --help 2>/dev/null | grep -q -- '--from' || {
	echo "1..0 # SKIP 'hoist build --from' does not exist"
	exit 0
}
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 60 $HOIST"
MAIN_STORE=$HOIST_ROOT

check "plain registry starts" reg_start_plain P
P=$P_ADDR

mkdir -p "$S/base1/etc" "$S/base1/usr/share" "$S/base2/etc" "$S/top/app"
echo base1 >"$S/base1/etc/base1"
head -c 100000 /dev/urandom >"$S/base1/usr/share/blob"
echo base2 >"$S/base2/etc/base2"
echo top >"$S/top/app/top"

# the base: two layers and every setting the children inherit
check "build base:1 (two layers, Env/Entrypoint/Cmd/WorkingDir/User/Labels/ExposedPorts) to the store, an oci dir and a docker tarball" \
	$H build --progress quiet --rootfs "$S/base1" --rootfs "$S/base2" \
	--env A=1 --env B=2 --entrypoint '["/bin/base"]' --cmd '["--base"]' \
	--workdir /srv --user 1000:1000 --label base=1 --label shared=base \
	--expose 80 -t base:1 -o type=image \
	-o "type=oci,tar=false,dest=$S/base-oci" \
	-o "type=docker,dest=$S/base-docker.tar"
check "push base:1 to P/base/app:1" \
	$H push --progress quiet --insecure base:1 "$P/base/app:1"
"$HOIST" inspect base:1 >"$S/base.json"
jq '.images[0]' "$S/base.json" >"$S/base-img.json"
check "the base has two layers and two history entries" jq -en 'input | (
	(.manifest.layers | length) == 2 and (.config.history | length) == 2)' \
	"$S/base-img.json"

# inherits FILE: the built image (hoist inspect output, first image) on
# top of the base (base-img.json) with the flags of the 'full' build
inherits() {
	[ -s "$1" ] && jq -en --slurpfile b "$S/base-img.json" 'input | (
	$b[0] as $base | .images[0] as $i | $i.config.config as $c |
	($base.config.history | length) as $n |
	($c.Env | index("A=1") != null) and
	($c.Env | index("B=3") != null) and ($c.Env | index("B=2") == null) and
	($c.Env | index("C=4") != null) and
	($c.Env | map(select(startswith("PATH="))) | length) == 1 and
	$c.Entrypoint == ["/bin/base"] and $c.Cmd == ["--ours"] and
	$c.WorkingDir == "/srv" and $c.User == "app" and
	$c.Labels == {"base": "1", "shared": "ours", "our": "1"} and
	($c.ExposedPorts | keys) == ["443/udp", "80/tcp"] and
	($i.config.history | length) == $n + 1 and
	$i.config.history[0:$n] == $base.config.history and
	($i.config.rootfs.diff_ids | length) == $n + 1 and
	$i.config.rootfs.diff_ids[0:$n] == $base.config.rootfs.diff_ids and
	($i.manifest.layers | length) == $n + 1 and
	($i.manifest.layers[0:$n] | map(.digest)) ==
		($base.manifest.layers | map(.digest)))' "$1"
}

FLAGS="--rootfs $S/top --env B=3 --env C=4 --label shared=ours --label our=1
	--expose 443/udp --cmd [\"--ours\"] --user app"
n=0
for from in "docker://$P/base/app:1" "oci:$S/base-oci:1" \
	"docker-archive:$S/base-docker.tar" base:1; do
	n=$((n + 1))
	# a fresh store for the transports, so the base is really read
	case $from in
	base:1) HOIST_ROOT=$MAIN_STORE ;;
	*) HOIST_ROOT=$S/store.$n ;;
	esac
	export HOIST_ROOT
	# shellcheck disable=SC2086
	check "build --from $from with config flags" \
		$H build --progress quiet --insecure --from "$from" $FLAGS \
		-t "out$n:1" -o type=image
	"$HOIST" inspect "out$n:1" >"$S/out$n.json" 2>/dev/null
	check "--from $from: settings inherited, ours over them, history, diff_ids, base layers reused" \
		inherits "$S/out$n.json"
done
HOIST_ROOT=$MAIN_STORE

check "--from base:1 with no config flags keeps Cmd and WorkingDir" sh -c "
	$H build --progress quiet --from base:1 --rootfs '$S/top' -t plain:1 -o type=image &&
	$HOIST inspect plain:1 | jq -en --slurpfile b '$S/base-img.json' 'input | (
		.images[0].config.config as \$c | \$b[0].config.config as \$bc |
		\$c.Cmd == [\"--base\"] and \$c.WorkingDir == \"/srv\" and
		\$c.User == \"1000:1000\" and \$c.Env == \$bc.Env and
		\$c.Labels == \$bc.Labels and \$c.ExposedPorts == \$bc.ExposedPorts)'"
check "--entrypoint resets the inherited Cmd" sh -c "
	$H build --progress quiet --from base:1 --rootfs '$S/top' \
		--entrypoint '[\"/bin/ours\"]' -t ep:1 -o type=image &&
	$HOIST inspect ep:1 | jq -en 'input | (.images[0].config.config |
		.Entrypoint == [\"/bin/ours\"] and (.Cmd == null or .Cmd == []))'"
check "--workdir replaces the base's" sh -c "
	$H build --progress quiet --from base:1 --rootfs '$S/top' \
		--workdir /other -t wd:1 -o type=image &&
	$HOIST inspect wd:1 | jq -en 'input | (.images[0].config.config.WorkingDir == \"/other\")'"

# compression: kept unless forced
check "compression=zstd: base layers kept (gzip, same digests), ours zstd" sh -c "
	$H build --progress quiet --from base:1 --rootfs '$S/top' \
		-o type=image,name=zs:1,compression=zstd &&
	$HOIST inspect zs:1 | jq -en --slurpfile b '$S/base-img.json' 'input | (
		.images[0].manifest.layers as \$l | \$b[0].manifest.layers as \$bl |
		(\$l[0:2] == \$bl) and (\$l[2].mediaType | endswith(\"zstd\")))'"
check "force-compression=true: new digests, same diff_ids, all zstd" sh -c "
	$H build --progress quiet --from base:1 --rootfs '$S/top' \
		-o type=image,name=fz:1,compression=zstd,force-compression=true &&
	$HOIST inspect fz:1 | jq -en --slurpfile b '$S/base-img.json' 'input | (
		.images[0] as \$i | \$b[0] as \$base |
		(\$i.manifest.layers[0:2] | map(.digest)) as \$d |
		(\$base.manifest.layers | map(.digest)) as \$bd |
		\$d[0] != \$bd[0] and \$d[1] != \$bd[1] and
		(\$i.manifest.layers | all(.mediaType | endswith(\"zstd\"))) and
		\$i.config.rootfs.diff_ids[0:2] == \$base.config.rootfs.diff_ids)'"
check "force-compression=true with the base's own compression keeps digests" sh -c "
	$H build --progress quiet --from base:1 --rootfs '$S/top' \
		-o type=image,name=fg:1,compression=gzip,force-compression=true &&
	$HOIST inspect fg:1 | jq -en --slurpfile b '$S/base-img.json' 'input | (
		(.images[0].manifest.layers[0:2] | map(.digest)) ==
		(\$b[0].manifest.layers | map(.digest)))'"
check "skopeo reads the recompressed image (every blob hashed)" sh -c "
	$H push --progress quiet --insecure fz:1 $P/fz/app:1 &&
	timeout 60 skopeo --insecure-policy copy --src-tls-verify=false \
		docker://$P/fz/app:1 dir:$S/fz-dir"

# multi-platform: per-platform base manifests, a per-platform layer
mkdir -p "$S/armbase" "$S/armtop"
echo armbase >"$S/armbase/armbase"
echo armtop >"$S/armtop/armtop"
check "build mbase:1 for amd64 and arm64 (arm64 has an extra base layer)" \
	$H build --progress quiet --rootfs "$S/base1" --layer "linux/arm64=$S/armbase" \
	--platform linux/amd64,linux/arm64 -t mbase:1 -o type=image
check "push mbase:1 to P/mbase/app:1" \
	$H push --progress quiet --insecure mbase:1 "$P/mbase/app:1"
"$HOIST" inspect mbase:1 >"$S/mbase.json"
# platform_layers FILE PLATFORM: the layer digests of one platform
platform_layers() {
	jq -r --arg p "$2" '.images[] | select(.platform == $p) |
		.manifest.layers[].digest' "$1"
}
for from in mbase:1 "docker://$P/mbase/app:1"; do
	HOIST_ROOT=$MAIN_STORE
	case $from in docker://*) HOIST_ROOT=$S/store-m ;; esac
	export HOIST_ROOT
	check "build --from $from --platform linux/amd64,linux/arm64 --layer linux/arm64=DIR" \
		$H build --progress quiet --insecure --from "$from" \
		--platform linux/amd64,linux/arm64 --rootfs "$S/top" \
		--layer "linux/arm64=$S/armtop" -t mout:1 -o type=image
	rm -f "$S/mout.json" "$S/ba" "$S/bb" "$S/oa" "$S/ob"
	"$HOIST" inspect mout:1 >"$S/mout.json" 2>/dev/null
	check "--from $from: the root is an index of two manifests" jq -en 'input | (
		(.descriptor.mediaType | test("index")) and (.images | length) == 2)' \
		"$S/mout.json"
	platform_layers "$S/mbase.json" linux/amd64 >"$S/ba"
	platform_layers "$S/mbase.json" linux/arm64 >"$S/bb"
	platform_layers "$S/mout.json" linux/amd64 >"$S/oa"
	platform_layers "$S/mout.json" linux/arm64 >"$S/ob"
	check "--from $from: amd64 = its base layers + ours (1)" sh -c "
		[ \$(wc -l <'$S/oa') -eq \$((\$(wc -l <'$S/ba') + 1)) ] &&
		head -n \$(wc -l <'$S/ba') '$S/oa' | cmp -s - '$S/ba'"
	check "--from $from: arm64 = its base layers + ours + the arm64 layer" sh -c "
		[ \$(wc -l <'$S/ob') -eq \$((\$(wc -l <'$S/bb') + 2)) ] &&
		head -n \$(wc -l <'$S/bb') '$S/ob' | cmp -s - '$S/bb'"
	check "--from $from: the arm64 layer is not in the amd64 manifest" sh -c "
		[ -s '$S/ob' ] && ! grep -qx \"\$(tail -n 1 '$S/ob')\" '$S/oa'"
	check "--from $from: the shared top layer is the same in both" \
		sh -c "[ -s '$S/oa' ] &&
		[ \"\$(tail -n 1 '$S/oa')\" = \"\$(tail -n 2 '$S/ob' | head -n 1)\" ]"
done
HOIST_ROOT=$MAIN_STORE
check_fails "--from a base without the asked platform fails" \
	$H build --progress quiet --from base:1 --platform linux/s390x \
	--rootfs "$S/top" -t none:1 -o type=image

# crafted OCI layouts: whiteouts, and a merged /usr
cat >"$S/mkoci.py" <<'EOF'
"""mkoci.py DIR KIND: an OCI layout (ref v1, linux/amd64) with two gzip
layers. KIND 'whiteout': layer 2 deletes etc/gone (.wh.gone) and makes
dir/ opaque (.wh..wh..opq) while adding dir/new. KIND 'usrmerge': layer 1
has usr/bin/ and bin -> usr/bin, layer 2 has bin/tool only."""
import gzip, hashlib, io, json, os, sys, tarfile

out, kind = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256", exist_ok=True)

def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open("%s/blobs/sha256/%s" % (out, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def layer(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, typ, val in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if typ == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif typ == "sym":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, val, 0o777
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(val), 0o644
                t.addfile(ti, io.BytesIO(val))
    tar = raw.getvalue()
    gz = gzip.compress(tar, mtime=0)
    d, n = blob(gz)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": d, "size": n}, "sha256:" + hashlib.sha256(tar).hexdigest()

if kind == "whiteout":
    l1 = [("etc", "dir", None), ("etc/keep", "file", b"keep\n"),
          ("etc/gone", "file", b"gone\n"), ("dir", "dir", None),
          ("dir/old", "file", b"old\n"), ("dir/sub", "dir", None),
          ("dir/sub/older", "file", b"older\n")]
    l2 = [("etc/.wh.gone", "file", b""), ("dir/.wh..wh..opq", "file", b""),
          ("dir/new", "file", b"new\n")]
else:
    l1 = [("usr", "dir", None), ("usr/bin", "dir", None),
          ("usr/bin/sh", "file", b"#!sh\n"), ("bin", "sym", "usr/bin")]
    l2 = [("bin/tool", "file", b"tool\n")]
ls, diffs = zip(*(layer(l) for l in (l1, l2)))
cfg = {"architecture": "amd64", "os": "linux",
       "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
       "rootfs": {"type": "layers", "diff_ids": list(diffs)},
       "history": [{"created_by": "crafted 1"}, {"created_by": "crafted 2"}]}
cd, cn = blob(json.dumps(cfg).encode())
man = {"schemaVersion": 2,
       "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                  "digest": cd, "size": cn},
       "layers": list(ls)}
md, mn = blob(json.dumps(man).encode())
with open(out + "/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": md, "size": mn,
         "platform": {"architecture": "amd64", "os": "linux"},
         "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
with open(out + "/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion": "1.0.0"}')
EOF
check "craft an OCI layout with whiteouts" python3 "$S/mkoci.py" "$S/wo" whiteout
check "craft a merged-/usr OCI layout" python3 "$S/mkoci.py" "$S/um" usrmerge
check "skopeo accepts both crafted layouts" sh -c "
	timeout 60 skopeo --insecure-policy copy oci:$S/wo:v1 dir:$S/wo-dir &&
	timeout 60 skopeo --insecure-policy copy oci:$S/um:v1 dir:$S/um-dir"

check "build --from oci:whiteouts -o type=local" \
	$H build --progress quiet --platform linux/amd64 --from "oci:$S/wo:v1" \
	--rootfs "$S/top" -o "type=local,dest=$S/wo-local"
check "type=local: the whited-out file is absent, its sibling kept" sh -c "
	[ ! -e '$S/wo-local/etc/gone' ] && [ \"\$(cat '$S/wo-local/etc/keep')\" = keep ]"
check "type=local: the opaque dir lost its old content, kept the new" sh -c "
	[ ! -e '$S/wo-local/dir/old' ] && [ ! -e '$S/wo-local/dir/sub' ] &&
	[ \"\$(cat '$S/wo-local/dir/new')\" = new ]"
check "type=local: no whiteout file is left, our layer is there" sh -c "
	[ -z \"\$(find '$S/wo-local' -name '.wh.*')\" ] &&
	[ \"\$(cat '$S/wo-local/app/top')\" = top ]"
check "build --from oci:whiteouts -o type=tar" \
	$H build --progress quiet --platform linux/amd64 --from "oci:$S/wo:v1" \
	--rootfs "$S/top" -o "type=tar,dest=$S/wo.tar"
tar -tf "$S/wo.tar" 2>>"$T_LOG" | sed 's|^\./||; s|/$||' | sort >"$S/wo.list"
check "type=tar: etc/keep, dir/new and app/top are there" sh -c "
	grep -qx etc/keep '$S/wo.list' && grep -qx dir/new '$S/wo.list' &&
	grep -qx app/top '$S/wo.list'"
check "type=tar: no etc/gone, dir/old, dir/sub or .wh. entry" sh -c "
	! grep -qx 'etc/gone\|dir/old\|dir/sub\|dir/sub/older' '$S/wo.list' &&
	! grep -q '\.wh\.' '$S/wo.list'"

check "build --from oci:usrmerge -o type=local" \
	$H build --progress quiet --platform linux/amd64 --from "oci:$S/um:v1" \
	--rootfs "$S/top" -o "type=local,dest=$S/um-local"
check "type=local: bin is still the symlink to usr/bin" sh -c "
	[ -L '$S/um-local/bin' ] && [ \"\$(readlink '$S/um-local/bin')\" = usr/bin ]"
check "type=local: layer 2's bin/tool landed in usr/bin" sh -c "
	[ -f '$S/um-local/usr/bin/tool' ] && [ ! -L '$S/um-local/usr/bin/tool' ] &&
	[ \"\$(cat '$S/um-local/usr/bin/tool')\" = tool ] &&
	[ -f '$S/um-local/usr/bin/sh' ]"
check "build --from oci:usrmerge -o type=tar" \
	$H build --progress quiet --platform linux/amd64 --from "oci:$S/um:v1" \
	--rootfs "$S/top" -o "type=tar,dest=$S/um.tar"
tar -tvf "$S/um.tar" 2>>"$T_LOG" | sed 's| \./| |' >"$S/um.list"
check "type=tar: bin -> usr/bin, usr/bin/tool, no bin/tool" sh -c "
	grep -q ' bin -> usr/bin\$' '$S/um.list' &&
	grep -q ' usr/bin/tool\$' '$S/um.list' &&
	! grep -q ' bin/tool\$' '$S/um.list'"

check_fails "--from a missing image fails" \
	$H build --progress quiet --from "oci:$S/wo:nope" --rootfs "$S/top" \
	-t x:1 -o type=image

done_testing
