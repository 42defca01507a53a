#!/usr/bin/env python3
"""estargz-check.py: an independent eStargz reader for the tests.

Written from the stargz-snapshotter specification (estargz.md), not from
hoist's code. For every layer of an OCI layout that carries the
containerd.io/snapshot/stargz/toc.digest annotation (or for one blob given
with --blob), it checks:

  - the 51-byte footer: an empty gzip member with FEXTRA, XLEN 26, subfield
    "SG", LEN 22, "%016xSTARGZ" with the TOC offset;
  - the TOC member at that offset: one gzip member that ends where the
    footer starts and holds the tar entry stargz.index.json (and the
    end-of-archive blocks); its sha256 equals the annotation;
  - every TOC entry against the layer's tar (gunzipped whole, read with
    Python's tarfile): same entries in the same order, name, type, size,
    mode, uid, gid, linkName, modtime, devMajor/devMinor, xattrs;
  - for each regular file and chunk: a gzip member starts at `offset`;
    decompressing that member alone yields the chunk (chunkSize bytes, or
    the rest of the file for the last chunk, whose chunkSize is 0) whose
    sha256 is chunkDigest; chunkOffsets are contiguous; the whole file's
    sha256 is `digest`; a non-last chunk's member holds exactly the chunk;
  - a landmark (.no.prefetch.landmark or .prefetch.landmark) holding 0x0f;
  - the io.containers.estargz.uncompressed-size annotation and the config's
    diff_id against the gunzipped stream.

--strict also requires the last chunk's chunkSize to be 0, as the
specification says (the reference producer writes the chunk size when the
file is an exact multiple of it). --shape prints each TOC entry's type and key list (one per line), so two
producers' conventions can be compared. Exit 0 when everything holds; else
the first failure on stderr and exit 1.
"""
import base64
import datetime
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zlib

TOC_ANN = "containerd.io/snapshot/stargz/toc.digest"
USIZE_ANN = "io.containers.estargz.uncompressed-size"
FOOTER = 51
TYPES = {
    tarfile.REGTYPE: "reg", tarfile.AREGTYPE: "reg", tarfile.LNKTYPE: "hardlink",
    tarfile.SYMTYPE: "symlink", tarfile.DIRTYPE: "dir", tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo",
}


class Bad(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Bad(msg)


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def parse_footer(blob):
    f = blob[-FOOTER:]
    check(len(blob) >= FOOTER, "blob shorter than the footer")
    check(f[:4] == b"\x1f\x8b\x08\x04", "footer: not a gzip header with FEXTRA")
    xlen = struct.unpack("<H", f[10:12])[0]
    check(xlen == 26, "footer: XLEN %d, not 26" % xlen)
    check(f[12:14] == b"SG", "footer: subfield id %r, not SG" % f[12:14])
    ln = struct.unpack("<H", f[14:16])[0]
    check(ln == 22, "footer: subfield LEN %d, not 22" % ln)
    sub = f[16:38]
    check(sub[16:] == b"STARGZ", "footer: no STARGZ magic")
    off = int(sub[:16], 16)
    d = zlib.decompressobj(31)
    out = d.decompress(f)
    check(d.eof and out == b"" and d.unused_data == b"",
          "footer: not one empty gzip member")
    return off


def member_at(blob, off):
    """Decompress the single gzip member at off: (data, end offset)."""
    check(blob[off:off + 3] == b"\x1f\x8b\x08",
          "no gzip member starts at offset %d" % off)
    d = zlib.decompressobj(31)
    out = d.decompress(blob[off:])
    check(d.eof, "gzip member at %d is truncated" % off)
    return out, len(blob) - len(d.unused_data)


def modtime(ti):
    if ti.mtime == 0:
        return None
    t = datetime.datetime.fromtimestamp(round(ti.mtime), datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_blob(blob, toc_digest=None, usize=None, diff_id=None, shape=False):
    toc_off = parse_footer(blob)
    data, end = member_at(blob, toc_off)
    check(end == len(blob) - FOOTER,
          "TOC member ends at %d, footer starts at %d" % (end, len(blob) - FOOTER))
    tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    ti = tf.next()
    check(ti is not None and ti.name == "stargz.index.json",
          "the TOC member does not start with stargz.index.json")
    raw = tf.extractfile(ti).read()
    check(tf.next() is None, "the TOC member holds more than the TOC")
    if toc_digest is not None:
        check(sha(raw) == toc_digest,
              "TOC digest %s, annotation says %s" % (sha(raw), toc_digest))
    toc = json.loads(raw)
    check(toc.get("version") == 1, "TOC version is not 1")
    ents = toc["entries"]

    full = gzip.decompress(blob)
    if usize is not None:
        check(len(full) == int(usize), "uncompressed size %d, annotation says %s"
              % (len(full), usize))
    if diff_id is not None:
        check(sha(full) == diff_id, "diff_id %s, config says %s" % (sha(full), diff_id))
    tar = tarfile.open(fileobj=io.BytesIO(full), mode="r:")
    members = [m for m in tar.getmembers() if m.name != "stargz.index.json"]
    check(tar.getmembers()[-1].name == "stargz.index.json",
          "stargz.index.json is not the last tar entry")

    i = 0
    landmark = False
    for m in members:
        check(i < len(ents), "tar entry %r is missing from the TOC" % m.name)
        e = ents[i]
        i += 1
        # tarfile drops a directory's trailing slash
        name = e["name"].rstrip("/") if m.isdir() else e["name"]
        check(name == m.name, "TOC entry %d is %r, tar has %r" % (i, e["name"], m.name))
        typ = TYPES.get(m.type)
        if typ == "reg" and m.name.endswith("/") and m.type == tarfile.AREGTYPE:
            typ = "dir"
        check(e["type"] == typ, "%s: type %s, tar says %s" % (m.name, e["type"], typ))
        check(e.get("mode", 0) == m.mode, "%s: mode %o, tar %o" % (m.name, e.get("mode", 0), m.mode))
        check(e.get("uid", 0) == m.uid and e.get("gid", 0) == m.gid, "%s: uid/gid" % m.name)
        check(e.get("modtime") == modtime(m),
              "%s: modtime %r, tar %r" % (m.name, e.get("modtime"), modtime(m)))
        if typ in ("symlink", "hardlink"):
            check(e.get("linkName") == m.linkname, "%s: linkName" % m.name)
        if typ in ("char", "block"):
            check(e.get("devMajor", 0) == m.devmajor and e.get("devMinor", 0) == m.devminor,
                  "%s: device numbers" % m.name)
        xa = {k[len("SCHILY.xattr."):]: v for k, v in m.pax_headers.items()
              if k.startswith("SCHILY.xattr.")}
        got = {k: base64.b64decode(v).decode("utf-8", "surrogateescape")
               for k, v in e.get("xattrs", {}).items()}
        check(got == xa, "%s: xattrs %r, tar %r" % (m.name, got, xa))
        if typ != "reg":
            check("size" not in e and "offset" not in e, "%s: size/offset on a %s" % (m.name, typ))
            continue
        content = tar.extractfile(m).read()
        check(e.get("size", 0) == len(content), "%s: size" % m.name)
        check(e.get("digest") == sha(content), "%s: digest" % m.name)
        if m.name in (".no.prefetch.landmark", ".prefetch.landmark"):
            check(content == b"\x0f", "landmark content is not 0x0f")
            landmark = True
        if not content:
            check("offset" not in e and "chunkDigest" not in e,
                  "%s: an empty file has an offset" % m.name)
            continue
        # the chunks: the reg entry, then "chunk" entries
        chunk, pos = e, 0
        while True:
            check(chunk.get("chunkOffset", 0) == pos,
                  "%s: chunkOffset %d, expected %d" % (m.name, chunk.get("chunkOffset", 0), pos))
            size = chunk.get("chunkSize", 0)
            # the reference producer leaves chunkSize set on a last chunk
            # of exactly the chunk size; --strict holds to the spec's 0
            last = size == 0 or (not STRICT and pos + size == len(content))
            want = content[pos:] if last else content[pos:pos + size]
            got, _ = member_at(blob, chunk["offset"])
            check(got[:len(want)] == want, "%s: member at %d does not start with the chunk at %d"
                  % (m.name, chunk["offset"], pos))
            if not last:
                check(len(got) == size, "%s: chunk member at %d holds %d bytes, not %d"
                      % (m.name, chunk["offset"], len(got), size))
            elif STRICT:
                check(size == 0, "%s: the last chunk's chunkSize is %d, not 0" % (m.name, size))
            check(chunk.get("chunkDigest") == sha(want), "%s: chunkDigest at %d" % (m.name, pos))
            pos += len(want)
            if last:
                break
            check(pos < len(content), "%s: a chunk ends the file but chunkSize != 0" % m.name)
            check(i < len(ents) and ents[i]["type"] == "chunk" and ents[i]["name"] == m.name,
                  "%s: chunk entry missing after offset %d" % (m.name, pos))
            chunk = ents[i]
            i += 1
        check(pos == len(content), "%s: chunks cover %d of %d bytes" % (m.name, pos, len(content)))
    check(i == len(ents), "the TOC has %d entries the tar does not" % (len(ents) - i))
    check(landmark, "no prefetch landmark")
    if shape:
        for e in ents:
            print(e["type"], ",".join(e.keys()))
    return len(ents)


STRICT = False


def main(argv):
    global STRICT
    shape = "--shape" in argv
    STRICT = "--strict" in argv
    argv = [a for a in argv if a not in ("--shape", "--strict")]
    if len(argv) == 3 and argv[1] == "--blob":
        with open(argv[2], "rb") as f:
            n = check_blob(f.read(), shape=shape)
        print("ok: %d TOC entries" % n, file=sys.stderr)
        return 0
    if len(argv) != 2:
        print("usage: estargz-check.py [--strict] [--shape] LAYOUT | --blob FILE", file=sys.stderr)
        return 2
    lay = argv[1]

    def blob(d):
        with open(os.path.join(lay, "blobs", *d.split(":")), "rb") as f:
            return f.read()

    layers = 0
    todo = json.load(open(os.path.join(lay, "index.json")))["manifests"]
    while todo:
        d = todo.pop(0)
        doc = json.loads(blob(d["digest"]))
        if "manifests" in doc:
            todo += doc["manifests"]
            continue
        if "layers" not in doc:
            continue
        cfg = json.loads(blob(doc["config"]["digest"]))
        ids = cfg.get("rootfs", {}).get("diff_ids", [])
        for k, l in enumerate(doc["layers"]):
            ann = l.get("annotations", {})
            if TOC_ANN not in ann:
                continue
            check(l["mediaType"] in ("application/vnd.oci.image.layer.v1.tar+gzip",
                                     "application/vnd.docker.image.rootfs.diff.tar.gzip"),
                  "layer media type %s" % l["mediaType"])
            b = blob(l["digest"])
            check(sha(b) == l["digest"], "blob digest")
            n = check_blob(b, ann[TOC_ANN], ann.get(USIZE_ANN),
                           ids[k] if k < len(ids) else None, shape)
            print("ok: %s: %d TOC entries" % (l["digest"], n), file=sys.stderr)
            layers += 1
    check(layers > 0, "no eStargz layer in %s" % lay)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Bad as e:
        print("estargz-check: %s" % e, file=sys.stderr)
        sys.exit(1)
