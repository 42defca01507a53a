#!/usr/bin/env python3
"""gen-tree.py DIR MIB: a reproducible synthetic root filesystem of about
MIB MiB: half incompressible bytes, half text, in files of 4 KiB to 8 MiB
spread over nested directories, plus links. The same arguments always give
the same bytes."""
import os, sys, random

root, mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
os.makedirs(root, exist_ok=True)
target = mib << 20
total = 0
i = 0
words = [b"alpha", b"beta", b"gamma", b"delta", b"image", b"layer", b"hoist",
         b"registry", b"manifest", b"config", b"\n", b"0123456789"]
while total < target:
    d = os.path.join(root, "d%02d" % (i % 37), "s%02d" % (i % 11))
    os.makedirs(d, exist_ok=True)
    size = min(rnd.choice([4096, 65536, 262144, 1 << 20, 8 << 20]), target - total)
    p = os.path.join(d, "f%06d" % i)
    with open(p, "wb") as f:
        if i % 2:
            f.write(rnd.randbytes(size))
        else:
            out = bytearray()
            while len(out) < size:
                out += rnd.choice(words) + b" "
            f.write(bytes(out[:size]))
    total += size
    i += 1
os.symlink("d00", os.path.join(root, "link"))
