//! CPU per operation of the pure signing and parsing code, for `make bench` (BENCHMARKS.md).
//!
//! Inputs are the platforms' published test vectors (bench/vectors.json); every operation is
//! checked against its expected result before it is timed. Each operation runs after a
//! warm-up in rounds of about `--round-ms` milliseconds; the answer is one JSON object with
//! the median (and min, max) ns/op over `--rounds` rounds.
//!
//! ```sh
//! cargo run --release -p minipay-shared --example bench_ops              # all, JSON on stdout
//! cargo run --release -p minipay-shared --example bench_ops -- --list    # operation names
//! bench_ops --only douyin.callback.verify_parse --iters 1000             # no timing (callgrind)
//! ```

use hmac::{Hmac, KeyInit as _, Mac as _};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest as _, Md5};
use minipay::douyin::Callback;
use minipay::douyin::sign::ecpay_sign;
use minipay::douyin::trade::callback::TradePaymentMsg;
use minipay::douyin::trade::{AppKey, PlatformKey, TradeCallback, TradeHeaders, TradeKeys};
use minipay::wechat::sign::{self as wxsign, SignType};
use minipay::wechat::v3::aead;
use minipay::wechat::v3::model::{Notification, Transaction};
use minipay::wechat::v3::verify::{PlatformKeys, Signed, VerifyingKey};
use minipay::wechat::xml::parse_flat;
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const VECTORS: &str = include_str!("../../bench/vectors.json");

/// One operation: runs once and says whether the result was the expected one.
struct Op {
    name: &'static str,
    what: &'static str,
    run: Box<dyn Fn() -> bool>,
}

fn text(value: &Value, path: &[&str]) -> String {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("vectors.json: {path:?} is not a string"))
        .to_owned()
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .expect("an object of strings")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
        .collect()
}

fn ops() -> Vec<Op> {
    let v: Value = serde_json::from_str(VECTORS).expect("bench/vectors.json parses");
    let salt = text(&v, &["douyin", "salt"]);
    let mut list = Vec::new();

    for (name, key) in [("douyin.ecpay_sign.a", "vector_a"), ("douyin.ecpay_sign.b", "vector_b")] {
        let params: Map<String, Value> = v["douyin"][key]["params"].as_object().expect("params").clone();
        let expected = text(&v, &["douyin", key, "sign"]);
        let salt = salt.clone();
        list.push(Op {
            name,
            what: "minipay::douyin::sign::ecpay_sign over the vector's parameter map",
            run: Box::new(move || ecpay_sign(black_box(&params), black_box(&salt)).is_ok_and(|s| s == expected)),
        });
    }

    let body = text(&v, &["douyin", "vector_c", "body"]).into_bytes();
    let token = text(&v, &["douyin", "vector_c", "token"]);
    let order_no = text(&v, &["douyin", "vector_c", "cp_orderno"]);
    {
        let (body, token) = (body.clone(), token.clone());
        list.push(Op {
            name: "douyin.callback.verify",
            what: "minipay::douyin::Callback::verify (envelope JSON parse + SHA-1 check) on the raw body",
            run: Box::new(move || Callback::verify(black_box(&body), black_box(&token)).is_ok()),
        });
    }
    list.push(Op {
        name: "douyin.callback.verify_parse",
        what: "Callback::verify + .payment() (the msg parsed into PaymentMsg)",
        run: Box::new(move || {
            Callback::verify(black_box(&body), black_box(&token))
                .ok()
                .and_then(|c| c.payment().ok())
                .is_some_and(|p| p.cp_orderno == order_no)
        }),
    });

    let api_key = text(&v, &["wechat", "api_key"]);
    for (name, key, sign_key, sign_type) in [
        ("wechat.sign.md5", "vector_d", "sign_md5", SignType::Md5),
        ("wechat.sign.hmac", "vector_d_hmac", "sign_hmac", SignType::HmacSha256),
    ] {
        let fields = string_map(&v["wechat"][key]["fields"]);
        let expected = text(&v, &["wechat", key, sign_key]);
        let api_key = api_key.clone();
        list.push(Op {
            name,
            what: "minipay::wechat::sign::sign over the five paySign fields (a prepared BTreeMap)",
            run: Box::new(move || wxsign::sign(black_box(&fields), black_box(&api_key), sign_type) == expected),
        });
    }

    let xml_md5 = text(&v, &["wechat", "notify_md5_xml"]);
    let xml_hmac = text(&v, &["wechat", "notify_hmac_xml"]);
    let out_trade_no = text(&v, &["wechat", "notify_out_trade_no"]);
    for (name, xml) in [("wechat.verify.md5", &xml_md5), ("wechat.verify.hmac", &xml_hmac)] {
        let fields = parse_flat(xml.as_bytes()).expect("the notify parses");
        let api_key = api_key.clone();
        list.push(Op {
            name,
            what: "minipay::wechat::sign::verify over the parsed 20-field payment notify",
            run: Box::new(move || wxsign::verify(black_box(&fields), black_box(&api_key))),
        });
    }
    {
        let (xml, out_trade_no) = (xml_md5.clone().into_bytes(), out_trade_no.clone());
        list.push(Op {
            name: "wechat.xml.parse_flat",
            what: "minipay::wechat::xml::parse_flat of the 20-field payment notify",
            run: Box::new(move || {
                parse_flat(black_box(&xml)).is_ok_and(|f| f.get("out_trade_no") == Some(&out_trade_no))
            }),
        });
    }
    let xml = xml_md5.into_bytes();
    list.push(Op {
        name: "wechat.notify.parse_verify",
        what: "parse_flat + verify (MD5): what the notify handler does before touching the table",
        run: Box::new(move || {
            parse_flat(black_box(&xml)).is_ok_and(|f| wxsign::verify(&f, &api_key) && f["out_trade_no"] == out_trade_no)
        }),
    });
    list.extend(trade(&v));
    list.extend(wechat_v3(&v));
    list.extend(floors(&v));
    list
}

/// The trade system's RSA operations on the test key pair (douyin_trade in vectors.json).
fn trade(v: &Value) -> Vec<Op> {
    let t = &v["douyin_trade"];
    let keys = || TradeKeys {
        app_id: text(t, &["app_id"]),
        app_key: Some(AppKey::from_pem(&text(t, &["private_key_pem"])).expect("test private key")),
        platform_key: Some(PlatformKey::from_pem(&text(t, &["public_key_pem"])).expect("test public key")),
        key_version: text(t, &["key_version"]),
    };
    let signer = keys();
    let data = text(t, &["request_order", "data"]);
    let nonce = text(t, &["request_order", "nonce"]);
    let timestamp = t["request_order"]["timestamp"].as_i64().expect("timestamp");
    let expected = text(t, &["request_order", "byte_authorization"]);
    let verifier = keys();
    let headers = TradeHeaders {
        signature: text(t, &["callback", "signature"]),
        timestamp: text(t, &["callback", "timestamp"]),
        nonce: text(t, &["callback", "nonce"]),
    };
    let body = text(t, &["callback", "body"]).into_bytes();
    let out_order_no = text(t, &["callback", "out_order_no"]);
    vec![
        Op {
            name: "douyin.trade.byte_authorization",
            what: "TradeKeys::byte_authorization: SHA256withRSA (2048-bit key parsed once) over the \
                   requestOrder string, Base64, header text",
            run: Box::new(move || {
                signer
                    .byte_authorization(black_box(&data), timestamp, black_box(&nonce))
                    .is_ok_and(|h| h == expected)
            }),
        },
        Op {
            name: "douyin.trade.callback.verify_parse",
            what: "TradeCallback::verify (RSA check over ts, nonce and the raw body) + the payment msg parsed",
            run: Box::new(move || {
                TradeCallback::verify(black_box(&headers), black_box(&body), &verifier)
                    .and_then(|c| c.parse::<TradePaymentMsg>())
                    .is_ok_and(|m| m.out_order_no == out_order_no)
            }),
        },
    ]
}

/// WeChat Pay APIv3: the payment notify of `wechat_v3` (signed with a published test key
/// playing the WeChat Pay public key, resource sealed under T1's APIv3 key).
fn wechat_v3(v: &Value) -> Vec<Op> {
    let w = &v["wechat_v3"];
    let keys = PlatformKeys::new(vec![
        VerifyingKey::from_public_key_pem(&text(w, &["public_key_id"]), &text(w, &["public_key_pem"]))
            .expect("the test public key"),
    ]);
    let apiv3_key = text(w, &["apiv3_key"]).into_bytes();
    let now = w["now"].as_i64().expect("now");
    let mut headers = HeaderMap::new();
    for (name, value) in w["headers"].as_object().expect("headers") {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value.as_str().expect("a string")).expect("a header value"),
        );
    }
    let body = text(w, &["body"]).into_bytes();
    let out_trade_no = text(w, &["out_trade_no"]);
    let total = w["total"].as_i64().expect("total");
    let plaintext = text(w, &["plaintext"]).into_bytes();
    let resource: Notification = serde_json::from_slice(&body).expect("the notify parses");
    let resource = resource.resource;

    let (verify_keys, verify_headers, verify_body) = (keys.clone(), headers.clone(), body.clone());
    let verify_decrypt_key = apiv3_key.clone();
    vec![
        Op {
            name: "wechat.v3.notify.verify_decrypt",
            what: "Signed::from_headers + PlatformKeys::verify (SHA256withRSA-2048 by the public key, parsed once) \
                   + the Notification parsed + aead::decrypt (AES-256-GCM) + the Transaction parsed: what the \
                   notify handler does before touching the table",
            run: Box::new(move || {
                let Ok(signed) = Signed::from_headers(black_box(&headers), black_box(&body)) else {
                    return false;
                };
                if keys.verify(&signed, now).is_err() {
                    return false;
                }
                let Ok(notification) = serde_json::from_slice::<Notification>(&body) else {
                    return false;
                };
                let r = &notification.resource;
                r.algorithm == "AEAD_AES_256_GCM"
                    && aead::decrypt(&verify_decrypt_key, &r.nonce, &r.associated_data, &r.ciphertext)
                        .ok()
                        .and_then(|plain| serde_json::from_slice::<Transaction>(&plain).ok())
                        .is_some_and(|t| {
                            t.trade_state == "SUCCESS"
                                && t.out_trade_no == out_trade_no
                                && t.amount.is_some_and(|a| a.total == total)
                        })
            }),
        },
        Op {
            name: "wechat.v3.verify",
            what: "Signed::from_headers + PlatformKeys::verify (time window, serial, message built, \
                   Base64, SHA256withRSA-2048): no JSON, no decryption",
            run: Box::new(move || {
                Signed::from_headers(&verify_headers, &verify_body)
                    .is_ok_and(|signed| verify_keys.verify(black_box(&signed), now).is_ok())
            }),
        },
        Op {
            name: "wechat.v3.decrypt",
            what: "aead::decrypt alone (Base64 + AES-256-GCM open) of the notify's resource",
            run: Box::new(move || {
                aead::decrypt(
                    black_box(&apiv3_key),
                    &resource.nonce,
                    &resource.associated_data,
                    black_box(&resource.ciphertext),
                )
                .is_ok_and(|plain| plain == plaintext)
            }),
        },
    ]
}

/// The hash primitive alone over the exact string each operation signs: not a target
/// operation, the floor under it (both sides hash in native code).
fn floors(v: &Value) -> Vec<Op> {
    let string = |path: &[&str]| text(v, path).into_bytes();
    let (a, a_sign) = (
        string(&["douyin", "vector_a", "string_to_sign"]),
        text(v, &["douyin", "vector_a", "sign"]),
    );
    let (c, c_sign) = (
        string(&["douyin", "vector_c", "string_to_sign"]),
        text(v, &["douyin", "vector_c", "msg_signature"]),
    );
    let (d, d_sign) = (
        string(&["wechat", "vector_d", "string_to_sign"]),
        text(v, &["wechat", "vector_d", "sign_md5"]),
    );
    let (dh, dh_sign) = (
        string(&["wechat", "vector_d_hmac", "string_to_sign"]),
        text(v, &["wechat", "vector_d_hmac", "sign_hmac"]),
    );
    let key = text(v, &["wechat", "api_key"]);
    vec![
        Op {
            name: "floor.md5_hex.ecpay_a",
            what: "md-5 + hex of vector (a)'s string to sign (161 bytes)",
            run: Box::new(move || hex::encode(Md5::digest(black_box(&a))) == a_sign),
        },
        Op {
            name: "floor.sha1_hex.callback_c",
            what: "sha1 + hex of vector (c)'s sorted token, timestamp, nonce, msg (372 bytes)",
            run: Box::new(move || hex::encode(Sha1::digest(black_box(&c))) == c_sign),
        },
        Op {
            name: "floor.md5_hex_upper.pay_sign_d",
            what: "md-5 + upper hex of vector (d)'s string to sign (192 bytes)",
            run: Box::new(move || hex::encode_upper(Md5::digest(black_box(&d))) == d_sign),
        },
        Op {
            name: "floor.hmac_sha256_hex_upper.pay_sign_d",
            what: "hmac + sha2 + upper hex of vector (d, HMAC)'s string to sign (200 bytes)",
            run: Box::new(move || {
                let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
                mac.update(black_box(&dh));
                hex::encode_upper(mac.finalize().into_bytes()) == dh_sign
            }),
        },
    ]
}

fn run_for(op: &Op, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box((op.run)());
    }
    start.elapsed()
}

fn measure(op: &Op, rounds: usize, round: Duration) -> Value {
    // Warm-up, and the iteration count that makes a round last about `round`.
    let mut iters = 1u64;
    let warm_until = Instant::now() + round * 3;
    loop {
        let took = run_for(op, iters);
        if took >= round / 4 && Instant::now() >= warm_until {
            let per = took.as_nanos() as f64 / iters as f64;
            iters = ((round.as_nanos() as f64 / per) as u64).max(1);
            break;
        }
        if took < round / 4 {
            iters *= 2;
        }
    }
    let mut ns: Vec<f64> = (0..rounds)
        .map(|_| run_for(op, iters).as_nanos() as f64 / iters as f64)
        .collect();
    ns.sort_by(f64::total_cmp);
    json!({
        "name": op.name,
        "what": op.what,
        "ns_median": ns[ns.len() / 2],
        "ns_min": ns[0],
        "ns_max": ns[ns.len() - 1],
        "rounds": rounds,
        "iters_per_round": iters,
    })
}

fn arg<T: std::str::FromStr>(args: &[String], flag: &str) -> Option<T> {
    let at = args.iter().position(|a| a == flag)?;
    let value = args.get(at + 1).unwrap_or_else(|| panic!("{flag} needs a value"));
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{flag} {value}: not a valid value")),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ops = ops();
    for op in &ops {
        assert!(
            (op.run)(),
            "{} does not give the expected result on its vector",
            op.name
        );
    }
    if args.iter().any(|a| a == "--list") {
        for op in &ops {
            println!("{}", op.name);
        }
        return;
    }
    if let Some(only) = arg::<String>(&args, "--only") {
        // A fixed number of calls and nothing else, for instruction counts under callgrind.
        let op = ops
            .iter()
            .find(|op| op.name == only)
            .unwrap_or_else(|| panic!("no operation {only}"));
        let iters = arg(&args, "--iters").unwrap_or(1000);
        for _ in 0..iters {
            assert!(black_box((op.run)()));
        }
        return;
    }
    let rounds = arg(&args, "--rounds").unwrap_or(15usize).max(1);
    let round = Duration::from_millis(arg(&args, "--round-ms").unwrap_or(20u64).max(1));
    let results: Vec<Value> = ops.iter().map(|op| measure(op, rounds, round)).collect();
    let answer = json!({
        "tool": "shared/examples/bench_ops.rs",
        "debug_assertions": cfg!(debug_assertions),
        "ops": results,
    });
    println!("{}", serde_json::to_string_pretty(&answer).expect("JSON"));
}
