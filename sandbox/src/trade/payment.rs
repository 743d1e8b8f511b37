//! The user paying a trade order, or the order ending unpaid, and the `payment`
//! callback that tells the backend (douyin-trade.md §6).

use super::callback::{self, Kind};
use super::configured;
use super::orders::TradeOrder;
use crate::clock::now_millis;
use crate::delivery::Delivery;
use crate::douyin::CallbackOptions;
use crate::error::SandboxError;
use crate::state::{State, lock};
use serde::{Deserialize, Serialize};

/// How `trade_pay` pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TradePayOptions {
    /// 1 WeChat, 2 Alipay, 10 Douyin Pay.
    pub pay_channel: i64,
    /// Also pays an order that had ended unpaid (cancelled or expired, TIMEOUT): a
    /// payment that completes after the order ended, as real platforms sometimes take.
    /// Without it such an order is refused.
    pub late: bool,
    #[serde(flatten)]
    pub callback: CallbackOptions,
}

impl Default for TradePayOptions {
    fn default() -> Self {
        TradePayOptions {
            pay_channel: 10,
            late: false,
            callback: CallbackOptions::default(),
        }
    }
}

/// The ways an unpaid order ends, as the `message` of its CANCEL callback.
pub const CANCEL_MESSAGES: [&str; 2] = ["USER_CANCEL", "TIME_OUT"];

/// The `msg` of a payment callback, fields in the order of the platform's table.
/// The payment fields are only "guaranteed on SUCCESS": a CANCEL leaves them out.
#[derive(Serialize)]
struct PaymentMsg<'a> {
    app_id: &'a str,
    out_order_no: &'a str,
    order_id: &'a str,
    status: &'a str,
    total_amount: i64,
    discount_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pay_channel: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_pay_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_bill_pay_id: Option<&'a str>,
    merchant_uid: &'a str,
    event_time: i64,
    message: &'a str,
}

/// The `msg` for a paid or cancelled order (built from what the order stored, so a
/// resent callback carries the same `msg`).
pub fn payment_msg(app_id: &str, order: &TradeOrder) -> String {
    let payment = order.payment.as_ref();
    let cancel = order.cancel.as_ref();
    let msg = PaymentMsg {
        app_id,
        out_order_no: &order.out_order_no,
        order_id: &order.order_id,
        status: if payment.is_some() { "SUCCESS" } else { "CANCEL" },
        total_amount: order.total_amount,
        discount_amount: 0,
        pay_channel: payment.map(|p| p.pay_channel),
        channel_pay_id: payment.map(|p| p.channel_pay_id.as_str()),
        user_bill_pay_id: payment.map(|p| p.user_bill_pay_id.as_str()),
        merchant_uid: &order.merchant_uid,
        event_time: payment
            .map(|p| p.pay_time)
            .or(cancel.map(|c| c.event_time))
            .unwrap_or_default(),
        // A late payment's order keeps its cancel; its SUCCESS callback does not say so.
        message: match (payment, cancel) {
            (None, Some(cancel)) => cancel.message.as_str(),
            _ => "",
        },
    };
    serde_json::to_string(&msg).expect("plain fields serialize")
}

/// Pays the order (a paid one stays paid) and sends the SUCCESS callback.
pub async fn pay(state: &State, out_order_no: &str, options: TradePayOptions) -> Result<Vec<Delivery>, SandboxError> {
    if ![1, 2, 10].contains(&options.pay_channel) {
        let problem = format!(
            "pay_channel {} is not 1 (WeChat), 2 (Alipay) or 10 (Douyin Pay)",
            options.pay_channel
        );
        return Err(SandboxError::Invalid(problem));
    }
    apply_and_notify(state, out_order_no, &options.callback, |trade, now| {
        trade.orders.pay(out_order_no, options.pay_channel, now, options.late)
    })
    .await
}

/// Ends the unpaid order with `message` and sends the CANCEL callback.
pub async fn cancel(
    state: &State,
    out_order_no: &str,
    message: &str,
    options: CallbackOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    if !CANCEL_MESSAGES.contains(&message) {
        return Err(SandboxError::Invalid(format!(
            "message {message:?} is not USER_CANCEL or TIME_OUT"
        )));
    }
    apply_and_notify(state, out_order_no, &options, |trade, now| {
        trade.orders.cancel(out_order_no, message, now)
    })
    .await
}

/// Moves the paid order's payment `days` into the past.
pub fn age(state: &State, out_order_no: &str, days: i64) -> Result<TradeOrder, SandboxError> {
    let ms = crate::settlement_rules::age_secs(days)? * 1000;
    let mut trade = lock(&state.trade);
    let aged = trade.orders.age(out_order_no, ms)?;
    Ok(trade.order_view(&aged, now_millis()))
}

/// Applies `change` to the order, then sends its payment callback.
async fn apply_and_notify(
    state: &State,
    out_order_no: &str,
    options: &CallbackOptions,
    change: impl FnOnce(&mut super::TradeState, i64) -> Result<TradeOrder, SandboxError>,
) -> Result<Vec<Delivery>, SandboxError> {
    let (_, keys) = configured(state)?;
    let (order, url) = {
        let mut trade = lock(&state.trade);
        let current = trade
            .orders
            .get(out_order_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_order_no.to_owned()))?;
        let url = options.target(
            current.notify_url.as_deref(),
            &state.config,
            &format!("order {out_order_no}"),
        )?;
        (change(&mut trade, now_millis())?, url)
    };
    let msg = payment_msg(&state.config.app_id, &order);
    Ok(callback::send(&state.http, keys, &url, Kind::Payment, &msg, options).await)
}
