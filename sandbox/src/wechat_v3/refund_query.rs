//! `GET /v3/refund/domestic/refunds/{out_refund_no}` (A.1): the Refund JSON, or 404
//! RESOURCE_NOT_EXISTS for a number WeChat never accepted.

use super::answer::V3Answer;
use super::api_error::V3Error;
use super::refund_json::refund_json;
use super::request::{V3Request, authenticate};
use crate::state::{SharedState, lock};
use axum::extract::{Path, State};
use axum::response::Response;

pub async fn query(
    State(state): State<SharedState>,
    Path(out_refund_no): Path<String>,
    request: V3Request,
) -> Response {
    let platform = match authenticate(&state, &request) {
        Ok(platform) => platform,
        Err(refusal) => return *refusal,
    };
    let result = lock(&state.wechat)
        .refunds
        .get(&out_refund_no)
        .map(|refund| V3Answer::Json(refund_json(&refund)))
        .ok_or_else(|| V3Error::not_exists("退款单不存在"));
    request.respond(platform, result)
}
