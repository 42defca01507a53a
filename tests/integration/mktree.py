#!/usr/bin/env python3
"""mktree.py DIR [--variant N] [--mtime T]: build a test tree that exercises
every entry type a layer can hold: regular files (empty, small, 1 MiB of
pseudo-random bytes), directories (empty too), symlinks (relative, absolute,
dangling, a long target), a hardlink pair, a fifo, char and block devices
(root only), odd modes (setuid, setgid, sticky, 0000-ish), paths over 100
and over 255 characters, non-ASCII names, xattrs including
security.capability (root only). Content is the same for every run;
--mtime sets every mtime (default: now) so two copies differ only in time.
"""
import os, sys, random, stat, argparse

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--mtime", type=int, default=None)
p.add_argument("--no-special", action="store_true",
               help="skip devices, fifos and xattrs (for tools that cannot)")
a = p.parse_args()
root = a.dir
os.makedirs(root, exist_ok=True)
rnd = random.Random(1234)

def w(path, data, mode=0o644):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    os.chmod(full, mode)

w("etc/hostname", b"hoist-test\n")
w("etc/empty", b"")
w("bin/tool", b"#!/bin/sh\necho tool\n", 0o755)
w("bin/suid", b"suid\n", 0o4755)
w("bin/sgid", b"sgid\n", 0o2711)
w("data/random.bin", bytes(rnd.getrandbits(8) for _ in range(1 << 20)))
w("data/text.txt", b"".join(b"line %d of some text\n" % i for i in range(20000)))
w("data/private", b"secret\n", 0o600)
w("data/odd-mode", b"odd\n", 0o751)
w("unicode/caf\u00e9-\u65e5\u672c.txt".encode().decode(), b"utf8\n")
os.makedirs(os.path.join(root, "empty/dir"), exist_ok=True)
os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
os.chmod(os.path.join(root, "tmp"), 0o1777)
long1 = "long/" + "a" * 60 + "/" + "b" * 60 + "/file-over-100.txt"
w(long1, b"over 100\n")
long2 = "long/" + "/".join(["c" * 50] * 5) + "/" + "d" * 80 + ".txt"
w(long2, b"over 255\n")
os.symlink("hostname", os.path.join(root, "etc/link-rel"))
os.symlink("/etc/hostname", os.path.join(root, "etc/link-abs"))
os.symlink("does/not/exist", os.path.join(root, "etc/link-dangling"))
os.symlink("../" + long2, os.path.join(root, "etc/link-long"))
os.link(os.path.join(root, "bin/tool"), os.path.join(root, "bin/tool-hardlink"))
os.link(os.path.join(root, "data/text.txt"), os.path.join(root, "hardlink-to-text"))
if not a.no_special:
    os.mkfifo(os.path.join(root, "data/fifo"), 0o644)
    if os.geteuid() == 0:
        os.mknod(os.path.join(root, "data/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(os.path.join(root, "data/loop9"), 0o660 | stat.S_IFBLK, os.makedev(7, 9))
        os.setxattr(os.path.join(root, "bin/tool"), "security.capability",
                    bytes.fromhex("0100000200200000000000000000000000000000"))
    try:
        os.setxattr(os.path.join(root, "etc/hostname"), "user.hoist", b"x-attr value")
    except OSError:
        pass
if a.mtime is not None:
    for dp, dns, fns in os.walk(root, topdown=False):
        for n in fns + dns:
            os.utime(os.path.join(dp, n), (a.mtime, a.mtime), follow_symlinks=False)
    os.utime(root, (a.mtime, a.mtime))
