//! Control routes for the trade system, under `/sandbox/trade/`: play `tt.requestOrder`,
//! the payer, the user asking for a refund, and the platform finishing refunds and
//! settlements; read everything back. Mirrors the `trade_*` methods of
//! [`crate::Sandbox`]; bodies and answers are the JSON forms of their arguments and
//! results. Without a trade config every operation answers 400.

use super::transfers::Outcome;
use super::{AgeRequest, error_response};
use crate::delivery::Delivery;
use crate::douyin::CallbackOptions;
use crate::error::SandboxError;
use crate::json_body::{ControlJson, control_error};
use crate::state::SharedState;
use crate::trade::{self, TradePayOptions};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/sandbox/trade/request_order", post(request_order))
        .route("/sandbox/trade/pay", post(pay))
        .route("/sandbox/trade/cancel", post(cancel))
        .route("/sandbox/trade/user_refund", post(user_refund))
        .route("/sandbox/trade/retry_user_refund", post(retry_user_refund))
        .route("/sandbox/trade/finish_refund", post(finish_refund))
        .route("/sandbox/trade/finish_settle", post(finish_settle))
        .route("/sandbox/trade/orders/{out_order_no}", get(order))
        .route("/sandbox/trade/orders/{out_order_no}/age", post(age_order))
        .route("/sandbox/trade/refunds/{refund_id}", get(refund))
        .route(
            "/sandbox/trade/refunds_by_out_no/{out_refund_no}",
            get(refund_by_out_no),
        )
        .route("/sandbox/trade/settles/{out_settle_no}", get(settle))
        .route("/sandbox/trade/client_tokens", get(client_tokens))
        .route("/sandbox/trade/expire_client_tokens", post(expire_client_tokens))
}

/// `{"data", "byteAuthorization"}`, as the mini-program hands them to `tt.requestOrder`.
#[derive(Deserialize)]
struct RequestOrderRequest {
    data: String,
    #[serde(rename = "byteAuthorization")]
    byte_authorization: String,
}

/// → `{"orderId"}`, or 400 `{"error"}` saying what is wrong.
async fn request_order(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<RequestOrderRequest>,
) -> Response {
    match trade::request_order::request_order(&state, &request.data, &request.byte_authorization) {
        Ok(order_id) => Json(json!({ "orderId": order_id })).into_response(),
        Err(error) => control_error(StatusCode::BAD_REQUEST, error),
    }
}

fn deliveries_response(result: Result<Vec<Delivery>, SandboxError>) -> Response {
    match result {
        Ok(deliveries) => Json(json!({ "deliveries": deliveries })).into_response(),
        Err(error) => error_response(error),
    }
}

/// `{"out_order_no", "pay_channel", "late", "deliveries", "tamper_signature",
/// "notify_url"}`, all but the number optional.
#[derive(Deserialize)]
struct PayRequest {
    out_order_no: String,
    #[serde(flatten)]
    options: TradePayOptions,
}

/// `POST /sandbox/trade/pay`: pays the trade order (SUCCESS) by `pay_channel` (1
/// WeChat, 2 Alipay, 10 Douyin Pay, the default) and sends the `payment` callback
/// `deliveries` times (default 1; 0 sends none). An order that was cancelled or expired
/// is paid only with `"late": true` (default false); it keeps its `cancel`. Paying a
/// paid order only resends the callback. `order_query/` reports it paid from now on.
async fn pay(State(state): State<SharedState>, ControlJson(request): ControlJson<PayRequest>) -> Response {
    deliveries_response(trade::payment::pay(&state, &request.out_order_no, request.options).await)
}

/// `{"out_order_no", "message": "USER_CANCEL"|"TIME_OUT", "deliveries", …}`.
#[derive(Deserialize)]
struct CancelRequest {
    out_order_no: String,
    message: String,
    #[serde(flatten)]
    options: CallbackOptions,
}

async fn cancel(State(state): State<SharedState>, ControlJson(request): ControlJson<CancelRequest>) -> Response {
    deliveries_response(trade::payment::cancel(&state, &request.out_order_no, &request.message, request.options).await)
}

/// `{"out_order_no", "amount", "reason", "deliveries", …}` →
/// `{"refund_id", "deliveries", "out_refund_no"}` (`out_refund_no` null: no refund yet;
/// the application is pending, see `retry_user_refund`). The order need only be paid on
/// the platform: paid with `"deliveries": 0`, the backend does not know it as paid yet.
#[derive(Deserialize)]
struct UserRefundRequest {
    out_order_no: String,
    amount: i64,
    reason: String,
    #[serde(flatten)]
    options: CallbackOptions,
}

async fn user_refund(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<UserRefundRequest>,
) -> Response {
    let result = trade::user_refund::user_refund(
        &state,
        &request.out_order_no,
        request.amount,
        &request.reason,
        request.options,
    )
    .await;
    result.map_or_else(error_response, |made| Json(made).into_response())
}

/// `{"refund_id", "deliveries", …}`.
#[derive(Deserialize)]
struct RetryUserRefundRequest {
    refund_id: String,
    #[serde(flatten)]
    options: CallbackOptions,
}

/// `POST /sandbox/trade/retry_user_refund`: the platform sends a pending refund
/// application (`pre_create_refund` with no good reply yet) again, the same `msg`. →
/// like `user_refund`; 409 when its refund was made already, 404 for an unknown id.
async fn retry_user_refund(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<RetryUserRefundRequest>,
) -> Response {
    let result = trade::user_refund::retry(&state, &request.refund_id, request.options).await;
    result.map_or_else(error_response, |made| Json(made).into_response())
}

/// `{"refund_id", "status": "SUCCESS"|"FAIL", "deliveries", …}`.
#[derive(Deserialize)]
struct FinishRefundRequest {
    refund_id: String,
    status: Outcome,
    #[serde(flatten)]
    options: CallbackOptions,
}

/// `POST /sandbox/trade/finish_refund`: the refund ends as `status`, once, and the
/// `refund` callback goes out `deliveries` times (default 1; 0 sends none).
/// `refund_query/` reports the outcome from now on.
async fn finish_refund(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<FinishRefundRequest>,
) -> Response {
    let success = matches!(request.status, Outcome::Success);
    deliveries_response(trade::refund_finish::finish(&state, &request.refund_id, success, request.options).await)
}

/// `{"out_settle_no", "status": "SUCCESS"|"FAIL", "deliveries", …}`.
#[derive(Deserialize)]
struct FinishSettleRequest {
    out_settle_no: String,
    status: Outcome,
    #[serde(flatten)]
    options: CallbackOptions,
}

/// `POST /sandbox/trade/finish_settle`: the settlement ends as `status`, once, and the
/// `settle` callback goes out `deliveries` times (default 1; 0 sends none).
/// `settle_query/` reports the outcome from now on.
async fn finish_settle(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<FinishSettleRequest>,
) -> Response {
    let success = matches!(request.status, Outcome::Success);
    deliveries_response(trade::settle_finish::finish(&state, &request.out_settle_no, success, request.options).await)
}

/// `POST /sandbox/trade/orders/{out_order_no}/age` `{"days"}`: like the ecpay route,
/// for a paid trade order. → the order.
async fn age_order(
    State(state): State<SharedState>,
    Path(out_order_no): Path<String>,
    ControlJson(request): ControlJson<AgeRequest>,
) -> Response {
    match trade::payment::age(&state, &out_order_no, request.days) {
        Ok(order) => Json(order).into_response(),
        Err(error) => error_response(error),
    }
}

async fn order(State(state): State<SharedState>, Path(out_order_no): Path<String>) -> Response {
    match trade::order(&state, &out_order_no) {
        Some(order) => Json(order).into_response(),
        None => error_response(SandboxError::UnknownOrder(out_order_no)),
    }
}

async fn refund(State(state): State<SharedState>, Path(refund_id): Path<String>) -> Response {
    match trade::refund(&state, &refund_id) {
        Some(refund) => Json(refund).into_response(),
        None => error_response(SandboxError::UnknownRefund(refund_id)),
    }
}

async fn refund_by_out_no(State(state): State<SharedState>, Path(out_refund_no): Path<String>) -> Response {
    match trade::refund_by_out_no(&state, &out_refund_no) {
        Some(refund) => Json(refund).into_response(),
        None => error_response(SandboxError::UnknownRefund(out_refund_no)),
    }
}

async fn settle(State(state): State<SharedState>, Path(out_settle_no): Path<String>) -> Response {
    match trade::settle(&state, &out_settle_no) {
        Some(settle) => Json(settle).into_response(),
        None => error_response(SandboxError::UnknownSettle(out_settle_no)),
    }
}

/// → `{"fetches"}`: how many client tokens were issued.
async fn client_tokens(State(state): State<SharedState>) -> Json<serde_json::Value> {
    Json(json!({ "fetches": trade::client_token_fetches(&state) }))
}

async fn expire_client_tokens(State(state): State<SharedState>) -> Json<serde_json::Value> {
    trade::expire_client_tokens(&state);
    Json(json!({ "ok": true }))
}
