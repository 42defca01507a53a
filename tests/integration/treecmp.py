#!/usr/bin/env python3
"""treecmp.py A B [--no-owner] [--mtime] [--no-xattr]: compare two trees
entry by entry: type, permission bits (incl. setuid/setgid/sticky), size and
SHA-256 of regular files, link targets, device numbers, hardlink groups,
xattrs, and optionally ownership and mtimes. Prints every difference and
exits 1 if there is any.
"""
import os, sys, stat, hashlib, argparse

p = argparse.ArgumentParser()
p.add_argument("a")
p.add_argument("b")
p.add_argument("--no-owner", action="store_true")
p.add_argument("--mtime", action="store_true")
p.add_argument("--no-xattr", action="store_true")
p.add_argument("--ignore", action="append", default=[])
o = p.parse_args()

def scan(top):
    out, inodes = {}, {}
    for dp, dns, fns in os.walk(top):
        for n in dns + fns:
            full = os.path.join(dp, n)
            rel = os.path.relpath(full, top)
            if rel in o.ignore:
                continue
            st = os.lstat(full)
            e = {"type": stat.S_IFMT(st.st_mode), "mode": stat.S_IMODE(st.st_mode)}
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(full, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                e["sha256"] = h.hexdigest()
                e["size"] = st.st_size
                key = (st.st_dev, st.st_ino)
                inodes.setdefault(key, []).append(rel)
            if stat.S_ISLNK(st.st_mode):
                e["target"] = os.readlink(full)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            if not o.no_owner:
                e["owner"] = (st.st_uid, st.st_gid)
            if o.mtime and not stat.S_ISLNK(st.st_mode):
                e["mtime"] = int(st.st_mtime)
            if not o.no_xattr and not stat.S_ISLNK(st.st_mode):
                try:
                    e["xattr"] = sorted((k, os.getxattr(full, k, follow_symlinks=False))
                                        for k in os.listxattr(full, follow_symlinks=False))
                except OSError:
                    e["xattr"] = []
            out[rel] = e
    groups = sorted(sorted(v) for v in inodes.values() if len(v) > 1)
    return out, groups

ta, ga = scan(o.a)
tb, gb = scan(o.b)
bad = 0
for k in sorted(set(ta) | set(tb)):
    if k not in ta:
        print("only in %s: %s" % (o.b, k)); bad += 1
    elif k not in tb:
        print("only in %s: %s" % (o.a, k)); bad += 1
    elif ta[k] != tb[k]:
        print("differs: %s: %r != %r" % (k, ta[k], tb[k])); bad += 1
if ga != gb:
    print("hardlink groups differ: %r != %r" % (ga, gb)); bad += 1
sys.exit(1 if bad else 0)
