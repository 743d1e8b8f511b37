#!/usr/bin/env python3
"""Create the minipay DynamoDB table from its definition in template.yaml.

The table in template.yaml (logical id ``Table``) is the single source of truth: local
runs and tests create their table with this script, so the two cannot drift.

Usage:
    python3 scripts/create_table.py --table NAME [--endpoint-url http://127.0.0.1:PORT]
                                    [--region us-east-1] [--template template.yaml]
    python3 scripts/create_table.py --table NAME --print-json

It reads KeySchema, AttributeDefinitions, BillingMode, StreamSpecification (plus
GlobalSecondaryIndexes / LocalSecondaryIndexes, if the template ever gets some) and
TimeToLiveSpecification from the template, creates the table, waits until it is
ACTIVE, then enables TTL. If the table already exists it says so and exits 0 (TTL is
still switched on if it is off).

``--print-json`` prints the CreateTable request and exits without calling AWS: the exact
keyword arguments of ``CreateTable`` as one JSON object (TableName included), e.g.
    {"TableName": "t", "KeySchema": [...], "AttributeDefinitions": [...],
     "BillingMode": "PAY_PER_REQUEST",
     "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
Use ``--print-json --with-ttl`` to get ``{"CreateTable": {...}, "UpdateTimeToLive": {...}}``
instead.

Credentials and region come from the usual boto3 sources; against a local emulator
(moto) any dummy values work, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test.
The endpoint may also be given as AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
TABLE_LOGICAL_ID = "Table"


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that accepts CloudFormation short-form tags (!Ref, !Sub, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


yaml.add_multi_constructor("!", _cfn_tag, Loader=CfnLoader)


def fail(message: str) -> None:
    print(f"create_table: {message}", file=sys.stderr)
    sys.exit(1)


def load_table_properties(template: Path) -> dict[str, Any]:
    try:
        with template.open(encoding="utf-8") as f:
            doc = yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    except OSError as e:
        fail(f"cannot read {template}: {e}")
    except yaml.YAMLError as e:
        fail(f"{template} is not valid YAML: {e}")
    resource = (doc or {}).get("Resources", {}).get(TABLE_LOGICAL_ID)
    if not resource or resource.get("Type") != "AWS::DynamoDB::Table":
        fail(f"{template} has no AWS::DynamoDB::Table resource named {TABLE_LOGICAL_ID!r}")
    return resource.get("Properties") or {}


def _literal(value: Any, where: str) -> Any:
    """Refuses intrinsic functions: a local table needs literal values."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key == "Ref" or key.startswith("Fn::"):
            fail(f"{where} uses {key}; only literal values can be used for a local table")
    if isinstance(value, dict):
        return {k: _literal(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def build_requests(props: dict[str, Any], table: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Returns (CreateTable kwargs, UpdateTimeToLive kwargs or None)."""
    for key in ("KeySchema", "AttributeDefinitions"):
        if key not in props:
            fail(f"Table has no {key}")
    create: dict[str, Any] = {
        "TableName": table,
        "KeySchema": _literal(props["KeySchema"], "KeySchema"),
        "AttributeDefinitions": _literal(props["AttributeDefinitions"], "AttributeDefinitions"),
        "BillingMode": _literal(props.get("BillingMode", "PROVISIONED"), "BillingMode"),
    }
    if create["BillingMode"] == "PROVISIONED":
        create["ProvisionedThroughput"] = _literal(
            props.get("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}),
            "ProvisionedThroughput",
        )
    stream = props.get("StreamSpecification")
    if stream:
        create["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": _literal(stream["StreamViewType"], "StreamSpecification.StreamViewType"),
        }
    for index_key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(index_key):
            create[index_key] = _literal(props[index_key], index_key)

    ttl = props.get("TimeToLiveSpecification")
    update_ttl = None
    if ttl and _literal(ttl.get("Enabled", False), "TimeToLiveSpecification.Enabled") is True:
        update_ttl = {
            "TableName": table,
            "TimeToLiveSpecification": {
                "Enabled": True,
                "AttributeName": _literal(ttl["AttributeName"], "TimeToLiveSpecification.AttributeName"),
            },
        }
    return create, update_ttl


def make_client(endpoint_url: str | None, region: str | None):
    import boto3  # imported here so --print-json works without boto3

    kwargs: dict[str, Any] = {}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("dynamodb", region_name=region, **kwargs)


def wait_active(client, table: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = client.describe_table(TableName=table)["Table"].get("TableStatus")
        if status == "ACTIVE":
            return
        if time.monotonic() > deadline:
            fail(f"table {table} is still {status} after {timeout:.0f}s")
        time.sleep(1)


def enable_ttl(client, update_ttl: dict[str, Any]) -> None:
    table = update_ttl["TableName"]
    wanted = update_ttl["TimeToLiveSpecification"]["AttributeName"]
    current = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        if current.get("AttributeName") != wanted:
            print(
                f"warning: TTL of {table} is on attribute {current.get('AttributeName')!r}, "
                f"template says {wanted!r}; left as it is",
                file=sys.stderr,
            )
        return
    client.update_time_to_live(**update_ttl)
    print(f"TTL enabled on {table}.{wanted}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create the minipay table from template.yaml.")
    parser.add_argument("--table", required=True, help="name of the table to create")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"),
        help="DynamoDB endpoint (e.g. http://127.0.0.1:5599 for moto); default: AWS",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template (default: template.yaml)")
    parser.add_argument("--print-json", action="store_true", help="print the CreateTable parameters as JSON and exit")
    parser.add_argument(
        "--with-ttl",
        action="store_true",
        help="with --print-json: print {\"CreateTable\": ..., \"UpdateTimeToLive\": ...}",
    )
    args = parser.parse_args(argv)

    create, update_ttl = build_requests(load_table_properties(args.template), args.table)
    if args.print_json:
        out = {"CreateTable": create, "UpdateTimeToLive": update_ttl} if args.with_ttl else create
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0

    from botocore.exceptions import BotoCoreError, ClientError

    client = make_client(args.endpoint_url, args.region)
    try:
        try:
            client.create_table(**create)
            print(f"created table {args.table}")
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
            print(f"table {args.table} already exists")
        wait_active(client, args.table)
        if update_ttl:
            enable_ttl(client, update_ttl)
    except (ClientError, BotoCoreError) as e:
        fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
