#!/usr/bin/env python3
"""Counting proxies for `make bench`: one in front of the DynamoDB API (moto), one in front of
the platform (the sandbox). Each forwards every request unchanged and appends one JSON line
per request to the log: which upstream, the operation (DynamoDB `X-Amz-Target` without its
version prefix, or the platform path), the status and the CLOCK_MONOTONIC times (ns) the
request arrived and its answer was sent. The benchmark driver reads the log to count the
table and platform requests of each invocation and the time spent in them.

Loopback only; runs until terminated.
"""
import argparse
import http.client
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "content-length"}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Log:
    def __init__(self, path):
        self.file = open(path, "a", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, record):
        line = json.dumps(record, separators=(",", ":"))
        with self.lock:
            self.file.write(line + "\n")


def read_body(handler):
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


def make_handler(kind, upstream, log):
    target = urlsplit(upstream)
    local = threading.local()

    def connection(fresh=False):
        conn = getattr(local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            local.conn = conn
        return conn

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # Without it the body, written after the headers, waits for the client's delayed
            # ACK (~40 ms on Linux) and the proxy would add that to every request it counts.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def forward(self):
            t0 = time.monotonic_ns()
            body = read_body(self)
            if kind == "dynamodb":
                op = (self.headers.get("x-amz-target") or "?").split(".")[-1]
            else:
                op = self.path.split("?")[0]
            status = None
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                for attempt in (0, 1):
                    try:
                        conn = connection(fresh=attempt == 1)
                        conn.request(self.command, self.path, body=body, headers=headers)
                        answer = conn.getresponse()
                        data = answer.read()
                        break
                    except (http.client.HTTPException, OSError):
                        if attempt == 1:
                            status = 502
                            self.send_error(502)
                            return
                status = answer.status
                if answer.will_close:
                    connection(fresh=True)
                self.send_response(answer.status, answer.reason)
                for k, v in answer.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            finally:
                # Also when the client gave up (its attempt timed out) and the write failed:
                # the request was made and took this long.
                log.write({"kind": kind, "op": op, "status": status, "t0": t0, "t1": time.monotonic_ns()})

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = forward

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dynamodb-port", type=int, required=True)
    parser.add_argument("--dynamodb-upstream", required=True)
    parser.add_argument("--platform-port", type=int, required=True)
    parser.add_argument("--platform-upstream", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    log = Log(args.log)
    servers = []
    for kind, port, upstream in (("dynamodb", args.dynamodb_port, args.dynamodb_upstream),
                                 ("platform", args.platform_port, args.platform_upstream)):
        server = Server(("127.0.0.1", port), make_handler(kind, upstream, log))
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"bench_proxy: dynamodb :{args.dynamodb_port} -> {args.dynamodb_upstream}, "
          f"platform :{args.platform_port} -> {args.platform_upstream}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
