//! `POST /secapi/pay/refund` (wechat.md §8): accepts a refund of a paid order, as
//! PROCESSING; a test finishes it later. Idempotent on `out_refund_no`: the same order
//! and amounts get the same `refund_id`, other ones are refused.
//!
//! The endpoint needs the merchant's client certificate (mutual TLS): a call over the
//! sandbox's TLS listener with the registered certificate; see [`super::client_cert`]
//! for what a call without it, or with another, gets.

use super::answer::PayError;
use super::auth::authenticate;
use super::client_cert::{PresentedCertificate, missing_certificate, registered};
use super::fields::{self, fee, max_chars, merchant_no, one_of, optional, required};
use super::order_lookup::find_order;
use super::refunds::{NewRefund, WechatRefund};
use super::xml_body::parse;
use super::{Fields, WechatState};
use crate::clock::now_secs;
use crate::state::{SharedState, lock};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

const OUT_REFUND_NO_SYMBOLS: &str = "_-|*@";
const OUT_REFUND_NO_MAX: usize = 64;
const REFUND_DESC_MAX_CHARS: usize = 80;
/// The answer when a repeated `out_refund_no` or the order's total disagree.
const AMOUNTS_DIFFER: &str = "订单金额或退款金额与之前请求不一致，请核实后再试";

pub async fn refund(
    State(state): State<SharedState>,
    PresentedCertificate(certificate): PresentedCertificate,
    body: Bytes,
) -> Response {
    // The front end turns a call without a certificate away before the body is read.
    let Some(certificate) = certificate else {
        return missing_certificate();
    };
    let params = match parse(&body) {
        Ok(params) => params,
        Err(answer) => return answer.into_response(),
    };
    if let Err(answer) = registered(state.config.wechat.as_ref(), &certificate) {
        return answer.into_response();
    }
    let answerer = match authenticate(&state.config, &params) {
        Ok(answerer) => answerer,
        Err(answer) => return answer.into_response(),
    };
    let result = accept(&mut lock(&state.wechat), &params, now_secs()).map(|refund| answer_fields(&refund));
    answerer.answer(result).into_response()
}

fn accept(wechat: &mut WechatState, params: &Fields, now: i64) -> Result<WechatRefund, PayError> {
    required(params, "nonce_str")?;
    let out_refund_no = merchant_no(params, "out_refund_no", OUT_REFUND_NO_MAX, OUT_REFUND_NO_SYMBOLS)?;
    let total_fee = fee(params, "total_fee")?;
    let refund_fee = fee(params, "refund_fee")?;
    let refund_desc = optional(params, "refund_desc");
    if let Some(desc) = refund_desc {
        max_chars("refund_desc", desc, REFUND_DESC_MAX_CHARS)?;
    }
    let notify_url = optional(params, "notify_url");
    if let Some(url) = notify_url {
        fields::notify_url("notify_url", url)?;
    }
    if let Some(fee_type) = optional(params, "refund_fee_type") {
        one_of("refund_fee_type", fee_type, &["CNY"])?;
    }
    let order = find_order(&wechat.orders, params)?;

    if let Some(existing) = wechat.refunds.get(out_refund_no) {
        let same = (existing.out_trade_no.as_str(), existing.total_fee, existing.refund_fee)
            == (order.out_trade_no.as_str(), total_fee, refund_fee);
        return if same {
            Ok(existing)
        } else {
            Err(PayError::Business("INVALID_REQUEST", AMOUNTS_DIFFER.into()))
        };
    }
    if !order.trade_state.is_paid() {
        let problem = format!("订单状态错误: {}", order.trade_state);
        return Err(PayError::Business("TRADE_STATE_ERROR", problem));
    }
    if total_fee != order.total_fee {
        return Err(PayError::Business("INVALID_REQUEST", AMOUNTS_DIFFER.into()));
    }
    let committed = wechat.refunds.committed_total(&order.out_trade_no);
    if committed + refund_fee > order.total_fee {
        let problem = format!(
            "累计退款金额大于支付金额: {committed} of total_fee {} is already refunded or being refunded",
            order.total_fee
        );
        return Err(PayError::Business("INVALID_REQUEST", problem));
    }
    // A paid order turns REFUND with its first refund (a REFUND one stays so); it is
    // paid, so this cannot fail.
    wechat
        .orders
        .mark_refunded(&order.out_trade_no)
        .map_err(|e| PayError::Business("SYSTEMERROR", e.to_string()))?;
    let refund = wechat.refunds.create(
        NewRefund {
            out_refund_no: out_refund_no.to_owned(),
            out_trade_no: order.out_trade_no.clone(),
            transaction_id: order.transaction_id.clone().unwrap_or_default(),
            total_fee,
            refund_fee,
            refund_desc: refund_desc.map(str::to_owned),
            notify_url: notify_url.map(str::to_owned),
        },
        now,
    );
    Ok(refund)
}

fn answer_fields(refund: &WechatRefund) -> Fields {
    [
        ("transaction_id", refund.transaction_id.clone()),
        ("out_trade_no", refund.out_trade_no.clone()),
        ("out_refund_no", refund.out_refund_no.clone()),
        ("refund_id", refund.refund_id.clone()),
        ("refund_fee", refund.refund_fee.to_string()),
        ("total_fee", refund.total_fee.to_string()),
        ("cash_fee", refund.total_fee.to_string()),
        ("cash_refund_fee", refund.refund_fee.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}
