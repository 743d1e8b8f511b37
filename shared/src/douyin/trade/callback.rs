//! Trade-system callbacks (douyin-trade.md §6): the signature is in the `Byte-*` headers
//! and covers `timestamp\nnonce\nraw body\n`; only after it verifies is the body parsed.

use super::keys::TradeKeys;
use crate::douyin::CallbackError;
use crate::douyin::callback::json_problem;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// The headers a trade callback carries its signature in.
pub const BYTE_SIGNATURE: &str = "byte-signature";
pub const BYTE_TIMESTAMP: &str = "byte-timestamp";
pub const BYTE_NONCE: &str = "byte-nonce-str";

/// The signature headers of a trade callback.
#[derive(Debug, Clone, Default)]
pub struct TradeHeaders {
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", default)]
    kind: String,
    /// A JSON string as documented; an object is taken as its own text.
    #[serde(borrow)]
    msg: &'a RawValue,
}

/// A trade callback whose signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeCallback {
    pub kind: String,
    /// The `msg` JSON string as received.
    pub msg: String,
}

impl TradeCallback {
    pub fn verify(headers: &TradeHeaders, raw_body: &[u8], keys: &TradeKeys) -> Result<TradeCallback, CallbackError> {
        if headers.timestamp.is_empty() || headers.nonce.is_empty() {
            return Err(CallbackError::Malformed(
                "Byte-Timestamp and Byte-Nonce-Str headers are required".into(),
            ));
        }
        let verified = keys
            .verify_callback(&headers.timestamp, &headers.nonce, raw_body, &headers.signature)
            .map_err(|e| CallbackError::NotConfigured(e.to_string()))?;
        if !verified {
            return Err(CallbackError::BadSignature);
        }
        // `version` is "2.0" or "3.0" depending on the source; it is not checked.
        let envelope: Envelope =
            serde_json::from_slice(raw_body).map_err(|e| CallbackError::Malformed(json_problem(&e)))?;
        let msg = match serde_json::from_str::<Value>(envelope.msg.get()) {
            Ok(Value::String(text)) => text,
            Ok(Value::Object(_)) => envelope.msg.get().to_owned(),
            _ => return Err(CallbackError::Malformed("msg is neither a string nor an object".into())),
        };
        Ok(TradeCallback {
            kind: envelope.kind,
            msg,
        })
    }

    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, CallbackError> {
        serde_json::from_str(&self.msg).map_err(|e| CallbackError::BadMessage(json_problem(&e)))
    }
}

/// `payment`: SUCCESS or CANCEL of an order.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TradePaymentMsg {
    pub out_order_no: String,
    #[serde(default, deserialize_with = "text")]
    pub order_id: String,
    #[serde(deserialize_with = "amount")]
    pub total_amount: i64,
    #[serde(default, deserialize_with = "optional_amount")]
    pub discount_amount: Option<i64>,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "text")]
    pub pay_channel: String,
    #[serde(default, deserialize_with = "optional_amount")]
    pub event_time: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// `refund`: how a refund ended. `out_refund_no` may be empty.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TradeRefundMsg {
    #[serde(default, deserialize_with = "text")]
    pub refund_id: String,
    #[serde(default)]
    pub out_refund_no: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "optional_amount")]
    pub refund_total_amount: Option<i64>,
}

/// `settle`: how a settlement ended.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TradeSettleMsg {
    #[serde(default)]
    pub out_settle_no: String,
    #[serde(default, deserialize_with = "text")]
    pub settle_id: String,
    #[serde(default)]
    pub status: String,
}

/// `pre_create_refund`: a refund the user (or customer service) started on the
/// platform's order page; it waits for our synchronous answer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PreCreateRefundMsg {
    #[serde(deserialize_with = "text")]
    pub refund_id: String,
    pub out_order_no: String,
    #[serde(default, deserialize_with = "text")]
    pub order_id: String,
    #[serde(deserialize_with = "amount")]
    pub refund_total_amount: i64,
    #[serde(default)]
    pub refund_reason: Vec<Value>,
    #[serde(default)]
    pub refund_description: String,
}

impl PreCreateRefundMsg {
    /// The user's reasons as one line (they come as strings, or objects with `text`).
    pub fn reason(&self) -> String {
        let mut parts: Vec<String> = self
            .refund_reason
            .iter()
            .filter_map(|r| match r {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("text").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .filter(|s| !s.trim().is_empty())
            .collect();
        if !self.refund_description.trim().is_empty() {
            parts.push(self.refund_description.trim().to_owned());
        }
        parts.join("; ")
    }
}

/// Ids come as strings or as numbers, depending on the message.
fn text<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

/// Amounts are integers of fen; a string of digits is tolerated, a fraction is not.
fn amount<'de, D: Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    optional_amount(de)?.ok_or_else(|| serde::de::Error::custom("an amount must be a whole number of fen"))
}

fn optional_amount<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::douyin::trade::keys::{AppKey, PlatformKey, callback_message};
    use crate::testing::oracles::{TRADE_APP_PRIVATE, TRADE_PLATFORM_PUBLIC, trade_platform_signature};

    fn keys() -> TradeKeys {
        TradeKeys {
            app_id: "tt1".into(),
            app_key: Some(AppKey::from_pem(TRADE_APP_PRIVATE).unwrap()),
            platform_key: Some(PlatformKey::from_pem(TRADE_PLATFORM_PUBLIC).unwrap()),
            key_version: "1".into(),
        }
    }

    /// Headers as the platform sends them, signed with the key that plays the platform's.
    fn signed(body: &str) -> TradeHeaders {
        TradeHeaders {
            signature: trade_platform_signature("1708586777", "n0nce", body.as_bytes()),
            timestamp: "1708586777".into(),
            nonce: "n0nce".into(),
        }
    }

    /// The shape of the real 2024-02-22 payment callback ([ZY] in douyin-trade.md).
    const PAYMENT: &str = r#"{"version":"2.0","msg":"{\"app_id\":\"tt1683603e89bd1ac801\",\"status\":\"SUCCESS\",\"order_id\":\"motb73383242802221734767173\",\"cp_extra\":\"\",\"message\":\"\",\"event_time\":1708586777000,\"out_order_no\":\"MP1\",\"total_amount\":1,\"discount_amount\":0,\"pay_channel\":10,\"channel_pay_id\":\"4200\",\"merchant_uid\":\"7\"}","type":"payment"}"#;

    #[test]
    fn a_signed_payment_verifies_and_parses() {
        let keys = keys();
        let callback = TradeCallback::verify(&signed(PAYMENT), PAYMENT.as_bytes(), &keys).unwrap();
        assert_eq!(callback.kind, "payment");
        let msg: TradePaymentMsg = callback.parse().unwrap();
        assert_eq!(msg.out_order_no, "MP1");
        assert_eq!(msg.total_amount, 1);
        assert_eq!(msg.pay_channel, "10");
        assert_eq!(msg.order_id, "motb73383242802221734767173");
        assert_eq!(msg.event_time, Some(1_708_586_777_000));
    }

    #[test]
    fn tampering_or_missing_headers_are_refused_before_parsing() {
        let keys = keys();
        let headers = signed(PAYMENT);
        let altered = PAYMENT.replace("\\\"total_amount\\\":1", "\\\"total_amount\\\":2");
        assert_eq!(
            TradeCallback::verify(&headers, altered.as_bytes(), &keys),
            Err(CallbackError::BadSignature)
        );
        let no_nonce = TradeHeaders {
            nonce: String::new(),
            ..headers.clone()
        };
        assert!(matches!(
            TradeCallback::verify(&no_nonce, PAYMENT.as_bytes(), &keys),
            Err(CallbackError::Malformed(_))
        ));
        // A signed body that is not an envelope is refused after verification.
        let junk = "[1,2]";
        assert!(matches!(
            TradeCallback::verify(&signed(junk), junk.as_bytes(), &keys),
            Err(CallbackError::Malformed(_))
        ));
    }

    #[test]
    fn a_callback_signed_with_the_app_key_is_refused() {
        let keys = keys();
        let by_app = TradeHeaders {
            signature: keys.app_key.as_ref().unwrap().sign_base64(&callback_message(
                "1708586777",
                "n0nce",
                PAYMENT.as_bytes(),
            )),
            ..signed(PAYMENT)
        };
        assert_eq!(
            TradeCallback::verify(&by_app, PAYMENT.as_bytes(), &keys),
            Err(CallbackError::BadSignature)
        );
    }

    #[test]
    fn a_msg_sent_as_an_object_is_read_too() {
        let keys = keys();
        let body = r#"{"type":"settle","msg":{"out_settle_no":"S1","status":"SUCCESS"}}"#;
        let callback = TradeCallback::verify(&signed(body), body.as_bytes(), &keys).unwrap();
        let msg: TradeSettleMsg = callback.parse().unwrap();
        assert_eq!((msg.out_settle_no.as_str(), msg.status.as_str()), ("S1", "SUCCESS"));
        let number = r#"{"type":"settle","msg":7}"#;
        assert!(matches!(
            TradeCallback::verify(&signed(number), number.as_bytes(), &keys),
            Err(CallbackError::Malformed(_))
        ));
    }

    #[test]
    fn pre_create_refund_reasons_become_one_line() {
        let msg: PreCreateRefundMsg = serde_json::from_str(
            r#"{"refund_id":"R1","out_order_no":"MP1","refund_total_amount":"50","refund_reason":["不想要了",{"text":"其他"}],"refund_description":" 太贵 "}"#,
        )
        .unwrap();
        assert_eq!(msg.refund_total_amount, 50);
        assert_eq!(msg.reason(), "不想要了; 其他; 太贵");
        let fraction = serde_json::from_str::<PreCreateRefundMsg>(
            r#"{"refund_id":"R1","out_order_no":"MP1","refund_total_amount":0.5}"#,
        );
        assert!(fraction.is_err());
    }
}
