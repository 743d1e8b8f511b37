//! Trade-system callbacks on the Douyin notify route: verified with the platform key
//! over the raw body, then applied exactly once like ecpay's.

use super::notify::{DouyinReply, apply_payment, end_refund, end_settle, names_another_app, order_named, store_failed};
use super::refund::REASON_MAX_CHARS;
use crate::app::App;
use crate::domain::order::{OrderStatus, Payment, Platform};
use crate::domain::refund::{Refund, RefundStatus, SettleStatus, user_refund_no};
use crate::domain::text::truncate;
use crate::domain::time::now_secs;
use crate::douyin::CallbackError;
use crate::douyin::trade::callback::{PreCreateRefundMsg, TradePaymentMsg, TradeRefundMsg, TradeSettleMsg};
use crate::douyin::trade::request_order::order_entry_schema;
use crate::douyin::trade::{TradeCallback, TradeHeaders};
use crate::store::BeginRefund;

const USER_REFUND_REASON: &str = "用户申请退款";

pub async fn trade_callback(app: &App, headers: &TradeHeaders, raw_body: &[u8]) -> DouyinReply {
    let Some(trade) = app.trade.as_ref() else {
        tracing::error!("a trade callback came but the trade keys are not configured");
        return DouyinReply::refuse(500, 5, "trade system not configured");
    };
    let callback = match TradeCallback::verify(headers, raw_body, &trade.keys) {
        Ok(callback) => callback,
        Err(CallbackError::BadSignature) => {
            tracing::warn!("trade callback with a bad signature refused");
            return DouyinReply::refuse(401, 2, "signature does not match");
        }
        Err(CallbackError::NotConfigured(why)) => {
            tracing::error!(why = %why, "trade callback cannot be verified; the platform will retry");
            return DouyinReply::refuse(500, 5, "callback key not configured");
        }
        Err(err) => return DouyinReply::refuse(400, 1, err.to_string()),
    };
    if names_another_app(&callback.msg, "app_id", &trade.keys.app_id) {
        tracing::warn!("trade callback for another app refused");
        return DouyinReply::refuse(401, 2, "callback is for another app");
    }
    if let Err(err) = app
        .store
        .keep_callback(
            Platform::Douyin,
            &callback.kind,
            raw_body,
            order_named(&callback.msg).as_deref(),
            now_secs(),
        )
        .await
    {
        return store_failed(err);
    }
    let applied = match callback.kind.as_str() {
        "payment" => payment(app, &callback).await,
        "refund" => refund(app, &callback).await,
        "settle" => settle(app, &callback).await,
        "pre_create_refund" => pre_create_refund(app, &callback).await,
        other => {
            tracing::info!(kind = other, "verified trade callback kept and acknowledged");
            Ok(DouyinReply::success())
        }
    };
    applied.unwrap_or_else(|err| DouyinReply::refuse(400, 1, err.to_string()))
}

async fn payment(app: &App, callback: &TradeCallback) -> Result<DouyinReply, CallbackError> {
    let msg: TradePaymentMsg = callback.parse()?;
    let now = now_secs();
    Ok(match msg.status.as_str() {
        "SUCCESS" => {
            let payment = Payment {
                amount: msg.total_amount,
                paid_at: msg.event_time.filter(|t| *t > 0).map_or(now, |ms| ms / 1000),
                trade_no: msg.order_id.clone(),
                channel: msg.pay_channel.clone(),
            };
            apply_payment(app, &msg.out_order_no, &payment, now).await
        }
        // Cancelled by the user or expired: final, and no close-order call exists.
        "CANCEL" => match app
            .store
            .finish_unpaid(&msg.out_order_no, OrderStatus::Closed, now)
            .await
        {
            Ok(Some(order)) => {
                tracing::info!(out_order_no = %msg.out_order_no, status = %order.status, reason = %msg.message, "trade order cancelled");
                DouyinReply::success()
            }
            Ok(None) => DouyinReply::refuse(404, 4, "unknown order"),
            Err(err) => store_failed(err),
        },
        other => {
            tracing::info!(out_order_no = %msg.out_order_no, status = other, "payment callback acknowledged");
            DouyinReply::success()
        }
    })
}

async fn refund(app: &App, callback: &TradeCallback) -> Result<DouyinReply, CallbackError> {
    let msg: TradeRefundMsg = callback.parse()?;
    let success = match msg.status.as_str() {
        "SUCCESS" => true,
        "FAIL" => false,
        _ => return Ok(DouyinReply::success()),
    };
    // The platform may leave `out_refund_no` empty for refunds the user started; those
    // are numbered from the refund id.
    let out_refund_no = if msg.out_refund_no.is_empty() {
        user_refund_no(&msg.refund_id)
    } else {
        msg.out_refund_no.clone()
    };
    Ok(end_refund(app, &out_refund_no, success, msg.refund_total_amount).await)
}

async fn settle(app: &App, callback: &TradeCallback) -> Result<DouyinReply, CallbackError> {
    let msg: TradeSettleMsg = callback.parse()?;
    let status = match msg.status.as_str() {
        "SUCCESS" => SettleStatus::Success,
        "FAIL" => SettleStatus::Fail,
        _ => return Ok(DouyinReply::success()),
    };
    Ok(end_settle(app, &msg.out_settle_no, status).await)
}

/// A refund the user asked for on the platform: recorded in flight (so back-office
/// refunds cannot exceed the paid amount with it) and answered at once with our number.
async fn pre_create_refund(app: &App, callback: &TradeCallback) -> Result<DouyinReply, CallbackError> {
    let msg: PreCreateRefundMsg = callback.parse()?;
    if msg.refund_total_amount < 1 {
        return Ok(DouyinReply::refuse(
            400,
            1,
            "refund_total_amount must be at least 1 fen",
        ));
    }
    let order = match app.store.get_order(&msg.out_order_no).await {
        Ok(Some(order)) => order,
        Ok(None) => return Ok(DouyinReply::refuse(404, 4, "unknown order")),
        Err(err) => return Ok(store_failed(err)),
    };
    let reason = msg.reason();
    let reason = truncate(
        if reason.is_empty() { USER_REFUND_REASON } else { &reason },
        REASON_MAX_CHARS,
        usize::MAX,
    )
    .to_owned();
    let now = now_secs();
    let refund = Refund {
        out_refund_no: user_refund_no(&msg.refund_id),
        out_order_no: order.out_order_no.clone(),
        refund_amount: msg.refund_total_amount,
        reason,
        status: RefundStatus::Processing,
        refund_no: Some(msg.refund_id.clone()),
        all_settle: order.settled(),
        created_at: now,
        updated_at: now,
        attention: None,
    };
    let accepted = match app.store.begin_refund(&refund).await {
        Ok(BeginRefund::Started(r)) => r,
        Ok(BeginRefund::Exists(r))
            if r.out_order_no == refund.out_order_no && r.refund_amount == refund.refund_amount =>
        {
            r
        }
        Ok(BeginRefund::Exists(_)) => {
            tracing::error!(refund_id = %msg.refund_id, "pre_create_refund differs from the refund recorded for its id");
            return Ok(DouyinReply::refuse(409, 3, "refund id was recorded with other values"));
        }
        Ok(BeginRefund::OrderNotFound) => return Ok(DouyinReply::refuse(404, 4, "unknown order")),
        Ok(BeginRefund::NotRefundable(order)) => {
            tracing::warn!(out_order_no = %order.out_order_no, status = %order.status, asked = msg.refund_total_amount, left = order.refundable(), "user refund refused");
            return Ok(DouyinReply::refuse(
                409,
                3,
                "order is not paid or has less left to refund",
            ));
        }
        Err(err) => return Ok(store_failed(err)),
    };
    tracing::info!(out_order_no = %accepted.out_order_no, out_refund_no = %accepted.out_refund_no, amount = accepted.refund_amount, "user refund recorded");
    let schema = order_entry_schema(&app.config.order_entry_page, &accepted.out_order_no);
    Ok(DouyinReply {
        data: Some(serde_json::json!({
            "out_refund_no": accepted.out_refund_no,
            "order_entry_schema": schema,
        })),
        ..DouyinReply::success()
    })
}
