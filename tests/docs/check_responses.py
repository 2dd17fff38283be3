#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The management API is what docs/api/openapi.yaml says: checks every response
the integration tests received against the operation the spec declares for it.

    check_responses.py SPEC LOG [--min N]

LOG has one JSON object a line, appended by the tests' HTTP helpers when
OTTER_API_LOG names it (tests/integration/server/harness.c request_any, lib.sh
req): {"method", "path", "status", "content_type", "headers": {lower-case
name: value}, "body": text or null (not JSON / not logged), "test"}.

For each response to a path under /api/ or /metrics:
- the path matches a path template (a literal segment wins over a parameter);
  an unknown path must answer 404 and a method the path does not list 405,
  both with the components' NotFound / MethodNotAllowed response;
- the status is declared by the operation (else `default`): an undeclared
  status is an error;
- every header the response declares `required: true` is present;
- a response that declares content has one of its media types, and a JSON
  body validates against its schema (OpenAPI 3.0 converted to JSON Schema:
  nullable, allOf merged, and objects with declared properties closed to
  undeclared ones, so an undocumented field is an error too);
- a response that declares no content has an empty body.
Other paths (the device API, the dashboard) are not in this spec. Exits 1 on
any problem, or when fewer than N responses (default 1) were checked: an empty
log proves nothing.
"""
import copy
import json
import re
import sys
from urllib.parse import urlsplit

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.templates = []
        for tpl, item in self.doc["paths"].items():
            parts = tpl.strip("/").split("/")
            rx = "/" + "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            params = sum(p.startswith("{") for p in parts)
            self.templates.append((params, re.compile(rx + "$"), tpl, item))
        self.templates.sort(key=lambda t: t[0])  # literal segments first
        self.cache = {}
        self.answered = set()  # (METHOD, template, status) seen, for the coverage line

    def ref(self, ref):
        node = self.doc
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = self.ref(node["$ref"])
        return node

    def match(self, path):
        for _, rx, tpl, item in self.templates:
            if rx.match(path):
                return tpl, item
        return None, None

    def json_schema(self, schema):
        key = id(schema)
        if key not in self.cache:
            self.cache[key] = to_json_schema(self, schema, ())
        return self.cache[key]


def to_json_schema(spec, s, seen):
    """OpenAPI 3.0 schema object -> JSON Schema (draft 4 keywords), refs inlined."""
    if not isinstance(s, dict):
        return s
    if "$ref" in s:
        if s["$ref"] in seen:
            raise ValueError(f"recursive schema {s['$ref']}")
        return to_json_schema(spec, spec.ref(s["$ref"]), seen + (s["$ref"],))
    s = copy.copy(s)
    nullable = s.pop("nullable", False)
    for k in ("example", "description", "format", "default", "readOnly", "writeOnly",
              "deprecated", "xml", "externalDocs", "discriminator", "title"):
        s.pop(k, None)
    if "allOf" in s:
        parts = [to_json_schema(spec, p, seen) for p in s.pop("allOf")]
        merged = {}
        for p in parts + [to_json_schema(spec, s, seen)]:
            for k, v in p.items():
                if k == "properties":
                    merged.setdefault("properties", {}).update(v)
                elif k == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(v))
                elif k == "additionalProperties" and v is False:
                    continue  # reapplied below over the union of the parts
                else:
                    merged[k] = v
        s = merged
    else:
        for k in ("properties",):
            if k in s:
                s[k] = {n: to_json_schema(spec, v, seen) for n, v in s[k].items()}
        for k in ("items", "not"):
            if k in s:
                s[k] = to_json_schema(spec, s[k], seen)
        if isinstance(s.get("additionalProperties"), dict):
            s["additionalProperties"] = to_json_schema(spec, s["additionalProperties"], seen)
        for k in ("oneOf", "anyOf"):
            if k in s:
                s[k] = [to_json_schema(spec, p, seen) for p in s[k]]
    # An answer may only carry the fields its schema declares.
    if "properties" in s and "additionalProperties" not in s:
        s["additionalProperties"] = False
    if nullable:
        if "type" in s:
            s["type"] = [s["type"], "null"] if isinstance(s["type"], str) else s["type"] + ["null"]
            if "enum" in s:
                s["enum"] = s["enum"] + [None]
        else:
            s = {"anyOf": [s, {"type": "null"}]}
    return s


def essence(media_type):
    return (media_type or "").split(";")[0].strip().lower()


def check_body(spec, response, entry, where, problems):
    response = spec.deref(response)
    for name, h in (response.get("headers") or {}).items():
        h = spec.deref(h)
        if h.get("required") and name.lower() not in (entry.get("headers") or {}):
            problems.append(f"{where}: declared header {name} is missing")
    content = response.get("content")
    body = entry.get("body")
    if entry["method"] == "HEAD":
        return
    if not content:
        if body:
            problems.append(f"{where}: the response declares no content, got a body")
        return
    got = essence(entry.get("content_type"))
    declared = {essence(k): v for k, v in content.items()}
    if got not in declared:
        problems.append(f"{where}: Content-Type {entry.get('content_type')!r}, "
                        f"declared {sorted(declared)}")
        return
    if got != "application/json" or "schema" not in declared[got]:
        return
    if body is None:
        problems.append(f"{where}: JSON response without a logged body")
        return
    try:
        doc = json.loads(body)
    except ValueError as e:
        problems.append(f"{where}: body is not JSON ({e}): {body[:200]!r}")
        return
    schema = spec.json_schema(declared[got]["schema"])
    for err in sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)[:3]:
        at = "/".join("*" if isinstance(p, int) else str(p) for p in err.absolute_path) or "(root)"
        problems.append(f"{where}: body {at}: {err.message[:300]}")


def in_scope(path):
    """This spec's paths: the management API and /metrics (not the DDI device API, not the
    dashboard)."""
    return path.startswith("/api/") or path == "/metrics"


def generic(spec, name, entry, where):
    """Problems of an answer outside the operations (unknown path, unlisted method)."""
    response = (spec.doc.get("components", {}).get("responses") or {}).get(name)
    if response is None:
        return [f"{where}: the spec has no components/responses/{name} for this answer"]
    problems = []
    check_body(spec, response, entry, where, problems)
    return problems


def check(spec, entry):
    """Problems of one logged response (empty list: it is what the spec says)."""
    method, status = entry["method"].upper(), entry["status"]
    path = urlsplit(entry["path"]).path
    where = f"{method} {path} -> {status}"  # with the template once it is known
    problems = []
    if not in_scope(path):
        return problems
    if status < 100:
        return problems  # no answer (connection refused or reset): nothing to check
    tpl, item = spec.match(path)
    if tpl is None:
        if status != 404:
            return [f"{where}: no path of the spec matches, and the answer is not 404"]
        return generic(spec, "NotFound", entry, where)
    op = item.get(method.lower()) if method.lower() in METHODS else None
    if op is None and method == "HEAD":
        op = item.get("get")
    if op is None:
        if status != 405:
            return [f"{where}: {tpl} has no {method}, and the answer is not 405"]
        return generic(spec, "MethodNotAllowed", entry, where)
    spec.answered.add((method if method != "HEAD" else "GET", tpl, str(status)))
    responses = op.get("responses") or {}
    response = responses.get(str(status), responses.get("default"))
    if response is None:
        return [f"{method} {tpl} -> {status}: status {status} is not declared "
                f"(declared: {', '.join(sorted(responses))})"]
    check_body(spec, response, entry, f"{method} {tpl} -> {status}", problems)
    return problems


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    minimum = int(argv[argv.index("--min") + 1]) if "--min" in argv else 1
    spec = Spec(argv[1])
    checked, problems = 0, {}  # problem -> (times, first example)
    with open(argv[2], encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as e:
                problems[f"{argv[2]}:{n}: not a JSON line ({e})"] = (1, "")
                continue
            if not in_scope(urlsplit(entry["path"]).path):
                continue
            checked += 1
            for p in check(spec, entry):
                # The same defect seen by many requests is reported once, with one example.
                times, example = problems.get(p, (0, f"{entry.get('test', '?')}: "
                                                     f"{entry['method']} {entry['path']}"))
                problems[p] = (times + 1, example)
    for p, (times, example) in problems.items():
        print(f"{p}\n    {times} time(s), e.g. {example}")
    ops = [(m.upper(), tpl) for tpl, item in spec.doc["paths"].items() for m in item
           if m in METHODS]
    seen_ops = {(m, t) for m, t, _ in spec.answered}
    statuses = sum(len(spec.doc["paths"][t][m.lower()].get("responses") or {}) for m, t in ops)
    print(f"coverage: {len(seen_ops & set(ops))} of {len(ops)} operations and "
          f"{len(spec.answered)} of {statuses} declared (operation, status) answers were seen")
    print(f"{argv[2]}: {checked} responses checked against {argv[1]}, {len(problems)} problem(s)")
    if checked < minimum:
        print(f"fewer than {minimum} responses logged: did the integration tests run "
              "with OTTER_API_LOG set?")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
