//! Ecpay request signing (MD5 over sorted values + SALT) and callback verification
//! (SHA-1 over the sorted token, timestamp, nonce and raw msg). Rules: douyin.md §4, §5.

use md5::{Digest as _, Md5};
use serde_json::{Map, Value};
use sha1::Sha1;
use std::borrow::Cow;
use subtle::ConstantTimeEq;

/// Parameters the platform leaves out of the signature.
const UNSIGNED_KEYS: [&str; 4] = ["app_id", "thirdparty_id", "sign", "other_settle_params"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    /// Nested values sign differently in every SDK; the platform's own rule is
    /// undocumented, so they must be sent as JSON strings instead.
    #[error("parameter `{0}` is an object or array; send it as a JSON string")]
    Nested(String),
}

/// The ecpay `sign` of a request body, from the same map that is sent.
pub fn ecpay_sign(params: &Map<String, Value>, salt: &str) -> Result<String, SignError> {
    // Borrowed from the map (only numbers and booleans are rendered), sorted, and hashed
    // part by part: no joined copy of the string to sign is made.
    let mut parts: Vec<Cow<'_, str>> = Vec::with_capacity(params.len() + 1);
    parts.push(Cow::Borrowed(salt));
    for (key, value) in params {
        if UNSIGNED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let text = match value {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            Value::Number(n) => Cow::Owned(n.to_string()),
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => return Err(SignError::Nested(key.clone())),
        };
        match text {
            Cow::Borrowed(text) => parts.extend(signable(text).map(Cow::Borrowed)),
            Cow::Owned(text) => parts.extend(signable(&text).map(|t| Cow::Owned(t.to_owned()))),
        }
    }
    parts.sort_unstable();
    let mut hasher = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b"&");
        }
        hasher.update(part.as_bytes());
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Trim, strip one pair of surrounding quotes, trim again; `None` when the value is
/// skipped (empty or the literal `null`).
fn signable(value: &str) -> Option<&str> {
    let mut text = value.trim();
    if text.len() > 1 && text.starts_with('"') && text.ends_with('"') {
        text = text[1..text.len() - 1].trim();
    }
    (!text.is_empty() && text != "null").then_some(text)
}

/// `msg_signature` of an ecpay callback: SHA-1 (lower hex) of the four strings sorted
/// and concatenated. `msg` must be the string exactly as received.
pub fn callback_signature(token: &str, timestamp: &str, nonce: &str, msg: &str) -> String {
    hex::encode(callback_digest(token, timestamp, nonce, msg))
}

fn callback_digest(token: &str, timestamp: &str, nonce: &str, msg: &str) -> [u8; 20] {
    let mut parts = [token, timestamp, nonce, msg];
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// Constant-time check of a received `msg_signature` (hex, either case): the digests are
/// compared as bytes, with no hex text made on the way.
pub fn verify_callback(token: &str, timestamp: &str, nonce: &str, msg: &str, received: &str) -> bool {
    let mut received_digest = [0u8; 20];
    if hex::decode_to_slice(received.trim(), &mut received_digest).is_err() {
        return false;
    }
    callback_digest(token, timestamp, nonce, msg)
        .ct_eq(&received_digest)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::douyin_msg_signature;
    use crate::testing::tools::python3;
    use proptest::prelude::*;
    use serde_json::json;

    const SALT: &str = "oDxWDBr4U7FAAQ8hnGDm29i4A6pbTMDKme4WLLvA";

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn md5_hex(text: &str) -> String {
        hex::encode(Md5::digest(text.as_bytes()))
    }

    /// douyin.md §4 steps 2 to 5 for string values, written apart from `ecpay_sign`: trim,
    /// strip one pair of surrounding quotes and trim again, leave out "" and "null", add
    /// the SALT, sort bytewise, join with `&`, MD5, lower-case hex.
    fn written_rule(values: &[&str], salt: &str) -> String {
        let mut parts = vec![salt.to_owned()];
        for value in values {
            let trimmed = value.trim();
            let unquoted = match trimmed.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
                Some(inner) => inner.trim(),
                None => trimmed,
            };
            if !unquoted.is_empty() && unquoted != "null" {
                parts.push(unquoted.to_owned());
            }
        }
        parts.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        md5_hex(&parts.join("&"))
    }

    #[test]
    fn vector_a_plain_order() {
        let params = map(json!({
            "app_id": "tt-not-signed",
            "out_order_no": "202406100423024876",
            "total_amount": 1,
            "subject": "闫嵩达 - test - subject - 01",
            "body": "闫嵩达 - test - body - 01",
            "valid_time": 600,
            "notify_url": "https://yansongda.cn/douyin/notify",
        }));
        assert_eq!(ecpay_sign(&params, SALT).unwrap(), "771c1952ffb5e0744fc0ad1337aafa6a");
    }

    #[test]
    fn vector_b_json_string_field() {
        let params = map(json!({
            "out_order_no": "202406101307142575",
            "total_amount": 1,
            "subject": "闫嵩达 - test - subject - 01",
            "body": "闫嵩达 - test - body - 01",
            "valid_time": 600,
            "notify_url": "https://yansongda.cn/douyin/notify",
            "expand_order_info": "{\"original_delivery_fee\":15,\"actual_delivery_fee\":10}",
        }));
        assert_eq!(ecpay_sign(&params, SALT).unwrap(), "259702d0e950991b0bd494c9357f3ca4");
    }

    const VECTOR_C_MSG: &str = r#"{"appid":"tt226e54d3bd581bf801","cp_orderno":"202408041111312119","cp_extra":"","way":"2","channel_no":"","channel_gateway_no":"","payment_order_no":"","out_channel_order_no":"","total_amount":1,"status":"SUCCESS","seller_uid":"73744242495132490630","extra":"","item_id":"","paid_at":1722769986,"message":"","order_id":"7398108028895054107"}"#;

    #[test]
    fn vector_c_callback_signature() {
        let sig = callback_signature("douyin_mini_token", "1722769986", "5280", VECTOR_C_MSG);
        assert_eq!(sig, "840bdf067c1d6056becfe88735c8ebb7e1ab809c");
        assert!(verify_callback(
            "douyin_mini_token",
            "1722769986",
            "5280",
            VECTOR_C_MSG,
            "840BDF067C1D6056BECFE88735C8EBB7E1AB809C"
        ));
    }

    #[test]
    fn vector_c_rejects_a_reserialized_msg() {
        let reserialized: Value = serde_json::from_str(VECTOR_C_MSG).unwrap();
        let msg = serde_json::to_string(&reserialized).unwrap();
        assert_ne!(msg, VECTOR_C_MSG);
        assert!(!verify_callback(
            "douyin_mini_token",
            "1722769986",
            "5280",
            &msg,
            "840bdf067c1d6056becfe88735c8ebb7e1ab809c"
        ));
    }

    #[test]
    fn rejects_garbage_signatures() {
        for bad in ["", "zz", "840bdf", "840bdf067c1d6056becfe88735c8ebb7e1ab809d"] {
            assert!(!verify_callback(
                "douyin_mini_token",
                "1722769986",
                "5280",
                VECTOR_C_MSG,
                bad
            ));
        }
        // Surrounding whitespace is not part of the signature.
        assert!(verify_callback(
            "douyin_mini_token",
            "1722769986",
            "5280",
            VECTOR_C_MSG,
            " 840bdf067c1d6056becfe88735c8ebb7e1ab809c\n"
        ));
    }

    #[test]
    fn zero_true_and_false_are_signed_but_empty_and_null_are_not() {
        let with_zero = map(json!({"a": "x", "disable_msg": 0}));
        assert_eq!(ecpay_sign(&with_zero, SALT).unwrap(), md5_hex(&format!("0&{SALT}&x")));
        let with_bools = map(json!({"a": "x", "t": true, "f": false}));
        assert_eq!(
            ecpay_sign(&with_bools, SALT).unwrap(),
            md5_hex(&format!("false&{SALT}&true&x"))
        );
        let with_empty = map(json!({"a": "x", "b": "", "c": "null", "d": null, "e": "  ", "f": "\"null\""}));
        assert_eq!(ecpay_sign(&with_empty, SALT).unwrap(), md5_hex(&format!("{SALT}&x")));
    }

    #[test]
    fn one_pair_of_quotes_is_stripped() {
        let quoted = map(json!({"a": " \" x \" "}));
        assert_eq!(ecpay_sign(&quoted, SALT).unwrap(), md5_hex(&format!("{SALT}&x")));
        let twice = map(json!({"a": "\"\"x\"\""}));
        assert_eq!(ecpay_sign(&twice, SALT).unwrap(), md5_hex(&format!("\"x\"&{SALT}")));
        let lone_quote = map(json!({"a": "\""}));
        assert_eq!(ecpay_sign(&lone_quote, SALT).unwrap(), md5_hex(&format!("\"&{SALT}")));
        let quoted_nothing = map(json!({"a": "\"\""}));
        assert_eq!(ecpay_sign(&quoted_nothing, SALT).unwrap(), md5_hex(SALT));
    }

    #[test]
    fn unsigned_keys_are_left_out() {
        let mut params = map(json!({"out_order_no": "1", "total_amount": 5}));
        for key in ["app_id", "thirdparty_id", "sign", "other_settle_params"] {
            params.insert(key.into(), json!("anything"));
        }
        assert_eq!(ecpay_sign(&params, SALT).unwrap(), md5_hex(&format!("1&5&{SALT}")));
    }

    #[test]
    fn nested_values_are_refused() {
        let params = map(json!({"settle_params": [{"merchant_uid": "1", "amount": 1}]}));
        assert_eq!(
            ecpay_sign(&params, SALT),
            Err(SignError::Nested("settle_params".into()))
        );
        let params = map(json!({"expand_order_info": {"actual_delivery_fee": 10}}));
        assert_eq!(
            ecpay_sign(&params, SALT),
            Err(SignError::Nested("expand_order_info".into()))
        );
    }

    /// Python's hashlib, with the rule of douyin.md §4 written again in Python (as the
    /// official Go and Java demos do it), over awkward values: Chinese, quotes, spaces,
    /// zero, `null`, numbers and booleans.
    #[test]
    fn ecpay_sign_and_msg_signature_match_python() {
        let cases = json!([
            {"salt": SALT, "params": {"out_order_no": "202406100423024876", "total_amount": 1,
                "subject": "闫嵩达 - test - subject - 01", "body": "闫嵩达 - test - body - 01",
                "valid_time": 600, "notify_url": "https://yansongda.cn/douyin/notify", "app_id": "tt1"}},
            {"salt": "s", "params": {"a": " \"课程\" ", "b": "\"", "c": "null", "d": 0, "e": "\t\"null\"\n",
                "f": true, "g": false, "h": "a&b=c", "i": null, "sign": "x", "thirdparty_id": "y"}},
            {"salt": "Z", "params": {"a": "B", "b": "a", "c": "中", "d": "10", "e": "9", "f": "-1"}},
        ]);
        let callbacks = json!([
            ["douyin_mini_token", "1722769986", "5280", VECTOR_C_MSG],
            ["tok", "1", "n", "{\"cp_orderno\":\"课程\\\"1\"}"],
            ["", "", "", ""],
        ]);
        let program = r#"
import hashlib, json, sys
UNSIGNED = {"app_id", "thirdparty_id", "sign", "other_settle_params"}
def text(value):
    if value is True: return "true"
    if value is False: return "false"
    return "" if value is None else str(value)
def ecpay(params, salt):
    parts = [salt]
    for key, value in params.items():
        if key in UNSIGNED: continue
        t = text(value).strip(" \t\r\n")
        if len(t) > 1 and t[0] == '"' and t[-1] == '"': t = t[1:-1].strip(" \t\r\n")
        if t and t != "null": parts.append(t)
    parts.sort()
    return hashlib.md5("&".join(parts).encode()).hexdigest()
cases, callbacks = json.load(sys.stdin)
print(json.dumps([[ecpay(c["params"], c["salt"]) for c in cases],
                  [hashlib.sha1("".join(sorted(cb)).encode()).hexdigest() for cb in callbacks]]))
"#;
        let Some(out) = python3(program, &json!([cases, callbacks]).to_string()) else {
            return;
        };
        let (signs, callback_signs): (Vec<String>, Vec<String>) = serde_json::from_str(&out).unwrap();
        let ours: Vec<String> = cases
            .as_array()
            .unwrap()
            .iter()
            .map(|case| ecpay_sign(&map(case["params"].clone()), case["salt"].as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(ours, signs);
        assert_eq!(signs[0], "771c1952ffb5e0744fc0ad1337aafa6a");
        let ours: Vec<String> = callbacks
            .as_array()
            .unwrap()
            .iter()
            .map(|cb| {
                let part = |i: usize| cb[i].as_str().unwrap();
                callback_signature(part(0), part(1), part(2), part(3))
            })
            .collect();
        assert_eq!(ours, callback_signs);
    }

    fn awkward_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("null".to_owned()),
            Just(" \"null\" ".to_owned()),
            Just("\"".to_owned()),
            Just("0".to_owned()),
            "[a-z0-9\"中文 ]{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn sign_matches_the_written_rule(values in proptest::collection::vec(awkward_value(), 0..6)) {
            let params: Map<String, Value> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("k{i}"), Value::String(v.clone())))
                .collect();
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            prop_assert_eq!(ecpay_sign(&params, SALT).unwrap(), written_rule(&values, SALT));
        }

        #[test]
        fn key_names_and_order_never_matter(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            let one = map(json!({"x": a.clone(), "y": b.clone()}));
            let two = map(json!({"q": b, "r": a}));
            prop_assert_eq!(ecpay_sign(&one, SALT), ecpay_sign(&two, SALT));
        }

        #[test]
        fn callback_signature_follows_the_rule_and_verifies_nothing_else(
            ts in "[0-9]{0,10}", nonce in "\\PC{0,8}", msg in "\\PC{0,40}",
        ) {
            let expected = douyin_msg_signature("tok", &ts, &nonce, &msg);
            prop_assert_eq!(callback_signature("tok", &ts, &nonce, &msg), expected.clone());
            prop_assert!(verify_callback("tok", &ts, &nonce, &msg, &expected));
            prop_assert!(verify_callback("tok", &ts, &nonce, &msg, &expected.to_uppercase()));
            prop_assert!(!verify_callback("other", &ts, &nonce, &msg, &expected));
            let tampered = format!("{msg}\"");
            prop_assert!(!verify_callback("tok", &ts, &nonce, &tampered, &expected));
        }
    }
}
