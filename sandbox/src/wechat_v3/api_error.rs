//! APIv3 errors (A.2): an HTTP status and `{"code", "message", "detail"?}`, signed like
//! every other answer. The codes are WeChat's; the messages follow its wording where the
//! reference quotes it.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// Why a v3 call was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct V3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<Value>,
}

impl V3Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> V3Error {
        V3Error {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// 400 PARAM_ERROR for one field of the body: `detail` names it, as WeChat's does.
    pub fn param(field: &str, issue: impl std::fmt::Display) -> V3Error {
        V3Error {
            detail: Some(json!({ "field": field, "location": "body", "issue": issue.to_string() })),
            ..V3Error::new(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                format!(
                    "输入源“/body/{}”映射到值字段“{field}”校验失败: {issue}",
                    field.replace('.', "/")
                ),
            )
        }
    }

    /// 400 INVALID_REQUEST: well-formed, but against the business rules.
    pub fn invalid(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 401 SIGN_ERROR, with what was wrong in `detail`.
    pub fn sign(issue: impl std::fmt::Display) -> V3Error {
        V3Error {
            detail: Some(json!({ "field": "signature", "location": "authorization", "issue": issue.to_string() })),
            ..V3Error::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "错误的签名，验签失败")
        }
    }

    /// 404 ORDER_NOT_EXIST (order queries).
    pub fn no_order() -> V3Error {
        V3Error::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
    }

    /// 404 RESOURCE_NOT_EXISTS (refunds, and orders a refund names).
    pub fn not_exists(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", message)
    }

    /// 500 SYSTEM_ERROR: "outcome unknown, retry with the same parameters".
    pub fn system(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", message)
    }

    /// The body WeChat sends with the status.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(detail) = &self.detail {
            body["detail"] = detail.clone();
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_wechat_shapes() {
        let param = V3Error::param("amount.total", "必须大于0");
        assert_eq!(param.status, StatusCode::BAD_REQUEST);
        assert_eq!(param.body()["code"], "PARAM_ERROR");
        assert_eq!(param.body()["detail"]["field"], "amount.total");
        assert!(param.message.contains("/body/amount/total"), "{}", param.message);
        assert_eq!(V3Error::sign("x").status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            V3Error::no_order().body(),
            json!({"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        );
    }
}
