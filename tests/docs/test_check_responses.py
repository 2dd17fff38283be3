#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_responses.py itself: each kind of contract break it must report, on
the real docs/api/openapi.yaml, and answers it must let through. Without this
a checker that accepted everything would pass api_contract forever."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_responses  # noqa: E402

ERR = json.dumps({"error": {"code": "not_found", "message": "no tenant 'x'", "where": "path"}})
TOKEN = {"id": 1, "name": "ci", "token": "ota_x", "created_at": "2026-12-07T10:00:00Z",
         "expires_at": "2026-12-08T10:00:00Z"}


def entry(method, path, status, body=None, ct="application/json", headers=None):
    h = {"content-type": ct} if ct else {}
    h.update(headers or {})
    return {"method": method, "path": path, "status": status, "content_type": ct,
            "headers": h, "body": body, "test": "selftest"}


GOOD = [
    entry("POST", "/api/v1/tokens", 201, json.dumps(TOKEN)),
    entry("GET", "/api/v1/tenants/acme?x=1", 404, ERR),
    entry("DELETE", "/api/v1/tenants/acme", 204, None, ct=None),
    entry("PATCH", "/api/v1/me", 405, ERR),
    entry("GET", "/api/v1/nothing/here", 404, ERR),
    entry("POST", "/api/v1/login", 401, ERR, headers={"www-authenticate": "Bearer realm=\"otter\""}),
    entry("GET", "/metrics", 200, "(not JSON)", ct="text/plain; version=0.0.4; charset=utf-8"),
    entry("GET", "/acme/controller/v1/d1", 418, "teapot", ct="text/plain"),  # not this API
]
BAD = {
    "undeclared status": entry("GET", "/api/v1/me", 409, ERR),
    "missing required field": entry("POST", "/api/v1/tokens", 201,
                                    json.dumps({k: v for k, v in TOKEN.items() if k != "created_at"})),
    "undeclared field": entry("POST", "/api/v1/tokens", 201, json.dumps({**TOKEN, "secret": 1})),
    "wrong type": entry("POST", "/api/v1/tokens", 201, json.dumps({**TOKEN, "id": "1"})),
    "null where not nullable": entry("POST", "/api/v1/tokens", 201, json.dumps({**TOKEN, "name": None})),
    "missing required header": entry("POST", "/api/v1/login", 401, ERR),
    "wrong content type": entry("GET", "/api/v1/me", 401, ERR, ct="text/html",
                                headers={"www-authenticate": "Bearer"}),
    "body not JSON": entry("GET", "/api/v1/tenants/acme", 404, "<html>"),
    "old error shape": entry("GET", "/api/v1/tenants/acme", 404,
                             json.dumps({"error": "no tenant", "where": "path"})),
    "body where none is declared": entry("DELETE", "/api/v1/tenants/acme", 204, "{}"),
    "unlisted method not 405": entry("PATCH", "/api/v1/me", 404, ERR),
    "unknown path not 404": entry("GET", "/api/v1/nothing/here", 200, "{}"),
}


def main():
    spec = check_responses.Spec(sys.argv[1])
    fails = 0
    for e in GOOD:
        problems = check_responses.check(spec, e)
        if problems:
            print(f"FAIL good answer refused: {e['method']} {e['path']}: {problems}")
            fails += 1
    for what, e in BAD.items():
        if not check_responses.check(spec, e):
            print(f"FAIL {what}: not reported")
            fails += 1
    # The command line: an empty log fails, a log of good answers passes.
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        open(log, "w").close()
        if check_responses.main(["x", sys.argv[1], log]) != 1:
            print("FAIL an empty log passes")
            fails += 1
        with open(log, "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in GOOD)
        if check_responses.main(["x", sys.argv[1], log]) != 0:
            print("FAIL a log of good answers fails")
            fails += 1
    print(f"{len(GOOD) + len(BAD) + 2} cases, {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
