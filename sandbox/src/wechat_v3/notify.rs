//! v3 notifies (A.5): a JSON envelope whose `resource` is the Transaction or Refund
//! encrypted with the APIv3 key, POSTed with `Wechatpay-*` headers signed like answers.
//! Each delivery is signed on its own (its own timestamp and nonce), as WeChat's
//! servers do; a receiver acknowledges with 200 or 204, anything else counts as failed.

use super::aead::{ALGORITHM, seal};
use super::platform::{Signing, V3Platform, WechatV3Key};
use crate::clock::{beijing_rfc3339, now_secs};
use crate::delivery::{Delivery, Notifier, deliver_concurrently};
use serde_json::{Value, json};

/// One kind of notify: its `event_type`, `summary`, and what its resource holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub event_type: &'static str,
    pub summary: &'static str,
    /// `original_type`, also the `associated_data` of the resource.
    pub original_type: &'static str,
}

pub const TRANSACTION_SUCCESS: Event = Event {
    event_type: "TRANSACTION.SUCCESS",
    summary: "支付成功",
    original_type: "transaction",
};
pub const REFUND_SUCCESS: Event = Event {
    event_type: "REFUND.SUCCESS",
    summary: "退款成功",
    original_type: "refund",
};
pub const REFUND_CLOSED: Event = Event {
    event_type: "REFUND.CLOSED",
    summary: "退款关闭",
    original_type: "refund",
};
pub const REFUND_ABNORMAL: Event = Event {
    event_type: "REFUND.ABNORMAL",
    summary: "退款异常",
    original_type: "refund",
};

/// Whether a receiver's status acknowledges a v3 notify (A.5).
pub fn acknowledged(status: u16) -> bool {
    matches!(status, 200 | 204)
}

/// The notify body for `event` with `plaintext` as its resource.
pub fn notify_body(apiv3_key: &[u8], event: Event, plaintext: &Value) -> String {
    let sealed = seal(apiv3_key, event.original_type, plaintext.to_string().as_bytes());
    json!({
        "id": event_id(),
        "create_time": beijing_rfc3339(now_secs()),
        "resource_type": "encrypt-resource",
        "event_type": event.event_type,
        "summary": event.summary,
        "resource": {
            "original_type": event.original_type,
            "algorithm": ALGORITHM,
            "ciphertext": sealed.ciphertext,
            "associated_data": sealed.associated_data,
            "nonce": sealed.nonce,
        },
    })
    .to_string()
}

/// A UUID-shaped notify id.
fn event_id() -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    let digits: String = (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16usize)]))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..]
    )
}

/// How one batch of deliveries is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifySigning {
    /// While switching: the key to sign with (else the fixed one, or either at random).
    pub key: Option<WechatV3Key>,
    /// Signs another text than the body, so the signature does not verify.
    pub tamper: bool,
}

/// POSTs `body` to `url` `count` times at once, each signed on its own.
pub async fn deliver(
    http: &Notifier,
    platform: &V3Platform,
    url: &str,
    body: &str,
    count: usize,
    signing: NotifySigning,
) -> Vec<Delivery> {
    deliver_concurrently(count, |_| {
        let signed_text = if signing.tamper {
            format!("{body} ")
        } else {
            body.to_owned()
        };
        let headers = platform.sign(Signing::Notify { key: signing.key }, &signed_text);
        let mut request = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "Mozilla/4.0")
            .body(body.to_owned());
        for (name, value) in headers.pairs() {
            request = request.header(name, value);
        }
        request
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat_v3::aead::decrypt;

    #[test]
    fn the_resource_opens_with_the_apiv3_key_and_its_type() {
        let key = [3u8; 32];
        let body: Value = serde_json::from_str(&notify_body(&key, REFUND_CLOSED, &json!({"a": "退款"}))).unwrap();
        assert_eq!(body["event_type"], "REFUND.CLOSED");
        assert_eq!(body["resource_type"], "encrypt-resource");
        let resource = &body["resource"];
        assert_eq!(
            (resource["original_type"].as_str(), resource["associated_data"].as_str()),
            (Some("refund"), Some("refund"))
        );
        let plaintext = decrypt(
            &key,
            resource["nonce"].as_str().unwrap(),
            "refund",
            resource["ciphertext"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&plaintext).unwrap(),
            json!({"a": "退款"})
        );
        let id = body["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert!(acknowledged(200) && acknowledged(204) && !acknowledged(201) && !acknowledged(500));
    }
}
