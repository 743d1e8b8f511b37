#!/usr/bin/env python3
"""CPU per operation of the same operations in the Python packages from PyPI, for `make bench`.

The counterparts of shared/examples/bench_ops.rs, on the same inputs (bench/vectors.json):

* Douyin: `bytedance` 1.0.0 (pcloth/bytedance): `bytedance.security.ecpay_signature` and
  `ByteDance(...).callbacks.parse(body, protocol="ecpay")` (verify + json parse of envelope and msg).
* WeChat: `wechatpy` 1.8.18: `wechatpy.pay.utils.calculate_signature` (MD5) and
  `calculate_signature_hmac`, `_check_signature` (its verify: MD5 only), `xmltodict.parse` (its
  XML reader) and `WeChatPay.parse_payment_result` (parse + verify).
* WeChat Pay APIv3: `wechatpayv3` 2.0.4 (minibear2021), made offline in public-key mode
  (`public_key`, `public_key_id`: it downloads no certificate): `WeChatPay(...).callback(headers,
  body)` (verify + decrypt + json parse), and the `wechatpayv3.utils` functions it calls,
  `rsa_verify` and `aes_decrypt`, alone.

Where a package has no such operation, the closest thing it has or a plain-Python
implementation of the documented algorithm is timed, and labelled so (field `impl`).

Every operation is checked against the expected result before it is timed; timing is
timeit's: an iteration count for about `--round-ms`, then `--rounds` rounds, median ns/op.
Prints one JSON object.
"""
import argparse
import hashlib
import hmac
import importlib.metadata
import json
import os
import platform
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_vectors(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def plain_wechat_verify(fields, api_key):
    """wechat.md section 3 as written, over the raw parsed map: the algorithm from `sign_type`, else
    from the sign's length (64 hex: HMAC-SHA256, 32: MD5); every field but `sign`, empty ones left out."""
    received = fields.get("sign") or ""
    kind = fields.get("sign_type") or {64: "HMAC-SHA256", 32: "MD5"}.get(len(received))
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k]) + "&key=" + api_key
    data = text.encode("utf-8")
    if kind == "MD5":
        expected = hashlib.md5(data).hexdigest()
    elif kind == "HMAC-SHA256":
        expected = hmac.new(api_key.encode("utf-8"), data, hashlib.sha256).hexdigest()
    else:
        return False
    return hmac.compare_digest(expected.upper(), received.upper())


def build_ops(v):
    import xmltodict
    from bytedance import ByteDance
    from bytedance.security import ecpay_signature
    from wechatpy.pay import WeChatPay
    from wechatpy.pay.utils import _check_signature, calculate_signature, calculate_signature_hmac

    ops = []
    d = v["douyin"]
    for name, key in (("douyin.ecpay_sign.a", "vector_a"), ("douyin.ecpay_sign.b", "vector_b")):
        params, expected, salt = d[key]["params"], d[key]["sign"], d["salt"]
        ops.append((name, "bytedance.security.ecpay_signature", "package",
                    lambda params=params, salt=salt: ecpay_signature(params, salt), expected))

    c = d["vector_c"]
    client = ByteDance(app_id="tt226e54d3bd581bf801", app_secret="unused", callback_token=c["token"],
                       ac_path=os.devnull)
    body = c["body"].encode("utf-8")
    from bytedance.security import verify_ecpay
    ops.append(("douyin.callback.verify", "json.loads(body) + bytedance.security.verify_ecpay", "package",
                lambda: verify_ecpay(json.loads(body), c["token"]), True))
    ops.append(("douyin.callback.verify_parse", 'ByteDance(...).callbacks.parse(body, protocol="ecpay")', "package",
                lambda: client.callbacks.parse(body, protocol="ecpay")["parsed_msg"]["cp_orderno"], c["cp_orderno"]))

    w = v["wechat"]
    api_key = w["api_key"]
    fields_md5 = dict(w["vector_d"]["fields"])
    fields_hmac = dict(w["vector_d_hmac"]["fields"])
    ops.append(("wechat.sign.md5", "wechatpy.pay.utils.calculate_signature", "package",
                lambda: calculate_signature(fields_md5, api_key), w["vector_d"]["sign_md5"]))
    ops.append(("wechat.sign.hmac", "wechatpy.pay.utils.calculate_signature_hmac", "package",
                lambda: calculate_signature_hmac(fields_hmac, api_key), w["vector_d_hmac"]["sign_hmac"]))

    xml_md5, xml_hmac = w["notify_md5_xml"], w["notify_hmac_xml"]
    parsed_md5 = dict(xmltodict.parse(xml_md5)["xml"])
    parsed_hmac = dict(xmltodict.parse(xml_hmac)["xml"])
    ops.append(("wechat.verify.md5", "wechatpy.pay.utils._check_signature (deep-copies the map, MD5 only)", "package",
                lambda: _check_signature(parsed_md5, api_key), True))
    ops.append(("wechat.verify.hmac",
                "plain Python (hashlib/hmac) of wechat.md section 3: wechatpy has no HMAC-SHA256 verify",
                "plain-python", lambda: plain_wechat_verify(parsed_hmac, api_key), True))
    ops.append(("wechat.xml.parse_flat", "xmltodict.parse(xml)['xml'] (what wechatpy parses notifies with)",
                "package (dependency)", lambda: xmltodict.parse(xml_md5)["xml"]["out_trade_no"],
                w["notify_out_trade_no"]))
    pay = WeChatPay(appid=w["vector_d"]["fields"]["appId"], api_key=api_key, mch_id="1230000109")
    ops.append(("wechat.notify.parse_verify", "wechatpy WeChatPay.parse_payment_result(xml) (parse + MD5 verify)",
                "package", lambda: pay.parse_payment_result(xml_md5)["out_trade_no"], w["notify_out_trade_no"]))
    # The trade system's RSA: bytedance.security (on `cryptography`, OpenSSL's C) takes the PEM
    # text on every call and parses it there, as its API is made.
    from bytedance.security import signed_order, verify_platform
    tr = v["douyin_trade"]
    ro, cb = tr["request_order"], tr["callback"]
    ops.append(("douyin.trade.byte_authorization",
                "bytedance.security.signed_order(data, ...)['byteAuthorization'] (parses the PEM each call)",
                "package", lambda: signed_order(ro["data"], tr["app_id"], tr["private_key_pem"], tr["key_version"],
                                                timestamp=ro["timestamp"], nonce=ro["nonce"])["byteAuthorization"],
                ro["byte_authorization"]))
    cb_headers = {"Byte-Timestamp": cb["timestamp"], "Byte-Nonce-Str": cb["nonce"], "Byte-Signature": cb["signature"]}
    cb_body = cb["body"].encode("utf-8")
    ops.append(("douyin.trade.callback.verify_parse",
                "bytedance.security.verify_platform(body, headers, public_key) + json.loads of envelope and msg",
                "package", lambda: verify_platform(cb_body, cb_headers, tr["public_key_pem"])
                and json.loads(json.loads(cb_body)["msg"])["out_order_no"], cb["out_order_no"]))
    ops.extend(wechat_v3_ops(v["wechat_v3"]))
    # The hash primitive alone over the exact string each operation signs (hashlib: OpenSSL's C):
    # not a target operation, the floor under it.
    sa, sc = d["vector_a"]["string_to_sign"], d["vector_c"]["string_to_sign"]
    sd, sdh = w["vector_d"]["string_to_sign"], w["vector_d_hmac"]["string_to_sign"]
    key = api_key.encode("utf-8")
    ops.append(("floor.md5_hex.ecpay_a", "hashlib.md5(s.encode()).hexdigest()", "stdlib",
                lambda: hashlib.md5(sa.encode("utf-8")).hexdigest(), d["vector_a"]["sign"]))
    ops.append(("floor.sha1_hex.callback_c", "hashlib.sha1(s.encode()).hexdigest()", "stdlib",
                lambda: hashlib.sha1(sc.encode("utf-8")).hexdigest(), c["msg_signature"]))
    ops.append(("floor.md5_hex_upper.pay_sign_d", "hashlib.md5(s.encode()).hexdigest().upper()", "stdlib",
                lambda: hashlib.md5(sd.encode("utf-8")).hexdigest().upper(), w["vector_d"]["sign_md5"]))
    ops.append(("floor.hmac_sha256_hex_upper.pay_sign_d", "hmac.new(key, s.encode(), sha256).hexdigest().upper()",
                "stdlib", lambda: hmac.new(key, sdh.encode("utf-8"), hashlib.sha256).hexdigest().upper(),
                w["vector_d_hmac"]["sign_hmac"]))
    return ops


def wechat_v3_ops(w):
    """WeChat Pay APIv3 notify (wechat_v3 in vectors.json) with wechatpayv3 in public-key mode."""
    from wechatpayv3 import WeChatPay, WeChatPayType
    from wechatpayv3.utils import aes_decrypt, load_public_key, rsa_verify

    # The merchant key and serial are only for requests, which are never made here; the
    # constructor wants a valid private key, so the vector's (published) test key stands in.
    pay = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid="1230000109",
                    private_key=w["signing_private_key_pem"], cert_serial_no="0" * 40,
                    appid="wxd678efh567hg6787", apiv3_key=w["apiv3_key"],
                    public_key=w["public_key_pem"], public_key_id=w["public_key_id"])
    headers, body = dict(w["headers"]), w["body"].encode("utf-8")
    h = headers
    text = w["body"]
    public_key = load_public_key(w["public_key_pem"])
    resource = json.loads(text)["resource"]

    def callback():
        got = pay.callback(headers, body)
        t = got and got["resource"]
        return bool(t) and t["trade_state"] == "SUCCESS" and t["out_trade_no"] == w["out_trade_no"] \
            and t["amount"]["total"] == w["total"]

    return [
        ("wechat.v3.notify.verify_decrypt",
         "wechatpayv3 WeChatPay(...).callback(headers, body) in public-key mode (verify, json.loads, AES-GCM "
         "decrypt, json.loads of the plaintext; no time-window check)", "package", callback, True),
        ("wechat.v3.verify", "wechatpayv3.utils.rsa_verify(ts, nonce, body, signature, public_key) (what callback "
         "verifies with; key loaded once)", "package",
         lambda: rsa_verify(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], text, h["Wechatpay-Signature"],
                            public_key), True),
        ("wechat.v3.decrypt", "wechatpayv3.utils.aes_decrypt(nonce, ciphertext, associated_data, apiv3_key) "
         "(what callback decrypts with)", "package",
         lambda: aes_decrypt(resource["nonce"], resource["ciphertext"], resource["associated_data"],
                             w["apiv3_key"]), w["plaintext"]),
    ]


def measure(fn, rounds, round_s):
    timer = timeit.Timer(fn)
    number, took = timer.autorange()
    number = max(1, int(number * round_s / max(took, 1e-9)))
    timer.timeit(number)  # warm-up
    per = sorted(t / number * 1e9 for t in timer.repeat(repeat=rounds, number=number))
    return per, number


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", default=os.path.join(ROOT, "bench", "vectors.json"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--round-ms", type=float, default=50)
    args = parser.parse_args()
    import bytedance
    import wechatpy
    import wechatpayv3

    results = []
    for name, what, impl, fn, expected in build_ops(load_vectors(args.vectors)):
        got = fn()
        if got != expected:
            sys.exit(f"{name}: {what} gave {got!r}, expected {expected!r}")
        per, number = measure(fn, args.rounds, args.round_ms / 1000)
        results.append({"name": name, "what": what, "impl": impl, "ns_median": per[len(per) // 2],
                        "ns_min": per[0], "ns_max": per[-1], "rounds": args.rounds, "iters_per_round": number})
    print(json.dumps({
        "tool": "scripts/bench_python_ops.py",
        "python": platform.python_implementation() + " " + platform.python_version(),
        "packages": {"bytedance": bytedance.__version__, "wechatpy": wechatpy.__version__,
                     "wechatpayv3": wechatpayv3.__version__,
                     "cryptography": importlib.metadata.version("cryptography"),
                     "xmltodict": importlib.metadata.version("xmltodict")},
        "ops": results,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
