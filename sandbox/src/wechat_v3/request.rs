//! What every v3 call passes first, as on WeChat Pay (A.2, A.3): `Accept` and
//! `User-Agent` present, then the `Authorization` header — schema
//! `WECHATPAY2-SHA256-RSA2048`, fields in any order, our `mchid`, the merchant
//! certificate's `serial_no`, a timestamp within five minutes, and the merchant's
//! signature over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` with the exact bytes sent.

use super::answer::{respond, unconfigured};
use super::api_error::V3Error;
use super::keys::verifies;
use super::platform::V3Platform;
use crate::clock::now_secs;
use crate::state::State;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// The schema of every request's `Authorization`.
pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";
/// How far a request's timestamp may be from WeChat's clock.
pub const MAX_SKEW_SECS: i64 = 300;
/// WeChat's words for a request without `Accept` or `User-Agent`.
pub const MISSING_HEADERS: &str = "Http头缺少Accept或User-Agent";

/// A v3 request as it came: what its signature covers, and its headers.
#[derive(Debug, Clone)]
pub struct V3Request {
    pub method: Method,
    /// The path and query as sent (the query inside the signature).
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl V3Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The key the caller can verify answers with (A.3): selects the answer's key while
    /// switching.
    pub fn wechatpay_serial(&self) -> Option<&str> {
        self.header("wechatpay-serial")
    }

    /// The signed answer to this request.
    pub fn respond(&self, platform: &V3Platform, result: Result<super::answer::V3Answer, V3Error>) -> Response {
        respond(platform, self.wechatpay_serial(), result)
    }
}

impl<S: Send + Sync> FromRequest<S> for V3Request {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let method = request.method().clone();
        let path_and_query = request
            .uri()
            .path_and_query()
            .map_or_else(|| request.uri().path().to_owned(), |pq| pq.as_str().to_owned());
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(V3Request {
            method,
            path_and_query,
            headers,
            body,
        })
    }
}

/// The platform, when the request passes; else the (signed) refusal.
pub fn authenticate<'a>(state: &'a State, request: &V3Request) -> Result<&'a V3Platform, Box<Response>> {
    let (Some(platform), Some(wechat)) = (state.wechat_v3.as_ref(), state.config.wechat.as_ref()) else {
        return Err(Box::new(unconfigured()));
    };
    let refusal = |error: V3Error| Box::new(request.respond(platform, Err(error)));
    if request.header("accept").is_none() || request.header("user-agent").is_none() {
        return Err(refusal(V3Error::invalid(MISSING_HEADERS)));
    }
    check_authorization(platform, &wechat.mch_id, request, now_secs()).map_err(refusal)?;
    Ok(platform)
}

fn check_authorization(platform: &V3Platform, mch_id: &str, request: &V3Request, now: i64) -> Result<(), V3Error> {
    let header = request
        .header("authorization")
        .ok_or_else(|| V3Error::sign("Authorization header missing"))?;
    let fields = parse_authorization(header)?;
    let field = |name: &str| {
        fields
            .get(name)
            .copied()
            .filter(|value| !value.is_empty())
            .ok_or_else(|| V3Error::sign(format!("Authorization lacks {name}")))
    };
    if field("mchid")? != mch_id {
        return Err(V3Error::sign("mchid is not the merchant's"));
    }
    if !field("serial_no")?.eq_ignore_ascii_case(&platform.config.merchant_cert_serial) {
        return Err(V3Error::sign("serial_no is not the merchant API certificate's"));
    }
    let timestamp = field("timestamp")?;
    let at = timestamp
        .parse::<i64>()
        .map_err(|_| V3Error::sign("timestamp is not unix seconds"))?;
    if (now - at).abs() > MAX_SKEW_SECS {
        return Err(V3Error::sign("timestamp is more than five minutes off"));
    }
    let nonce = field("nonce_str")?;
    let mut message = format!("{}\n{}\n{timestamp}\n{nonce}\n", request.method, request.path_and_query).into_bytes();
    message.extend_from_slice(&request.body);
    message.push(b'\n');
    if !verifies(&platform.keys.merchant_public_der, &message, field("signature")?) {
        return Err(V3Error::sign("sign not match"));
    }
    Ok(())
}

/// `WECHATPAY2-SHA256-RSA2048 k1="v1",k2="v2",...`: the fields, in any order.
fn parse_authorization(header: &str) -> Result<HashMap<&str, &str>, V3Error> {
    let (schema, rest) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| V3Error::sign("Authorization is not `schema fields`"))?;
    if schema != SCHEMA {
        return Err(V3Error::sign(format!("Authorization schema is not {SCHEMA}")));
    }
    let mut fields = HashMap::new();
    for part in rest.split(',') {
        let (name, quoted) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| V3Error::sign("Authorization field without a value"))?;
        let value = quoted
            .strip_prefix('"')
            .and_then(|value| value.strip_suffix('"'))
            .ok_or_else(|| V3Error::sign(format!("Authorization field {name} is not quoted")))?;
        if fields.insert(name.trim(), value).is_some() {
            return Err(V3Error::sign(format!("Authorization field {name} twice")));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_fields_parse_in_any_order() {
        let fields =
            parse_authorization(r#"WECHATPAY2-SHA256-RSA2048 signature="a=b",mchid="1", nonce_str="n",timestamp="2""#)
                .unwrap();
        assert_eq!(fields["signature"], "a=b");
        assert_eq!(fields["mchid"], "1");
        assert_eq!(fields["nonce_str"], "n");
        for bad in [
            r#"WECHATPAY2-SHA256-RSA2048"#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid=1"#,
            r#"WECHATPAY2-SHA256 mchid="1""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2""#,
            r#"Bearer x"#,
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }
}
