//! The JSON WeChat Pay APIv3 takes and gives (wechat-v3-reconcile.md A.1, A.5): only the
//! fields minipay sends or reads.

use serde::{Deserialize, Serialize};

pub const CURRENCY: &str = "CNY";

/// `POST /v3/pay/transactions/jsapi`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsapiOrder {
    pub appid: String,
    pub mchid: String,
    /// At most 127 bytes.
    pub description: String,
    pub out_trade_no: String,
    /// RFC 3339: the last moment the user can pay.
    pub time_expire: String,
    pub notify_url: String,
    pub amount: OrderAmount,
    pub payer: Payer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderAmount {
    pub total: i64,
    pub currency: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrepayAnswer {
    pub prepay_id: String,
}

/// A payment as queried or notified (`original_type` "transaction").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transaction {
    #[serde(default)]
    pub appid: String,
    #[serde(default)]
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: String,
    pub trade_state: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub bank_type: String,
    #[serde(default)]
    pub amount: Option<PaidAmount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaidAmount {
    pub total: i64,
}

/// `POST /v3/refund/domestic/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRequest {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub reason: String,
    pub notify_url: String,
    pub amount: RefundAmount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundAmount {
    pub refund: i64,
    pub total: i64,
    pub currency: &'static str,
}

/// A refund as answered and queried: `status` SUCCESS, CLOSED, PROCESSING or ABNORMAL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub status: String,
}

/// A refund as notified (`original_type` "refund").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundNotice {
    #[serde(default)]
    pub mchid: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    #[serde(default)]
    pub refund_id: String,
    pub refund_status: String,
    pub amount: RefundedAmount,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundedAmount {
    pub refund: i64,
}

/// A notify's envelope; its `resource` is encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    #[serde(default)]
    pub id: String,
    pub event_type: String,
    pub resource: Resource,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Resource {
    #[serde(default)]
    pub original_type: String,
    pub algorithm: String,
    pub ciphertext: String,
    pub nonce: String,
    #[serde(default)]
    pub associated_data: String,
}

/// An error answer: `{"code", "message", "detail"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorAnswer {
    pub code: String,
    #[serde(default)]
    pub message: String,
}
