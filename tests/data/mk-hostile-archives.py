#!/usr/bin/env python3
"""Write valid and hostile image archives and layouts for test-import.

usage: mk-hostile-archives.py OUTDIR

Every input is built here from a tiny image (one gzip layer, or one plain
layer for the docker archives), so each hostile file differs from a valid
one (good-oci.tar, good-docker.tar, good-oci/) in exactly one way and the
test knows that the failure it sees is the one it aimed at. Output is
deterministic: mtime 0, uid/gid 0, sorted members.

Files written (see test-import.c for the error each must give):
  good-oci.tar good-docker.tar good-oci/          valid
  oci-bad-blob.tar        a blob whose bytes do not match its name
  oci-dotdot.tar          a member "../x"
  oci-absolute.tar        a member "/x"
  oci-big-index.tar       index.json over 4 MiB
  oci-missing-blob.tar    the layer blob left out
  oci-two.tar             two index entries (different images), no REF
  oci-truncated.tar       good-oci.tar cut inside the layer blob
  oci-dup-bad-second.tar  the layer blob twice, the second copy corrupt
  oci-dup-bad-first.tar   the layer blob twice, the first copy corrupt
  oci-dup-same.tar        the layer blob twice, both copies good
  oci-link-blob/ + outside/   a layout whose layer blob is a symlink to a
                          file outside it with the right content
  oci-big-index/          a layout whose index.json is over 4 MiB
  oci-bad-blob/           a layout whose layer blob is corrupt
  oci-bad-digest/         index.json names "sha256:../../outside/layer"
  oci-extra.tar           valid, plus a member "README" (skipped, warned)
  docker-missing-layer.tar  manifest.json names a layer that is absent
  docker-bad-diffid.tar   the config's diff_id does not match the layer
  docker-two.tar          two manifest.json entries, no REF
  docker-link-escape.tar  a layer symlink pointing out of the archive
  docker-truncated.tar    good-docker.tar cut inside the layer
  docker-bad-config.tar   <hex>.json whose content is another config
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def jdump(o):
    return json.dumps(o, separators=(",", ":"), sort_keys=False).encode()


def layer_tar(text):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        data = text.encode()
        ti = tarfile.TarInfo("hello")
        ti.size = len(data)
        ti.mode = 0o644
        ti.mtime = 0
        tf.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def config(diff_ids, arch="amd64"):
    return jdump({"architecture": arch, "os": "linux",
                  "config": {"Env": ["PATH=/usr/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}})


def desc(mt, blob, **kw):
    d = {"mediaType": mt, "digest": "sha256:" + sha(blob), "size": len(blob)}
    d.update(kw)
    return d


def image(text, arch="amd64"):
    """Blobs of one OCI image: (blobs dict hex->bytes, manifest bytes)."""
    raw = layer_tar(text)
    gz = gzip.compress(raw, mtime=0)
    cfg = config(["sha256:" + sha(raw)], arch)
    man = jdump({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                 "config": desc(OCI_CONFIG, cfg),
                 "layers": [desc(OCI_LAYER_GZ, gz)]})
    blobs = {sha(raw): None, sha(gz): gz, sha(cfg): cfg, sha(man): man}
    del blobs[sha(raw)]
    return blobs, man, gz, raw, cfg


def index(entries):
    return jdump({"schemaVersion": 2, "mediaType": OCI_INDEX,
                  "manifests": entries})


def member(tf, name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mtime = 0
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o444
    ti.uname = ti.gname = ""
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path, members):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for m in members:
            member(tf, *m)


def oci_members(blobs, idx, extra=()):
    ms = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
          ("index.json", idx),
          ("blobs/", b"", tarfile.DIRTYPE),
          ("blobs/sha256/", b"", tarfile.DIRTYPE)]
    for h in sorted(blobs):
        ms.append(("blobs/sha256/" + h, blobs[h]))
    return ms + list(extra)


def write_dir(path, blobs, idx):
    os.makedirs(os.path.join(path, "blobs", "sha256"))
    with open(os.path.join(path, "oci-layout"), "wb") as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "wb") as f:
        f.write(idx)
    for h, b in blobs.items():
        with open(os.path.join(path, "blobs", "sha256", h), "wb") as f:
            f.write(b)


def docker_members(raw, cfg, tags, layer_name=None):
    diff = sha(raw)
    lname = layer_name or diff + ".tar"
    mj = jdump([{"Config": sha(cfg) + ".json", "RepoTags": tags,
                 "Layers": ["0123/layer.tar"]}])
    return [(sha(cfg) + ".json", cfg),
            (lname, raw),
            ("0123/", b"", tarfile.DIRTYPE),
            ("0123/layer.tar", b"", tarfile.SYMTYPE, "../" + lname),
            ("0123/VERSION", b"1.0"),
            ("manifest.json", mj),
            ("repositories", b"{}")]


def truncate(src, dst, at):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data[:at])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    blobs, man, gz, raw, cfg = image("hello from the archive\n")
    entry = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + sha(man),
             "size": len(man),
             "annotations": {"org.opencontainers.image.ref.name": "v1"}}
    idx = index([entry])
    P = os.path.join

    write_tar(P(out, "good-oci.tar"), oci_members(blobs, idx))
    write_dir(P(out, "good-oci"), blobs, idx)

    bad = dict(blobs)
    flipped = bytearray(gz)
    flipped[len(gz) // 2] ^= 1
    bad[sha(gz)] = bytes(flipped)
    write_tar(P(out, "oci-bad-blob.tar"), oci_members(bad, idx))
    write_dir(P(out, "oci-bad-blob"), bad, idx)

    # The same blob member twice: refused whichever copy is bad (and
    # when neither is), as docker-archive and index.json duplicates are.
    lname = "blobs/sha256/" + sha(gz)
    write_tar(P(out, "oci-dup-bad-second.tar"),
              oci_members(blobs, idx, [(lname, bytes(flipped))]))
    write_tar(P(out, "oci-dup-bad-first.tar"),
              oci_members(bad, idx, [(lname, gz)]))
    write_tar(P(out, "oci-dup-same.tar"),
              oci_members(blobs, idx, [(lname, gz)]))

    write_tar(P(out, "oci-dotdot.tar"),
              oci_members(blobs, idx, [("../x", b"escape")]))
    write_tar(P(out, "oci-absolute.tar"),
              oci_members(blobs, idx, [("/tmp/hoist-import-abs", b"x")]))

    big = index([dict(entry, annotations={"pad": "x" * (4 << 20)})])
    write_tar(P(out, "oci-big-index.tar"), oci_members(blobs, big))
    write_dir(P(out, "oci-big-index"), blobs, big)

    # A digest that would be a path if it were not validated first.
    write_dir(P(out, "oci-bad-digest"), blobs,
              index([dict(entry, digest="sha256:../../outside/layer")]))
    write_tar(P(out, "oci-extra.tar"),
              oci_members(blobs, idx, [("README", b"not part of it")]))

    missing = dict(blobs)
    del missing[sha(gz)]
    write_tar(P(out, "oci-missing-blob.tar"), oci_members(missing, idx))

    blobs2, man2, _, _, _ = image("another image\n", "arm64")
    both = dict(blobs)
    both.update(blobs2)
    entry2 = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + sha(man2),
              "size": len(man2),
              "annotations": {"org.opencontainers.image.ref.name": "v2"}}
    write_tar(P(out, "oci-two.tar"), oci_members(both, index([entry, entry2])))

    # Cut inside the layer blob: after its header, before its end.
    good = P(out, "good-oci.tar")
    with open(good, "rb") as f:
        data = f.read()
    at = data.index(gz[:16]) + len(gz) // 2
    truncate(good, P(out, "oci-truncated.tar"), at)

    # The layer blob links to a file outside with the very same bytes, so
    # only the refusal to follow links can stop it.
    os.makedirs(P(out, "outside"), exist_ok=True)
    with open(P(out, "outside", "layer"), "wb") as f:
        f.write(gz)
    link = dict(blobs)
    del link[sha(gz)]
    write_dir(P(out, "oci-link-blob"), link, idx)
    os.symlink(os.path.abspath(P(out, "outside", "layer")),
               P(out, "oci-link-blob", "blobs", "sha256", sha(gz)))

    # docker archives (skopeo's shape: <diffid>.tar, a legacy symlink)
    tags = ["docker.io/test/img:v1"]
    write_tar(P(out, "good-docker.tar"), docker_members(raw, cfg, tags))

    ms = docker_members(raw, cfg, tags)
    ms = [m for m in ms if not m[0].endswith(sha(raw) + ".tar")]
    write_tar(P(out, "docker-missing-layer.tar"), ms)

    wrong = config(["sha256:" + "0" * 64])
    write_tar(P(out, "docker-bad-diffid.tar"),
              docker_members(raw, wrong, tags))

    raw2 = layer_tar("second\n")
    cfg2 = config(["sha256:" + sha(raw2)], "arm64")
    ms = docker_members(raw, cfg, tags)
    ms2 = [m for m in docker_members(raw2, cfg2, ["docker.io/test/b:v2"])
           if m[0] not in ("manifest.json", "repositories") and
           not m[0].startswith("0123")]
    mj = jdump([{"Config": sha(cfg) + ".json", "RepoTags": tags,
                 "Layers": [sha(raw) + ".tar"]},
                {"Config": sha(cfg2) + ".json",
                 "RepoTags": ["docker.io/test/b:v2"],
                 "Layers": [sha(raw2) + ".tar"]}])
    ms = [m for m in ms if m[0] != "manifest.json"] + ms2 + \
        [("manifest.json", mj)]
    write_tar(P(out, "docker-two.tar"), ms)

    ms = docker_members(raw, cfg, tags)
    ms = [m if m[0] != "0123/layer.tar" else
          ("0123/layer.tar", b"", tarfile.SYMTYPE, "../../etc/passwd")
          for m in ms]
    write_tar(P(out, "docker-link-escape.tar"), ms)

    good = P(out, "good-docker.tar")
    with open(good, "rb") as f:
        data = f.read()
    at = data.index(raw[:64]) + 700
    truncate(good, P(out, "docker-truncated.tar"), at)

    ms = docker_members(raw, cfg, tags)
    other = config(["sha256:" + sha(raw)], "arm64")
    ms = [m if m[0] != sha(cfg) + ".json" else (m[0], other) for m in ms]
    write_tar(P(out, "docker-bad-config.tar"), ms)


if __name__ == "__main__":
    main()
