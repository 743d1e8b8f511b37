//! Platform callbacks: verify over the raw body, then apply exactly once.

use crate::app::App;
use crate::domain::time::now_secs;
use crate::douyin::{Callback, CallbackError};
use crate::store::PaidOutcome;
use serde::Serialize;

/// What the platform is answered: `err_no` 0 means processed (now or before).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DouyinReply {
    #[serde(skip)]
    pub status: u16,
    pub err_no: i64,
    pub err_tips: String,
}

impl DouyinReply {
    pub fn success() -> Self {
        DouyinReply {
            status: 200,
            err_no: 0,
            err_tips: "success".into(),
        }
    }
    fn refuse(status: u16, err_no: i64, tips: impl Into<String>) -> Self {
        DouyinReply {
            status,
            err_no,
            err_tips: tips.into(),
        }
    }
}

pub async fn douyin_callback(app: &App, raw_body: &[u8]) -> DouyinReply {
    let Some(token) = app.config.douyin.as_ref().and_then(|d| d.token.as_ref()) else {
        tracing::error!("DOUYIN_TOKEN is not configured; callbacks cannot be verified");
        return DouyinReply::refuse(500, 5, "callback token not configured");
    };
    let callback = match Callback::verify(raw_body, token.expose()) {
        Ok(callback) => callback,
        Err(CallbackError::BadSignature) => {
            tracing::warn!("callback with a bad signature refused");
            return DouyinReply::refuse(401, 2, "signature does not match");
        }
        Err(err) => return DouyinReply::refuse(400, 1, err.to_string()),
    };
    match callback.kind.as_str() {
        "payment" => payment(app, &callback).await,
        other => {
            tracing::info!(kind = other, "verified callback acknowledged");
            DouyinReply::success()
        }
    }
}

async fn payment(app: &App, callback: &Callback) -> DouyinReply {
    let msg = match callback.payment() {
        Ok(msg) => msg,
        Err(err) => return DouyinReply::refuse(400, 1, err.to_string()),
    };
    if !msg.is_success() {
        tracing::info!(out_order_no = %msg.cp_orderno, status = %msg.status, "unsuccessful payment callback acknowledged");
        return DouyinReply::success();
    }
    let now = now_secs();
    let payment = msg.payment(now);
    match app.store.mark_paid(&msg.cp_orderno, &payment, now).await {
        Ok(PaidOutcome::Applied(_)) => {
            tracing::info!(out_order_no = %msg.cp_orderno, amount = payment.amount, "order paid");
            DouyinReply::success()
        }
        Ok(PaidOutcome::AlreadyPaid(order)) => {
            if order.payment.as_ref().is_some_and(|p| p.trade_no != payment.trade_no) {
                tracing::error!(out_order_no = %msg.cp_orderno, "a second payment was reported for a paid order");
            }
            DouyinReply::success()
        }
        Ok(PaidOutcome::AmountMismatch { expected }) => {
            tracing::error!(out_order_no = %msg.cp_orderno, expected, paid = payment.amount, "payment amount differs from the order");
            DouyinReply::refuse(409, 3, "amount does not match the order")
        }
        Ok(PaidOutcome::NotFound) => {
            tracing::error!(out_order_no = %msg.cp_orderno, "payment for an unknown order");
            DouyinReply::refuse(404, 4, "unknown order")
        }
        Err(err) => {
            tracing::error!(error = %err, "payment not recorded; the platform will retry");
            DouyinReply::refuse(500, 5, "temporarily unable to record the payment")
        }
    }
}
