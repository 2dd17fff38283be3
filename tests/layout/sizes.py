#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a C file under src/ is over 600 lines or a function over 80.

Usage: sizes.py SRC_DIR [MAX_FILE_LINES MAX_FUNCTION_LINES]

A function is counted from the line of its opening brace at column 0
(the style's brace placement, .clang-format BreakBeforeBraces: Linux) to
its closing brace at column 0, both included. Generated files are not in
src/ and so are not counted.
"""
import os
import re
import sys

FUNC_START = re.compile(r"^[A-Za-z_][^;=]*\)\s*$")


def functions(lines):
    """(name, first line, length) of each function definition."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            # the signature ends on the previous line(s): find its name
            j = i - 1
            sig = lines[j]
            while j > 0 and "(" not in sig:
                j -= 1
                sig = lines[j] + sig
            m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", sig)
            k = i + 1
            while k < len(lines) and lines[k] != "}":
                k += 1
            if m and not lines[j].startswith(("struct", "enum", "union", "typedef")):
                out.append((m.group(1), j + 1, k - i + 1))
            i = k
        i += 1
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    src = argv[1]
    max_file = int(argv[2]) if len(argv) > 2 else 600
    max_func = int(argv[3]) if len(argv) > 3 else 80
    bad = 0
    files = 0
    for root, _, names in os.walk(src):
        for n in sorted(names):
            if not n.endswith((".c", ".h")):
                continue
            path = os.path.join(root, n)
            rel = os.path.relpath(path, os.path.dirname(src.rstrip("/")))
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            files += 1
            count = len(lines) - (1 if lines and lines[-1] == "" else 0)
            if count > max_file:
                print(f"{rel}: {count} lines (at most {max_file}: split it)")
                bad += 1
            for name, line, length in functions(lines):
                if length > max_func:
                    print(f"{rel}:{line}: {name}() is {length} lines (at most {max_func})")
                    bad += 1
    print(f"sizes: {files} files, {bad} over the limits")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
