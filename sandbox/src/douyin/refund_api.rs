//! Ecpay v1 refund endpoints: `create_refund` and `query_refund` (douyin.md §3).
//! Checks run in the platform's order: app, then sign, then business parameters.

use super::DouyinState;
use super::codes;
use super::ecpay::{AMOUNT_RANGE, CP_EXTRA_MAX_BYTES, paid_order};
use super::ecpay_auth::{EcpayBody, authenticate};
use super::envelope::{DouyinBody, error};
use super::params::{self, ParamError};
use super::refunds::{NewRefund, SandboxRefund};
use crate::clock::now_secs;
use crate::notify_url;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

const REASON_MAX_CHARS: usize = 100;

/// `POST /api/apps/ecpay/v1/create_refund`: idempotent on `out_refund_no`, whose
/// first answer (success or refusal) is replayed to every later call.
pub async fn create_refund(State(state): State<SharedState>, DouyinBody(params): EcpayBody) -> Json<Value> {
    if let Err(answer) = authenticate(&state.config, &params) {
        return answer;
    }
    let out_refund_no = match params::required_merchant_no(&params, "out_refund_no") {
        Ok(no) => no,
        // Without a usable number there is nothing to be idempotent on.
        Err(ParamError(tips)) => return error(codes::BAD_PARAMETER, tips),
    };
    let mut douyin = lock(&state.douyin);
    if let Some(first) = douyin.refunds.answers.get(out_refund_no) {
        return Json(first);
    }
    let answer = match accept(&mut douyin, &params, now_secs()) {
        Ok(refund) => json!({ "err_no": codes::OK, "err_tips": "受理成功", "refund_no": refund.refund_no }),
        Err(ParamError(tips)) => error(codes::BAD_PARAMETER, tips).0,
    };
    Json(douyin.refunds.answers.remember(out_refund_no, answer))
}

/// Checks the parameters, then the order: paid, not refunded beyond its total, and
/// refunded from the withdrawable balance (`all_settle=1`) once settled.
fn accept(douyin: &mut DouyinState, params: &Map<String, Value>, now: i64) -> Result<SandboxRefund, ParamError> {
    let out_refund_no = params::required_merchant_no(params, "out_refund_no")?;
    let out_order_no = params::required_merchant_no(params, "out_order_no")?;
    let reason = params::required_str(params, "reason")?;
    params::max_chars("reason", reason, REASON_MAX_CHARS)?;
    let refund_amount = params::required_int(params, "refund_amount", AMOUNT_RANGE)?;
    let cp_extra = params::optional_bounded_str(params, "cp_extra", CP_EXTRA_MAX_BYTES)?;
    let notify_url = params::optional_notify_url(params, "notify_url", notify_url::ECPAY)?;
    let all_settle = params::optional_int(params, "all_settle", 0..=1)? == Some(1);
    // Accepted and type-checked; the sandbox sends no Douyin messages anyway.
    params::optional_int(params, "disable_msg", 0..=1)?;
    params::optional_str(params, "msg_page")?;

    let order = paid_order(&douyin.orders, out_order_no, now)?;
    if !all_settle && douyin.settles.is_settled(out_order_no) {
        return Err(ParamError::new("all_settle", "order settled: use all_settle=1"));
    }
    let committed = douyin.refunds.committed_total(out_order_no);
    if committed + refund_amount > order.total_amount {
        let problem = format!(
            "{refund_amount}: refund amount exceeds the order: {committed} of total_amount {} is already refunded or being refunded",
            order.total_amount
        );
        return Err(ParamError::new("refund_amount", problem));
    }
    let refund = NewRefund {
        out_refund_no: out_refund_no.to_owned(),
        out_order_no: out_order_no.to_owned(),
        order_id: order.order_id,
        refund_amount,
        reason: reason.to_owned(),
        all_settle,
        cp_extra: cp_extra.unwrap_or_default().to_owned(),
        notify_url: notify_url.map(str::to_owned).or(order.notify_url),
    };
    Ok(douyin.refunds.create(refund, now))
}

/// `POST /api/apps/ecpay/v1/query_refund`: the answer's key is camelCase `refundInfo`,
/// as on the platform.
pub async fn query_refund(State(state): State<SharedState>, DouyinBody(params): EcpayBody) -> Json<Value> {
    if let Err(answer) = authenticate(&state.config, &params) {
        return answer;
    }
    let out_refund_no = match params::required_merchant_no(&params, "out_refund_no") {
        Ok(no) => no,
        Err(ParamError(tips)) => return error(codes::BAD_PARAMETER, tips),
    };
    let Some(refund) = lock(&state.douyin).refunds.get(out_refund_no) else {
        return error(codes::BAD_PARAMETER, "refund not found");
    };
    Json(json!({
        "err_no": codes::OK,
        "err_tips": "",
        "refundInfo": {
            "refund_no": refund.refund_no,
            "refund_amount": refund.refund_amount,
            "refund_status": refund.status.as_str(),
            "refunded_at": refund.refunded_at.unwrap_or_default(),
            "is_all_settled": refund.all_settle,
            "cp_extra": refund.cp_extra,
            "msg": refund.message(),
        },
    }))
}
