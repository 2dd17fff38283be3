#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An HTTP server on 127.0.0.1 that makes a download resume, then answers the
Range request wrongly: the first GET announces the whole file and is cut after
half of it; a GET with Range gets 206 with
  zero:    the whole file again, labelled honestly "bytes 0-N/SIZE";
  missing: the asked bytes, without a Content-Range header;
  other:   the asked bytes under a Content-Range of another total length.
usage: range_liar.py FILE PORT_FILE MODE   (the port is written once listening)"""
import http.server
import os
import socket
import sys

data = open(sys.argv[1], "rb").read()
mode = sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        if not rng:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", '"v1"')
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        start = int(rng.split("=", 1)[1].split("-", 1)[0])
        body = data if mode == "zero" else data[start:]
        self.send_response(206)
        if mode == "zero":
            self.send_header("Content-Range", "bytes 0-%d/%d" % (len(data) - 1, len(data)))
        elif mode == "other":
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, len(data) - 1, len(data) + 7))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"v1"')
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
