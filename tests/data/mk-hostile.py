#!/usr/bin/env python3
"""Write hostile and benign layer tars for test-unpack.

usage: mk-hostile.py OUTDIR SENTINEL

SENTINEL is an absolute directory outside the unpack destination; the
hostile tars aim at it (and at /etc) so the test can check that nothing
was created there: what they write must land inside the destination. Every tar is plain (uncompressed) and deterministic.
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

    # Layers that aim outside dest. The names are re-rooted (containerd's
    # rules, see unpack.h), so each either fails or lands inside dest.
    hostile = {
        # DEST and SENTINEL are siblings, so ../SENTINEL would hit it.
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
        "chain-escape.tar": [sym("a", "../../.."),
                             f("a/etc/passwd", b"pwned")],
        "abs-etc.tar": [sym("conf", "/etc"), f("conf/shadow", b"pwned")],
        # etc -> /etc is etc -> itself once re-rooted
        "self-loop.tar": [sym("etc", "/etc"), f("etc/shadow", b"pwned")],
        "loop.tar": [sym("a", "b"), sym("b", "a"), f("a/x")],
        "hardlink-outside.tar": [hard("h", "../%s/target" % sentinel_name)],
        "hardlink-passwd.tar": [hard("passwd", "/etc/passwd")],
        "hardlink-symlink.tar": [sym("s", sentinel), hard("x", "s/target")],
        "hardlink-loop.tar": [sym("a", "b"), sym("b", "a"),
                              hard("x", "a/y")],
        "hardlink-dir.tar": [d("real/"), sym("s", "/"),
                             hard("x", "s/real")],
        "device.tar": [entry("null", tarfile.CHRTYPE, devmajor=1,
                             devminor=3)],
        "whiteout-symlink.tar": [sym("s", sentinel), f("s/.wh.target")],
        "opaque-symlink.tar": [sym("s", sentinel), f("s/.wh..wh..opq")],
        "whiteout-dot.tar": [f(".wh..")],
        "whiteout-dotdot.tar": [f("a/.wh...")],
    }
    for name, entries in hostile.items():
        write(outdir, name, entries)

    # The kernel follows at most 40 symlinks in one lookup; so do we.
    for hops in (40, 41):
        chain = [d("dir/")]
        for i in range(hops):
            chain.append(sym("l%d" % i,
                             "l%d" % (i + 1) if i + 1 < hops else "dir"))
        write(outdir, "hops%d.tar" % hops, chain + [f("l0/x", b"x")])
        write(outdir, "hardlink-hops%d.tar" % hops,
              chain + [f("dir/t", b"t"), hard("x", "l0/t")])

    # A merged-/usr base (Debian 12 and most distributions today), then a
    # layer that writes through its symlinks. usr/lib is read-only so a
    # non-root run has to open it up through the symlink.
    write(outdir, "usrmerge-base.tar", [
        d("usr/"), d("usr/bin/"), d("usr/lib/", mode=0o555),
        d("usr/sbin/"), sym("bin", "usr/bin"), sym("lib", "usr/lib"),
        sym("sbin", "usr/sbin"), sym("lib64", "/usr/lib64"),
        f("usr/bin/sh", b"sh"), f("usr/sbin/gone", b"gone"),
    ])
    write(outdir, "usrmerge-top.tar", [
        d("lib/x86_64-linux-gnu/"),
        f("lib/x86_64-linux-gnu/libfoo.so.1", b"foo"),
        sym("lib/x86_64-linux-gnu/libfoo.so", "libfoo.so.1"),
        f("lib/x/y", b"y"), f("bin/tool", b"tool"),
        f("sbin/.wh.gone"),
        # dangling in the base: usr/lib64 is made
        f("lib64/ld.so", b"ld"),
        hard("bin/sh2", "bin/sh"),
    ])

    # Whiteouts and hardlinks through a symlinked directory.
    write(outdir, "via-base.tar", [
        d("real/"), f("real/target", b"t"), f("real/keep", b"k"),
        d("real/sub/"), f("real/sub/old", b"o"), sym("s", "/real"),
    ])
    write(outdir, "via-whiteout.tar", [f("s/.wh.target")])
    write(outdir, "via-opaque.tar", [
        f("s/new", b"new"), f("s/sub/n2", b"n2"), f("s/.wh..wh..opq"),
    ])
    write(outdir, "via-hardlink.tar", [
        sym("etc", "/real"), hard("x", "etc/keep"),
        hard("y", "../../etc/keep"),
        # the last component is not followed: this links the symlink
        hard("z", "etc"),
    ])
    # Replacing d/c changes where l (-> d/c/..) leads: l/two must be
    # resolved again, not put where l/one went.
    write(outdir, "stale-cache.tar", [
        d("d/"), d("d/c/"), sym("l", "d/c/.."), f("l/one", b"1"),
        sym("l/c", "/elsewhere"), f("l/two", b"2"),
    ])
    # The last component of an entry is replaced, never written through.
    write(outdir, "replace-link.tar", [
        d("real/"), f("real/f", b"orig"), sym("l", "real/f"),
        f("l", b"new"), sym("m", "real"), d("m/"),
    ])

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
