#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when source files call each other in a circle.

Usage: file_cycles.py OBJECT...

Builds the graph "file A calls a function or uses a variable defined in
file B" from the objects' symbol tables (nm: defined vs undefined global
symbols) and prints every strongly connected set of two or more files.
A circle means neither file can be read, tested or moved without the
other; break it by moving what both need into a third file both call.
"""
import collections
import os
import subprocess
import sys


def symbols(obj, *flags):
    out = subprocess.run(["nm", *flags, obj], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def name(obj):
    base = os.path.basename(obj)
    return base[:-4] if base.endswith(".c.o") else base


def circles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def main(objs):
    if not objs:
        print("file_cycles: no objects given", file=sys.stderr)
        return 2
    defined = {}
    for obj in objs:
        for parts in symbols(obj, "--defined-only", "-g"):
            if len(parts) == 3 and parts[1] in "TDBRC":
                defined[parts[2]] = obj
    graph = collections.defaultdict(set)
    why = {}
    for obj in objs:
        graph[obj]
        for parts in symbols(obj, "-u"):
            target = defined.get(parts[-1])
            if target and target != obj:
                graph[obj].add(target)
                why.setdefault((obj, target), parts[-1])
    found = circles(graph)
    for comp in found:
        print("circle: " + " ".join(name(o) for o in comp))
        for a in comp:
            for b in sorted(graph[a]):
                if b in comp:
                    print(f"  {name(a)} -> {name(b)} ({why[(a, b)]})")
    print(f"file_cycles: {len(objs)} files, {sum(len(v) for v in graph.values())} "
          f"calls between files, {len(found)} circle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
