//! Control routes for refunds and settlements: finish them (playing the platform's
//! money movement) and read them back.

use super::error_response;
use crate::douyin::{self, CallbackOptions};
use crate::error::SandboxError;
use crate::json_body::ControlJson;
use crate::state::SharedState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/sandbox/finish_refund", post(finish_refund))
        .route("/sandbox/finish_settle", post(finish_settle))
        .route("/sandbox/refunds/{out_refund_no}", get(refund))
        .route("/sandbox/settles/{out_settle_no}", get(settle))
}

/// The outcome a test asks for; required, so that a typo cannot pass as success.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum Outcome {
    Success,
    Fail,
}

/// `{"out_refund_no", "status", "deliveries", "tamper_signature", "notify_url"}`.
#[derive(Deserialize)]
struct FinishRefundRequest {
    out_refund_no: String,
    status: Outcome,
    #[serde(flatten)]
    options: CallbackOptions,
}

/// `{"out_settle_no", "status", "deliveries", "tamper_signature", "notify_url"}`.
#[derive(Deserialize)]
struct FinishSettleRequest {
    out_settle_no: String,
    status: Outcome,
    #[serde(flatten)]
    options: CallbackOptions,
}

fn deliveries_response(result: Result<Vec<douyin::Delivery>, SandboxError>) -> Response {
    match result {
        Ok(deliveries) => Json(json!({ "deliveries": deliveries })).into_response(),
        Err(error) => error_response(error),
    }
}

/// `POST /sandbox/finish_refund`: the ecpay refund ends as `status` ("SUCCESS" |
/// "FAIL"), once, and the refund callback goes out `deliveries` times (default 1; 0
/// sends none). `query_refund` reports the outcome from now on.
async fn finish_refund(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<FinishRefundRequest>,
) -> Response {
    let success = matches!(request.status, Outcome::Success);
    deliveries_response(douyin::refund_finish::finish(&state, &request.out_refund_no, success, request.options).await)
}

/// `POST /sandbox/finish_settle`: the ecpay settlement ends as `status` ("SUCCESS" |
/// "FAIL"), once, settling the order total minus the refunds done by now, and the
/// settle callback goes out `deliveries` times (default 1; 0 sends none).
/// `query_settle` reports the outcome from now on.
async fn finish_settle(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<FinishSettleRequest>,
) -> Response {
    let success = matches!(request.status, Outcome::Success);
    deliveries_response(douyin::settle_finish::finish(&state, &request.out_settle_no, success, request.options).await)
}

async fn refund(State(state): State<SharedState>, Path(out_refund_no): Path<String>) -> Response {
    match douyin::refund(&state, &out_refund_no) {
        Some(refund) => Json(refund).into_response(),
        None => error_response(SandboxError::UnknownRefund(out_refund_no)),
    }
}

async fn settle(State(state): State<SharedState>, Path(out_settle_no): Path<String>) -> Response {
    match douyin::settle(&state, &out_settle_no) {
        Some(settle) => Json(settle).into_response(),
        None => error_response(SandboxError::UnknownSettle(out_settle_no)),
    }
}
