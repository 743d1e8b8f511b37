//! The merchant's API client certificate (wechat.md §8): `/secapi/` calls must come over
//! TLS with the certificate registered for the merchant. What WeChat answers otherwise
//! is what developers report: with no certificate the front end refuses before WeChat
//! Pay reads the request (nginx's HTTP 400 page "No required SSL certificate was sent",
//! zwczou/weixin-python#88); with another merchant's certificate WeChat Pay answers
//! `return_code` FAIL, `return_msg` "certificate not match" (supersheep/wechat-pay#43).

use super::answer::{XmlAnswer, communication_failure};
use crate::config::WechatSandboxConfig;
use crate::tls::{PeerCertificate, first_certificate_der};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The `return_msg` for a certificate that is not the merchant's.
pub const CERTIFICATE_NOT_MATCH: &str = "certificate not match";

/// The client certificate of the request's TLS connection; `None` over plain HTTP or
/// when the client sent none.
pub struct PresentedCertificate(pub Option<Vec<u8>>);

impl<S: Send + Sync> FromRequestParts<S> for PresentedCertificate {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let presented = parts
            .extensions
            .get::<ConnectInfo<PeerCertificate>>()
            .and_then(|ConnectInfo(PeerCertificate(cert))| cert.as_ref())
            .map(|cert| cert.as_ref().to_vec());
        Ok(PresentedCertificate(presented))
    }
}

/// nginx's answer to a request without a client certificate.
pub fn missing_certificate() -> Response {
    let page = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n\
                <center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n\
                <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// Whether `presented` is the merchant's registered certificate; the refusal if not.
pub fn registered(config: Option<&WechatSandboxConfig>, presented: &[u8]) -> Result<(), XmlAnswer> {
    let registered = config
        .and_then(|wechat| wechat.client_cert_pem.as_deref())
        .and_then(first_certificate_der);
    if registered.as_deref() == Some(presented) {
        Ok(())
    } else {
        Err(communication_failure(CERTIFICATE_NOT_MATCH))
    }
}
