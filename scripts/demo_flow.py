#!/usr/bin/env python3
"""Drives one complete Douyin payment through the local stack, as a mini-program does.

tt.login is played by the sandbox (it hands out a login code), and the user paying in
tt.pay is played by the sandbox too: it marks the order paid and sends the signed
callback to notify, as Douyin would.
"""
import argparse
import json
import sys
import time
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
    parser.add_argument("--admin-key", required=True, help="the back office's ADMIN_API_KEY")
    parser.add_argument("--platform", choices=["douyin", "wechat"], default="douyin")
    args = parser.parse_args()
    fn = lambda name, path: f"{args.api}/lambda-url/{name}{path}"
    if args.platform == "wechat":
        return wechat(args, fn)

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
    print(f"\nOrder {no} is PAID ({order['total_amount']} fen). Now the back office side.")

    admin = args.admin_key
    part = order["total_amount"] // 3
    refund = step("POST /refund (admin: a partial refund)", *call("POST", fn("refund", "/refund"), {
        "out_order_no": no, "out_refund_no": f"RF-{no}", "refund_amount": part, "reason": "用户申请部分退款"}, admin))
    step("platform finishes the refund (sandbox sends the signed refund callback)",
         *call("POST", f"{args.sandbox}/sandbox/finish_refund", {"out_refund_no": refund["out_refund_no"], "status": "SUCCESS"}))
    step(f"GET /refunds/{refund['out_refund_no']} (admin)", *call("GET", fn("query", f"/refunds/{refund['out_refund_no']}"), bearer=admin))
    settle = step("POST /settle (admin: settle the rest, 10% to a partner)", *call("POST", fn("settle", "/settle"), {
        "out_order_no": no, "out_settle_no": f"ST-{no}", "settle_desc": "课程收入分账",
        "settle_params": [{"merchant_uid": "7011234567890123456", "amount": order["total_amount"] // 10}]}, admin))
    step("platform finishes the settlement (sandbox sends the signed settle callback)",
         *call("POST", f"{args.sandbox}/sandbox/finish_settle", {"out_settle_no": settle["out_settle_no"], "status": "SUCCESS"}))
    order = step(f"GET /orders/{no}", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["refunded_amount"] != part:
        sys.exit(f"expected {part} refunded, got {order['refunded_amount']}")

    # The order center hears of every change through the table's stream and push.
    wanted = {0, 1, 5}
    deadline = time.time() + 60
    while True:
        status, answer = call("GET", f"{args.sandbox}/sandbox/pushes")
        pushes = answer["pushes"]
        mine = [p for p in pushes if p["order_detail"]["order_id"] == no]
        if wanted <= {p["order_status"] for p in mine} or time.time() > deadline:
            break
        time.sleep(0.5)
    print(f"\n--- order center pushes for {no} (via the stream and push)")
    for p in mine:
        print(f"  order_status {p['order_status']}: {p['order_detail']['status']} "
              f"(total_price {p['order_detail']['total_price']}, update_time {p['update_time']})")
    if not wanted <= {p["order_status"] for p in mine}:
        sys.exit("the order center did not get the created, paid and refunding pushes")
    print(f"\nDone: order {no} paid, {part} fen refunded, settled, and pushed to the order center.")


def wechat(args, fn):
    """The WeChat Pay v2 (JSAPI) flow: wx.login, wx.requestPayment, notify, refund."""
    sandbox = f"{args.sandbox}/sandbox/wechat"
    code = step("wx.login (sandbox hands out a code)", *call("POST", f"{sandbox}/login_code", {"user": "demo-user"}))
    login = step("POST /openid (platform wechat)", *call("POST", fn("openid", "/openid"), {"code": code["code"], "platform": "wechat"}))
    session = login["session"]
    prepay = step("POST /prepay (pay: the five wx.requestPayment fields)",
                  *call("POST", fn("prepay", "/prepay"), {"sku": args.sku, "quantity": 1}, session))
    if sorted(prepay["pay"]) != ["nonceStr", "package", "paySign", "signType", "timeStamp"]:
        sys.exit("prepay did not answer the wx.requestPayment fields")
    no = prepay["out_order_no"]
    step(f"GET /orders/{no} (before paying: orderquery says NOTPAY)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    paid = step("user pays in wx.requestPayment (sandbox sends the signed XML notify)",
                *call("POST", f"{sandbox}/pay", {"out_trade_no": no}))
    if any(d["status"] != 200 or "SUCCESS" not in d["body"] for d in paid["deliveries"]):
        sys.exit("notify did not answer SUCCESS")
    order = step(f"GET /orders/{no} (after paying)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["status"] != "PAID":
        sys.exit(f"expected PAID, got {order['status']}")
    part = order["total_amount"] // 2
    refund = step("POST /refund (admin: secapi/pay/refund with the client certificate)", *call("POST", fn("refund", "/refund"), {
        "out_order_no": no, "out_refund_no": f"WXRF-{no}", "refund_amount": part, "reason": "用户申请退款"}, args.admin_key))
    step("WeChat finishes the refund (sandbox sends the encrypted refund notify)",
         *call("POST", f"{sandbox}/finish_refund", {"out_refund_no": refund["out_refund_no"], "status": "SUCCESS"}))
    order = step(f"GET /orders/{no}", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["refunded_amount"] != part:
        sys.exit(f"expected {part} refunded, got {order['refunded_amount']}")
    print(f"\nDone: WeChat order {no} paid and {part} fen refunded.")


if __name__ == "__main__":
    main()
