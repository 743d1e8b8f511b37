#!/usr/bin/env python3
"""Feeds the table's DynamoDB stream to the stream functions (`push`, `events`), as
Lambda's event source mappings do in AWS: reads new stream records from the local
DynamoDB API (moto), invokes each function (one --invoke-url each) through `cargo lambda
watch` with a Lambda DynamoDB event, and retries from the first record a function reports
in `batchItemFailures` (a bounded number of times, then the records go to a failure
file, the local stand-in for the SQS destination). Each function gets every batch on its
own, as each has its own mapping. With --tick-url it also invokes a function with a
scheduled event every --tick-seconds, the local stand-in for an EventBridge schedule.
"""
import argparse
import base64
import datetime
import json
import sys
import time
import urllib.request

import boto3

BATCH_SIZE = 25
MAX_RETRIES = 5


def lambda_value(value):
    """A stream attribute value as Lambda serialises it (binary as base64)."""
    if not isinstance(value, dict):
        return value
    out = {}
    for kind, inner in value.items():
        if kind == "B":
            out[kind] = base64.b64encode(inner).decode()
        elif kind == "BS":
            out[kind] = [base64.b64encode(b).decode() for b in inner]
        elif kind == "M":
            out[kind] = {k: lambda_value(v) for k, v in inner.items()}
        elif kind == "L":
            out[kind] = [lambda_value(v) for v in inner]
        else:
            out[kind] = inner
    return out


def lambda_record(record, stream_arn, region):
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime.datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    elif created is None:
        change["ApproximateCreationDateTime"] = time.time()
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = {k: lambda_value(v) for k, v in change[image].items()}
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def invoke(url, records):
    body = json.dumps({"Records": records}).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        answer = json.loads(resp.read() or b"{}")
    return [f.get("itemIdentifier") for f in (answer or {}).get("batchItemFailures", [])]


def deliver(url, records, failures_path):
    """Invokes push until every record is through, retrying from the first failure."""
    attempts = 0
    while records:
        failed = invoke(url, records)
        if not failed:
            # Tests wait for this line (an event) rather than polling what the function did.
            print(f"stream_pump: delivered {len(records)} record(s) to {function_name(url)}", flush=True)
            return
        first = min(records.index(r) for r in records if r["dynamodb"]["SequenceNumber"] in failed)
        records = records[first:]
        attempts += 1
        if attempts > MAX_RETRIES:
            with open(failures_path, "a") as out:
                for record in records:
                    out.write(json.dumps(record) + "\n")
            print(f"stream_pump: {len(records)} record(s) failed {MAX_RETRIES} retries; kept in {failures_path}", file=sys.stderr)
            return
        time.sleep(min(2 ** attempts * 0.1, 2))


def function_name(url):
    """`push` of …/2015-03-31/functions/push/invocations."""
    parts = url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else "function"


SCHEDULED_EVENT = {
    "version": "0",
    "id": "local-schedule",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/local"],
    "detail": {},
}


def tick(url):
    """Invokes `url` with a scheduled event; a failed run is made up by the next one."""
    body = json.dumps(dict(SCHEDULED_EVENT, time=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            print(f"stream_pump: schedule tick of {function_name(url)}: {resp.read().decode()[:300]}", flush=True)
    except OSError as err:
        print(f"stream_pump: schedule tick of {function_name(url)} failed: {err}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--invoke-url", required=True, action="append",
                        help="…/2015-03-31/functions/push/invocations (repeat for each stream function)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--failures", default="{function}-failures.jsonl",
                        help="where records a function gave up on go; {function} is its name")
    parser.add_argument("--tick-url", help="a function invoked with a scheduled event every --tick-seconds")
    parser.add_argument("--tick-seconds", type=float, default=60)
    args = parser.parse_args()

    dynamodb = boto3.client("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region)
    streams = boto3.client("dynamodbstreams", endpoint_url=args.endpoint_url, region_name=args.region)
    stream_arn = dynamodb.describe_table(TableName=args.table)["Table"]["LatestStreamArn"]
    iterators = {}
    print(f"stream_pump: feeding {stream_arn} to {', '.join(args.invoke_url)}", flush=True)
    next_tick = time.time() + args.tick_seconds
    while True:
        if args.tick_url and time.time() >= next_tick:
            tick(args.tick_url)
            next_tick = time.time() + args.tick_seconds
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in iterators:
                iterators[shard_id] = streams.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = iterators[shard_id]
            if iterator is None:
                continue
            answer = streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
            iterators[shard_id] = answer.get("NextShardIterator")
            records = [lambda_record(r, stream_arn, args.region) for r in answer["Records"]]
            for url in args.invoke_url if records else []:
                deliver(url, records, args.failures.replace("{function}", function_name(url)))
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
