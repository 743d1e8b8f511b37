//! A payer paying a v3 order: the state change on the platform (shared with v2: one
//! merchant, one order book), then the TRANSACTION.SUCCESS notify. Failing, closing and
//! USERPAYING are the v2 operations, which send nothing in either API.

use super::configured;
use super::notify::{NotifySigning, TRANSACTION_SUCCESS, deliver, notify_body};
use super::platform::WechatV3Key;
use super::transaction::transaction_json;
use crate::clock::now_secs;
use crate::delivery::{Delivery, target};
use crate::error::SandboxError;
use crate::state::{State, lock};
use crate::wechat::PayApi;
use serde::{Deserialize, Serialize};

/// How `wechat_v3_pay` reports the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WechatV3PayOptions {
    /// How many copies of the notify to send at once (0: none, like a lost notify).
    pub deliveries: usize,
    /// Overrides `amount.total` and `payer_total` in the notify only: the order keeps
    /// its amount, and the backend must compare them.
    pub total: Option<i64>,
    /// Sends a signature that does not verify (valid Base64, the right key, another text).
    pub tamper_signature: bool,
    /// Overrides where the notify goes (else the order's `notify_url`).
    pub notify_url: Option<String>,
    /// Also pays an order that had ended unpaid (CLOSED, PAYERROR, or past its
    /// `time_expire`), as WeChat sometimes takes such payments (C.1).
    pub late: bool,
    /// While switching: the key the notify is signed with (else as the mode says).
    pub sign_with: Option<WechatV3Key>,
}

impl Default for WechatV3PayOptions {
    fn default() -> Self {
        WechatV3PayOptions {
            deliveries: 1,
            total: None,
            tamper_signature: false,
            notify_url: None,
            late: false,
            sign_with: None,
        }
    }
}

/// Marks the v3 order paid (or keeps it paid) and sends the payment notify.
pub async fn pay(
    state: &State,
    out_trade_no: &str,
    options: WechatV3PayOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let (platform, wechat) = configured(state)?;
    let (order, url) = {
        let mut book = lock(&state.wechat);
        let current = book
            .orders
            .get(out_trade_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_trade_no.into()))?;
        if current.api != PayApi::V3 {
            return Err(SandboxError::Conflict(format!(
                "order {out_trade_no} was placed with APIv2: pay it with wechat_pay"
            )));
        }
        let candidates = [options.notify_url.as_deref(), Some(current.notify_url.as_str())];
        let url = target(candidates, options.deliveries, &format!("order {out_trade_no}"))?;
        (book.orders.mark_paid(out_trade_no, now_secs(), options.late)?, url)
    };
    let plaintext = transaction_json(wechat, &order, options.total);
    let body = notify_body(platform.config.apiv3_key.as_bytes(), TRANSACTION_SUCCESS, &plaintext);
    let signing = NotifySigning {
        key: options.sign_with,
        tamper: options.tamper_signature,
    };
    Ok(deliver(&state.http, platform, &url, &body, options.deliveries, signing).await)
}
