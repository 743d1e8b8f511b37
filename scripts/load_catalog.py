#!/usr/bin/env python3
"""Load a catalog file into the minipay table.

Usage:
    python3 scripts/load_catalog.py --table NAME [--endpoint-url http://127.0.0.1:PORT]
                                    [--region us-east-1] [--dry-run] CATALOG.json

Catalog file format
-------------------
A JSON list of objects, one per sellable item::

    [
      {"sku": "course-basic", "price": 9900, "subject": "Python 编程基础",
       "body": "30 节视频课", "image": "https://cdn.example.com/basic.png",
       "goods_type": 401, "tag_group_id": "tag_group_7272625659888041996"}
    ]

============== ======== ========================================================
field          required meaning
============== ======== ========================================================
sku            yes      item id used by ``POST /prepay``: 1-64 characters of
                        ``[0-9A-Za-z_.-]``, unique in the file
price          yes      unit price in fen (1 CNY = 100 fen): an integer >= 1
                        (not a float, not a string, not true/false)
subject        yes      order title shown by the platform, non-empty (minipay
                        truncates it to the platform's limit when ordering)
body           yes      order description, non-empty
image          yes      https URL of the item picture (order center / trade system)
goods_type     no       Douyin trade-system goods type (integer, e.g. 401)
tag_group_id   no       Douyin trade-system refund tag group (non-empty string)
============== ======== ========================================================

Each entry becomes the table item (CONTRACT.md section 3)::

    pk = "SKU#<sku>", sk = "SKU", entity = "SKU",
    price (N), subject (S), body (S), image (S)[, goods_type (N)][, tag_group_id (S)]

An existing item with the same sku is replaced. Every entry is validated before
anything is written: on a bad entry the script names it, writes nothing and exits 1.

Credentials and region come from the usual boto3 sources; against a local emulator
(moto) any dummy values work, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test.
The endpoint may also be given as AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SKU_RE = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
REQUIRED = ("sku", "price", "subject", "body", "image")
OPTIONAL = ("goods_type", "tag_group_id")


class CatalogError(Exception):
    pass


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _non_empty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def validate_entry(entry: Any) -> dict[str, Any]:
    """Checks one catalog entry and returns its table item; raises CatalogError."""
    if not isinstance(entry, dict):
        raise CatalogError(f"must be a JSON object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise CatalogError(f"unknown field(s) {', '.join(unknown)}")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise CatalogError(f"missing field(s) {', '.join(missing)}")

    sku = entry["sku"]
    if not isinstance(sku, str) or not SKU_RE.match(sku):
        raise CatalogError(f"sku {sku!r} must be 1-64 characters of [0-9A-Za-z_.-]")
    price = entry["price"]
    if not _is_int(price) or price < 1:
        raise CatalogError(f"price {price!r} must be an integer number of fen >= 1")
    for key in ("subject", "body"):
        if not _non_empty_str(entry[key]):
            raise CatalogError(f"{key} must be a non-empty string")
    image = entry["image"]
    if not isinstance(image, str) or any(c.isspace() for c in image):
        raise CatalogError(f"image {image!r} must be an https URL")
    parts = urlsplit(image)
    if parts.scheme != "https" or not parts.hostname:
        raise CatalogError(f"image {image!r} must be an https URL")

    item: dict[str, Any] = {
        "pk": f"SKU#{sku}",
        "sk": "SKU",
        "entity": "SKU",
        "price": price,
        "subject": entry["subject"],
        "body": entry["body"],
        "image": image,
    }
    if "goods_type" in entry:
        goods_type = entry["goods_type"]
        if not _is_int(goods_type) or goods_type < 0:
            raise CatalogError(f"goods_type {goods_type!r} must be a non-negative integer")
        item["goods_type"] = goods_type
    if "tag_group_id" in entry:
        if not _non_empty_str(entry["tag_group_id"]):
            raise CatalogError("tag_group_id must be a non-empty string")
        item["tag_group_id"] = entry["tag_group_id"]
    return item


def load_catalog(path: Path) -> list[dict[str, Any]]:
    """Reads and validates the whole file; raises CatalogError naming the bad entry."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e}") from e
    try:
        entries = json.loads(text)  # 99.0 stays a float and is refused below
    except json.JSONDecodeError as e:
        raise CatalogError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path} must hold a non-empty JSON list of catalog entries")
    items: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        label = f"entry #{index}"
        if isinstance(entry, dict) and isinstance(entry.get("sku"), str):
            label += f" (sku {entry['sku']!r})"
        try:
            item = validate_entry(entry)
        except CatalogError as e:
            raise CatalogError(f"{path}: {label}: {e}") from None
        sku = item["pk"][4:]
        if sku in seen:
            raise CatalogError(f"{path}: {label}: duplicate sku, already entry #{seen[sku]}")
        seen[sku] = index
        items.append(item)
    return items


def to_attribute_values(item: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in item.items():
        out[key] = {"N": str(value)} if _is_int(value) else {"S": value}
    return out


def write_items(client, table: str, items: list[dict[str, Any]]) -> None:
    requests = [{"PutRequest": {"Item": to_attribute_values(item)}} for item in items]
    for start in range(0, len(requests), 25):
        pending = {table: requests[start : start + 25]}
        for _ in range(8):
            answer = client.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise CatalogError("DynamoDB kept items unprocessed; run the script again")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate a catalog file and load it into the minipay table.")
    parser.add_argument("catalog", type=Path, help="catalog JSON file (see the module docstring)")
    parser.add_argument("--table", required=True, help="table name (stack output TableName)")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"),
        help="DynamoDB endpoint (e.g. http://127.0.0.1:5599 for moto); default: AWS",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)")
    parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    args = parser.parse_args(argv)

    try:
        items = load_catalog(args.catalog)
    except CatalogError as e:
        print(f"load_catalog: {e}; nothing written", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{args.catalog}: {len(items)} valid entries (dry run, nothing written)")
        return 0

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    kwargs = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    client = boto3.client("dynamodb", region_name=region, **kwargs)
    try:
        client.describe_table(TableName=args.table)
        write_items(client, args.table, items)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            print(f"load_catalog: table {args.table} does not exist (scripts/create_table.py makes it)", file=sys.stderr)
        else:
            print(f"load_catalog: {e}", file=sys.stderr)
        return 1
    except (BotoCoreError, CatalogError) as e:
        print(f"load_catalog: {e}", file=sys.stderr)
        return 1
    for item in items:
        print(f"wrote {item['pk']}  {item['price']} fen  {item['subject']}")
    print(f"loaded {len(items)} catalog entries into {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
