#!/usr/bin/env python3
"""moto server with one request at a time.

DynamoDB applies each request atomically. moto's TransactWriteItems does not: it copies
the whole table, applies the items one by one and, when a condition fails, puts the
copy back, undoing whatever other requests wrote meanwhile. Serving one request at a
time gives back the atomicity the code relies on, so concurrency tests exercise our
conditions and not moto's races.

With `-p 0` (the default) the system picks a free port, so nothing can take it between
choosing and binding; the port is reported once the socket listens: a line
`moto listening on http://HOST:PORT` on stdout and, with `--port-file`, the port alone
written to that file (a FIFO works: the caller blocks on it instead of polling).
`--reuse-port` binds with SO_REUSEPORT, for a port a test holds reserved (bound with
SO_REUSEPORT and never listening) so that moto can stop and start again on it.
"""
import argparse
import socket
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class Serialized:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Read the whole answer under the lock: the work may happen while iterating.
            return list(self.app(environ, start_response))


def listening_socket(host, port, reuse_port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=0, help="0: a free port the system picks")
    parser.add_argument("--port-file", help="where to write the port once listening (a FIFO works)")
    parser.add_argument("--reuse-port", action="store_true", help="bind with SO_REUSEPORT")
    args = parser.parse_args()
    sock = listening_socket(args.host, args.port, args.reuse_port)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, 0, Serialized(app), threaded=True, fd=sock.fileno())
    port = sock.getsockname()[1]
    print(f"moto listening on http://{args.host}:{port}", flush=True)
    if args.port_file:
        with open(args.port_file, "w") as out:
            out.write(f"{port}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
