//! WeChat Pay request bodies: one flat `<xml>`, fields in any order, values as text or
//! CDATA, read by the sandbox's own [`super::xml`] (a DOCTYPE is refused). A body that
//! is not such XML is answered `return_code` FAIL, whatever the Content-Type says.

use super::Fields;
use super::answer::{XmlAnswer, communication_failure};
use super::xml::parse_flat;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

/// The fields of a WeChat Pay request.
pub struct WechatXml(pub Fields);

/// Why a body is not a request, as WeChat's `return_msg` (its error code names).
pub fn parse(bytes: &[u8]) -> Result<Fields, XmlAnswer> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(communication_failure("POST_DATA_EMPTY"));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(communication_failure("NOT_UTF8"));
    }
    parse_flat(bytes).map_err(|_| communication_failure("XML_FORMAT_ERROR"))
}

impl<S: Send + Sync> FromRequest<S> for WechatXml {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse(&bytes).map(WechatXml).map_err(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn return_msg(body: &[u8]) -> String {
        let XmlAnswer(xml) = parse(body).unwrap_err();
        parse_flat(xml.as_bytes()).unwrap()["return_msg"].clone()
    }

    #[test]
    fn refuses_what_is_not_flat_xml() {
        assert_eq!(return_msg(b""), "POST_DATA_EMPTY");
        assert_eq!(return_msg(b"<xml><a>\xff</a></xml>"), "NOT_UTF8");
        assert_eq!(return_msg(b"{\"appid\": \"wx1\"}"), "XML_FORMAT_ERROR");
        let doctype =
            br#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>"#;
        assert_eq!(return_msg(doctype), "XML_FORMAT_ERROR");
        assert_eq!(parse(b"<xml><a>1</a></xml>").unwrap()["a"], "1");
    }
}
