//! The HTTP edge: events in, answers out. Bodies are bounded, parsed strictly and
//! every failure becomes the contract's error envelope.

use crate::error::ApiError;
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

/// An answer handed to `lambda_http::run` as it is. lambda_http's own conversion of a
/// `Response<Body>` collects every text body again and decodes it by its charset with
/// `encoding_rs`, whose tables (150 KB) were then in every HTTP function; minipay's
/// answers are UTF-8 text (JSON, XML, HTML, CSV) already, so nothing needs converting.
pub struct Answer(pub Response<Body>);

impl lambda_http::IntoResponse for Answer {
    fn into_response(self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

/// Largest request body read; a larger one is refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn json_response(status: u16, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(text))
        .expect("static status and header are valid")
}

pub fn error_response(err: &ApiError) -> Response<Body> {
    json_response(
        err.code.status(),
        &serde_json::json!({"error": {"code": err.code, "message": err.message}}),
    )
}

/// A handler's result as an answer.
pub fn respond<T: Serialize>(result: Result<T, ApiError>) -> Response<Body> {
    match result {
        Ok(body) => json_response(200, &body),
        Err(err) => {
            if err.code.status() >= 500 {
                tracing::warn!(code = ?err.code, message = %err.message, "request failed");
            }
            error_response(&err)
        }
    }
}

/// The body's exact bytes, refused when over the limit.
pub fn raw_body(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid(format!(
            "request body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// The body as a JSON object of type `T`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = raw_body(req)?;
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("request body is not UTF-8"))?;
    if text.trim().is_empty() {
        return Err(ApiError::invalid("request body is empty; send a JSON object"));
    }
    serde_json::from_str(text).map_err(|e| ApiError::invalid(format!("request body is not valid: {e}")))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks the admin key in constant time.
pub fn require_admin(req: &Request, admin_key: Option<&crate::secret::Secret>) -> Result<(), ApiError> {
    let refused = || ApiError::unauthorized("a valid admin key is required");
    let (Some(given), Some(key)) = (bearer(req), admin_key) else {
        return Err(refused());
    };
    if bool::from(given.as_bytes().ct_eq(key.expose().as_bytes())) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// The path's segments, wherever the event came from: API Gateway (with or without a
/// stage), a function URL, or `cargo lambda watch`.
pub fn segments(req: &Request) -> Vec<&str> {
    req.uri().path().split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether the request is `method` on a path ending with `tail`.
pub fn is_route(req: &Request, method: &Method, tail: &[&str]) -> bool {
    req.method() == method && segments(req).ends_with(tail)
}

/// The caller's IP, as API Gateway saw it (WeChat wants it on every order).
pub fn client_ip(req: &Request) -> String {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let from_context = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    let forwarded = || {
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
    };
    from_context
        .or_else(forwarded)
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

pub fn unknown_route(req: &Request) -> ApiError {
    ApiError::not_found(format!("no route for {} {}", req.method(), req.uri().path()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[tokio::test]
    async fn an_answer_reaches_lambda_as_it_was_made() {
        use lambda_http::IntoResponse as _;
        let made = json_response(201, &serde_json::json!({"订单": "已支付", "quote": "\""}));
        let (parts, body) = Answer(made).into_response().await.into_parts();
        assert_eq!(parts.status, 201);
        assert_eq!(parts.headers[header::CONTENT_TYPE], "application/json");
        match body {
            Body::Text(text) => assert_eq!(text, r#"{"quote":"\"","订单":"已支付"}"#),
            other => panic!("{other:?}"),
        }
    }

    fn request(auth: Option<&str>, body: &[u8]) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST").uri("/prod/openid");
        if let Some(a) = auth {
            builder = builder.header("authorization", a);
        }
        builder.body(Body::Binary(body.to_vec())).unwrap()
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer(&request(Some("Bearer abc"), b"")), Some("abc"));
        assert_eq!(bearer(&request(Some("bearer  abc "), b"")), Some("abc"));
        assert_eq!(bearer(&request(Some("Basic abc"), b"")), None);
        assert_eq!(bearer(&request(Some("Bearer "), b"")), None);
        assert_eq!(bearer(&request(None, b"")), None);
    }

    #[test]
    fn admin_key_is_checked() {
        let key = Secret::new("k3y");
        assert!(require_admin(&request(Some("Bearer k3y"), b""), Some(&key)).is_ok());
        assert!(require_admin(&request(Some("Bearer k3"), b""), Some(&key)).is_err());
        assert!(require_admin(&request(Some("Bearer k3y"), b""), None).is_err());
    }

    #[test]
    fn bodies_are_bounded_and_strict() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Login {
            code: String,
        }
        assert!(json_body::<Login>(&request(None, br#"{"code":"x"}"#)).is_ok());
        for bad in [&b""[..], b"{", b"[]", br#"{"code":1}"#, b"\xff\xfe", br#"{"cod":"x"}"#] {
            let err = json_body::<Login>(&request(None, bad)).unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::InvalidRequest, "{bad:?}");
        }
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(
            json_body::<Login>(&request(None, &huge))
                .unwrap_err()
                .message
                .contains("larger")
        );
    }

    #[test]
    fn routes_match_on_the_path_tail() {
        let req = request(None, b"");
        assert!(is_route(&req, &Method::POST, &["openid"]));
        assert!(!is_route(&req, &Method::GET, &["openid"]));
        assert!(!is_route(&req, &Method::POST, &["prepay"]));
    }
}
