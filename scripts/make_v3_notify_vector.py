#!/usr/bin/env python3
"""Makes (or checks) the WeChat Pay APIv3 payment notify of bench/vectors.json (`wechat_v3`).

Published material only (wechat-v3-reconcile.md A.9), nothing WeChat signed:

* WeChat's signing key: the wechatpay-go test key of T5
  (shared/src/wechat/v3/testdata/go_test_private_pkcs8.pem), its public half
  (go_test_public.pem) playing the WeChat Pay public key under the id PUBLIC_KEY_ID (A.7);
* APIv3 key: T1's 32-byte key (wechatpay-java TestConfig.API_V3_KEY): AES-256-GCM;
* plaintext: a TRANSACTION.SUCCESS Transaction (A.1 fields), encrypted as in A.5 with
  associated_data "transaction" and a fixed 12-character nonce, Base64(ciphertext || tag);
* headers Wechatpay-Timestamp/-Nonce/-Signature/-Serial/-Signature-Type, the signature
  SHA256withRSA (PKCS#1 v1.5) over `TIMESTAMP\\nNONCE\\nBODY\\n` (A.4).

PKCS#1 v1.5 signatures and AES-GCM with a fixed nonce are deterministic, so the output is
the same on every run:

    python3 scripts/make_v3_notify_vector.py           # writes wechat_v3 into bench/vectors.json
    python3 scripts/make_v3_notify_vector.py --check   # the stored vector is exactly what this makes

Both modes then verify the stored vector independently of how it was made: the signature
with the public key PEM (`cryptography`, and `openssl dgst -verify` when openssl is on PATH),
and the resource decrypted back to the plaintext. The Rust side (shared/examples/bench_ops.rs)
checks it again before timing. Needs only `cryptography`.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "shared", "src", "wechat", "v3", "testdata")
VECTORS = os.path.join(ROOT, "bench", "vectors.json")

PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
APIV3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"  # A.9 T1
RESOURCE_NONCE = "fdasflkja484"  # 12 characters, as WeChat sends
HEADER_NONCE = "fdasfwqeqwrrwr484651223ewfsf1234"  # 32 characters
CST = timezone(timedelta(hours=8))
PAID_AT = datetime(2024, 5, 30, 12, 0, 3, tzinfo=CST)
NOTIFIED_AT = datetime(2024, 5, 30, 12, 0, 5, tzinfo=CST)

# A.1 / A.5: what a JSAPI (mini-program) payment notify decrypts to.
TRANSACTION = {
    "mchid": "1230000109",
    "appid": "wxd678efh567hg6787",
    "out_trade_no": "MP20240530120000000001",
    "transaction_id": "4200002247202405301234567890",
    "trade_type": "JSAPI",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "CMB_DEBIT",
    "attach": "中文课程：Rust 入门（第一期）",
    "success_time": PAID_AT.isoformat(),
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 9900, "payer_total": 9900, "currency": "CNY", "payer_currency": "CNY"},
}


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read(name):
    with open(os.path.join(TESTDATA, name), encoding="ascii") as f:
        return f.read()


def make():
    private_pem = read("go_test_private_pkcs8.pem")
    public_pem = read("go_test_public.pem")
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    plaintext = compact(TRANSACTION)
    sealed = AESGCM(APIV3_KEY.encode("ascii")).encrypt(
        RESOURCE_NONCE.encode("ascii"), plaintext.encode("utf-8"), b"transaction")
    body = compact({
        "id": "EV-2024053012000512345678",
        "create_time": NOTIFIED_AT.isoformat(),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode("ascii"),
            "associated_data": "transaction",
            "nonce": RESOURCE_NONCE,
        },
    })
    timestamp = str(int(NOTIFIED_AT.timestamp()))
    message = f"{timestamp}\n{HEADER_NONCE}\n{body}\n".encode("utf-8")
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "_about": "A WeChat Pay APIv3 TRANSACTION.SUCCESS notify (wechat-v3-reconcile.md A.4, A.5) made by "
                  "scripts/make_v3_notify_vector.py from published test material: signed with the wechatpay-go "
                  "test key of A.9 T5 (shared/src/wechat/v3/testdata/go_test_private_pkcs8.pem), whose public half "
                  "plays the WeChat Pay public key under public_key_id; resource sealed with AES-256-GCM under "
                  "T1's APIv3 key. Not signed by WeChat.",
        "public_key_id": PUBLIC_KEY_ID,
        "public_key_pem": public_pem,
        "signing_private_key_pem": private_pem,
        "apiv3_key": APIV3_KEY,
        "now": int(timestamp),
        "headers": {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": HEADER_NONCE,
            "Wechatpay-Signature": base64.b64encode(signature).decode("ascii"),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        },
        "body": body,
        "plaintext": plaintext,
        "out_trade_no": TRANSACTION["out_trade_no"],
        "transaction_id": TRANSACTION["transaction_id"],
        "total": TRANSACTION["amount"]["total"],
    }


def verify(v):
    """The stored vector, checked from its own fields only."""
    h = v["headers"]
    message = f"{h['Wechatpay-Timestamp']}\n{h['Wechatpay-Nonce']}\n{v['body']}\n".encode("utf-8")
    signature = base64.b64decode(h["Wechatpay-Signature"], validate=True)
    public_key = serialization.load_pem_public_key(v["public_key_pem"].encode("ascii"))
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())  # raises if not
    if h["Wechatpay-Serial"] != v["public_key_id"]:
        sys.exit("Wechatpay-Serial is not the public key id")
    openssl = shutil.which("openssl")
    if openssl:
        with tempfile.TemporaryDirectory() as tmp:
            paths = {name: os.path.join(tmp, name) for name in ("pub.pem", "msg", "sig")}
            for name, data in (("pub.pem", v["public_key_pem"].encode()), ("msg", message), ("sig", signature)):
                with open(paths[name], "wb") as f:
                    f.write(data)
            subprocess.run([openssl, "dgst", "-sha256", "-verify", paths["pub.pem"], "-signature", paths["sig"],
                            paths["msg"]], check=True, capture_output=True)
    resource = json.loads(v["body"])["resource"]
    opened = AESGCM(v["apiv3_key"].encode("ascii")).decrypt(
        resource["nonce"].encode("ascii"), base64.b64decode(resource["ciphertext"]),
        resource["associated_data"].encode("utf-8"))
    if opened.decode("utf-8") != v["plaintext"]:
        sys.exit("the resource does not decrypt to the plaintext")
    transaction = json.loads(opened)
    if (transaction["out_trade_no"], transaction["trade_state"]) != (v["out_trade_no"], "SUCCESS"):
        sys.exit("the plaintext is not the SUCCESS transaction of out_trade_no")
    return "cryptography" + (" and openssl" if openssl else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the stored vector is this one")
    args = parser.parse_args()
    with open(VECTORS, encoding="utf-8") as f:
        vectors = json.load(f)
    made = make()
    if args.check:
        if vectors.get("wechat_v3") != made:
            sys.exit("bench/vectors.json: wechat_v3 is not what scripts/make_v3_notify_vector.py makes")
    else:
        vectors["wechat_v3"] = made
        with open(VECTORS, "w", encoding="utf-8") as f:
            f.write(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n")
    by = verify(vectors["wechat_v3"])
    print(f"wechat_v3: signature verified ({by}), resource decrypts to the transaction", file=sys.stderr)


if __name__ == "__main__":
    main()
