//! Ecpay v1 settlement endpoints: `settle` and `query_settle` (douyin.md §3).
//! Checks run in the platform's order: app, then sign, then business parameters.

use super::DouyinState;
use super::codes;
use super::ecpay::{CP_EXTRA_MAX_BYTES, paid_order};
use super::ecpay_auth::{EcpayBody, authenticate};
use super::envelope::{DouyinBody, error};
use super::orders::SandboxOrder;
use super::params::{self, ParamError};
use super::settle_params;
use super::settles::{NewSettle, SandboxSettle};
use crate::clock::now_secs;
use crate::notify_url;
use crate::settlement_rules::{self, MAX_SETTLES_PER_ORDER};
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

/// Checks the parameters, then the order: paid, split at most 30% to receivers, and
/// settleable now (see [`check_settleable`]).
fn accept(douyin: &mut DouyinState, params: &Map<String, Value>, now: i64) -> Result<SandboxSettle, ParamError> {
    let out_settle_no = params::required_merchant_no(params, "out_settle_no")?;
    let out_order_no = params::required_merchant_no(params, "out_order_no")?;
    let settle_desc = params::required_str(params, "settle_desc")?;
    params::max_chars("settle_desc", settle_desc, SETTLE_DESC_MAX_CHARS)?;
    let split = settle_params::parse(params::required_str(params, "settle_params")?)?;
    let cp_extra = params::optional_bounded_str(params, "cp_extra", CP_EXTRA_MAX_BYTES)?;
    let notify_url = params::optional_notify_url(params, "notify_url", notify_url::ECPAY)?;
    let finish = params::optional_str(params, "finish")?;
    let asks_final = match finish {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ParamError::new(
                "finish",
                format!("{other:?} is neither \"true\" nor \"false\""),
            ));
        }
    };

    let order = paid_order(&douyin.orders, out_order_no, now)?;
    settle_params::check_share(&split.receivers, order.total_amount)?;
    let earlier = check_settleable(douyin, &order, now)?;
    // The 50th settle is final whatever it asks for.
    let is_final = asks_final || earlier + 1 == MAX_SETTLES_PER_ORDER;
    let settle_amount = if is_final {
        order.total_amount - douyin.refunds.refunded_total(out_order_no) - douyin.settles.partial_total(out_order_no)
    } else {
        split.receivers.iter().map(|r| r.amount).sum()
    };
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
        is_final,
        settle_amount,
    };
    Ok(douyin.settles.create(settle, now))
}

/// The platform's settlement rules (douyin.md §3): 7 days after payment, not while a
/// refund of the order is in flight, and no more once its final settle (at the latest
/// the 50th) was made. The reference gives these refusals no code of their own: they
/// are answered 2010, its business-parameter error, the closest documented one.
/// Returns how many settles the order had so far (failed ones do not count).
fn check_settleable(douyin: &DouyinState, order: &SandboxOrder, now: i64) -> Result<usize, ParamError> {
    let no = order.out_order_no.as_str();
    if let Some(problem) = settlement_rules::too_early(order.paid_at.unwrap_or(now), now) {
        return Err(ParamError::new("out_order_no", format!("{no}: {problem}")));
    }
    let refunding = douyin.refunds.processing_total(no);
    if refunding > 0 {
        let problem = format!("{no}: a refund of {refunding} is in flight; settle once it has ended");
        return Err(ParamError::new("out_order_no", problem));
    }
    let (earlier, final_settle) = douyin.settles.standing(no);
    if let Some(final_settle) = final_settle {
        let problem = format!("{no}: settled by its final settlement {final_settle}; nothing is left to settle");
        return Err(ParamError::new("out_order_no", problem));
    }
    Ok(earlier)
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
