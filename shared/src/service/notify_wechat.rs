//! WeChat Pay v2 notifies: payment (signed fields) and refund (`req_info` encrypted
//! with the API key), each applied exactly once.

use crate::app::App;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::Payment;
use crate::domain::order::{OrderStatus, Platform};
use crate::domain::time::{now_secs, parse_beijing_compact};
use crate::store::{Finish, PaidOutcome};
use crate::wechat::refund_notify::decrypt_req_info;
use crate::wechat::sign::verify;
use crate::wechat::xml::{XmlError, parse_flat};
use std::collections::BTreeMap;

/// The answer WeChat reads: SUCCESS (processed now or before) or FAIL with a reason.
#[derive(Debug, PartialEq, Eq)]
pub struct WechatReply {
    pub status: u16,
    pub success: bool,
    pub message: String,
}

impl WechatReply {
    fn ok() -> Self {
        WechatReply {
            status: 200,
            success: true,
            message: "OK".into(),
        }
    }
    fn fail(status: u16, message: impl Into<String>) -> Self {
        WechatReply {
            status,
            success: false,
            message: message.into(),
        }
    }

    pub fn to_xml(&self) -> String {
        let code = if self.success { "SUCCESS" } else { "FAIL" };
        // The message is ours, never the caller's: no CDATA terminator can appear in it.
        format!(
            "<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{}]]></return_msg></xml>",
            self.message.replace("]]>", "")
        )
    }
}

pub async fn wechat_notify(app: &App, raw_body: &[u8]) -> WechatReply {
    let Some(config) = app.config.wechat.as_ref() else {
        return WechatReply::fail(500, "WeChat is not configured");
    };
    let Some(api_key) = config.api_key.as_ref() else {
        tracing::error!("WECHAT_API_KEY is not configured; notifies cannot be verified");
        return WechatReply::fail(500, "API key not configured");
    };
    let fields = match parse_flat(raw_body) {
        Ok(fields) => fields,
        Err(XmlError::Doctype) => {
            tracing::warn!("notify with a DOCTYPE refused");
            return WechatReply::fail(400, "DOCTYPE is not accepted");
        }
        Err(_) => return WechatReply::fail(400, "body is not WeChat Pay XML"),
    };
    let ours = fields.get("appid") == Some(&config.app_id) && fields.get("mch_id") == config.mch_id.as_ref();
    if let Some(req_info) = fields.get("req_info") {
        // No sign covers a refund notify: decrypting with our key is the authentication.
        let Ok(refund) = decrypt_req_info(req_info, api_key.expose()) else {
            tracing::warn!("refund notify that does not decrypt with our key refused");
            return WechatReply::fail(401, "req_info does not decrypt");
        };
        if !ours {
            return WechatReply::fail(401, "notify is for another merchant");
        }
        return refund_notify(app, raw_body, &refund).await;
    }
    if !verify(&fields, api_key.expose()) {
        tracing::warn!("notify with a bad signature refused");
        return WechatReply::fail(401, "signature does not match");
    }
    if !ours {
        return WechatReply::fail(401, "notify is for another merchant");
    }
    payment_notify(app, raw_body, &fields).await
}

/// The order a notify (or a refund notify's decrypted `req_info`) names: `out_trade_no`.
fn order_of(fields: &BTreeMap<String, String>) -> Option<String> {
    fields.get("out_trade_no").filter(|no| valid_out_order_no(no)).cloned()
}

fn text<'a>(fields: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    fields.get(key).map(String::as_str).unwrap_or_default()
}

async fn payment_notify(app: &App, raw_body: &[u8], fields: &BTreeMap<String, String>) -> WechatReply {
    if let Err(err) = app
        .store
        .keep_callback(
            Platform::Wechat,
            "payment",
            raw_body,
            order_of(fields).as_deref(),
            now_secs(),
        )
        .await
    {
        tracing::error!(error = %err, "notify not kept; WeChat will resend");
        return WechatReply::fail(500, "temporarily unable to record the notify");
    }
    if text(fields, "return_code") != "SUCCESS" || text(fields, "result_code") != "SUCCESS" {
        return WechatReply::ok();
    }
    let out_trade_no = text(fields, "out_trade_no");
    let Ok(total_fee) = text(fields, "total_fee").parse::<i64>() else {
        return WechatReply::fail(400, "total_fee is not a whole number of fen");
    };
    let order = match app.store.get_order(out_trade_no).await {
        Ok(Some(order)) if order.platform == Platform::Wechat => order,
        Ok(_) => {
            tracing::error!(out_trade_no, "payment notify for an unknown order");
            return WechatReply::fail(404, "unknown order");
        }
        Err(err) => return store_failed(err),
    };
    if total_fee != order.total_amount {
        tracing::error!(
            out_trade_no,
            expected = order.total_amount,
            paid = total_fee,
            "notify amount differs"
        );
        return WechatReply::fail(409, "total_fee does not match the order");
    }
    if matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded) {
        return WechatReply::ok();
    }
    // A verified notify is confirmed by querying the order, as WeChat asks merchants to.
    let confirmed = match app.wechat.as_deref() {
        Some(wechat) => wechat.order_query(out_trade_no).await,
        None => return WechatReply::fail(500, "WeChat is not configured"),
    };
    match confirmed {
        Ok(q) if q.trade_state.as_deref() == Some("SUCCESS") && q.total_fee == Some(total_fee) => {}
        Ok(_) => {
            tracing::error!(out_trade_no, "orderquery does not confirm the notified payment");
            return WechatReply::fail(409, "payment not confirmed by orderquery");
        }
        Err(err) => {
            tracing::warn!(error = %err, "orderquery failed; WeChat will resend the notify");
            return WechatReply::fail(503, "payment could not be confirmed yet");
        }
    }
    let now = now_secs();
    let payment = Payment {
        amount: total_fee,
        paid_at: parse_beijing_compact(text(fields, "time_end")).unwrap_or(now),
        trade_no: text(fields, "transaction_id").to_owned(),
        channel: text(fields, "bank_type").to_owned(),
    };
    match app.store.mark_paid(out_trade_no, &payment, now).await {
        Ok(PaidOutcome::Applied(_) | PaidOutcome::AlreadyPaid(_)) => WechatReply::ok(),
        Ok(PaidOutcome::AmountMismatch { .. }) => WechatReply::fail(409, "total_fee does not match the order"),
        Ok(PaidOutcome::NotFound) => WechatReply::fail(404, "unknown order"),
        Err(err) => store_failed(err),
    }
}

async fn refund_notify(app: &App, raw_body: &[u8], refund: &BTreeMap<String, String>) -> WechatReply {
    if let Err(err) = app
        .store
        .keep_callback(
            Platform::Wechat,
            "refund",
            raw_body,
            order_of(refund).as_deref(),
            now_secs(),
        )
        .await
    {
        return store_failed(err);
    }
    let out_refund_no = text(refund, "out_refund_no");
    let success = match text(refund, "refund_status") {
        "SUCCESS" => true,
        "REFUNDCLOSE" => false,
        // Neither refunded nor failed: the money could not reach the card and a person
        // must act in the merchant console. The amount stays reserved.
        "CHANGE" => {
            tracing::error!(
                out_refund_no,
                "refund needs manual handling in the merchant console (CHANGE)"
            );
            return match app.store.flag_refund(out_refund_no, "CHANGE", now_secs()).await {
                Ok(Some(_)) => WechatReply::ok(),
                Ok(None) => WechatReply::fail(404, "unknown refund"),
                Err(err) => store_failed(err),
            };
        }
        _ => return WechatReply::ok(),
    };
    let stored = match app.store.get_refund(out_refund_no).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return WechatReply::fail(404, "unknown refund"),
        Err(err) => return store_failed(err),
    };
    if text(refund, "refund_fee").parse::<i64>().ok() != Some(stored.refund_amount) {
        tracing::error!(out_refund_no, "refund notify amount differs from the refund");
        return WechatReply::fail(409, "refund_fee does not match the refund");
    }
    match app.store.finish_refund(&stored, success, now_secs()).await {
        Ok(Finish::Applied(_) | Finish::AlreadyFinished(_)) => WechatReply::ok(),
        Ok(Finish::NotFound) => WechatReply::fail(404, "unknown refund"),
        Err(err) => store_failed(err),
    }
}

fn store_failed(err: crate::error::StoreError) -> WechatReply {
    tracing::error!(error = %err, "notify not applied; WeChat will resend");
    WechatReply::fail(500, "temporarily unable to record the notify")
}
