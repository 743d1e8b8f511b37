//! Control routes for WeChat, under `/sandbox/wechat/`: log in, pay, fail, close,
//! finish refunds, and read orders and refunds back. Mirrors the `wechat_*` methods of
//! [`crate::Sandbox`]; without a WeChat config every route answers 400.

use super::error_response;
use crate::douyin::CallbackOptions;
use crate::error::SandboxError;
use crate::json_body::ControlJson;
use crate::state::SharedState;
use crate::wechat::{self, WechatOrder, WechatPayOptions, WechatRefundStatus};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/sandbox/wechat/login_code", post(login_code))
        .route("/sandbox/wechat/pay", post(pay))
        .route("/sandbox/wechat/fail_order", post(fail_order))
        .route("/sandbox/wechat/close_order", post(close_order))
        .route("/sandbox/wechat/user_paying", post(user_paying))
        .route("/sandbox/wechat/finish_refund", post(finish_refund))
        .route("/sandbox/wechat/orders/{out_trade_no}", get(order))
        .route("/sandbox/wechat/refunds/{out_refund_no}", get(refund))
}

#[derive(Deserialize)]
struct UserRequest {
    user: String,
}

/// `{"user"}` → `{"code", "openid"}`.
async fn login_code(State(state): State<SharedState>, ControlJson(request): ControlJson<UserRequest>) -> Response {
    match wechat::issue_code(&state, &request.user) {
        Ok((code, openid)) => Json(json!({ "code": code, "openid": openid })).into_response(),
        Err(error) => error_response(error),
    }
}

/// `{"out_trade_no", "deliveries", "total_fee", "tamper_signature", "extra_field",
/// "sign_type_field", "notify_url", "late"}`, all but the number optional.
#[derive(Deserialize)]
struct PayRequest {
    out_trade_no: String,
    #[serde(flatten)]
    options: WechatPayOptions,
}

fn deliveries_response(result: Result<Vec<crate::delivery::Delivery>, SandboxError>) -> Response {
    match result {
        Ok(deliveries) => Json(json!({ "deliveries": deliveries })).into_response(),
        Err(error) => error_response(error),
    }
}

/// `POST /sandbox/wechat/pay`: pays the order (SUCCESS) and sends the payment notify
/// `deliveries` times (default 1; 0 sends none). `total_fee` forges the notify's
/// amount, `extra_field` and `sign_type_field` add fields WeChat may send. An order that
/// is CLOSED, PAYERROR or past its `time_expire` is paid only with `"late": true`
/// (default false). Paying a paid order only resends the notify. `orderquery` reports
/// it paid from now on.
async fn pay(State(state): State<SharedState>, ControlJson(request): ControlJson<PayRequest>) -> Response {
    deliveries_response(wechat::payment::pay(&state, &request.out_trade_no, request.options).await)
}

#[derive(Deserialize)]
struct OrderRequest {
    out_trade_no: String,
}

fn order_response(result: Result<WechatOrder, SandboxError>) -> Response {
    result.map_or_else(error_response, |order| Json(order).into_response())
}

async fn fail_order(State(state): State<SharedState>, ControlJson(request): ControlJson<OrderRequest>) -> Response {
    order_response(wechat::payment::fail(&state, &request.out_trade_no))
}

async fn close_order(State(state): State<SharedState>, ControlJson(request): ControlJson<OrderRequest>) -> Response {
    order_response(wechat::payment::close(&state, &request.out_trade_no))
}

async fn user_paying(State(state): State<SharedState>, ControlJson(request): ControlJson<OrderRequest>) -> Response {
    order_response(wechat::payment::user_paying(&state, &request.out_trade_no))
}

/// The final `refund_status` a test asks for; required, so that a typo cannot pass as
/// success.
#[derive(Deserialize, Clone, Copy)]
enum RefundOutcome {
    #[serde(rename = "SUCCESS")]
    Success,
    /// 退款关闭. FAIL is accepted for it too: the word the Douyin routes use.
    #[serde(rename = "REFUNDCLOSE", alias = "FAIL")]
    RefundClose,
    /// 退款异常: the money could not go back to the payer's card.
    #[serde(rename = "CHANGE")]
    Change,
}

impl From<RefundOutcome> for WechatRefundStatus {
    fn from(outcome: RefundOutcome) -> WechatRefundStatus {
        match outcome {
            RefundOutcome::Success => WechatRefundStatus::Success,
            RefundOutcome::RefundClose => WechatRefundStatus::RefundClose,
            RefundOutcome::Change => WechatRefundStatus::Change,
        }
    }
}

/// `{"out_refund_no", "status", "deliveries", "tamper_signature", "notify_url"}`.
#[derive(Deserialize)]
struct FinishRefundRequest {
    out_refund_no: String,
    status: RefundOutcome,
    #[serde(flatten)]
    options: CallbackOptions,
}

/// `POST /sandbox/wechat/finish_refund`: ends the refund as `status` — "SUCCESS",
/// "REFUNDCLOSE" (or "FAIL", the same), or "CHANGE" (退款异常: the money could not go
/// back to the card; the refund stays CHANGE) — once, and sends the refund notify whose
/// `req_info` carries that `refund_status`, `deliveries` times at once (default 1; 0
/// sends none and needs no notify URL). `refundquery` reports the status from now on.
async fn finish_refund(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<FinishRefundRequest>,
) -> Response {
    let outcome = request.status.into();
    deliveries_response(wechat::refund_finish::finish(&state, &request.out_refund_no, outcome, request.options).await)
}

async fn order(State(state): State<SharedState>, Path(out_trade_no): Path<String>) -> Response {
    order_response(wechat::order(&state, &out_trade_no).ok_or(SandboxError::UnknownOrder(out_trade_no)))
}

async fn refund(State(state): State<SharedState>, Path(out_refund_no): Path<String>) -> Response {
    match wechat::refund(&state, &out_refund_no) {
        Some(refund) => Json(refund).into_response(),
        None => error_response(SandboxError::UnknownRefund(out_refund_no)),
    }
}
