//! Callbacks the trade system sends (douyin-trade.md §6): `{"version", "type", "msg"}`
//! with `msg` a JSON string, signed with the platform private key over
//! `<Byte-Timestamp>\n<Byte-Nonce-Str>\n<raw body>\n` (no method or URI line).

use super::envelope::log_id;
use super::keyring::Keyring;
use crate::clock::now_secs;
use crate::delivery::{Delivery, Notifier, deliver_concurrently};
use crate::douyin::CallbackOptions;
use crate::random;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

/// The callback kinds, with the `Byte-Identifyname` each comes with (only the
/// payment one is attested; the others follow its pattern).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Payment,
    PreCreateRefund,
    Refund,
    Settle,
}

impl Kind {
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Payment => "payment",
            Kind::PreCreateRefund => "pre_create_refund",
            Kind::Refund => "refund",
            Kind::Settle => "settle",
        }
    }

    pub fn identify_name(self) -> &'static str {
        match self {
            Kind::Payment => "/msg/basic/payment/notify",
            Kind::PreCreateRefund => "/msg/basic/pre_create_refund/notify",
            Kind::Refund => "/msg/basic/refund/notify",
            Kind::Settle => "/msg/basic/settle/notify",
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    version: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    msg: &'a str,
}

/// The raw body of a callback.
pub fn body(kind: Kind, msg: &str) -> String {
    serde_json::to_string(&Body {
        version: "3.0",
        kind: kind.type_name(),
        msg,
    })
    .expect("plain fields serialize")
}

/// The string the platform signs.
pub fn signed_string(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// `Byte-Signature` for `body`; `tamper` makes it a well-formed signature that does
/// not verify, so that the receiver must actually verify rather than fail to decode.
pub fn signature(keys: &Keyring, timestamp: &str, nonce: &str, body: &str, tamper: bool) -> String {
    let signature = keys.sign_platform(signed_string(timestamp, nonce, body).as_bytes());
    if !tamper {
        return signature;
    }
    let mut bytes = STANDARD.decode(signature).expect("own Base64");
    bytes[0] ^= 1;
    STANDARD.encode(bytes)
}

/// Sends `msg` as a callback of `kind` to `url`, `options.deliveries` copies at once,
/// each with its own timestamp, nonce and signature. Results are in sending order.
pub async fn send(
    http: &Notifier,
    keys: &Keyring,
    url: &str,
    kind: Kind,
    msg: &str,
    options: &CallbackOptions,
) -> Vec<Delivery> {
    let body = body(kind, &options.msg_style().write(msg));
    deliver_concurrently(options.deliveries, |_| {
        let timestamp = now_secs().to_string();
        let nonce = random::alphanumeric(32);
        let signature = signature(keys, &timestamp, &nonce, &body, options.tamper_signature);
        http.post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Byte-Timestamp", timestamp)
            .header("Byte-Nonce-Str", nonce)
            .header("Byte-Signature", signature)
            .header("Byte-Logid", log_id())
            .header("Byte-Identifyname", kind.identify_name())
            .body(body.clone())
    })
    .await
}
