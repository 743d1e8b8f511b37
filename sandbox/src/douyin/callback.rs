//! Callbacks the platform sends to a notify URL: the signed envelope (douyin.md §5)
//! and its concurrent delivery. Generic over the callback `type` so refunds and
//! settlements can reuse it.

use super::callback_sign::callback_signature;
use super::orders::SandboxOrder;
use crate::clock::now_secs;
use crate::config::SandboxConfig;
use crate::delivery::{Notifier, deliver_concurrently, tampered, target};
use crate::error::SandboxError;
use crate::msg_style::MsgStyle;
use crate::random;
use serde::{Deserialize, Serialize};

pub use crate::delivery::{CALLBACK_TIMEOUT, Delivery, MAX_DELIVERIES};

/// How a refund or settlement callback is delivered (ecpay payments have
/// [`super::PayOptions`], which can also forge the amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackOptions {
    /// How many copies of the callback to send at once (0: none, like a lost callback;
    /// no notify URL is needed then).
    pub deliveries: usize,
    /// Sends a signature that does not verify.
    pub tamper_signature: bool,
    /// Overrides where the callback goes.
    pub notify_url: Option<String>,
    /// Douyin callbacks (ecpay and the trade system): writes every non-ASCII character
    /// of `msg` as a `\uXXXX` escape, signed over that text (see [`MsgStyle`]).
    pub escape_unicode: bool,
    /// Douyin callbacks: writes the keys of `msg` in reverse order.
    pub reorder_keys: bool,
}

impl Default for CallbackOptions {
    fn default() -> Self {
        CallbackOptions {
            deliveries: 1,
            tamper_signature: false,
            notify_url: None,
            escape_unicode: false,
            reorder_keys: false,
        }
    }
}

impl CallbackOptions {
    /// Where the callback goes: the override, else `stored` (the refund's or
    /// settlement's own URL, else its order's), else the console one; see
    /// [`crate::delivery::target`].
    pub fn target(&self, stored: Option<&str>, config: &SandboxConfig, what: &str) -> Result<String, SandboxError> {
        let candidates = [self.notify_url.as_deref(), stored, config.notify_url.as_deref()];
        target(candidates, self.deliveries, what)
    }

    /// How `msg` is written.
    pub fn msg_style(&self) -> MsgStyle {
        MsgStyle {
            escape_unicode: self.escape_unicode,
            reorder_keys: self.reorder_keys,
        }
    }

    /// Delivers `msg` as a callback of type `kind`, as these options say.
    pub async fn send(&self, http: &Notifier, url: &str, token: &str, kind: &str, msg: &str) -> Vec<Delivery> {
        let msg = self.msg_style().write(msg);
        deliver(http, url, token, kind, &msg, self.deliveries, self.tamper_signature).await
    }
}

/// The `msg` of a payment callback, fields in the platform's order (serde keeps
/// declaration order, and the backend must verify the exact bytes).
#[derive(Serialize)]
struct PaymentMsg<'a> {
    appid: &'a str,
    cp_orderno: &'a str,
    cp_extra: &'a str,
    /// A string here, unlike the number in `query_order`.
    way: &'a str,
    channel_no: &'a str,
    channel_gateway_no: &'a str,
    payment_order_no: &'a str,
    out_channel_order_no: &'a str,
    total_amount: i64,
    status: &'a str,
    seller_uid: &'a str,
    extra: &'a str,
    item_id: &'a str,
    paid_at: i64,
    message: &'a str,
    order_id: &'a str,
}

/// The `msg` string of a payment callback for a paid order; `amount` overrides the
/// amount (to test that the backend compares it with the order).
pub fn payment_msg(app_id: &str, order: &SandboxOrder, amount: Option<i64>) -> String {
    let msg = PaymentMsg {
        appid: app_id,
        cp_orderno: &order.out_order_no,
        cp_extra: &order.cp_extra,
        way: "2",
        channel_no: "",
        channel_gateway_no: "",
        payment_order_no: order.payment_order_no.as_deref().unwrap_or_default(),
        out_channel_order_no: "",
        total_amount: amount.unwrap_or(order.total_amount),
        status: "SUCCESS",
        seller_uid: "",
        extra: "",
        item_id: "",
        paid_at: order.paid_at.unwrap_or_default(),
        message: "",
        order_id: &order.order_id,
    };
    serde_json::to_string(&msg).expect("plain fields serialize")
}

#[derive(Serialize)]
struct Envelope<'a> {
    timestamp: String,
    nonce: String,
    msg: &'a str,
    msg_signature: String,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// A callback body signed with the console Token; `tamper` breaks the signature.
pub fn signed_body(token: &str, kind: &str, msg: &str, tamper: bool) -> String {
    let timestamp = now_secs().to_string();
    let nonce = random::digits(6);
    let mut msg_signature = callback_signature(token, &timestamp, &nonce, msg);
    if tamper {
        msg_signature = tampered(&msg_signature);
    }
    serde_json::to_string(&Envelope {
        timestamp,
        nonce,
        msg,
        msg_signature,
        kind,
    })
    .expect("plain fields serialize")
}

/// Sends `count` callbacks at once, each with the same `msg` and its own timestamp
/// and nonce (see [`deliver_concurrently`]). Results are in sending order.
pub async fn deliver(
    http: &Notifier,
    url: &str,
    token: &str,
    kind: &str,
    msg: &str,
    count: usize,
    tamper: bool,
) -> Vec<Delivery> {
    deliver_concurrently(count, |_| {
        http.post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(signed_body(token, kind, msg, tamper))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::douyin::orders::OrderStatus;
    use serde_json::Value;

    fn paid_order() -> SandboxOrder {
        SandboxOrder {
            out_order_no: "202408041111312119".into(),
            order_id: "7398108028895054107".into(),
            order_token: "t".into(),
            total_amount: 1,
            subject: "s".into(),
            body: "b".into(),
            valid_time: 300,
            cp_extra: String::new(),
            notify_url: None,
            status: OrderStatus::Success,
            created_at: 1_722_769_900,
            paid_at: Some(1_722_769_986),
            payment_order_no: Some(String::new()),
        }
    }

    #[test]
    fn payment_msg_has_the_platform_field_order() {
        // douyin.md vector (c), except seller_uid, which the sandbox leaves empty.
        let expected = r#"{"appid":"tt226e54d3bd581bf801","cp_orderno":"202408041111312119","cp_extra":"","way":"2","channel_no":"","channel_gateway_no":"","payment_order_no":"","out_channel_order_no":"","total_amount":1,"status":"SUCCESS","seller_uid":"","extra":"","item_id":"","paid_at":1722769986,"message":"","order_id":"7398108028895054107"}"#;
        assert_eq!(payment_msg("tt226e54d3bd581bf801", &paid_order(), None), expected);
        assert!(payment_msg("tt", &paid_order(), Some(5)).contains(r#""total_amount":5,"#));
    }

    #[test]
    fn callback_targets_fall_back_in_order() {
        let config = SandboxConfig {
            notify_url: Some("http://console".into()),
            ..SandboxConfig::default()
        };
        let options = CallbackOptions::default();
        assert_eq!(options.target(Some("http://own"), &config, "x").unwrap(), "http://own");
        assert_eq!(options.target(None, &config, "x").unwrap(), "http://console");
        let adhoc = CallbackOptions {
            notify_url: Some("http://adhoc".into()),
            ..CallbackOptions::default()
        };
        assert_eq!(adhoc.target(Some("http://own"), &config, "x").unwrap(), "http://adhoc");
        let nowhere = options
            .target(None, &SandboxConfig::default(), "refund R1")
            .unwrap_err();
        assert_eq!(nowhere.to_string(), "refund R1 has no notify_url to call");
        let flood = CallbackOptions {
            deliveries: MAX_DELIVERIES + 1,
            ..CallbackOptions::default()
        };
        assert!(flood.target(Some("http://own"), &config, "x").is_err());
        let silent = CallbackOptions {
            deliveries: 0,
            ..CallbackOptions::default()
        };
        assert_eq!(silent.target(None, &SandboxConfig::default(), "x").unwrap(), "");
    }

    #[test]
    fn envelopes_verify_unless_tampered() {
        let msg = payment_msg("tt", &paid_order(), None);
        for tamper in [false, true] {
            let body: Value = serde_json::from_str(&signed_body("tok", "payment", &msg, tamper)).unwrap();
            assert_eq!(body["type"], "payment");
            assert_eq!(body["msg"], msg.as_str());
            let field = |name: &str| body[name].as_str().unwrap().to_owned();
            let expected = callback_signature("tok", &field("timestamp"), &field("nonce"), &field("msg"));
            assert_eq!(field("msg_signature") == expected, !tamper);
        }
    }
}
