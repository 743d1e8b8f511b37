#!/usr/bin/env python3
"""A merchant's webhook receiver for local runs, standard library only.

Checks each POST's `Minipay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">` with its own HMAC code and the secret from MERCHANT_WEBHOOK_SECRET (an
environment variable, so it shows in no process listing), refuses bad or stale ones with
400, prints each event's type and id, and answers 503 to the first --fail-first
deliveries (to watch minipay retry). GET /events lists the events accepted so far,
de-duplicated by id as a merchant should.
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret, header, body, now):
    """Whether `header` signs `body` with `secret`, made within the tolerance."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


class State:
    def __init__(self, secret, fail_first):
        self.secret = secret
        self.fail_left = fail_first
        self.events = {}
        self.lock = threading.Lock()


def handler_for(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path != "/events":
                return self.answer(404, {"error": "not found"})
            with state.lock:
                events = sorted(state.events.values(), key=lambda e: e["received"])
            self.answer(200, {"events": [e["event"] for e in events]})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            signature = self.headers.get("minipay-signature") or ""
            if not verify(state.secret, signature, body, int(time.time())):
                print("webhook_receiver: refused a delivery with a bad signature", flush=True)
                return self.answer(400, {"error": "bad signature"})
            event = json.loads(body)
            with state.lock:
                failing = state.fail_left > 0
                if failing:
                    state.fail_left -= 1
                elif event["id"] not in state.events:
                    state.events[event["id"]] = {"event": event, "received": time.time()}
            verdict = "answered 503 (told to fail)" if failing else "ok"
            print(f"webhook_receiver: {event['type']} {event['id']} {verdict}", flush=True)
            self.answer(503 if failing else 200, {"received": not failing})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: a free port the system picks (reported)")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 to this many deliveries first")
    args = parser.parse_args()
    secret = os.environ.get("MERCHANT_WEBHOOK_SECRET")
    if not secret:
        sys.exit("webhook_receiver: set MERCHANT_WEBHOOK_SECRET")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(State(secret.encode(), args.fail_first)))
    port = server.server_address[1]
    print(f"webhook_receiver: listening on http://127.0.0.1:{port}/hooks", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
