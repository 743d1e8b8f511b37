//! Ecpay request signing (MD5 over sorted values + SALT) and callback verification
//! (SHA-1 over the sorted token, timestamp, nonce and raw msg). Rules: douyin.md §4, §5.

use md5::{Digest as _, Md5};
use serde_json::{Map, Value};
use sha1::Sha1;
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
    let mut parts: Vec<String> = vec![salt.to_owned()];
    for (key, value) in params {
        if UNSIGNED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => return Err(SignError::Nested(key.clone())),
        };
        if let Some(signed) = signable(&text) {
            parts.push(signed.to_owned());
        }
    }
    parts.sort_unstable();
    Ok(hex::encode(Md5::digest(parts.join("&").as_bytes())))
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
    let mut parts = [token, timestamp, nonce, msg];
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Constant-time check of a received `msg_signature` (hex, either case).
pub fn verify_callback(token: &str, timestamp: &str, nonce: &str, msg: &str, received: &str) -> bool {
    let Ok(received) = hex::decode(received.trim()) else {
        return false;
    };
    let expected = hex::decode(callback_signature(token, timestamp, nonce, msg)).expect("own hex output decodes");
    expected.ct_eq(&received).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const SALT: &str = "oDxWDBr4U7FAAQ8hnGDm29i4A6pbTMDKme4WLLvA";

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
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
    }

    #[test]
    fn zero_is_signed_but_empty_and_null_are_not() {
        let with_zero = map(json!({"a": "x", "disable_msg": 0}));
        let without = map(json!({"a": "x"}));
        assert_ne!(ecpay_sign(&with_zero, SALT), ecpay_sign(&without, SALT));
        let with_empty = map(json!({"a": "x", "b": "", "c": "null", "d": null, "e": "  "}));
        assert_eq!(ecpay_sign(&with_empty, SALT), ecpay_sign(&without, SALT));
    }

    #[test]
    fn one_pair_of_quotes_is_stripped() {
        let quoted = map(json!({"a": " \" x \" "}));
        let plain = map(json!({"a": "x"}));
        assert_eq!(ecpay_sign(&quoted, SALT), ecpay_sign(&plain, SALT));
        let lone_quote = map(json!({"a": "\""}));
        let expected = hex::encode(Md5::digest(format!("\"&{SALT}").as_bytes()));
        assert_eq!(ecpay_sign(&lone_quote, SALT).unwrap(), expected);
    }

    #[test]
    fn unsigned_keys_do_not_change_the_sign() {
        let base = map(json!({"out_order_no": "1", "total_amount": 5}));
        let mut extra = base.clone();
        for key in UNSIGNED_KEYS {
            extra.insert(key.into(), json!("anything"));
        }
        assert_eq!(ecpay_sign(&base, SALT), ecpay_sign(&extra, SALT));
    }

    #[test]
    fn nested_values_are_refused() {
        let params = map(json!({"settle_params": [{"merchant_uid": "1", "amount": 1}]}));
        assert_eq!(
            ecpay_sign(&params, SALT),
            Err(SignError::Nested("settle_params".into()))
        );
    }

    proptest! {
        #[test]
        fn sign_matches_the_written_rule(values in proptest::collection::vec("[a-z0-9\"中文 ]{0,8}", 0..6)) {
            let params: Map<String, Value> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("k{i}"), Value::String(v.clone())))
                .collect();
            let mut parts: Vec<String> = values.iter().filter_map(|v| signable(v).map(str::to_owned)).collect();
            parts.push(SALT.into());
            parts.sort();
            let expected = hex::encode(Md5::digest(parts.join("&").as_bytes()));
            prop_assert_eq!(ecpay_sign(&params, SALT).unwrap(), expected);
        }

        #[test]
        fn key_names_and_order_never_matter(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            let one = map(json!({"x": a.clone(), "y": b.clone()}));
            let two = map(json!({"q": b, "r": a}));
            prop_assert_eq!(ecpay_sign(&one, SALT), ecpay_sign(&two, SALT));
        }

        #[test]
        fn callback_verifies_its_own_signature_and_nothing_else(
            ts in "[0-9]{0,10}", nonce in "\\PC{0,8}", msg in "\\PC{0,40}",
        ) {
            let sig = callback_signature("tok", &ts, &nonce, &msg);
            prop_assert!(verify_callback("tok", &ts, &nonce, &msg, &sig));
            prop_assert!(!verify_callback("other", &ts, &nonce, &msg, &sig));
            let tampered = format!("{msg}\"");
            prop_assert!(!verify_callback("tok", &ts, &nonce, &tampered, &sig));
        }
    }
}
