#!/usr/bin/env python3
"""Drives one complete Douyin payment through the local stack, as a mini-program does.

tt.login is played by the sandbox (it hands out a login code), and the user paying in
tt.pay is played by the sandbox too: it marks the order paid and sends the signed
callback to notify, as Douyin would.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


def call(method, url, body=None, bearer=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if bearer:
        req.add_header("authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def step(title, status, answer, expect=200):
    print(f"\n--- {title}: HTTP {status}")
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    if status != expect:
        sys.exit(f"step failed: {title}")
    return answer


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True, help="cargo lambda watch base URL")
    parser.add_argument("--sandbox", required=True, help="platform sandbox base URL")
    parser.add_argument("--sku", default="course-basic")
    args = parser.parse_args()
    fn = lambda name, path: f"{args.api}/lambda-url/{name}{path}"

    code = step("tt.login (sandbox hands out a code)", *call("POST", f"{args.sandbox}/sandbox/login_code", {"user": "demo-user"}))
    login = step("POST /openid", *call("POST", fn("openid", "/openid"), {"code": code["code"]}))
    session = login["session"]
    prepay = step("POST /prepay", *call("POST", fn("prepay", "/prepay"), {"sku": args.sku, "quantity": 1}, session))
    no = prepay["out_order_no"]
    step(f"GET /orders/{no} (before paying)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    paid = step("user pays in tt.pay (sandbox sends the signed callback to notify)",
                *call("POST", f"{args.sandbox}/sandbox/pay", {"out_order_no": no}))
    if any(d["status"] != 200 for d in paid["deliveries"]):
        sys.exit("notify did not acknowledge the callback")
    order = step(f"GET /orders/{no} (after paying)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["status"] != "PAID" or order["code"] != 0:
        sys.exit(f"expected PAID, got {order['status']}")
    print(f"\nDone: order {no} is PAID ({order['total_amount']} fen).")


if __name__ == "__main__":
    main()
