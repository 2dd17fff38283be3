#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks docs/api/openapi.yaml as YAML, beyond the route list test_routes.c
compares: it parses; no key has an empty value (an unquoted comma inside a
flow mapping, e.g. `{description: a, b}`, silently makes a key `b`); every
operation answers something; every $ref points at a defined component."""
import sys

import yaml

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    problems = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{where}/{key}"
                if value is None:
                    problems.append(f"{here}: empty value (an unquoted comma in a flow mapping?)")
                if key == "$ref":
                    ref_target(value, here)
                walk(value, here)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    def ref_target(ref, where):
        if not isinstance(ref, str) or not ref.startswith("#/"):
            problems.append(f"{where}: $ref {ref!r} is not local")
            return
        node = doc
        for part in ref[2:].split("/"):
            if not isinstance(node, dict) or part not in node:
                problems.append(f"{where}: $ref {ref} points at nothing")
                return
            node = node[part]

    walk(doc, "")
    for p, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method in METHODS and not (isinstance(op, dict) and op.get("responses")):
                problems.append(f"/paths/{p}/{method}: no responses")
    for line in problems:
        print(f"{path}: {line}")
    print(f"{path}: {len(doc.get('paths') or {})} paths, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
