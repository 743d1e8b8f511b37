//! Every v3 answer, errors included, is signed (A.4) and carries a `Request-ID` (A.2):
//! the `Wechatpay-*` headers over `TIMESTAMP\nNONCE\nBODY\n`, a 204's body being empty.

use super::api_error::V3Error;
use super::platform::{Signing, V3Platform};
use crate::random;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum V3Answer {
    /// 200 with this JSON.
    Json(Value),
    /// 204, no body (close).
    NoContent,
}

/// The signed response for `result`; `request_serial` is the request's `Wechatpay-Serial`.
pub fn respond(platform: &V3Platform, request_serial: Option<&str>, result: Result<V3Answer, V3Error>) -> Response {
    let (status, body) = match result {
        Ok(V3Answer::Json(value)) => (StatusCode::OK, value.to_string()),
        Ok(V3Answer::NoContent) => (StatusCode::NO_CONTENT, String::new()),
        Err(error) => (error.status, error.body().to_string()),
    };
    let signed = platform.sign(Signing::Answer { request_serial }, &body);
    let mut response = if body.is_empty() {
        status.into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("Request-ID", header_value(&request_id()));
    for (name, value) in signed.pairs() {
        headers.insert(HeaderName::from_static(lower(name)), header_value(value));
    }
    response
}

/// The answer of a `/v3/` path while APIv3 is off: unsigned, since there is no key.
pub fn unconfigured() -> Response {
    let error = V3Error::invalid("sandbox: WeChat Pay APIv3 is not configured (SANDBOX_WECHAT_V3_*)");
    (error.status, axum::Json(error.body())).into_response()
}

/// A `Request-ID` shaped like WeChat's: 08 + hex.
fn request_id() -> String {
    format!("08{}", random::alphanumeric(30).to_uppercase())
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("signature headers are ASCII")
}

/// Header names as `HeaderName::from_static` takes them (lower case).
fn lower(name: &'static str) -> &'static str {
    match name {
        "Wechatpay-Timestamp" => "wechatpay-timestamp",
        "Wechatpay-Nonce" => "wechatpay-nonce",
        "Wechatpay-Signature" => "wechatpay-signature",
        "Wechatpay-Serial" => "wechatpay-serial",
        "Wechatpay-Signature-Type" => "wechatpay-signature-type",
        other => unreachable!("no such signature header {other}"),
    }
}
