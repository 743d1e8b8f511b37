//! A payer paying, failing, or still entering the password, and the merchant closing
//! the order: the state change on the platform, then (for a payment) the notify.

use super::configured;
use super::notify_delivery::deliver_xml;
use super::orders::{PayApi, WechatOrder};
use super::pay_notify::{WechatPayOptions, payment_notify};
use crate::clock::now_secs;
use crate::delivery::{Delivery, target};
use crate::error::SandboxError;
use crate::state::{State, lock};

/// Marks the order paid (or keeps it paid) and sends the payment notify.
pub async fn pay(state: &State, out_trade_no: &str, options: WechatPayOptions) -> Result<Vec<Delivery>, SandboxError> {
    let config = configured(state)?;
    let (order, url) = {
        let mut wechat = lock(&state.wechat);
        let current = wechat
            .orders
            .get(out_trade_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_trade_no.into()))?;
        if current.api != PayApi::V2 {
            return Err(SandboxError::Conflict(format!(
                "order {out_trade_no} was placed with APIv3: pay it with wechat_v3_pay"
            )));
        }
        let candidates = [options.notify_url.as_deref(), Some(current.notify_url.as_str())];
        let url = target(candidates, options.deliveries, &format!("order {out_trade_no}"))?;
        (wechat.orders.mark_paid(out_trade_no, now_secs(), options.late)?, url)
    };
    let body = payment_notify(config, &order, &options);
    Ok(deliver_xml(&state.http, &url, &body, options.deliveries).await)
}

/// Marks the order PAYERROR; WeChat sends no notify for failures. Serves v3 orders too.
pub fn fail(state: &State, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
    configured(state)?;
    lock(&state.wechat).orders.mark_failed(out_trade_no)
}

/// Marks the order CLOSED, as `closeorder` or WeChat's own timeout would (either API's).
pub fn close(state: &State, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
    configured(state)?;
    lock(&state.wechat).orders.close(out_trade_no)
}

/// Marks the order USERPAYING: the payer has started but not finished paying.
pub fn user_paying(state: &State, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
    configured(state)?;
    lock(&state.wechat).orders.mark_user_paying(out_trade_no)
}
