#!/usr/bin/env python3
"""moto server with one request at a time.

DynamoDB applies each request atomically. moto's TransactWriteItems does not: it copies
the whole table, applies the items one by one and, when a condition fails, puts the
copy back, undoing whatever other requests wrote meanwhile. Serving one request at a
time gives back the atomicity the code relies on, so concurrency tests exercise our
conditions and not moto's races.
"""
import argparse
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class Serialized:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Read the whole answer under the lock: the work may happen while iterating.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Serialized(app), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
