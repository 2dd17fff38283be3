#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A raw client of otter-agentd's control socket for the tests (docs/device-ui.md).

control_client.py SOCKET LINE...      sends each LINE (as is, plus a newline) and prints
                                      every answer line (events skipped) until one answer per
                                      LINE came; 30 s at most.
control_client.py SOCKET --until JQ   subscribes and prints state events until one matches
  (a Python expression over `s`, the state dict), e.g. "s['checks'] > 3"; 60 s at most.
control_client.py SOCKET --listen    prints the first line the daemon sends unasked.
Exit 3 when the daemon hung up first, 4 on timeout.
"""
import json
import socket
import sys
import time


def lines(sock, deadline):
    buf = b""
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode()
        sock.settimeout(max(0.1, deadline - time.time()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            sys.exit(4)
        if not data:
            sys.exit(3)
        buf += data


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
    except OSError as e:
        print("connect: " + e.strerror)
        sys.exit(5)
    if len(sys.argv) > 3 and sys.argv[2] == "--until":
        cond = sys.argv[3]
        s.sendall(b'{"id":1,"method":"subscribe"}\n')
        for line in lines(s, time.time() + 60):
            j = json.loads(line)
            st = j.get("result") if "id" in j else j.get("state")
            if st is not None and eval(cond, {}, {"s": st}):
                print(json.dumps(st))
                return
        return
    if sys.argv[2:] == ["--listen"]:  # a line the daemon sends unasked (a refusal)
        for line in lines(s, time.time() + 30):
            print(line)
            return
    want = len(sys.argv) - 2
    for a in sys.argv[2:]:
        s.sendall(a.encode() + b"\n")
    got = 0
    for line in lines(s, time.time() + 30):
        if '"event"' in line[:12]:
            continue
        print(line)
        sys.stdout.flush()
        got += 1
        if got == want:
            return


main()
