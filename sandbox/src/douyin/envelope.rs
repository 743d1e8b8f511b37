//! The platform's answer envelope (`err_no`, `err_tips`) and the body extractor that
//! answers malformed JSON with HTTP 400 in that envelope.

use crate::json_body::parse_object;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// `{"err_no": err_no, "err_tips": err_tips}`.
pub fn error(err_no: i64, err_tips: impl Into<String>) -> Json<Value> {
    Json(json!({ "err_no": err_no, "err_tips": err_tips.into() }))
}

/// The top-level object of a platform request. `MALFORMED_ERR_NO` is the `err_no` of
/// the 400 answer when the body is not a JSON object (each API family has its own).
pub struct DouyinBody<const MALFORMED_ERR_NO: i64>(pub Map<String, Value>);

impl<S: Send + Sync, const MALFORMED_ERR_NO: i64> FromRequest<S> for DouyinBody<MALFORMED_ERR_NO> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_object(&bytes)
            .map(DouyinBody)
            .map_err(|reason| (StatusCode::BAD_REQUEST, error(MALFORMED_ERR_NO, reason)).into_response())
    }
}
