//! Ecpay refunds and settlements (douyin.md §3).

use super::client::{DouyinClient, err_no, ok_or_rejected, str_field};
use crate::domain::refund::{RefundStatus, SettleStatus};
use crate::error::PlatformError;
use async_trait::async_trait;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRefund {
    pub out_order_no: String,
    pub out_refund_no: String,
    pub refund_amount: i64,
    pub reason: String,
    /// Refund from the settled balance: required once the order was settled.
    pub all_settle: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSettle {
    pub out_order_no: String,
    pub out_settle_no: String,
    pub settle_desc: String,
    /// The receivers as a JSON string: sent and signed as that string.
    pub settle_params: String,
}

/// How the platform says a refund or settlement stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyQuery {
    pub status: RefundStatus,
    pub platform_no: String,
}

#[async_trait]
pub trait EcpayMoney: Send + Sync {
    /// Asks for a refund; the platform's refund number when accepted.
    async fn create_refund(&self, refund: &CreateRefund) -> Result<String, PlatformError>;
    async fn query_refund(&self, out_refund_no: &str) -> Result<MoneyQuery, PlatformError>;
    /// Asks for a settlement; the platform's settle number when accepted.
    async fn settle(&self, settle: &CreateSettle) -> Result<String, PlatformError>;
    async fn query_settle(&self, out_settle_no: &str) -> Result<MoneyQuery, PlatformError>;
}

fn status_of(text: Option<&str>) -> Result<SettleStatus, PlatformError> {
    text.and_then(|t| t.parse().ok())
        .ok_or_else(|| PlatformError::Unavailable("answer has no known status".into()))
}

#[async_trait]
impl EcpayMoney for DouyinClient {
    async fn create_refund(&self, refund: &CreateRefund) -> Result<String, PlatformError> {
        let mut fields = Map::new();
        fields.insert("out_order_no".into(), json!(refund.out_order_no));
        fields.insert("out_refund_no".into(), json!(refund.out_refund_no));
        fields.insert("refund_amount".into(), json!(refund.refund_amount));
        fields.insert("reason".into(), json!(refund.reason));
        if refund.all_settle {
            fields.insert("all_settle".into(), json!(1));
        }
        if let Some(url) = &self.config.notify_url {
            fields.insert("notify_url".into(), json!(url));
        }
        let body = self.signed(fields)?;
        let answer = ok_or_rejected(self.post_idempotent("/api/apps/ecpay/v1/create_refund", &body).await?)?;
        let refund_no = str_field(&answer, "refund_no");
        if refund_no.is_empty() {
            return Err(PlatformError::Unavailable(
                "create_refund answer has no refund_no".into(),
            ));
        }
        Ok(refund_no)
    }

    async fn query_refund(&self, out_refund_no: &str) -> Result<MoneyQuery, PlatformError> {
        let mut fields = Map::new();
        fields.insert("out_refund_no".into(), json!(out_refund_no));
        let body = self.signed(fields)?;
        let answer = ok_or_rejected(self.post_idempotent("/api/apps/ecpay/v1/query_refund", &body).await?)?;
        // The platform spells this key in camelCase, unlike every other one.
        let info = answer.get("refundInfo").cloned().unwrap_or(Value::Null);
        Ok(MoneyQuery {
            status: status_of(info.get("refund_status").and_then(Value::as_str))?,
            platform_no: str_field(&info, "refund_no"),
        })
    }

    async fn settle(&self, settle: &CreateSettle) -> Result<String, PlatformError> {
        let mut fields = Map::new();
        fields.insert("out_order_no".into(), json!(settle.out_order_no));
        fields.insert("out_settle_no".into(), json!(settle.out_settle_no));
        fields.insert("settle_desc".into(), json!(settle.settle_desc));
        fields.insert("settle_params".into(), json!(settle.settle_params));
        if let Some(url) = &self.config.notify_url {
            fields.insert("notify_url".into(), json!(url));
        }
        let body = self.signed(fields)?;
        let answer = ok_or_rejected(self.post_idempotent("/api/apps/ecpay/v1/settle", &body).await?)?;
        let settle_no = str_field(&answer, "settle_no");
        if settle_no.is_empty() {
            return Err(PlatformError::Unavailable("settle answer has no settle_no".into()));
        }
        Ok(settle_no)
    }

    async fn query_settle(&self, out_settle_no: &str) -> Result<MoneyQuery, PlatformError> {
        let mut fields = Map::new();
        fields.insert("out_settle_no".into(), json!(out_settle_no));
        let body = self.signed(fields)?;
        let answer = self.post_idempotent("/api/apps/ecpay/v1/query_settle", &body).await?;
        let answer = ok_or_rejected(answer)?;
        let info = answer.get("settle_info").cloned().unwrap_or(Value::Null);
        debug_assert!(err_no(&answer) == 0);
        Ok(MoneyQuery {
            status: status_of(info.get("settle_status").and_then(Value::as_str))?,
            platform_no: str_field(&info, "settle_no"),
        })
    }
}
