//! Typed calls to the Douyin server APIs: build, sign, send, check, parse.

use super::sign::ecpay_sign;
use crate::config::DouyinConfig;
use crate::domain::order::{Payment, PaymentOutcome, PlatformOrder};
use crate::error::PlatformError;
use crate::outbound;
use crate::secret::Secret;
use async_trait::async_trait;
use serde_json::{Map, Value, json};

/// What login returns; `session_key` stays on the server.
#[derive(Debug, Clone)]
pub struct LoginSession {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: Secret,
}

/// A new ecpay order as sent to `create_order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub out_order_no: String,
    pub total_amount: i64,
    pub subject: String,
    pub body: String,
    pub valid_time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcpayOrderState {
    Processing,
    Success,
    Fail,
    Timeout,
}

/// The answer of `query_order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuery {
    pub state: EcpayOrderState,
    /// `None` when the platform has no payment record for the order (err_no 2000).
    pub total_fee: Option<i64>,
    pub order_id: String,
    pub paid_at: Option<i64>,
    pub way: String,
}

impl OrderQuery {
    pub fn outcome(&self) -> PaymentOutcome {
        match self.state {
            EcpayOrderState::Processing => PaymentOutcome::Pending,
            EcpayOrderState::Fail => PaymentOutcome::Failed,
            EcpayOrderState::Timeout => PaymentOutcome::Timeout,
            EcpayOrderState::Success => PaymentOutcome::Paid(Payment {
                amount: self.total_fee.unwrap_or_default(),
                paid_at: self.paid_at.unwrap_or_else(crate::domain::time::now_secs),
                trade_no: self.order_id.clone(),
                channel: self.way.clone(),
            }),
        }
    }
}

/// The Douyin calls the functions make; a trait so that handlers can be tested with a
/// double and the same code can talk to the sandbox or the platform.
#[async_trait]
pub trait DouyinApi: Send + Sync {
    async fn code2session(&self, code: &str, anonymous_code: Option<&str>) -> Result<LoginSession, PlatformError>;
    async fn create_order(&self, order: &CreateOrder) -> Result<PlatformOrder, PlatformError>;
    /// `Ok(None)` when the platform has no record of the order.
    async fn query_order(&self, out_order_no: &str) -> Result<Option<OrderQuery>, PlatformError>;
}

pub struct DouyinClient {
    pub(super) http: reqwest::Client,
    pub(super) config: DouyinConfig,
}

/// Ecpay codes that mean "outcome unknown, try again with the same parameters".
const RETRYABLE_ERR_NO: [i64; 2] = [1000, 1001];
/// Login codes the platform refused.
const BAD_LOGIN_CODES: [i64; 2] = [40018, 40019];
/// query_order: no payment record for this order.
const NO_PAYMENT_RECORD: i64 = 2000;

impl DouyinClient {
    pub fn new(config: DouyinConfig, http: reqwest::Client) -> Self {
        Self { http, config }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base)
    }

    pub(super) async fn post_once(&self, path: &str, body: &Value) -> Result<Value, PlatformError> {
        outbound::send(self.http.post(self.url(path)).json(body)).await?.json()
    }

    /// Posts a call the platform treats as idempotent, retrying once when the outcome
    /// is unknown (transport failure, 5xx, err_no 1000/1001).
    pub(super) async fn post_idempotent(&self, path: &str, body: &Value) -> Result<Value, PlatformError> {
        outbound::retry_once_if_unknown(
            || self.post_once(path, body),
            |answer| RETRYABLE_ERR_NO.contains(&err_no(answer)),
        )
        .await
    }

    /// A signed ecpay body: `app_id`, the fields, and `sign` over the same values.
    pub(super) fn signed(&self, mut fields: Map<String, Value>) -> Result<Value, PlatformError> {
        let salt = self
            .config
            .salt
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("DOUYIN_SALT is not configured".into()))?;
        fields.insert("app_id".into(), Value::String(self.config.app_id.clone()));
        let sign = ecpay_sign(&fields, salt.expose())
            .map_err(|e| PlatformError::Unavailable(format!("cannot sign request: {e}")))?;
        fields.insert("sign".into(), Value::String(sign));
        Ok(Value::Object(fields))
    }
}

pub(super) fn err_no(answer: &Value) -> i64 {
    answer.get("err_no").and_then(Value::as_i64).unwrap_or(-1)
}

fn err_tips(answer: &Value) -> String {
    answer
        .get("err_tips")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned()
}

pub(super) fn str_field(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Fails unless `err_no` is 0, keeping the platform's code and message; 1000/1001
/// ("retry") leave the outcome unknown.
pub(super) fn ok_or_rejected(answer: Value) -> Result<Value, PlatformError> {
    match answer.get("err_no").and_then(Value::as_i64) {
        Some(0) => Ok(answer),
        Some(code) if RETRYABLE_ERR_NO.contains(&code) => Err(PlatformError::unclear(code, err_tips(&answer))),
        Some(code) => Err(PlatformError::rejected(code, err_tips(&answer))),
        None => Err(PlatformError::Unavailable("answer has no err_no".into())),
    }
}

#[async_trait]
impl DouyinApi for DouyinClient {
    async fn code2session(&self, code: &str, anonymous_code: Option<&str>) -> Result<LoginSession, PlatformError> {
        let secret = self
            .config
            .app_secret
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("DOUYIN_APP_SECRET is not configured".into()))?;
        let mut body = json!({
            "appid": self.config.app_id,
            "secret": secret.expose(),
            "code": code,
        });
        if let Some(anonymous) = anonymous_code {
            body["anonymous_code"] = Value::String(anonymous.to_owned());
        }
        // A login code works once, so this call is never retried.
        let answer = self.post_once("/api/apps/v2/jscode2session", &body).await?;
        let code_no = err_no(&answer);
        if BAD_LOGIN_CODES.contains(&code_no) {
            return Err(PlatformError::BadLoginCode {
                code: code_no.to_string(),
                message: err_tips(&answer),
            });
        }
        let answer = ok_or_rejected(answer)?;
        let data = answer.get("data").cloned().unwrap_or_default();
        let openid = str_field(&data, "openid");
        if openid.is_empty() {
            return Err(PlatformError::Unavailable("login answer has no openid".into()));
        }
        let unionid = Some(str_field(&data, "unionid")).filter(|u| !u.is_empty());
        Ok(LoginSession {
            openid,
            unionid,
            session_key: Secret::new(str_field(&data, "session_key")),
        })
    }

    async fn create_order(&self, order: &CreateOrder) -> Result<PlatformOrder, PlatformError> {
        let mut fields = Map::new();
        fields.insert("out_order_no".into(), json!(order.out_order_no));
        fields.insert("total_amount".into(), json!(order.total_amount));
        fields.insert("subject".into(), json!(order.subject));
        fields.insert("body".into(), json!(order.body));
        fields.insert("valid_time".into(), json!(order.valid_time));
        if let Some(url) = &self.config.notify_url {
            fields.insert("notify_url".into(), json!(url));
        }
        let body = self.signed(fields)?;
        let answer = ok_or_rejected(self.post_idempotent("/api/apps/ecpay/v1/create_order", &body).await?)?;
        let data = answer.get("data").cloned().unwrap_or_default();
        let order_id = str_field(&data, "order_id");
        let order_token = str_field(&data, "order_token");
        if order_id.is_empty() || order_token.is_empty() {
            return Err(PlatformError::Unavailable(
                "create_order answer has no order_id or order_token".into(),
            ));
        }
        Ok(PlatformOrder { order_id, order_token })
    }

    async fn query_order(&self, out_order_no: &str) -> Result<Option<OrderQuery>, PlatformError> {
        let mut fields = Map::new();
        fields.insert("out_order_no".into(), json!(out_order_no));
        let body = self.signed(fields)?;
        let answer = self.post_idempotent("/api/apps/ecpay/v1/query_order", &body).await?;
        if err_no(&answer) == NO_PAYMENT_RECORD {
            return Ok(None);
        }
        let answer = ok_or_rejected(answer)?;
        let info = answer.get("payment_info").cloned().unwrap_or_default();
        let state = match info.get("order_status").and_then(Value::as_str) {
            Some("PROCESSING") => EcpayOrderState::Processing,
            Some("SUCCESS") => EcpayOrderState::Success,
            Some("FAIL") => EcpayOrderState::Fail,
            Some("TIMEOUT") => EcpayOrderState::Timeout,
            _ => {
                return Err(PlatformError::Unavailable(
                    "query_order answer has no known order_status".into(),
                ));
            }
        };
        let total_fee = info.get("total_fee").and_then(Value::as_i64);
        if state == EcpayOrderState::Success && total_fee.is_none() {
            return Err(PlatformError::Unavailable("query_order answer has no total_fee".into()));
        }
        Ok(Some(OrderQuery {
            state,
            total_fee,
            order_id: str_field(&answer, "order_id"),
            paid_at: info
                .get("pay_time")
                .and_then(Value::as_str)
                .and_then(crate::domain::time::parse_beijing_time),
            way: str_field(&info, "way"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_definite_error_is_a_refusal() {
        for code in [1000, 1001] {
            let err = ok_or_rejected(json!({"err_no": code, "err_tips": "系统错误"})).unwrap_err();
            assert!(!err.is_certain_refusal(), "{code}");
        }
        let err = ok_or_rejected(json!({"err_no": 2010, "err_tips": "参数错误"})).unwrap_err();
        assert!(err.is_certain_refusal());
        assert!(!ok_or_rejected(json!({})).unwrap_err().is_certain_refusal());
    }
}
