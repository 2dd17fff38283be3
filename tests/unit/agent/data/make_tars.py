#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the tar streams the archive handler test feeds: one good, many hostile.
Usage: make_tars.py OUTDIR"""
import io
import os
import sys
import tarfile


def add(t, name, kind="file", data=b"", target="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.mtime = 1764064800
    info.mode = mode
    if kind == "file":
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        return
    info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                 "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    if kind == "dir":
        info.mode = 0o755
    info.linkname = target
    t.addfile(info)


def write(out, name, entries, fmt=tarfile.PAX_FORMAT):
    with tarfile.open(os.path.join(out, name), "w", format=fmt) as t:
        for e in entries:
            add(t, *e)


def main():
    out = sys.argv[1]
    big = bytes(range(256)) * 4096 * 5  # 5 MiB, not all zeros
    write(out, "good.tar", [
        ("etc", "dir"),
        ("etc/hostname", "file", b"gateway\n"),
        ("bin", "dir"),
        ("bin/tool", "file", b"#!/bin/sh\necho hi\n", "", 0o755),
        ("bin/tool-link", "sym", b"", "tool"),
        ("etc/up", "sym", b"", "../bin/tool"),
        ("bin/tool-hard", "hard", b"", "bin/tool"),
        ("./data/big.bin", "file", big),
    ])
    hostile = {
        "abs.tar": [("/tmp/otter-evil", "file", b"x")],
        "dotdot.tar": [("../evil", "file", b"x")],
        "dotdot-deep.tar": [("a", "dir"), ("a/../../evil", "file", b"x")],
        "sym-abs.tar": [("etc", "dir"), ("etc/passwd", "sym", b"", "/etc/passwd")],
        "sym-up.tar": [("a", "dir"), ("a/escape", "sym", b"", "../../outside")],
        "hard-up.tar": [("victim", "hard", b"", "../outside")],
        "hard-abs.tar": [("victim", "hard", b"", "/etc/passwd")],
        "hard-to-sym.tar": [("a", "dir"), ("a/b", "dir"), ("a/b/link", "sym", b"", "../../x"),
                            ("top", "hard", b"", "a/b/link")],
        "device.tar": [("dev", "dir"), ("dev/null", "chr", b"")],
        "fifo.tar": [("pipe", "fifo", b"")],
        "through-link.tar": [("sub", "dir"), ("link", "sym", b"", "sub"),
                             ("link/file", "file", b"x")],
    }
    for name, entries in hostile.items():
        write(out, name, entries, tarfile.GNU_FORMAT)
    with open(os.path.join(out, "garbage.tar"), "wb") as f:
        f.write(b"this is not a tar stream at all" * 40)


main()
