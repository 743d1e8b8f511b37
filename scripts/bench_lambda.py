#!/usr/bin/env python3
"""Cold starts, warm latency, DynamoDB requests per route and peak memory of the release
Lambda binaries, for `make bench` (scripts/bench.sh starts moto, the sandbox and the
counting proxies, then runs this).

Each function process is started here with `AWS_LAMBDA_RUNTIME_API` pointing at a Lambda
runtime API emulated in this process (GET …/invocation/next hands out one queued event,
POST …/response records when the answer arrived), so every time below is exact:

* cold start (round-robin over the functions): the event is queued first, then the process is
  spawned; init = spawn to the
  runtime's first `next` call, first answer = spawn to its response. Each round starts with the
  floor (--floor-bin, bench/floor: a do-nothing lambda_runtime function of the same profile,
  started the same way) and, with --baseline-bin-dir, follows each function with its old binary
  (same environment, its own fresh input), so that the targets can be differences from the
  floor and ratios to the old binaries taken in one run. The table (moto) and
  platform (sandbox) sit behind scripts/bench_proxy.py, which logs each request with its
  CLOCK_MONOTONIC times: the time spent in them is subtracted for the "excluding round
  trips" figure, and counted per invocation for the DynamoDB requests of each route;
* warm latency: one long-lived process per function, as Lambda keeps one; an invocation is
  timed from queueing its event to receiving its answer;
* peak memory: VmHWM (peak RSS) of the process from /proc, after its first answer (cold)
  and after the whole warm run (hundreds of requests).

The table is recreated (empty, with the catalog) every --batch orders and before the cold
starts: moto's TransactWriteItems deep-copies the whole table with its stream,
so without it the figures would measure moto's growth (and soon its time-outs).

The platform's callbacks reach `notify` the way they do in AWS: the sandbox POSTs them to
a small API-Gateway stand-in here, which turns them into an API Gateway v2 event.

Writes one JSON object (--out). Every process it starts is stopped before it returns.
"""
import argparse
import json
import math
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from bisect import bisect_left, bisect_right
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FUNCTIONS = ["openid", "prepay", "query", "notify", "refund", "settle", "push"]
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
SKU = "course-basic"
now = time.monotonic_ns


# ---------------------------------------------------------------- HTTP plumbing

class Server(ThreadingHTTPServer):
    """A loopback HTTP server that neither delays small writes nor reports clients that left."""
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive, as the Lambda runtime client and the SDKs use it.
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Without TCP_NODELAY the body, written after the headers, waits for the peer's
        # delayed ACK (~40 ms on Linux): that would be measured as the functions' latency.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


# ---------------------------------------------------------------- runtime API emulator

class Invocation:
    def __init__(self, payload, label):
        self.id = str(uuid.uuid4())
        self.payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.label = label
        self.t_enqueue = None
        self.t_dequeue = None
        self.t_response = None
        self.answer = None
        self.error = None
        self.done = threading.Event()

    def result(self):
        """(HTTP status or None, decoded body) of an API Gateway answer, or the raw answer."""
        if self.error is not None:
            return None, {"runtime_error": self.error.decode(errors="replace")}
        answer = json.loads(self.answer or b"null")
        if isinstance(answer, dict) and "statusCode" in answer:
            body = answer.get("body") or ""
            try:
                body = json.loads(body)
            except ValueError:
                pass
            return answer["statusCode"], body
        return 200, answer


class Emulator:
    """The Lambda runtime API for one function process."""

    def __init__(self, name):
        self.name = name
        self.pending = queue.Queue()
        self.inflight = {}
        self.first_next = None
        self.init_error = None
        self.stopped = False
        emulator = self

        class RuntimeApi(Handler):
            def body(self):
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                if emulator.first_next is None:
                    emulator.first_next = now()
                while True:
                    if emulator.stopped:
                        return self.reply(500, b'{"errorMessage":"emulator stopped"}')
                    try:
                        inv = emulator.pending.get(timeout=0.25)
                        break
                    except queue.Empty:
                        continue
                inv.t_dequeue = now()
                emulator.inflight[inv.id] = inv
                deadline = int(time.time() * 1000) + 30_000
                self.reply(200, inv.payload, [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", inv.id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     f"arn:aws:lambda:us-east-1:123456789012:function:minipay-{emulator.name}"),
                    ("Lambda-Runtime-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"),
                ])

            def do_POST(self):
                data = self.body()
                t = now()
                parts = self.path.strip("/").split("/")
                if parts[-2:] == ["init", "error"]:
                    emulator.init_error = data
                    return self.reply(202, b'{"status":"OK"}')
                if len(parts) >= 5 and parts[-3] == "invocation" and parts[-1] in ("response", "error"):
                    inv = emulator.inflight.pop(parts[-2], None)
                    if inv is None:
                        return self.reply(400)
                    inv.t_response = t
                    if parts[-1] == "response":
                        inv.answer = data
                    else:
                        inv.error = data or b"error"
                    self.reply(202, b'{"status":"OK"}')
                    inv.done.set()
                    return
                self.reply(404)

        self.server = Server(("127.0.0.1", 0), RuntimeApi)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def enqueue(self, inv):
        inv.t_enqueue = now()
        self.pending.put(inv)

    def stop(self):
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()


class Instance:
    """One function process serving the emulated runtime API."""

    def __init__(self, name, binary, env, log_path):
        self.name = name
        self.binary = binary
        self.env = env
        self.log_path = log_path
        self.emulator = Emulator(name)
        self.proc = None
        self.t_spawn = None
        self.cpu_ns = None

    def spawn(self):
        env = dict(self.env)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.emulator.port}",
            "AWS_LAMBDA_FUNCTION_NAME": f"minipay-{self.name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/minipay-{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        })
        log = open(self.log_path, "ab")
        self.t_spawn = now()
        self.proc = subprocess.Popen([self.binary], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()

    def invoke(self, payload, label, timeout=30):
        inv = Invocation(payload, label)
        self.emulator.enqueue(inv)
        self.wait(inv, timeout)
        return inv

    def wait(self, inv, timeout=30):
        if not inv.done.wait(timeout):
            raise RuntimeError(f"{self.name}: no answer to {inv.label} within {timeout}s "
                               f"(init error: {self.emulator.init_error!r}, exit code: {self.proc.poll()})")

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.emulator.first_next is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not reach the runtime API (exit {self.proc.poll()}, "
                                   f"init error {self.emulator.init_error!r}); see {self.log_path}")
            time.sleep(0.002)

    def peak_rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self):
        """Ends the process (its own process group) and reaps it with wait4, which also gives
        the CPU time (user + system, all threads) it used over its whole life."""
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while True:
                pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    pid, status, usage = os.wait4(self.proc.pid, 0)
                    break
                time.sleep(0.001)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            self.cpu_ns = int((usage.ru_utime + usage.ru_stime) * 1e9)
        self.emulator.stop()


# ---------------------------------------------------------------- API Gateway stand-in

def http_event(method, path, body=None, bearer=None, raw_body=None, headers=None):
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body, ensure_ascii=False))
    hdrs = {"accept": "*/*", "host": "bench.execute-api.us-east-1.amazonaws.com", "user-agent": "minipay-bench",
            "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "https", "x-forwarded-port": "443"}
    if text is not None:
        hdrs["content-type"] = "application/json"
        hdrs["content-length"] = str(len(text.encode()))
    if bearer:
        hdrs["authorization"] = f"Bearer {bearer}"
    hdrs.update(headers or {})
    epoch = int(time.time() * 1000)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": hdrs["host"], "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "minipay-bench"},
            "requestId": uuid.uuid4().hex, "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": epoch,
        },
        "isBase64Encoded": False,
        **({"body": text} if text is not None else {}),
    }


class Gateway:
    """Receives the platform's callbacks (POST /notify/douyin) and invokes `notify` with them."""

    def __init__(self, port, record):
        self.target = None        # the notify Instance, or None
        self.capture = None       # a list: keep the bodies and acknowledge without invoking
        self.seen = {}            # callback type -> raw bodies delivered
        self.record = record
        gateway = self

        class Callbacks(Handler):
            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    kind = json.loads(raw).get("type") or "unknown"
                except ValueError:
                    kind = "unknown"
                gateway.seen.setdefault(kind, []).append(raw)
                if gateway.capture is not None:
                    gateway.capture.append(raw)
                    status, body, ctype = 200, b'{"err_no":0,"err_tips":"success"}', "application/json"
                elif gateway.target is None:
                    status, body, ctype = 503, b'{"err_no":1,"err_tips":"no notify instance"}', "application/json"
                else:
                    event = http_event("POST", self.path.split("?")[0], raw_body=raw.decode("utf-8"),
                                       headers={k.lower(): v for k, v in self.headers.items()
                                                if k.lower() in ("content-type", "user-agent")})
                    inv = gateway.target.invoke(event, f"notify.{kind}")
                    gateway.record(inv)
                    answer = json.loads(inv.answer or b"{}")
                    status = answer.get("statusCode", 502)
                    text = answer.get("body") or ""
                    body = text.encode()
                    ctype = (answer.get("headers") or {}).get("content-type", "application/json")
                self.reply(status, body, [("Content-Type", ctype)])

        self.server = Server(("127.0.0.1", port), Callbacks)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- helpers

def control(sandbox, path, body=None, method="POST"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(sandbox + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"sandbox {path}: HTTP {err.code} {err.read()[:300]!r}") from None


class Unavailable(RuntimeError):
    """The function answered 5xx (the table or the platform did not answer in time): retried."""


def expect(inv, status=200):
    got, body = inv.result()
    if got != status:
        error = Unavailable if got in (500, 502, 503) else RuntimeError
        raise error(f"{inv.label}: HTTP {got}, expected {status}: {json.dumps(body, ensure_ascii=False)[:400]}")
    return body


def succeeded(inv):
    if inv.t_response is None or inv.error is not None:
        return False
    status, body = inv.result()
    return status == 200 and not (isinstance(body, dict) and body.get("batchItemFailures"))


def pct(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_ms(values_ns):
    ms = [v / 1e6 for v in values_ns]
    return {"n": len(ms), "p50": pct(ms, 50), "p90": pct(ms, 90), "p99": pct(ms, 99),
            "min": min(ms) if ms else None, "max": max(ms) if ms else None,
            "mean": statistics.fmean(ms) if ms else None}


class ProxyLog:
    def __init__(self, path):
        self.path = path
        self.records = []
        self.starts = []

    def load(self):
        records = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        records.sort(key=lambda r: r["t0"])
        self.records = records
        self.starts = [r["t0"] for r in records]

    def within(self, t_from, t_to):
        return self.records[bisect_left(self.starts, t_from):bisect_right(self.starts, t_to)]


def busy_ns(records, lo, hi):
    """How long at least one of the requests was under way within [lo, hi]: the union of their
    intervals, so that overlapping requests and a proxy thread noting its end time a little
    late never count twice or past the answer."""
    total, end = 0, lo
    for a, b in sorted((max(r["t0"], lo), min(r["t1"], hi)) for r in records):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def upstream(records, lo, hi):
    ddb = [r for r in records if r["kind"] == "dynamodb"]
    plat = [r for r in records if r["kind"] == "platform"]
    ops = {}
    for r in ddb:
        ops[r["op"]] = ops.get(r["op"], 0) + 1
    return {
        "ddb": len(ddb),
        "ddb_writes": sum(1 for r in ddb if r["op"] in WRITE_OPS),
        "ddb_ops": ops,
        "platform": len(plat),
        "platform_paths": sorted({r["op"] for r in plat}),
        "upstream_ns": busy_ns(records, lo, hi),
    }


# ---------------------------------------------------------------- the benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.env = {}
        with open(args.env_file) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    self.env[k] = v
        self.env.setdefault("PATH", "/usr/bin:/bin")
        self.admin = self.env["ADMIN_API_KEY"]
        self.instances = []
        self.warm = {}
        self.invocations = []
        self.lock = threading.Lock()
        self.gateway = Gateway(args.gateway_port, self.record)
        self.proxy = ProxyLog(args.proxy_log)
        self.errors = []
        self.seq = 0

    def record(self, inv):
        with self.lock:
            self.invocations.append(inv)

    def instance(self, name, tag, extra_env=None, binary=None):
        """A process of `name`: the binary of that name in --bin-dir unless `binary` is given."""
        inst = Instance(name, binary or os.path.join(self.args.bin_dir, name), dict(self.env, **(extra_env or {})),
                        os.path.join(self.args.log_dir, f"{name}-{tag}.log"))
        self.instances.append(inst)
        return inst

    def call(self, name, event, label):
        inv = self.warm[name].invoke(event, label)
        self.record(inv)
        return inv

    def uid(self, prefix):
        self.seq += 1
        return f"{prefix}-{os.getpid()}-{self.seq}"

    # --- flows through the warm instances
    def retry(self, fn, *args, attempts=3):
        """Calls fn again when a function answered 5xx: on this shared machine moto sometimes
        stalls past the functions' 5 s table timeout. Every request here is idempotent (same
        out_refund_no / out_settle_no, a prepay of the same session reuses its order, a login
        gets a new code). Failed invocations are counted and left out of the latencies."""
        for attempt in range(attempts):
            try:
                return fn(*args)
            except Unavailable:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5)

    def login(self, user):
        code = control(self.args.sandbox, "/sandbox/login_code", {"user": user})["code"]
        return expect(self.call("openid", http_event("POST", "/openid", {"code": code}), "openid"))["session"]

    def prepay(self, session):
        body = expect(self.call("prepay", http_event("POST", "/prepay", {"sku": SKU, "quantity": 1}, session),
                                "prepay"))
        return body["out_order_no"], body["total_amount"]

    def query(self, no, session):
        return expect(self.call("query", http_event("GET", f"/orders/{no}", bearer=session), "query.order"))

    def deliver(self, path, body, kind):
        """Asks the sandbox to send a callback; if `notify` did not take it, replays it directly."""
        before = len(self.gateway.seen.get(kind, []))
        answer = control(self.args.sandbox, path, body)
        deliveries = answer.get("deliveries") or []
        if not deliveries:
            raise RuntimeError(f"{path} {body}: no callback delivered: {answer}")
        if all(d.get("status") == 200 for d in deliveries):
            return
        for raw in self.gateway.seen.get(kind, [])[before:]:
            self.retry(lambda raw=raw: expect(self.call(
                "notify", http_event("POST", "/notify/douyin", raw_body=raw.decode()), f"notify.{kind}")))

    def pay(self, no):
        self.deliver("/sandbox/pay", {"out_order_no": no}, "payment")

    def refund(self, no, amount, rf):
        expect(self.call("refund", http_event("POST", "/refund", {
            "out_order_no": no, "out_refund_no": rf, "refund_amount": amount, "reason": "bench"}, self.admin),
            "refund"))
        return rf

    def settle(self, no, st):
        # The platform settles an order 7 days after its payment: let them pass.
        control(self.args.sandbox, f"/sandbox/orders/{no}/age", {"days": 8})
        expect(self.call("settle", http_event("POST", "/settle", {
            "out_order_no": no, "out_settle_no": st, "settle_desc": "bench"}, self.admin), "settle"))
        return st

    def paid_orders(self, count, prefix):
        orders = []
        for i in range(count):
            session = self.retry(self.login, f"{prefix}-{i}")
            no, amount = self.retry(self.prepay, session)
            self.pay(no)
            orders.append((no, amount, session))
        return orders

    def stream_events(self, limit):
        import boto3
        from stream_pump import lambda_record
        kw = {"endpoint_url": self.args.moto_url, "region_name": self.env.get("AWS_REGION", "us-east-1")}
        ddb = boto3.client("dynamodb", **kw)
        streams = boto3.client("dynamodbstreams", **kw)
        arn = ddb.describe_table(TableName=self.env["TABLE_NAME"])["Table"]["LatestStreamArn"]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                answer = streams.get_records(ShardIterator=it, Limit=1000)
                if not answer["Records"]:
                    break
                records.extend(lambda_record(r, arn, kw["region_name"]) for r in answer["Records"])
                it = answer.get("NextShardIterator")
        changes = []
        for r in records:
            new = r["dynamodb"].get("NewImage") or {}
            old = r["dynamodb"].get("OldImage") or {}
            if new.get("entity", {}).get("S") != "ORDER":
                continue
            if old and old.get("status") == new.get("status") and \
                    old.get("refunding_amount") == new.get("refunding_amount") and \
                    old.get("refunded_amount") == new.get("refunded_amount"):
                continue
            changes.append(r)
        return changes[:limit]

    # --- phases
    def start_warm(self):
        for name in FUNCTIONS:
            inst = self.instance(name, "warm")
            inst.spawn()
            self.warm[name] = inst
        for inst in self.warm.values():
            inst.wait_ready()
        self.gateway.target = self.warm["notify"]

    def reset_table(self):
        """A fresh, empty table with the catalog. moto's TransactWriteItems deep-copies the whole
        table, stream records included, so its cost grows with every write (to hundreds of ms,
        then past the functions' 2 s attempt timeout); starting every batch on a fresh table keeps
        the figures about the functions instead of about moto's growth."""
        import boto3
        table = self.env["TABLE_NAME"]
        ddb = boto3.client("dynamodb", endpoint_url=self.args.moto_url,
                           region_name=self.env.get("AWS_REGION", "us-east-1"))
        try:
            ddb.delete_table(TableName=table)
            ddb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        except ddb.exceptions.ResourceNotFoundException:
            pass
        here = os.path.dirname(os.path.abspath(__file__))
        for script, extra in (("create_table.py", []), ("load_catalog.py", [self.args.catalog])):
            subprocess.run([sys.executable, os.path.join(here, script), "--endpoint-url", self.args.moto_url,
                            "--table", table, *extra], check=True, stdout=subprocess.DEVNULL)

    def warm_phase(self, n, batch):
        pushed = 0
        for first in range(0, n, batch):
            self.reset_table()
            pushed += self.warm_batch(first, min(batch, n - first))
        return pushed

    def warm_batch(self, first, n):
        sessions = [self.retry(self.login, f"warm-{first + i}") for i in range(n)]
        orders = [self.retry(self.prepay, s) + (s,) for s in sessions]
        for no, _, s in orders:
            self.retry(self.query, no, s)
        seen = len(self.gateway.seen.get("payment", []))
        for no, _, _ in orders:
            self.pay(no)
        for no, _, s in orders:
            self.retry(self.query, no, s)
        for raw in self.gateway.seen.get("payment", [])[seen:seen + n]:
            self.retry(lambda raw=raw: expect(self.call(
                "notify", http_event("POST", "/notify/douyin", raw_body=raw.decode()), "notify.payment.duplicate")))
        refunds = [self.retry(self.refund, no, 100, self.uid("RF")) for no, _, _ in orders]
        for rf in refunds:
            self.deliver("/sandbox/finish_refund", {"out_refund_no": rf, "status": "SUCCESS"}, "refund")
        for rf in refunds:
            self.retry(lambda rf=rf: expect(self.call(
                "query", http_event("GET", f"/refunds/{rf}", bearer=self.admin), "query.refund")))
        settles = [self.retry(self.settle, no, self.uid("ST")) for no, _, _ in orders]
        for st in settles:
            self.deliver("/sandbox/finish_settle", {"out_settle_no": st, "status": "SUCCESS"}, "settle")
        events = self.stream_events(n)
        for r in events:
            self.retry(self.push, r, "push")
        return len(events)

    def push(self, record, label):
        inv = self.call("push", {"Records": [record]}, label)
        if not succeeded(inv):
            raise Unavailable(f"push reported a failure: {inv.error or inv.answer[:300]!r}")

    def cold_inputs(self, name, runs):
        """Fresh inputs for each cold start of `name`, made through the warm instances."""
        if name == "openid":
            return [http_event("POST", "/openid", {"code": control(self.args.sandbox, "/sandbox/login_code",
                                                                   {"user": f"cold-openid-{i}"})["code"]})
                    for i in range(runs)]
        if name == "prepay":
            return [http_event("POST", "/prepay", {"sku": SKU, "quantity": 1},
                               self.retry(self.login, f"cold-prepay-{i}")) for i in range(runs)]
        if name == "query":
            session = self.retry(self.login, "cold-query")
            no, _ = self.retry(self.prepay, session)
            return [http_event("GET", f"/orders/{no}", bearer=session) for _ in range(runs)]
        if name == "notify":
            pending = [self.retry(self.prepay, self.retry(self.login, f"cold-notify-{i}"))[0] for i in range(runs)]
            self.gateway.capture = []
            try:
                for no in pending:
                    self.pay(no)
                callbacks = self.gateway.capture
            finally:
                self.gateway.capture = None
            return [http_event("POST", "/notify/douyin", raw_body=raw.decode()) for raw in callbacks]
        if name == "refund":
            return [http_event("POST", "/refund", {"out_order_no": no, "out_refund_no": self.uid("RFC"),
                                                   "refund_amount": 100, "reason": "bench"}, self.admin)
                    for no, _, _ in self.paid_orders(runs, "cold-refund")]
        if name == "settle":
            return [http_event("POST", "/settle", {"out_order_no": no, "out_settle_no": self.uid("STC"),
                                                   "settle_desc": "bench"}, self.admin)
                    for no, _, _ in self.paid_orders(runs, "cold-settle")]
        if name == "push":
            self.paid_orders(2, "cold-push")
            records = self.stream_events(runs)
            return [{"Records": [records[i % len(records)]]} for i in range(runs)]
        raise ValueError(name)

    def cold_start(self, name, event, label, attempts=3, binary=None, tag="cold"):
        """One cold start: the event queued first, then a fresh process; again with a fresh
        process (same, idempotent event) when the answer was a 5xx of a stalled moto."""
        for attempt in range(attempts):
            inst = self.instance(name, tag, binary=binary)
            inv = Invocation(event, label)
            inst.emulator.enqueue(inv)
            inst.spawn()
            try:
                inst.wait(inv)
                rss = inst.peak_rss_kib()
            finally:
                inst.stop()
            status, body = inv.result()
            if succeeded(inv):
                return {"t_spawn": inst.t_spawn, "t_first_next": inst.emulator.first_next,
                        "t_dequeue": inv.t_dequeue, "t_response": inv.t_response, "rss_kib": rss,
                        "cpu_ns": inst.cpu_ns, "failed_attempts": attempt}
            if status not in (500, 502, 503) or attempt == attempts - 1:
                raise RuntimeError(f"cold {name}: {status} {json.dumps(body, ensure_ascii=False)[:300]}")
            time.sleep(0.5)

    def baseline_binary(self, name):
        """The old binary of `name` (--baseline-bin-dir), or None."""
        if not self.args.baseline_bin_dir:
            return None
        path = os.path.join(self.args.baseline_bin_dir, name)
        return path if os.access(path, os.X_OK) else None

    def cold_phase(self, runs):
        """Cold starts taken round-robin, so that the machine's changing load falls on all of them
        alike: in each round a /bin/true spawn, the floor binary, then each function's new binary
        followed by its old one (--baseline-bin-dir). The old binary gets its own fresh inputs (the
        second half of cold_inputs): a callback delivered twice would be a duplicate, another path.
        An old binary that fails is recorded in `baseline_errors` and not started again."""
        labels = {"openid": "openid", "prepay": "prepay", "query": "query.order", "notify": "notify.payment",
                  "refund": "refund", "settle": "settle", "push": "push"}
        old = {name: self.baseline_binary(name) for name in FUNCTIONS}
        old = {name: path for name, path in old.items() if path}
        self.reset_table()
        events = {name: self.cold_inputs(name, runs * (2 if name in old else 1)) for name in FUNCTIONS}
        runs_by_fn = {name: [] for name in FUNCTIONS}
        baseline = {name: [] for name in old}
        baseline_errors = {}
        floor_runs, spawn = [], []
        floor_event = http_event("GET", "/floor")
        for i in range(runs):
            t = now()
            subprocess.Popen(["/bin/true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True).wait()
            spawn.append(now() - t)
            if self.args.floor_bin:
                floor_runs.append(self.cold_start("floor", floor_event, "floor", binary=self.args.floor_bin))
            for name in FUNCTIONS:
                runs_by_fn[name].append(self.cold_start(name, events[name][i], labels[name]))
                if name in old and name not in baseline_errors:
                    try:
                        baseline[name].append(self.cold_start(name, events[name][runs + i], labels[name],
                                                              binary=old[name], tag="cold-baseline"))
                    except Exception as exc:  # noqa: BLE001 - the new figures go on without it
                        baseline_errors[name] = str(exc)
        return {"new": runs_by_fn, "spawn_floor": summary_ms(spawn), "floor": floor_runs,
                "baseline": {n: r for n, r in baseline.items() if r}, "baseline_errors": baseline_errors}

    def init_diagnostic(self, runs, name="notify"):
        """Init with the compiled-in roots alone (as deployed) and with `SSL_CERT_FILE` naming the
        system bundle, whose certificates the functions then read and parse at start too: what
        the roots cost, and what a deployment setting `SSL_CERT_FILE` to the system store pays."""
        bundle = next((p for p in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
                       if os.path.exists(p)), None)
        if bundle is None:
            return None
        with open(bundle) as f:
            pem = f.read()
        variants = {"compiled_in": {}, "plus_system_bundle": {"SSL_CERT_FILE": bundle}}
        times = {k: [] for k in variants}
        for _ in range(runs):
            for key, extra in variants.items():
                inst = self.instance(name, "diag", extra)
                inst.spawn()
                try:
                    inst.wait_ready()
                finally:
                    inst.stop()
                times[key].append(inst.emulator.first_next - inst.t_spawn)
        return {"function": name, "bundle": bundle, "bundle_certificates": pem.count("BEGIN CERTIFICATE"),
                **{k: summary_ms(v) for k, v in times.items()}}

    def spawn_floor(self, runs):
        """Spawn-to-exit of /bin/true with the same Popen call: what process creation costs here."""
        times = []
        for _ in range(runs):
            t = now()
            subprocess.Popen(["/bin/true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True).wait()
            times.append(now() - t)
        return summary_ms(times)

    def harness_floor(self, runs):
        """Warm latency of a do-nothing runtime client (Python, http.client): the emulator's own share."""
        code = r"""
import http.client, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
c = http.client.HTTPConnection(host, int(port))
while True:
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse(); body = r.read(); rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    if r.status != 200: break
    c.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", body=b'{"statusCode":200,"body":"{}"}')
    c.getresponse().read()
"""
        emu = Emulator("floor")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{emu.port}"}
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            times = []
            for i in range(runs):
                inv = Invocation({"ping": i}, "floor")
                emu.enqueue(inv)
                if not inv.done.wait(10):
                    raise RuntimeError("harness floor client did not answer")
                times.append(inv.t_response - inv.t_enqueue)
            return summary_ms(times[5:])
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
            emu.stop()

    def stop_all(self):
        for inst in self.instances:
            try:
                inst.stop()
            except Exception:  # noqa: BLE001 - keep stopping the others
                pass
        self.gateway.stop()


def analyse_warm(bench, warmup):
    bench.proxy.load()
    by_route = {}
    failed = {}
    for inv in bench.invocations:
        if not succeeded(inv):
            failed[inv.label] = failed.get(inv.label, 0) + 1
            continue
        by_route.setdefault(inv.label, []).append(inv)
    routes = {}
    for label, invs in sorted(by_route.items()):
        invs.sort(key=lambda i: i.t_enqueue)
        kept = invs[warmup:] if len(invs) > warmup * 2 else invs
        ups = [upstream(bench.proxy.within(i.t_enqueue, i.t_response), i.t_enqueue, i.t_response) for i in kept]
        totals = [i.t_response - i.t_enqueue for i in kept]
        own = [t - u["upstream_ns"] for t, u in zip(totals, ups)]
        ops_seen = {}
        for u in ups:
            key = " + ".join(f"{op}×{n}" for op, n in sorted(u["ddb_ops"].items())) or "none"
            ops_seen[key] = ops_seen.get(key, 0) + 1
        slow = [r for i in kept for r in bench.proxy.within(i.t_enqueue, i.t_response) if r["t1"] - r["t0"] >= 1e9]
        routes[label] = {
            "invocations": len(invs), "measured": len(kept), "failed": failed.get(label, 0),
            "slow_upstream": {"count": len(slow), "max_ms": max((r["t1"] - r["t0"]) / 1e6 for r in slow) if slow
                              else None, "ops": sorted({r["op"] for r in slow})},
            "latency_ms": summary_ms(totals),
            "upstream_ms": summary_ms([u["upstream_ns"] for u in ups]),
            "own_ms": summary_ms(own),
            "ddb_requests": {"median": statistics.median([u["ddb"] for u in ups]),
                             "min": min(u["ddb"] for u in ups), "max": max(u["ddb"] for u in ups)},
            "ddb_writes": {"median": statistics.median([u["ddb_writes"] for u in ups]),
                           "min": min(u["ddb_writes"] for u in ups), "max": max(u["ddb_writes"] for u in ups)},
            "ddb_ops": dict(sorted(ops_seen.items(), key=lambda kv: -kv[1])),
            "platform_requests": {"median": statistics.median([u["platform"] for u in ups]),
                                  "min": min(u["platform"] for u in ups), "max": max(u["platform"] for u in ups)},
            "platform_paths": sorted({p for u in ups for p in u["platform_paths"]}),
        }
    return routes


def analyse_cold(bench, runs_by_fn):
    bench.proxy.load()
    out = {}
    for name, runs in runs_by_fn.items():
        init, first, excl, trips, handler, rss = [], [], [], [], [], []
        cpu = [r["cpu_ns"] for r in runs if r.get("cpu_ns") is not None]
        ddb = []
        for r in runs:
            u = upstream(bench.proxy.within(r["t_spawn"], r["t_response"]), r["t_spawn"], r["t_response"])
            init.append(r["t_first_next"] - r["t_spawn"])
            first.append(r["t_response"] - r["t_spawn"])
            excl.append(r["t_response"] - r["t_spawn"] - u["upstream_ns"])
            trips.append(u["upstream_ns"])
            handler.append(r["t_response"] - r["t_dequeue"])
            ddb.append(u["ddb"])
            if r["rss_kib"]:
                rss.append(r["rss_kib"])
        out[name] = {
            "runs": len(runs),
            "init_ms": summary_ms(init),
            "first_answer_ms": summary_ms(first),
            "first_answer_excl_round_trips_ms": summary_ms(excl),
            "round_trips_ms": summary_ms(trips),
            "first_invocation_ms": summary_ms(handler),
            "cpu_ms": summary_ms(cpu),
            "ddb_requests_median": statistics.median(ddb) if ddb else None,
            "failed_attempts": sum(r.get("failed_attempts", 0) for r in runs),
            "peak_rss_kib_after_first_answer": {"median": statistics.median(rss), "max": max(rss)} if rss else None,
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--floor-bin", help="the do-nothing lambda_runtime binary (bench/floor) started in each "
                                            "cold-start round")
    parser.add_argument("--baseline-bin-dir", help="the old binaries (one per function name), each cold-started "
                                                   "after the new one")
    parser.add_argument("--env-file", required=True, help="the functions' environment (KEY=VALUE lines)")
    parser.add_argument("--sandbox", required=True, help="the sandbox's own URL (control API)")
    parser.add_argument("--moto-url", required=True, help="moto's own URL (stream reads, not counted)")
    parser.add_argument("--gateway-port", type=int, required=True)
    parser.add_argument("--proxy-log", required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--orders", type=int, default=200, help="orders driven through the warm functions")
    parser.add_argument("--cold", type=int, default=20, help="cold starts per function")
    parser.add_argument("--warmup", type=int, default=5, help="first invocations of each route left out")
    parser.add_argument("--batch", type=int, default=25, help="orders per fresh table (see Bench.reset_table)")
    parser.add_argument("--catalog", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), "catalog", "sample.json"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    # `timeout` and Ctrl-C: leave through the finally below, which stops every function process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    bench = Bench(args)
    result = {"tool": "scripts/bench_lambda.py", "orders": args.orders, "cold_runs": args.cold, "batch": args.batch,
              "errors": []}

    def save():
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2, ensure_ascii=False)

    def loadavg():
        try:
            with open("/proc/loadavg") as f:
                return f.read().split()[0]
        except OSError:
            return None

    def phase(name, fn):
        started = time.monotonic()
        result.setdefault("loadavg", {})[name] = {"before": loadavg()}
        print(f"bench_lambda: {name} ...", file=sys.stderr, flush=True)
        try:
            value = fn()
            print(f"bench_lambda: {name} done in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
            result["loadavg"][name]["after"] = loadavg()
            return value
        except Exception as exc:  # noqa: BLE001 - report it, keep the other figures
            traceback.print_exc()
            result["errors"].append(f"{name}: {exc}")
            return None
        finally:
            save()

    try:
        result["spawn_floor_ms"] = phase("spawn floor", lambda: bench.spawn_floor(30))
        result["harness_floor_ms"] = phase("harness floor", lambda: bench.harness_floor(300))
        if phase("start warm functions", bench.start_warm) is None and result["errors"]:
            return 1
        result["warm_push_records"] = phase("warm run", lambda: bench.warm_phase(args.orders, args.batch))
        result["warm"] = phase("analyse warm", lambda: analyse_warm(bench, args.warmup))
        result["warm_peak_rss_kib"] = {n: i.peak_rss_kib() for n, i in bench.warm.items()}
        result["warm_requests_served"] = {n: sum(1 for inv in bench.invocations
                                                 if inv.t_response and inv.label.split(".")[0] == n)
                                          for n in FUNCTIONS}
        result["init_diagnostic"] = phase("init diagnostic", lambda: bench.init_diagnostic(args.cold))
        result["baseline_bin_dir"] = args.baseline_bin_dir
        cold = phase("cold starts", lambda: bench.cold_phase(args.cold))
        if cold:
            result["cold_spawn_floor_ms"] = cold["spawn_floor"]
            result["cold"] = phase("analyse cold", lambda: analyse_cold(bench, cold["new"]))
            if cold["floor"]:
                result["cold_floor"] = analyse_cold(bench, {"floor": cold["floor"]})["floor"]
            if args.baseline_bin_dir:
                result["cold_baseline"] = analyse_cold(bench, cold["baseline"])
                result["cold_baseline_errors"] = cold["baseline_errors"]
    finally:
        bench.stop_all()
        save()
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
