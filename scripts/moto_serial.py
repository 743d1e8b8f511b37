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

moto's TransactWriteItems also deep-copies every table it names before it starts, to
put the copy back when it is cancelled, so each transaction cost more than the one
before (hundreds of concurrent callback transactions, most of them refused
redeliveries, ran past the functions' timeouts). A transaction whose conditions do
not all hold is answered here as moto would answer it, without the copy or a write;
one whose conditions hold goes to moto, whose copy leaves out the table's stream (every
record since the table was made, the bulk of the copy): should moto still roll it back,
the records it added are cut off instead, which is what putting the copy back did.
"""
import argparse
import copy
import socket
import threading

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def cancelled(backend, transact_items):
    """The reasons moto would cancel the transaction for, each item's condition checked
    on the items as they are; `None` when all hold, or for anything unusual (moto
    itself then decides)."""
    reasons, keys = [], set()
    for entry in transact_items:
        if len(entry) != 1:
            return None
        kind, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if kind not in {"ConditionCheck", "Put", "Delete", "Update"} or table is None:
            return None
        attrs = op["Item"] if kind == "Put" else op["Key"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        unique = (table.name, str(sorted(key.items())))
        if unique in keys:
            return None
        keys.add(unique)
        current = backend.get_item(table.name, key)
        condition = op.get("ConditionExpression")
        holds = condition is None or get_filter_expression(
            condition,
            op.get("ExpressionAttributeNames"),
            op.get("ExpressionAttributeValues"),
        ).expr(current)
        if holds:
            reasons.append((None, None, None))
        else:
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
    return reasons if any(code for code, _, _ in reasons) else None


moto_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    """moto's, but a transaction refused on its conditions is refused without a copy,
    and one rolled back otherwise loses the stream records it added."""
    if len(transact_items) <= 100:
        reasons = cancelled(self, transact_items)
        if reasons is not None:
            raise TransactionCanceledException(reasons)
    streams = {
        name: (table.stream_shard, len(table.stream_shard.items))
        for name, table in self.tables.items()
        if table.stream_shard is not None
    }
    try:
        return moto_transact_write_items(self, transact_items)
    except Exception:
        for name, (shard, length) in streams.items():
            del shard.items[length:]
            if name in self.tables:
                shard.table = self.tables[name]
        raise


def table_copy_without_stream(self, memo):
    """A table's deep copy sharing its stream shard (see the module's docstring)."""
    twin = self.__class__.__new__(self.__class__)
    memo[id(self)] = twin
    for name, value in self.__dict__.items():
        setattr(twin, name, value if name == "stream_shard" else copy.deepcopy(value, memo))
    return twin


DynamoDBBackend.transact_write_items = transact_write_items
Table.__deepcopy__ = table_copy_without_stream


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
