//! Platform callbacks: verify over the raw body, then apply exactly once.

use crate::app::App;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::Payment;
use crate::domain::order::Platform;
use crate::domain::refund::SettleStatus;
use crate::domain::time::now_secs;
use crate::douyin::callback::json_problem;
use crate::douyin::trade::TradeHeaders;
use crate::douyin::{Callback, CallbackError};
use crate::store::{Finish, PaidOutcome};
use serde::{Deserialize, Serialize};

/// What the platform is answered: `err_no` 0 means processed (now or before).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DouyinReply {
    #[serde(skip)]
    pub status: u16,
    pub err_no: i64,
    pub err_tips: String,
    /// Only `pre_create_refund` answers carry data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl DouyinReply {
    pub fn success() -> Self {
        DouyinReply {
            status: 200,
            err_no: 0,
            err_tips: "success".into(),
            data: None,
        }
    }
    pub(crate) fn refuse(status: u16, err_no: i64, tips: impl Into<String>) -> Self {
        DouyinReply {
            status,
            err_no,
            err_tips: tips.into(),
            data: None,
        }
    }
}

/// A Douyin callback of either kind: trade callbacks carry their signature in the
/// `Byte-*` headers (`trade`), ecpay ones in the body.
pub async fn douyin_callback(app: &App, trade: Option<&TradeHeaders>, raw_body: &[u8]) -> DouyinReply {
    if let Some(headers) = trade {
        return super::notify_trade::trade_callback(app, headers, raw_body).await;
    }
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
    if let Some(ours) = app.config.douyin.as_ref().map(|d| d.app_id.as_str())
        && names_another_app(&callback.msg, "appid", ours)
    {
        tracing::warn!("callback for another app refused");
        return DouyinReply::refuse(401, 2, "callback is for another app");
    }
    let order = order_named(&callback.msg);
    if let Err(err) = app
        .store
        .keep_callback(Platform::Douyin, &callback.kind, raw_body, order.as_deref(), now_secs())
        .await
    {
        tracing::error!(error = %err, "callback not kept; the platform will retry");
        return DouyinReply::refuse(500, 5, "temporarily unable to record the callback");
    }
    match callback.kind.as_str() {
        "payment" => payment(app, &callback).await,
        "refund" => refund(app, &callback).await,
        "settle" => settle(app, &callback).await,
        other => {
            tracing::info!(kind = other, "verified callback kept and acknowledged");
            DouyinReply::success()
        }
    }
}

async fn refund(app: &App, callback: &Callback) -> DouyinReply {
    let msg: RefundMsg = match serde_json::from_str(&callback.msg) {
        Ok(msg) => msg,
        Err(err) => return DouyinReply::refuse(400, 1, format!("msg is {}", json_problem(&err))),
    };
    let success = match msg.status.as_str() {
        "SUCCESS" => true,
        "FAIL" => false,
        _ => return DouyinReply::success(),
    };
    end_refund(app, &msg.cp_refundno, success, msg.refund_amount).await
}

/// Records how a refund ended, once; a reported amount must be the refund's.
pub(crate) async fn end_refund(app: &App, out_refund_no: &str, success: bool, amount: Option<i64>) -> DouyinReply {
    let stored = match app.store.get_refund(out_refund_no).await {
        Ok(Some(refund)) => refund,
        Ok(None) => {
            tracing::error!(out_refund_no = %out_refund_no, "refund callback for an unknown refund");
            return DouyinReply::refuse(404, 4, "unknown refund");
        }
        Err(err) => return store_failed(err),
    };
    if amount.is_some_and(|amount| amount != stored.refund_amount) {
        tracing::error!(out_refund_no = %out_refund_no, "refund callback amount differs from the refund");
        return DouyinReply::refuse(409, 3, "amount does not match the refund");
    }
    match app.store.finish_refund(&stored, success, now_secs()).await {
        Ok(Finish::Applied(_) | Finish::AlreadyFinished(_)) => DouyinReply::success(),
        Ok(Finish::NotFound) => DouyinReply::refuse(404, 4, "unknown refund"),
        Err(err) => store_failed(err),
    }
}

async fn settle(app: &App, callback: &Callback) -> DouyinReply {
    let msg: SettleMsg = match serde_json::from_str(&callback.msg) {
        Ok(msg) => msg,
        Err(err) => return DouyinReply::refuse(400, 1, format!("msg is {}", json_problem(&err))),
    };
    let status = match msg.status.as_str() {
        "SUCCESS" => SettleStatus::Success,
        "FAIL" => SettleStatus::Fail,
        _ => return DouyinReply::success(),
    };
    end_settle(app, &msg.cp_settle_no, status).await
}

pub(crate) async fn end_settle(app: &App, out_settle_no: &str, status: SettleStatus) -> DouyinReply {
    match app.store.finish_settle(out_settle_no, status, now_secs()).await {
        Ok(Finish::Applied(_) | Finish::AlreadyFinished(_)) => DouyinReply::success(),
        Ok(Finish::NotFound) => {
            tracing::error!(out_settle_no = %out_settle_no, "settle callback for an unknown settlement");
            DouyinReply::refuse(404, 4, "unknown settlement")
        }
        Err(err) => store_failed(err),
    }
}

/// Whether a verified callback message names an app other than ours: a callback signed
/// with a key we share with another app (a Token reused across apps, say) must not
/// move our orders.
pub(crate) fn names_another_app(msg: &str, key: &str, ours: &str) -> bool {
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
pub(crate) fn order_named(msg: &str) -> Option<String> {
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

pub(crate) fn store_failed(err: crate::error::StoreError) -> DouyinReply {
    tracing::error!(error = %err, "callback not applied; the platform will retry");
    DouyinReply::refuse(500, 5, "temporarily unable to record the callback")
}

/// The `msg` of a `refund` callback.
#[derive(Debug, Deserialize)]
struct RefundMsg {
    cp_refundno: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    refund_amount: Option<i64>,
}

/// The `msg` of a `settle` callback.
#[derive(Debug, Deserialize)]
struct SettleMsg {
    cp_settle_no: String,
    #[serde(default)]
    status: String,
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
    apply_payment(app, &msg.cp_orderno, &msg.payment(now), now).await
}

/// Marks the order paid, once, if the amount is the order's.
pub(crate) async fn apply_payment(app: &App, out_order_no: &str, payment: &Payment, now: i64) -> DouyinReply {
    match app.store.mark_paid(out_order_no, payment, now).await {
        Ok(PaidOutcome::Applied(_)) => {
            tracing::info!(out_order_no = %out_order_no, amount = payment.amount, "order paid");
            DouyinReply::success()
        }
        Ok(PaidOutcome::AlreadyPaid(order)) => {
            if order.payment.as_ref().is_some_and(|p| p.trade_no != payment.trade_no) {
                tracing::error!(out_order_no = %out_order_no, "a second payment was reported for a paid order");
            }
            DouyinReply::success()
        }
        Ok(PaidOutcome::AmountMismatch { expected }) => {
            tracing::error!(out_order_no = %out_order_no, expected, paid = payment.amount, "payment amount differs from the order");
            DouyinReply::refuse(409, 3, "amount does not match the order")
        }
        Ok(PaidOutcome::NotFound) => {
            tracing::error!(out_order_no = %out_order_no, "payment for an unknown order");
            DouyinReply::refuse(404, 4, "unknown order")
        }
        Err(err) => store_failed(err),
    }
}

#[cfg(test)]
mod tests {
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
