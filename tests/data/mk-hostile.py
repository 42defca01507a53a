#!/usr/bin/env python3
"""Write hostile and benign layer tars for test-unpack.

usage: mk-hostile.py OUTDIR SENTINEL

SENTINEL is an absolute directory outside the unpack destination; the
hostile tars aim at it (and at /etc) so the test can check that nothing
was created there. Every tar is plain (uncompressed) and deterministic.
"""
import io
import os
import sys
import tarfile

MTIME = 1700000000


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=None,
          devmajor=0, devminor=0, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mtime = MTIME
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""
    if kind == tarfile.DIRTYPE:
        ti.mode = 0o755 if mode is None else mode
    else:
        ti.mode = 0o644 if mode is None else mode
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        ti.linkname = link
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = devmajor, devminor
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write(outdir, name, entries):
    with tarfile.open(os.path.join(outdir, name), "w",
                      format=tarfile.PAX_FORMAT) as tf:
        for ti, f in entries:
            tf.addfile(ti, f)


def f(name, data=b"x", **kw):
    return entry(name, tarfile.REGTYPE, data=data, **kw)


def d(name, **kw):
    return entry(name, tarfile.DIRTYPE, **kw)


def sym(name, target):
    return entry(name, tarfile.SYMTYPE, link=target)


def hard(name, target):
    return entry(name, tarfile.LNKTYPE, link=target)


def main():
    outdir, sentinel = sys.argv[1], sys.argv[2]
    rel_sentinel = sentinel.lstrip("/")
    sentinel_name = os.path.basename(sentinel.rstrip("/"))
    os.makedirs(outdir, exist_ok=True)

    hostile = {
        # DEST and SENTINEL are siblings, so ../SENTINEL hits it.
        "dotdot.tar": [f("ok"), f("../%s/pwned" % sentinel_name)],
        "dotdot-inner.tar": [d("a/"), f("a/../../%s/pwned" % sentinel_name)],
        "absolute.tar": [f(sentinel + "/pwned")],
        "symlink-root.tar": [sym("escape", "/"),
                             f("escape/%s/pwned" % rel_sentinel)],
        "symlink-abs.tar": [sym("s", sentinel), f("s/pwned")],
        "symlink-chain.tar": [sym("l1", "l2"),
                              sym("l2", "../%s" % sentinel_name),
                              f("l1/pwned")],
        "symlink-dotdot.tar": [d("d/"), sym("d/up", ".."),
                               f("d/up/up/%s/pwned" % sentinel_name)],
        # a directory replaced by a symlink in the same layer
        "symlink-swap.tar": [d("w/"), f("w/first"), sym("w", sentinel),
                             f("w/pwned")],
        "hardlink-outside.tar": [hard("h", "../%s/target" % sentinel_name)],
        "hardlink-passwd.tar": [hard("passwd", "/etc/passwd")],
        "hardlink-symlink.tar": [sym("s", sentinel), hard("x", "s/target")],
        "device.tar": [entry("null", tarfile.CHRTYPE, devmajor=1,
                             devminor=3)],
        "whiteout-symlink.tar": [sym("s", sentinel), f("s/.wh.target")],
        "opaque-symlink.tar": [sym("s", sentinel), f("s/.wh..wh..opq")],
        "whiteout-dot.tar": [f(".wh..")],
        "whiteout-dotdot.tar": [f("a/.wh...")],
    }
    for name, entries in hostile.items():
        write(outdir, name, entries)

    # Benign layers, applied in order by the test.
    write(outdir, "layer1.tar", [
        d("a/"), d("a/b/"), f("a/keep", b"keep"), f("a/gone", b"gone"),
        f("a/b/deep", b"deep"), d("c/"), f("c/old", b"old"), d("c/sub/"),
        f("c/sub/x", b"x"), f("top", b"top"), sym("link", "a/keep"),
        f("twin", b"twin"), hard("hard", "twin"), entry("p", tarfile.FIFOTYPE, mode=0o600),
        f("ro/file", b"ro"), f("exec", b"#!/bin/sh", mode=0o4755),
    ])
    write(outdir, "layer2.tar", [
        f("a/.wh.gone"), f(".wh.top"), f(".wh.missing"),
        f("zz/.wh.nothing"),
        # the opaque marker keeps what this layer wrote before it
        f("c/new", b"new"), d("c/sub/"), f("c/sub/y", b"y"),
        f("c/.wh..wh..opq"), f("c/after", b"after"),
        # type changes: dir -> file, symlink -> dir, file -> symlink
        f("a/b", b"now a file"), d("link/"), sym("a/keep", "../top"),
        # hardlinked file rewritten: its twin must not change
        f("hard", b"replaced"),
        d("ro/", mode=0o555),
    ])
    write(outdir, "layer3.tar", [
        f("a/.wh.b"), d("e/", mode=0o555), f("e/f", b"f"),
        f("ro/more", b"more"),
        # whiteout of a whole tree
        f(".wh.c"),
    ])
    write(outdir, "owners.tar", [
        d("o/", uid=1234, gid=5678, mode=0o750),
        f("o/f", uid=1234, gid=5678, mode=0o2755),
        entry("o/l", tarfile.SYMTYPE, link="f", uid=1234, gid=5678),
    ])
    write(outdir, "sparse-order.tar", [
        # entries whose parents are missing, in a bad order
        f("x/y/z", b"z"), d("x/", mode=0o700), f("./x/./w", b"w"),
        d("./"), d("."),
    ])


if __name__ == "__main__":
    main()
