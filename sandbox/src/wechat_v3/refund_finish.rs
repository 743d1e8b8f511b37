//! A v3 refund ending on the platform, then its notify (A.5): REFUND.SUCCESS,
//! REFUND.CLOSED or REFUND.ABNORMAL, the Refund encrypted with the APIv3 key.

use super::configured;
use super::notify::{NotifySigning, REFUND_ABNORMAL, REFUND_CLOSED, REFUND_SUCCESS, deliver, notify_body};
use super::platform::WechatV3Key;
use super::refund_json::refund_notify_json;
use crate::clock::now_secs;
use crate::delivery::{Delivery, target};
use crate::error::SandboxError;
use crate::state::{State, lock};
use crate::wechat::{PayApi, WechatRefundStatus};
use serde::{Deserialize, Serialize};

/// How a v3 refund ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WechatV3RefundOutcome {
    #[serde(rename = "SUCCESS")]
    Success,
    /// 退款关闭.
    #[serde(rename = "CLOSED")]
    Closed,
    /// 退款异常: the money could not go back to the payer's card.
    #[serde(rename = "ABNORMAL")]
    Abnormal,
}

impl WechatV3RefundOutcome {
    fn status(self) -> WechatRefundStatus {
        match self {
            WechatV3RefundOutcome::Success => WechatRefundStatus::Success,
            WechatV3RefundOutcome::Closed => WechatRefundStatus::RefundClose,
            WechatV3RefundOutcome::Abnormal => WechatRefundStatus::Change,
        }
    }
}

/// How a v3 notify is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WechatV3NotifyOptions {
    /// How many copies to send at once (0: none, like a lost notify).
    pub deliveries: usize,
    /// Sends a signature that does not verify.
    pub tamper_signature: bool,
    /// Overrides where the notify goes.
    pub notify_url: Option<String>,
    /// While switching: the key the notify is signed with (else as the mode says).
    pub sign_with: Option<WechatV3Key>,
}

impl Default for WechatV3NotifyOptions {
    fn default() -> Self {
        WechatV3NotifyOptions {
            deliveries: 1,
            tamper_signature: false,
            notify_url: None,
            sign_with: None,
        }
    }
}

/// Finishes the refund of a v3 order as `outcome`, once (the same again only resends,
/// another is refused), and sends its notify to `options.notify_url`, else the
/// refund's, else the merchant's (config), else the order's.
pub async fn finish(
    state: &State,
    out_refund_no: &str,
    outcome: WechatV3RefundOutcome,
    options: WechatV3NotifyOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let (platform, wechat) = configured(state)?;
    let (refund, url) = {
        let mut book = lock(&state.wechat);
        let current = book
            .refunds
            .get(out_refund_no)
            .ok_or_else(|| SandboxError::UnknownRefund(out_refund_no.into()))?;
        let order = book.orders.get(&current.out_trade_no);
        if order.as_ref().is_none_or(|order| order.api != PayApi::V3) {
            return Err(SandboxError::Conflict(format!(
                "refund {out_refund_no} is of an APIv2 order: finish it with wechat_finish_refund"
            )));
        }
        let order_url = order.map(|order| order.notify_url);
        let candidates = [
            options.notify_url.as_deref(),
            current.notify_url.as_deref(),
            wechat.notify_url.as_deref(),
            order_url.as_deref(),
        ];
        let url = target(candidates, options.deliveries, &format!("refund {out_refund_no}"))?;
        (book.refunds.finish(out_refund_no, outcome.status(), now_secs())?, url)
    };
    let event = match outcome {
        WechatV3RefundOutcome::Success => REFUND_SUCCESS,
        WechatV3RefundOutcome::Closed => REFUND_CLOSED,
        WechatV3RefundOutcome::Abnormal => REFUND_ABNORMAL,
    };
    let plaintext = refund_notify_json(&wechat.mch_id, &refund);
    let body = notify_body(platform.config.apiv3_key.as_bytes(), event, &plaintext);
    let signing = NotifySigning {
        key: options.sign_with,
        tamper: options.tamper_signature,
    };
    Ok(deliver(&state.http, platform, &url, &body, options.deliveries, signing).await)
}
