//! WeChat Pay v2 answers (wechat.md §4): `return_code` says whether the call got through
//! (FAIL with `return_msg`, unsigned, e.g. a sign error), `result_code` whether the
//! business succeeded (FAIL with `err_code`/`err_code_des`). Every answer that got
//! through is signed, so that clients can (and should) verify it.

use super::Fields;
use super::sign::{SignType, sign};
use super::xml::to_xml;
use crate::config::WechatSandboxConfig;
use crate::random;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A WeChat Pay answer body; always HTTP 200, as on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlAnswer(pub String);

impl IntoResponse for XmlAnswer {
    fn into_response(self) -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            self.0,
        )
            .into_response()
    }
}

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayError {
    /// `return_code` FAIL: the call itself was refused (bad XML, bad sign).
    Communication(String),
    /// `result_code` FAIL with this `err_code` and `err_code_des`.
    Business(&'static str, String),
}

impl PayError {
    /// A required field is missing or empty.
    pub fn lack(field: &str) -> PayError {
        PayError::Business("LACK_PARAMS", format!("缺少参数{field}"))
    }

    /// A field breaks the format rules (WeChat's catch-all INVALID_REQUEST).
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> PayError {
        PayError::Business("INVALID_REQUEST", format!("{field}参数错误: {problem}"))
    }
}

/// `return_code` FAIL; unsigned, as WeChat sends it.
pub fn communication_failure(return_msg: &str) -> XmlAnswer {
    XmlAnswer(to_xml(&Fields::from([
        ("return_code".to_owned(), "FAIL".to_owned()),
        ("return_msg".to_owned(), return_msg.to_owned()),
    ])))
}

/// Signs the answers to one authenticated request, with the request's sign type.
#[derive(Debug, Clone, Copy)]
pub struct Answerer<'a> {
    pub config: &'a WechatSandboxConfig,
    pub sign_type: SignType,
}

impl Answerer<'_> {
    /// The answer to a call: `fields` on success, else the failure.
    pub fn answer(&self, result: Result<Fields, PayError>) -> XmlAnswer {
        match result {
            Ok(fields) => self.signed("SUCCESS", fields),
            Err(PayError::Business(err_code, err_code_des)) => self.signed(
                "FAIL",
                Fields::from([
                    ("err_code".to_owned(), err_code.to_owned()),
                    ("err_code_des".to_owned(), err_code_des),
                ]),
            ),
            Err(PayError::Communication(return_msg)) => communication_failure(&return_msg),
        }
    }

    /// `fields` with the common answer fields, a fresh nonce, and the sign.
    fn signed(&self, result_code: &str, mut fields: Fields) -> XmlAnswer {
        for (name, value) in [
            ("return_code", "SUCCESS"),
            ("return_msg", "OK"),
            ("result_code", result_code),
            ("appid", &self.config.app_id),
            ("mch_id", &self.config.mch_id),
        ] {
            fields.insert(name.to_owned(), value.to_owned());
        }
        fields.insert("nonce_str".to_owned(), random::alphanumeric(32));
        let signature = sign(&fields, &self.config.api_key, self.sign_type);
        fields.insert("sign".to_owned(), signature);
        XmlAnswer(to_xml(&fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::sign::verifies as verify;
    use crate::wechat::xml::parse_flat;

    fn config() -> WechatSandboxConfig {
        WechatSandboxConfig {
            app_id: "wx1".into(),
            mch_id: "1900000109".into(),
            api_key: "k".repeat(32),
            ..WechatSandboxConfig::default()
        }
    }

    #[test]
    fn answers_are_signed_with_the_request_sign_type() {
        let config = config();
        for (sign_type, len) in [(SignType::Md5, 32), (SignType::HmacSha256, 64)] {
            let answerer = Answerer {
                config: &config,
                sign_type,
            };
            let fields = Fields::from([("prepay_id".to_owned(), "wx1".to_owned())]);
            let XmlAnswer(xml) = answerer.answer(Ok(fields));
            let map = parse_flat(xml.as_bytes()).unwrap();
            assert_eq!(map["sign"].len(), len);
            assert!(verify(&map, &config.api_key));
            assert_eq!(
                (map["result_code"].as_str(), map["mch_id"].as_str()),
                ("SUCCESS", "1900000109")
            );
        }
    }

    #[test]
    fn business_errors_are_signed_and_communication_errors_are_not() {
        let config = config();
        let answerer = Answerer {
            config: &config,
            sign_type: SignType::Md5,
        };
        let XmlAnswer(xml) = answerer.answer(Err(PayError::lack("body")));
        let map = parse_flat(xml.as_bytes()).unwrap();
        assert!(verify(&map, &config.api_key));
        assert_eq!(
            (map["return_code"].as_str(), map["result_code"].as_str()),
            ("SUCCESS", "FAIL")
        );
        assert_eq!(
            (map["err_code"].as_str(), map["err_code_des"].as_str()),
            ("LACK_PARAMS", "缺少参数body")
        );
        let XmlAnswer(xml) = answerer.answer(Err(PayError::Communication("签名错误".into())));
        let map = parse_flat(xml.as_bytes()).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(
            (map["return_code"].as_str(), map["return_msg"].as_str()),
            ("FAIL", "签名错误")
        );
    }
}
