#!/usr/bin/env python3
"""Drives one complete Douyin payment through the local stack, as a mini-program does.

tt.login is played by the sandbox (it hands out a login code), and the user paying in
tt.pay is played by the sandbox too: it marks the order paid and sends the signed
callback to notify, as Douyin would. Then a payment whose callback is lost, found by the
reconcile function (invoked as its schedule would).
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def call(method, url, body=None, bearer=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if bearer:
        req.add_header("authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
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
    parser.add_argument("--platform", choices=["douyin", "douyin-trade", "wechat", "wechat-v3"], default="douyin",
                        help="douyin-trade / wechat-v3: the functions run with DOUYIN_PAY_MODE=trade and WECHAT_PAY_API=v3")
    parser.add_argument("--endpoint-url", help="the DynamoDB endpoint (moto), to show an order as stored")
    parser.add_argument("--table", help="the table, to show an order as stored")
    parser.add_argument("--webhook-events", help="the local webhook receiver's GET /events, to show what the merchant heard")
    args = parser.parse_args()
    fn = lambda name, path: f"{args.api}/lambda-url/{name}{path}"
    if args.platform == "wechat":
        return wechat(args, fn)
    if args.platform == "wechat-v3":
        return wechat(args, fn, api="v3")
    if args.platform == "douyin-trade":
        return trade(args, fn)

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
    step("a week passes (sandbox ages the payment: the platform settles an order 7 days after it)",
         *call("POST", f"{args.sandbox}/sandbox/orders/{no}/age", {"days": 8}))
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
    if args.webhook_events:
        merchant_heard(args.webhook_events, no)
    print(f"\nDone: order {no} paid, {part} fen refunded, settled, and pushed to the order center.")
    lost_callback(args, fn, session)


def merchant_heard(events_url, no):
    """The events the merchant's webhook got for order `no` (via the stream and `events`)."""
    wanted = ["order.created", "order.paid", "refund.processing", "refund.succeeded"]
    # Long enough for a retry: a failed delivery is due a minute later, and the
    # schedule comes once a minute.
    deadline = time.time() + 150
    while True:
        _, answer = call("GET", events_url)
        mine = [e for e in answer["events"] if e["data"].get("out_order_no") == no]
        if set(wanted) <= {e["type"] for e in mine} or time.time() > deadline:
            break
        time.sleep(0.5)
    print(f"\n--- merchant webhook events for {no} (via the stream and events, signatures checked by the receiver)")
    for e in mine:
        print(f"  {e['type']:<22} {e['id']}  status {e['data'].get('status')}")
    if not set(wanted) <= {e["type"] for e in mine}:
        sys.exit("the merchant's webhook did not get order.created, order.paid, refund.processing and refund.succeeded")


def stored_status(args, no):
    """The order's status as the table holds it (GET /orders would ask the platform)."""
    if not (args.endpoint_url and args.table):
        return None
    import boto3
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint_url,
                       region_name=os.environ.get("AWS_REGION", "us-east-1"))
    item = ddb.get_item(TableName=args.table, ConsistentRead=True,
                        Key={"pk": {"S": f"ORDER#{no}"}, "sk": {"S": "ORDER"}}).get("Item", {})
    return item.get("status", {}).get("S")


def lost_callback(args, fn, session):
    """A payment whose callback never arrives: the reconcile function, run by an
    EventBridge schedule in AWS, asks the platform and records it. Invoked here through
    cargo lambda watch's Lambda Invoke API with a sample scheduled event."""
    print("\n=== A lost payment callback, found by the reconciler")
    prepay = step("POST /prepay (a second order)", *call("POST", fn("prepay", "/prepay"), {"sku": args.sku, "quantity": 1}, session))
    no = prepay["out_order_no"]
    paid = step("user pays in tt.pay, and the platform's callback is lost (sandbox: deliveries 0)",
                *call("POST", f"{args.sandbox}/sandbox/pay", {"out_order_no": no, "deliveries": 0}))
    if paid["deliveries"]:
        sys.exit("the sandbox sent a callback")
    # Not GET /orders: while an order is PENDING it asks the platform itself.
    status = stored_status(args, no)
    if status is not None:
        print(f"\n--- order {no} in the table: {status} (no callback came)")
        if status != "PENDING":
            sys.exit(f"expected PENDING in the table, got {status}")
    with open(os.path.join(ROOT, "events", "reconcile.json"), encoding="utf-8") as f:
        event = json.load(f)
    report = step("reconcile (EventBridge Scheduled Event, events/reconcile.json): its report",
                  *call("POST", f"{args.api}/2015-03-31/functions/reconcile/invocations", event, timeout=300))
    if report.get("orders_paid", 0) < 1:
        sys.exit("the reconciler found no payment")
    order = step(f"GET /orders/{no} (after the reconciler)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["status"] != "PAID":
        sys.exit(f"expected PAID, got {order['status']}")
    print(f"\nDone: order {no} is PAID although its callback never came: the reconciler asked the platform.")


def trade(args, fn):
    """The general trade system: prepay signs data that tt.requestOrder places, the user
    pays in tt.getOrderPayment, refunds (also one the user starts) and settlement go
    through trade_basic, and every callback is RSA-signed by the platform."""
    sandbox = lambda path: f"{args.sandbox}/sandbox/trade{path}"
    code = step("tt.login (sandbox hands out a code)", *call("POST", f"{args.sandbox}/sandbox/login_code", {"user": "trade-user"}))
    session = step("POST /openid", *call("POST", fn("openid", "/openid"), {"code": code["code"]}))["session"]
    prepay = step("POST /prepay (trade mode: data + byteAuthorization, no platform call)",
                  *call("POST", fn("prepay", "/prepay"), {"sku": args.sku, "quantity": 2}, session))
    no, pay = prepay["out_order_no"], prepay["pay"]
    step("tt.requestOrder (sandbox checks byteAuthorization with the app public key)",
         *call("POST", sandbox("/request_order"), {"data": pay["data"], "byteAuthorization": pay["byteAuthorization"]}))
    step(f"GET /orders/{no} (placed, not paid: order_query says PROCESS)",
         *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    paid = step("user pays in tt.getOrderPayment (sandbox sends the RSA-signed payment callback)",
                *call("POST", sandbox("/pay"), {"out_order_no": no}))
    if any(d["status"] != 200 for d in paid["deliveries"]):
        sys.exit("notify did not acknowledge the callback")
    order = step(f"GET /orders/{no} (after paying)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["status"] != "PAID":
        sys.exit(f"expected PAID, got {order['status']}")
    total = order["total_amount"]

    admin = args.admin_key
    part = total // 4
    refund = step("POST /refund (admin: refund_create with the item orders)", *call("POST", fn("refund", "/refund"), {
        "out_order_no": no, "out_refund_no": f"TR-{no}", "refund_amount": part, "reason": "课程调整"}, admin))
    step("platform finishes the refund (RSA-signed refund callback)",
         *call("POST", sandbox("/finish_refund"), {"refund_id": refund["refund_no"], "status": "SUCCESS"}))
    user = step("the user asks for a refund on the platform (pre_create_refund, answered at once)",
                *call("POST", sandbox("/user_refund"), {"out_order_no": no, "amount": part, "reason": "不想要了"}))
    if not user.get("out_refund_no"):
        sys.exit("the backend did not answer pre_create_refund with its refund number")
    step("platform finishes the user's refund",
         *call("POST", sandbox("/finish_refund"), {"refund_id": user["refund_id"], "status": "SUCCESS"}))
    step(f"GET /refunds/{user['out_refund_no']} (admin)",
         *call("GET", fn("query", f"/refunds/{user['out_refund_no']}"), bearer=admin))
    step("a week passes (sandbox ages the payment: content recharge settles 7 days after it)",
         *call("POST", sandbox(f"/orders/{no}/age"), {"days": 8}))
    settle = step("POST /settle (admin: settle_create)", *call("POST", fn("settle", "/settle"), {
        "out_order_no": no, "out_settle_no": f"TS-{no}", "settle_desc": "课程收入结算"}, admin))
    step("platform finishes the settlement (RSA-signed settle callback)",
         *call("POST", sandbox("/finish_settle"), {"out_settle_no": settle["out_settle_no"], "status": "SUCCESS"}))
    order = step(f"GET /orders/{no}", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["refunded_amount"] != 2 * part:
        sys.exit(f"expected {2 * part} refunded, got {order['refunded_amount']}")
    print(f"\nTrade order {no}: paid {total} fen, refunded {order['refunded_amount']} fen "
          "(back office and user), settled. Trade orders are not pushed: the platform keeps its order center.")


# What differs between the two WeChat Pay APIs in the flow: the sandbox's control paths,
# what a pay sheet is signed with, the notify's acknowledgement, and the step texts.
WECHAT_APIS = {
    "v2": {
        "user": "demo-user", "paths": "", "sign_type": None, "ack": "SUCCESS", "refund_prefix": "WXRF",
        "prepay": "POST /prepay (pay: the five wx.requestPayment fields)",
        "query": "before paying: orderquery says NOTPAY",
        "pay": "user pays in wx.requestPayment (sandbox sends the signed XML notify)",
        "refund": "POST /refund (admin: secapi/pay/refund with the client certificate)",
        "finish": "WeChat finishes the refund (sandbox sends the encrypted refund notify)",
        "done": "WeChat order",
    },
    "v3": {
        "user": "demo-v3-user", "paths": "/v3", "sign_type": "RSA", "ack": '"SUCCESS"', "refund_prefix": "WX3RF",
        "prepay": "POST /prepay (WECHAT_PAY_API=v3: JSAPI prepay, paySign RSA)",
        "query": "before paying: a signed v3 query, its answer verified",
        "pay": "user pays (sandbox sends TRANSACTION.SUCCESS, signed and AES-GCM encrypted)",
        "refund": "POST /refund (admin: v3 refund, no client certificate)",
        "finish": "WeChat finishes the refund (sandbox sends REFUND.SUCCESS, encrypted)",
        "done": "WeChat Pay v3 order",
    },
}


def wechat(args, fn, api="v2"):
    """A WeChat Pay (JSAPI) flow, v2 or v3: wx.login, wx.requestPayment, notify, refund and its notify."""
    texts = WECHAT_APIS[api]
    sandbox = f"{args.sandbox}/sandbox/wechat"
    code = step("wx.login (sandbox hands out a code)", *call("POST", f"{sandbox}/login_code", {"user": texts["user"]}))
    login = step("POST /openid (platform wechat)", *call("POST", fn("openid", "/openid"), {"code": code["code"], "platform": "wechat"}))
    session = login["session"]
    prepay = step(texts["prepay"], *call("POST", fn("prepay", "/prepay"), {"sku": args.sku, "quantity": 1}, session))
    pay = prepay["pay"]
    if sorted(pay) != ["nonceStr", "package", "paySign", "signType", "timeStamp"]:
        sys.exit("prepay did not answer the wx.requestPayment fields")
    if texts["sign_type"] and pay["signType"] != texts["sign_type"]:
        sys.exit(f"prepay's paySign is not {texts['sign_type']}")
    no = prepay["out_order_no"]
    step(f"GET /orders/{no} ({texts['query']})", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    paid = step(texts["pay"], *call("POST", f"{sandbox}{texts['paths']}/pay", {"out_trade_no": no}))
    if any(d["status"] != 200 or texts["ack"] not in d["body"] for d in paid["deliveries"]):
        sys.exit("notify did not answer SUCCESS")
    order = step(f"GET /orders/{no} (after paying)", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["status"] != "PAID":
        sys.exit(f"expected PAID, got {order['status']}")
    part = order["total_amount"] // 2
    refund = step(texts["refund"], *call("POST", fn("refund", "/refund"), {
        "out_order_no": no, "out_refund_no": f"{texts['refund_prefix']}-{no}", "refund_amount": part,
        "reason": "用户申请退款"}, args.admin_key))
    step(texts["finish"], *call("POST", f"{sandbox}{texts['paths']}/finish_refund",
                                {"out_refund_no": refund["out_refund_no"], "status": "SUCCESS"}))
    order = step(f"GET /orders/{no}", *call("GET", fn("query", f"/orders/{no}"), bearer=session))
    if order["refunded_amount"] != part:
        sys.exit(f"expected {part} refunded, got {order['refunded_amount']}")
    print(f"\nDone: {texts['done']} {no} paid and {part} fen refunded.")


if __name__ == "__main__":
    main()
