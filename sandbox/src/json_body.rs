//! Request bodies read strictly: the raw bytes must be one JSON value of the expected
//! shape, whatever the Content-Type says (the platform does not care either).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The top-level JSON object of a body, or why it is not one.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("body is not a JSON object".into()),
        Err(e) => Err(format!("malformed JSON body: {e}")),
    }
}

/// A control-API body; a bad one is answered 400 `{"error": "..."}`.
pub struct ControlJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ControlJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes)
            .map(ControlJson)
            .map_err(|e| control_error(StatusCode::BAD_REQUEST, e))
    }
}

/// The control API's error answer.
pub fn control_error(status: StatusCode, error: impl ToString) -> Response {
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}
