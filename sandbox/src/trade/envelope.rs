//! The `trade_basic` answer envelope `{"err_no", "err_msg", "log_id", "data"}`
//! (douyin-trade.md §4; `data` only on success, always HTTP 200) and the body
//! extractor that answers a body that is not a JSON object in that envelope.

use super::codes;
use crate::clock::{beijing_compact, now_secs};
use crate::json_body::parse_object;
use crate::random;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A log id shaped like the platform's: Beijing time, then 20 hex digits.
pub fn log_id() -> String {
    let hex: String = random::alphanumeric(40)
        .chars()
        .filter(char::is_ascii_hexdigit)
        .chain(std::iter::repeat('0'))
        .take(20)
        .collect();
    format!("{}{}", beijing_compact(now_secs()), hex.to_uppercase())
}

pub fn ok(data: Value) -> Json<Value> {
    Json(json!({ "err_no": codes::OK, "err_msg": "success", "log_id": log_id(), "data": data }))
}

pub fn error(err_no: i64, err_msg: impl Into<String>) -> Json<Value> {
    Json(json!({ "err_no": err_no, "err_msg": err_msg.into(), "log_id": log_id() }))
}

/// The top-level object of a `trade_basic` request.
pub struct TradeBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for TradeBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_object(&bytes)
            .map(TradeBody)
            .map_err(|reason| error(codes::PARAMETER, reason).into_response())
    }
}
