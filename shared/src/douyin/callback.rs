//! Ecpay callbacks: parse the envelope from the raw body, verify `msg_signature` over
//! the `msg` string exactly as received, then read the message.

use super::sign::verify_callback;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::Payment;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("body is not a callback envelope: {0}")]
    Malformed(String),
    #[error("signature does not match")]
    BadSignature,
    #[error("msg does not parse: {0}")]
    BadMessage(String),
    /// This function lacks what verifies the callback (a deployment mistake).
    #[error("{0}")]
    NotConfigured(String),
}

/// Borrowed from the body where JSON allows (`msg` carries escaped JSON, so it is copied
/// once, unescaped): a callback is parsed on every delivery.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    timestamp: &'a RawValue,
    #[serde(borrow)]
    nonce: &'a RawValue,
    msg: String,
    #[serde(borrow)]
    msg_signature: Cow<'a, str>,
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
}

/// A callback whose signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub kind: String,
    /// The `msg` string exactly as received and verified.
    pub msg: String,
    pub timestamp: String,
}

/// What is wrong with a JSON text, without echoing any of it: a callback body is the
/// sender's bytes, and neither the answer nor a log line should carry them back.
pub fn json_problem(err: &serde_json::Error) -> String {
    let kind = match err.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "JSON of the wrong shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{kind} at line {} column {}", err.line(), err.column())
}

/// The text of a string or number field exactly as the platform sent it: a number's own
/// digits, never a re-rendering of the parsed value (`1e3` stays `1e3`).
fn raw_text<'a>(value: &'a RawValue, field: &str) -> Result<Cow<'a, str>, CallbackError> {
    let text = value.get();
    let parsed = if text.starts_with('"') {
        // Borrowed when it holds no escape, unescaped into a copy when it does.
        serde_json::from_str::<&str>(text)
            .map(Cow::Borrowed)
            .or_else(|_| serde_json::from_str::<String>(text).map(Cow::Owned))
    } else {
        serde_json::from_str::<serde_json::Number>(text).map(|_| Cow::Borrowed(text))
    };
    parsed.map_err(|_| CallbackError::Malformed(format!("{field} is neither a string nor a number")))
}

impl Callback {
    /// Parses and verifies a callback body with the console Token.
    pub fn verify(raw_body: &[u8], token: &str) -> Result<Callback, CallbackError> {
        let envelope: Envelope =
            serde_json::from_slice(raw_body).map_err(|e| CallbackError::Malformed(json_problem(&e)))?;
        let timestamp = raw_text(envelope.timestamp, "timestamp")?;
        let nonce = raw_text(envelope.nonce, "nonce")?;
        if !verify_callback(token, &timestamp, &nonce, &envelope.msg, &envelope.msg_signature) {
            return Err(CallbackError::BadSignature);
        }
        Ok(Callback {
            kind: envelope.kind.into_owned(),
            msg: envelope.msg,
            timestamp: timestamp.into_owned(),
        })
    }

    pub fn payment(&self) -> Result<PaymentMsg, CallbackError> {
        serde_json::from_str(&self.msg).map_err(|e| CallbackError::BadMessage(json_problem(&e)))
    }
}

/// The `msg` of a `payment` callback (fields douyin.md §5 lists; unknown ones ignored).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PaymentMsg {
    pub cp_orderno: String,
    pub total_amount: i64,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub way: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub order_id: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub payment_order_no: String,
    #[serde(default)]
    pub paid_at: Option<i64>,
}

impl PaymentMsg {
    /// Only an explicit SUCCESS: a message without a status says nothing about money.
    pub fn is_success(&self) -> bool {
        self.status == "SUCCESS"
    }

    pub fn payment(&self, now: i64) -> Payment {
        Payment {
            amount: self.total_amount,
            paid_at: self.paid_at.filter(|t| *t > 0).unwrap_or(now),
            trade_no: if self.order_id.is_empty() {
                self.payment_order_no.clone()
            } else {
                self.order_id.clone()
            },
            channel: self.way.clone(),
        }
    }
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

/// Whether a verified callback message names an app other than ours: a callback signed
/// with a key we share with another app (a Token reused across apps, say) must not
/// move our orders.
pub fn names_another_app(msg: &str, key: &str, ours: &str) -> bool {
    #[derive(Deserialize)]
    struct AppOnly<'a> {
        #[serde(borrow, default)]
        appid: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        app_id: Option<std::borrow::Cow<'a, str>>,
    }
    let Ok(named) = serde_json::from_str::<AppOnly>(msg) else {
        return false;
    };
    let app = if key == "appid" { named.appid } else { named.app_id };
    app.is_some_and(|app| !app.is_empty() && app != ours)
}

/// The order a verified Douyin callback message names, if it names one: `cp_orderno`
/// (ecpay payments) or `out_order_no` (trade payments and `pre_create_refund`). Refund
/// and settle messages name only their refund or settlement: `None` (finding the order
/// would cost a table read on the callback path).
pub fn order_named(msg: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct OrderOnly {
        #[serde(default)]
        cp_orderno: Option<String>,
        #[serde(default)]
        out_order_no: Option<String>,
    }
    let named = serde_json::from_str::<OrderOnly>(msg).ok()?;
    named
        .cp_orderno
        .or(named.out_order_no)
        .filter(|no| valid_out_order_no(no))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::douyin_msg_signature;
    use proptest::prelude::*;
    use serde_json::json;

    const MSG: &str = r#"{"appid":"tt226e54d3bd581bf801","cp_orderno":"202408041111312119","cp_extra":"","way":"2","channel_no":"","channel_gateway_no":"","payment_order_no":"","out_channel_order_no":"","total_amount":1,"status":"SUCCESS","seller_uid":"73744242495132490630","extra":"","item_id":"","paid_at":1722769986,"message":"","order_id":"7398108028895054107"}"#;

    fn vector_body(timestamp: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "timestamp": timestamp,
            "nonce": "5280",
            "msg": MSG,
            "msg_signature": "840bdf067c1d6056becfe88735c8ebb7e1ab809c",
            "type": "payment",
        }))
        .unwrap()
    }

    #[test]
    fn verifies_the_published_callback_with_string_or_number_timestamp() {
        for ts in [json!("1722769986"), json!(1722769986)] {
            let callback = Callback::verify(&vector_body(ts), "douyin_mini_token").unwrap();
            assert_eq!(callback.kind, "payment");
            let payment = callback.payment().unwrap();
            assert_eq!(payment.cp_orderno, "202408041111312119");
            assert_eq!(payment.total_amount, 1);
            assert!(payment.is_success());
            let p = payment.payment(0);
            assert_eq!(
                (p.paid_at, p.trade_no.as_str(), p.channel.as_str()),
                (1722769986, "7398108028895054107", "2")
            );
        }
    }

    #[test]
    fn a_payment_without_a_time_or_order_id_takes_now_and_the_payment_number() {
        let msg: PaymentMsg = serde_json::from_str(
            r#"{"cp_orderno":"1","total_amount":5,"status":"SUCCESS","way":10,"order_id":"","payment_order_no":7398,"paid_at":0}"#,
        )
        .unwrap();
        assert_eq!(
            msg.payment(1_700_000_000),
            Payment {
                amount: 5,
                paid_at: 1_700_000_000,
                trade_no: "7398".into(),
                channel: "10".into(),
            }
        );
        let msg: PaymentMsg =
            serde_json::from_str(r#"{"cp_orderno":"1","total_amount":5,"order_id":73981,"paid_at":1,"way":null}"#)
                .unwrap();
        let payment = msg.payment(1_700_000_000);
        assert_eq!(
            (payment.paid_at, payment.trade_no.as_str(), payment.channel.as_str()),
            (1, "73981", "")
        );
    }

    #[test]
    fn json_problems_name_the_kind_and_place_only() {
        let problem = |text: &str| json_problem(&serde_json::from_str::<Value>(text).unwrap_err());
        assert_eq!(problem("{\"a\":}"), "not valid JSON at line 1 column 6");
        assert_eq!(problem("{\"a\":1"), "truncated JSON at line 1 column 6");
        let wrong_shape = serde_json::from_str::<PaymentMsg>("[1]").unwrap_err();
        assert_eq!(json_problem(&wrong_shape), "JSON of the wrong shape at line 1 column 2");
    }

    #[test]
    fn a_payment_message_without_a_status_is_no_success() {
        let msg: PaymentMsg = serde_json::from_str(r#"{"cp_orderno":"1","total_amount":1}"#).unwrap();
        assert!(!msg.is_success());
        let msg: PaymentMsg = serde_json::from_str(r#"{"cp_orderno":"1","total_amount":1,"status":"FAIL"}"#).unwrap();
        assert!(!msg.is_success());
    }

    #[test]
    fn wrong_token_and_broken_bodies_are_refused() {
        assert_eq!(
            Callback::verify(&vector_body(json!("1722769986")), "salt"),
            Err(CallbackError::BadSignature)
        );
        assert_eq!(
            Callback::verify(&vector_body(json!("1722769987")), "douyin_mini_token"),
            Err(CallbackError::BadSignature)
        );
        for body in [&b""[..], b"{", b"[]", b"{\"msg\":1}", b"\xff\xfe"] {
            assert!(matches!(
                Callback::verify(body, "douyin_mini_token"),
                Err(CallbackError::Malformed(_))
            ));
        }
        let body =
            serde_json::to_vec(&json!({"timestamp": [1], "nonce": "1", "msg": "{}", "msg_signature": "00"})).unwrap();
        assert!(matches!(Callback::verify(&body, "t"), Err(CallbackError::Malformed(_))));
    }

    #[test]
    fn escaped_msg_is_verified_as_decoded_text() {
        let msg = r#"{"cp_orderno":"课程\"1","total_amount":0}"#;
        let sig = douyin_msg_signature("tok", "1", "n", msg);
        let body = serde_json::to_vec(
            &json!({"timestamp": "1", "nonce": "n", "msg": msg, "msg_signature": sig, "type": "payment"}),
        )
        .unwrap();
        let callback = Callback::verify(&body, "tok").unwrap();
        assert_eq!(callback.payment().unwrap().cp_orderno, "课程\"1");
    }

    #[test]
    fn numbers_are_verified_as_the_text_sent() {
        let msg = r#"{"cp_orderno":"1","total_amount":1}"#;
        let sig = douyin_msg_signature("tok", "1e3", "7.50", msg);
        let body = format!(
            r#"{{"timestamp": 1e3, "nonce": 7.50, "msg": {}, "msg_signature": "{sig}"}}"#,
            serde_json::to_string(msg).unwrap()
        );
        let callback = Callback::verify(body.as_bytes(), "tok").unwrap();
        assert_eq!(callback.timestamp, "1e3");
    }

    #[test]
    fn errors_never_echo_the_body() {
        let body = br#"{"timestamp": "1", "nonce": "n", "msg": 5, "msg_signature": "secret-looking-text"}"#;
        let err = Callback::verify(body, "t").unwrap_err().to_string();
        assert!(!err.contains("secret-looking-text"), "{err}");
        let body = br#""a string carrying token-123""#;
        let err = Callback::verify(body, "t").unwrap_err().to_string();
        assert!(!err.contains("token-123"), "{err}");
    }

    proptest! {
        #[test]
        fn any_signed_envelope_verifies_and_any_change_fails(msg in "\\PC{0,64}", nonce in "[0-9a-z]{1,8}", ts in 0u32..u32::MAX) {
            let sig = douyin_msg_signature("tok", &ts.to_string(), &nonce, &msg);
            let body = serde_json::to_vec(&json!({"timestamp": ts.to_string(), "nonce": nonce, "msg": msg, "msg_signature": sig})).unwrap();
            prop_assert!(Callback::verify(&body, "tok").is_ok());
            let other = serde_json::to_vec(&json!({"timestamp": ts.to_string(), "nonce": nonce, "msg": format!("{msg} "), "msg_signature": sig})).unwrap();
            prop_assert_eq!(Callback::verify(&other, "tok"), Err(CallbackError::BadSignature));
        }
    }
}

#[cfg(test)]
mod named_tests {
    use super::{names_another_app, order_named};

    #[test]
    fn the_order_a_message_names_is_read_when_it_names_one() {
        assert_eq!(
            order_named(r#"{"cp_orderno":"202408041111312119","status":"SUCCESS"}"#).as_deref(),
            Some("202408041111312119")
        );
        assert_eq!(
            order_named(r#"{"out_order_no":"1732240000ab","refund_id":"R1"}"#).as_deref(),
            Some("1732240000ab")
        );
        for none in [
            r#"{"cp_refundno":"RF-1","status":"SUCCESS"}"#,
            r#"{"cp_orderno":"a*b"}"#,
            r#"{"cp_orderno":12}"#,
            "not json",
        ] {
            assert_eq!(order_named(none), None, "{none}");
        }
    }

    #[test]
    fn a_message_naming_another_app_is_told_apart() {
        assert!(names_another_app(
            r#"{"appid":"tt-other","cp_orderno":"1"}"#,
            "appid",
            "tt-ours"
        ));
        assert!(!names_another_app(r#"{"appid":"tt-ours"}"#, "appid", "tt-ours"));
        // Messages that name no app (some refund and settle callbacks) are not refused.
        assert!(!names_another_app(r#"{"cp_orderno":"1"}"#, "appid", "tt-ours"));
        assert!(names_another_app(r#"{"app_id":"tt-other"}"#, "app_id", "tt-ours"));
        assert!(!names_another_app(r#"{"app_id":"tt-other"}"#, "appid", "tt-ours"));
    }
}
