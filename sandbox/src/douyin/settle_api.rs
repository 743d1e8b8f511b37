//! Ecpay v1 settlement endpoints: `settle` and `query_settle` (douyin.md §3).
//! Checks run in the platform's order: app, then sign, then business parameters.

use super::DouyinState;
use super::codes;
use super::ecpay::{CP_EXTRA_MAX_BYTES, NOTIFY_URL_MAX_BYTES, paid_order};
use super::ecpay_auth::{EcpayBody, authenticate};
use super::envelope::{DouyinBody, error};
use super::params::{self, ParamError};
use super::settle_params;
use super::settles::{NewSettle, SandboxSettle};
use crate::clock::now_secs;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

const SETTLE_DESC_MAX_CHARS: usize = 80;

/// `POST /api/apps/ecpay/v1/settle`: idempotent on `out_settle_no`, whose first
/// answer (success or refusal) is replayed to every later call.
pub async fn settle(State(state): State<SharedState>, DouyinBody(params): EcpayBody) -> Json<Value> {
    // An array or object `settle_params` fails here already: nested values cannot be signed.
    if let Err(answer) = authenticate(&state.config, &params) {
        return answer;
    }
    let out_settle_no = match params::required_merchant_no(&params, "out_settle_no") {
        Ok(no) => no,
        // Without a usable number there is nothing to be idempotent on.
        Err(ParamError(tips)) => return error(codes::BAD_PARAMETER, tips),
    };
    let mut douyin = lock(&state.douyin);
    if let Some(first) = douyin.settles.answers.get(out_settle_no) {
        return Json(first);
    }
    let answer = match accept(&mut douyin, &params, now_secs()) {
        Ok(settle) => json!({ "err_no": codes::OK, "err_tips": "", "settle_no": settle.settle_no }),
        Err(ParamError(tips)) => error(codes::BAD_PARAMETER, tips).0,
    };
    Json(douyin.settles.answers.remember(out_settle_no, answer))
}

/// Checks the parameters, then the order: paid, and split at most 30% to receivers.
fn accept(douyin: &mut DouyinState, params: &Map<String, Value>, now: i64) -> Result<SandboxSettle, ParamError> {
    let out_settle_no = params::required_merchant_no(params, "out_settle_no")?;
    let out_order_no = params::required_merchant_no(params, "out_order_no")?;
    let settle_desc = params::required_str(params, "settle_desc")?;
    params::max_chars("settle_desc", settle_desc, SETTLE_DESC_MAX_CHARS)?;
    let split = settle_params::parse(params::required_str(params, "settle_params")?)?;
    let cp_extra = params::optional_bounded_str(params, "cp_extra", CP_EXTRA_MAX_BYTES)?;
    let notify_url = params::optional_bounded_str(params, "notify_url", NOTIFY_URL_MAX_BYTES)?;
    // Documented as a string ("true"/"false"); only its type is checked.
    let finish = params::optional_str(params, "finish")?;

    let order = paid_order(&douyin.orders, out_order_no, now)?;
    settle_params::check_share(&split.receivers, order.total_amount)?;
    let settle = NewSettle {
        out_settle_no: out_settle_no.to_owned(),
        out_order_no: out_order_no.to_owned(),
        order_id: order.order_id,
        order_total: order.total_amount,
        settle_desc: settle_desc.to_owned(),
        settle_params: split,
        cp_extra: cp_extra.unwrap_or_default().to_owned(),
        notify_url: notify_url.map(str::to_owned).or(order.notify_url),
        finish: finish.map(str::to_owned),
        settle_amount: order.total_amount - douyin.refunds.refunded_total(out_order_no),
    };
    Ok(douyin.settles.create(settle, now))
}

/// `POST /api/apps/ecpay/v1/query_settle`.
pub async fn query_settle(State(state): State<SharedState>, DouyinBody(params): EcpayBody) -> Json<Value> {
    if let Err(answer) = authenticate(&state.config, &params) {
        return answer;
    }
    let out_settle_no = match params::required_merchant_no(&params, "out_settle_no") {
        Ok(no) => no,
        Err(ParamError(tips)) => return error(codes::BAD_PARAMETER, tips),
    };
    let Some(settle) = lock(&state.douyin).settles.get(out_settle_no) else {
        return error(codes::BAD_PARAMETER, "settle not found");
    };
    Json(json!({
        "err_no": codes::OK,
        "err_tips": "",
        "settle_info": {
            "settle_no": settle.settle_no,
            "settle_amount": settle.settle_amount,
            "settle_status": settle.status.as_str(),
            "settle_detail": settle.settle_detail,
            "settled_at": settle.settled_at.unwrap_or_default(),
            "rake": settle.rake,
            "commission": 0,
            "cp_extra": settle.cp_extra,
            "msg": settle.message(),
        },
    }))
}
