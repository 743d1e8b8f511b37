//! Ecpay v1 order endpoints: `create_order` and `query_order` (douyin.md §3, §4), and
//! the order limits refunds and settlements share. Checks run in the platform's
//! order: app, then sign, then business parameters.

use super::codes;
use super::ecpay_auth::{EcpayBody, ID_MAX_BYTES, authenticate};
use super::envelope::{DouyinBody, error};
use super::orders::{NewOrder, OrderBook, OrderStatus, SandboxOrder};
use super::params::{self, ParamError};
use crate::clock::{beijing_datetime, now_secs};
use crate::config::SandboxConfig;
use crate::notify_url;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

/// Fen; refunds share the range.
pub const AMOUNT_RANGE: std::ops::RangeInclusive<i64> = 1..=10_000_000_000;
const VALID_TIME_RANGE: std::ops::RangeInclusive<i64> = 300..=172_800;
const TEXT_MAX_BYTES: usize = 128;
const TEXT_MAX_CHARS: usize = 42;
pub const CP_EXTRA_MAX_BYTES: usize = 2048;

fn out_order_no(params: &Map<String, Value>) -> Result<&str, ParamError> {
    params::required_merchant_no(params, "out_order_no")
}

/// The `create_order` parameters, checked against the field table of douyin.md §3.
fn new_order(params: &Map<String, Value>, config: &SandboxConfig) -> Result<NewOrder, ParamError> {
    let out_order_no = out_order_no(params)?;
    let total_amount = params::required_int(params, "total_amount", AMOUNT_RANGE)?;
    let subject = params::required_str(params, "subject")?;
    let body = params::required_str(params, "body")?;
    for (field, text) in [("subject", subject), ("body", body)] {
        params::max_bytes(field, text, TEXT_MAX_BYTES)?;
        params::max_chars(field, text, TEXT_MAX_CHARS)?;
    }
    let valid_time = params::required_int(params, "valid_time", VALID_TIME_RANGE)?;
    let notify_url = params::optional_notify_url(params, "notify_url", notify_url::ECPAY)?;
    let cp_extra = params::optional_str(params, "cp_extra")?.unwrap_or_default();
    check_optional_fields(params)?;
    Ok(NewOrder {
        out_order_no: out_order_no.to_owned(),
        total_amount,
        subject: subject.to_owned(),
        body: body.to_owned(),
        valid_time,
        // Silently truncated by the platform, not refused (douyin.md §3).
        cp_extra: params::truncate_bytes(cp_extra, CP_EXTRA_MAX_BYTES).to_owned(),
        notify_url: notify_url.map(str::to_owned).or_else(|| config.notify_url.clone()),
    })
}

/// Optional fields the sandbox does not act on but still type-checks, so that a
/// client sending them wrongly finds out.
fn check_optional_fields(params: &Map<String, Value>) -> Result<(), ParamError> {
    for field in ["store_uid", "limit_pay_way"] {
        params::optional_bounded_str(params, field, ID_MAX_BYTES)?;
    }
    // Sent as a JSON string (douyin.md §3); an object would already have failed the sign.
    params::optional_str(params, "expand_order_info")?;
    params::optional_str(params, "msg_page")?;
    params::optional_int(params, "disable_msg", 0..=1)?;
    Ok(())
}

/// The order a refund or settlement acts on: it must exist and be paid.
pub fn paid_order(orders: &OrderBook, out_order_no: &str, now: i64) -> Result<SandboxOrder, ParamError> {
    let order = orders
        .get(out_order_no, now)
        .ok_or_else(|| ParamError::new("out_order_no", format!("{out_order_no}: order not found")))?;
    if order.status != OrderStatus::Success {
        let problem = format!("{out_order_no}: order is {}, not paid", order.status.as_str());
        return Err(ParamError::new("out_order_no", problem));
    }
    Ok(order)
}

/// `POST /api/apps/ecpay/v1/create_order`.
pub async fn create_order(State(state): State<SharedState>, DouyinBody(params): EcpayBody) -> Json<Value> {
    if let Err(answer) = authenticate(&state.config, &params) {
        return answer;
    }
    let mut douyin = lock(&state.douyin);
    let order = match new_order(&params, &state.config) {
        Ok(order) => order,
        Err(ParamError(tips)) => {
            if let Some(no) = params.get("out_order_no").and_then(Value::as_str) {
                douyin.orders.remember_failure(no);
            }
            return error(codes::BAD_PARAMETER, tips);
        }
    };
    if douyin.orders.first_call_failed(&order.out_order_no) {
        let tips = format!(
            "参数错误: out_order_no {} was used by a failed order; use a new number",
            order.out_order_no
        );
        return error(codes::BAD_PARAMETER, tips);
    }
    let order = douyin.orders.create(order, now_secs());
    Json(json!({
        "err_no": codes::OK,
        "err_tips": "",
        "data": { "order_id": order.order_id, "order_token": order.order_token },
    }))
}

/// `POST /api/apps/ecpay/v1/query_order`: the answer is top level, without `data`.
pub async fn query_order(State(state): State<SharedState>, DouyinBody(params): EcpayBody) -> Json<Value> {
    if let Err(answer) = authenticate(&state.config, &params) {
        return answer;
    }
    let out_order_no = match out_order_no(&params) {
        Ok(no) => no,
        Err(ParamError(tips)) => return error(codes::BAD_PARAMETER, tips),
    };
    let Some(order) = lock(&state.douyin).orders.get(out_order_no, now_secs()) else {
        return error(codes::NO_PAYMENT_RECORD, "no payment record");
    };
    Json(json!({
        "err_no": codes::OK,
        "err_tips": "",
        "out_order_no": order.out_order_no,
        "order_id": order.order_id,
        "payment_info": {
            "total_fee": order.total_amount,
            "order_status": order.status.as_str(),
            "pay_time": order.paid_at.map(beijing_datetime).unwrap_or_default(),
            "way": 2,
            "channel_no": "",
            "channel_gateway_no": "",
            "seller_uid": "",
            "item_id": "",
            "cp_extra": order.cp_extra,
        },
    }))
}
