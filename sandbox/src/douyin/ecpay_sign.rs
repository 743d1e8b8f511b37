//! The ecpay request `sign` (douyin.md §4), written from the reference: MD5 over the
//! sorted *values* of the top-level parameters plus the SALT, in lower-case hex.

use md5::{Digest as _, Md5};
use serde_json::{Map, Value};

/// Parameters the platform leaves out of the sign (step 1).
pub const UNSIGNED: [&str; 4] = ["app_id", "thirdparty_id", "sign", "other_settle_params"];

/// The `sign` of `params` with `salt`; `None` when a value has no agreed text form, an
/// object or an array (SDKs stringify those differently and the platform's own rule
/// is undocumented, §4 "Nested values"), so no client sign can match one. Numbers sign
/// as their JSON text, so a float (`1990.0`) signed as sent passes the sign check and
/// is then refused by the field's own type check, which names the field.
pub fn ecpay_sign(params: &Map<String, Value>, salt: &str) -> Option<String> {
    let mut signed = vec![salt.to_owned()];
    for (key, value) in params {
        if UNSIGNED.contains(&key.as_str()) {
            continue;
        }
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            // The official Go and Java demos print booleans as true / false.
            Value::Bool(flag) => flag.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => return None,
        };
        if let Some(value) = signed_text(&text) {
            signed.push(value.to_owned());
        }
    }
    // Bytewise, as Go's sort.Strings and Java's Collections.sort order these strings.
    signed.sort_unstable();
    let digest = Md5::digest(signed.join("&").as_bytes());
    Some(hex::encode(digest))
}

/// Steps 2 and 3: trimmed, one pair of wrapping quotes stripped and trimmed again;
/// `None` when the value is left out (empty, or the literal `null`).
fn signed_text(value: &str) -> Option<&str> {
    let mut text = value.trim();
    if text.len() > 1 && text.starts_with('"') && text.ends_with('"') {
        text = text[1..text.len() - 1].trim();
    }
    match text {
        "" | "null" => None,
        text => Some(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The SALT of douyin.md §9 vectors (a) and (b).
    const SALT: &str = "oDxWDBr4U7FAAQ8hnGDm29i4A6pbTMDKme4WLLvA";

    fn sign(params: Value) -> Option<String> {
        ecpay_sign(params.as_object().unwrap(), SALT)
    }

    #[test]
    fn vector_a_a_plain_order() {
        let params = json!({
            "app_id": "tt-not-signed",
            "out_order_no": "202406100423024876",
            "total_amount": 1,
            "subject": "闫嵩达 - test - subject - 01",
            "body": "闫嵩达 - test - body - 01",
            "valid_time": 600,
            "notify_url": "https://yansongda.cn/douyin/notify",
        });
        assert_eq!(sign(params).unwrap(), "771c1952ffb5e0744fc0ad1337aafa6a");
    }

    #[test]
    fn vector_b_a_json_string_field() {
        let params = json!({
            "out_order_no": "202406101307142575",
            "total_amount": 1,
            "subject": "闫嵩达 - test - subject - 01",
            "body": "闫嵩达 - test - body - 01",
            "valid_time": 600,
            "notify_url": "https://yansongda.cn/douyin/notify",
            "expand_order_info": "{\"original_delivery_fee\":15,\"actual_delivery_fee\":10}",
        });
        assert_eq!(sign(params).unwrap(), "259702d0e950991b0bd494c9357f3ca4");
    }

    /// The sign written out by hand for a few values: sorted, joined, MD5.
    fn by_hand(values: &[&str]) -> String {
        let mut parts: Vec<&str> = values.to_vec();
        parts.push(SALT);
        parts.sort_unstable();
        hex::encode(Md5::digest(parts.join("&").as_bytes()))
    }

    #[test]
    fn only_values_are_signed_in_byte_order() {
        assert_eq!(sign(json!({"z": "b", "a": "a"})).unwrap(), by_hand(&["a", "b"]));
        assert_eq!(sign(json!({"k": "中", "j": "Z"})).unwrap(), by_hand(&["Z", "中"]));
        assert_eq!(sign(json!({"n": 10, "m": 9})).unwrap(), by_hand(&["10", "9"]));
    }

    #[test]
    fn zero_and_booleans_are_signed_but_empty_and_null_are_not() {
        assert_eq!(sign(json!({"disable_msg": 0})).unwrap(), by_hand(&["0"]));
        assert_eq!(sign(json!({"f": true})).unwrap(), by_hand(&["true"]));
        let skipped = json!({"a": "x", "b": "", "c": "null", "d": null, "e": "  ", "f": "\"\""});
        assert_eq!(sign(skipped).unwrap(), by_hand(&["x"]));
    }

    #[test]
    fn one_pair_of_quotes_is_stripped() {
        assert_eq!(sign(json!({"a": " \" x \" "})).unwrap(), by_hand(&["x"]));
        assert_eq!(sign(json!({"a": "\"\"x\"\""})).unwrap(), by_hand(&["\"x\""]));
        assert_eq!(sign(json!({"a": "\""})).unwrap(), by_hand(&["\""]));
    }

    #[test]
    fn unsigned_keys_are_left_out() {
        let mut params = json!({"out_order_no": "1", "total_amount": 5});
        let base = sign(params.clone()).unwrap();
        for key in UNSIGNED {
            params[key] = json!("anything");
        }
        assert_eq!(sign(params).unwrap(), base);
    }

    #[test]
    fn nested_values_have_no_sign_and_floats_sign_as_sent() {
        assert_eq!(
            sign(json!({"settle_params": [{"merchant_uid": "1", "amount": 1}]})),
            None
        );
        assert_eq!(sign(json!({"expand_order_info": {"actual_delivery_fee": 10}})), None);
        assert_eq!(sign(json!({"total_amount": 1.0})).unwrap(), by_hand(&["1.0"]));
    }

    #[test]
    fn signs_are_lower_case_hex() {
        let sign = sign(json!({"a": "x"})).unwrap();
        assert_eq!(sign.len(), 32);
        assert!(sign.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
