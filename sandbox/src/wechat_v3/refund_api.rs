//! `POST /v3/refund/domestic/refunds` (A.1): accepts a refund of a paid order as
//! PROCESSING; a test finishes it later. Idempotent on `out_refund_no`: the same order
//! and amounts get the refund as it stands, other ones are refused. Refunds never take
//! back more than the order's total. No client certificate is needed (A.8).

use super::answer::V3Answer;
use super::api_error::V3Error;
use super::body::{Body, max_chars, merchant_no, notify_url};
use super::refund_json::refund_json;
use super::request::{V3Request, authenticate};
use crate::clock::now_secs;
use crate::state::{SharedState, lock};
use crate::wechat::WechatState;
use crate::wechat::refunds::NewRefund;
use axum::extract::State;
use axum::response::Response;

const OUT_REFUND_NO_SYMBOLS: &str = "_-|*@";
const OUT_REFUND_NO_MAX: usize = 64;
const REASON_MAX_CHARS: usize = 80;
/// The answer when a repeated `out_refund_no`, or the order's total, disagree.
pub const AMOUNTS_DIFFER: &str = "订单金额或退款金额与之前请求不一致，请核实后再试";
pub const OVER_REFUND: &str = "申请退款金额超过订单可退金额";

pub async fn refund(State(state): State<SharedState>, request: V3Request) -> Response {
    let platform = match authenticate(&state, &request) {
        Ok(platform) => platform,
        Err(refusal) => return *refusal,
    };
    let result = Body::parse(&request.body)
        .and_then(|body| accept(&mut lock(&state.wechat), &body, now_secs()))
        .map(V3Answer::Json);
    request.respond(platform, result)
}

fn accept(wechat: &mut WechatState, body: &Body, now: i64) -> Result<serde_json::Value, V3Error> {
    let out_refund_no = body.text("out_refund_no")?;
    merchant_no(
        "out_refund_no",
        out_refund_no,
        1,
        OUT_REFUND_NO_MAX,
        OUT_REFUND_NO_SYMBOLS,
    )?;
    let reason = body.optional_text("reason")?;
    if let Some(reason) = reason {
        max_chars("reason", reason, REASON_MAX_CHARS)?;
    }
    let url = body.optional_text("notify_url")?;
    if let Some(url) = url {
        notify_url("notify_url", url)?;
    }
    let refund_fee = body.integer("amount.refund")?;
    if refund_fee <= 0 {
        return Err(V3Error::param("amount.refund", "必须大于0 (must be positive)"));
    }
    let total_fee = body.integer("amount.total")?;
    if body.text("amount.currency")? != "CNY" {
        return Err(V3Error::param("amount.currency", "只支持CNY"));
    }
    let order = match (
        body.optional_text("transaction_id")?,
        body.optional_text("out_trade_no")?,
    ) {
        (Some(transaction_id), _) => wechat.orders.by_transaction_id(transaction_id),
        (None, Some(out_trade_no)) => wechat.orders.get(out_trade_no),
        (None, None) => return Err(V3Error::param("out_trade_no", "transaction_id和out_trade_no必须二选一")),
    }
    .ok_or_else(|| V3Error::not_exists("订单不存在"))?;

    if let Some(existing) = wechat.refunds.get(out_refund_no) {
        let same = (existing.out_trade_no.as_str(), existing.total_fee, existing.refund_fee)
            == (order.out_trade_no.as_str(), total_fee, refund_fee);
        return if same {
            Ok(refund_json(&existing))
        } else {
            Err(V3Error::invalid(AMOUNTS_DIFFER))
        };
    }
    if !order.trade_state.is_paid() {
        return Err(V3Error::invalid(format!("订单状态错误: {}", order.trade_state)));
    }
    if total_fee != order.total_fee {
        return Err(V3Error::invalid(AMOUNTS_DIFFER));
    }
    let committed = wechat.refunds.committed_total(&order.out_trade_no);
    if committed + refund_fee > order.total_fee {
        return Err(V3Error::invalid(OVER_REFUND));
    }
    // A paid order turns REFUND with its first refund; it is paid, so this cannot fail.
    wechat
        .orders
        .mark_refunded(&order.out_trade_no)
        .map_err(|e| V3Error::system(e.to_string()))?;
    let refund = wechat.refunds.create(
        NewRefund {
            out_refund_no: out_refund_no.to_owned(),
            out_trade_no: order.out_trade_no.clone(),
            transaction_id: order.transaction_id.clone().unwrap_or_default(),
            total_fee,
            refund_fee,
            refund_desc: reason.map(str::to_owned),
            notify_url: url.map(str::to_owned),
        },
        now,
    );
    Ok(refund_json(&refund))
}
