//! The app access token (`v2/token`) and the order-center push (douyin.md §2, §6).

use super::client::{DouyinClient, ok_or_rejected, str_field};
use crate::error::PlatformError;
use crate::outbound;
use crate::secret::Secret;
use async_trait::async_trait;
use serde_json::{Value, json};

/// A fresh token and its lifetime in seconds.
#[derive(Debug, Clone)]
pub struct FreshToken {
    pub token: Secret,
    pub expires_in: i64,
}

/// One order as the order center is told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPush {
    pub open_id: String,
    /// Milliseconds.
    pub update_time: i64,
    /// The `order_detail` JSON string.
    pub order_detail: String,
    pub order_status: u8,
}

/// `err_code` of a push refused for its access token.
pub const INVALID_ACCESS_TOKEN: &str = "40002";

#[async_trait]
pub trait OrderCenter: Send + Sync {
    /// Fetches a new app access token. Each one cuts the previous token's life to five
    /// minutes, so only the shared token cache calls this.
    async fn fetch_access_token(&self) -> Result<FreshToken, PlatformError>;
    async fn push_order(&self, push: &OrderPush, access_token: &Secret) -> Result<(), PlatformError>;
}

#[async_trait]
impl OrderCenter for DouyinClient {
    async fn fetch_access_token(&self) -> Result<FreshToken, PlatformError> {
        let secret = self
            .config
            .app_secret
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("DOUYIN_APP_SECRET is not configured".into()))?;
        let body = json!({
            "appid": self.config.app_id,
            "secret": secret.expose(),
            "grant_type": "client_credential",
        });
        // Never retried here: a second fetch would cut the first token short.
        let answer = ok_or_rejected(self.post_once("/api/apps/v2/token", &body).await?)?;
        let data = answer.get("data").cloned().unwrap_or(Value::Null);
        let token = str_field(&data, "access_token");
        let expires_in = data.get("expires_in").and_then(Value::as_i64).unwrap_or(0);
        if token.is_empty() || expires_in <= 0 {
            return Err(PlatformError::Unavailable("token answer has no access_token".into()));
        }
        Ok(FreshToken {
            token: Secret::new(token),
            expires_in,
        })
    }

    async fn push_order(&self, push: &OrderPush, access_token: &Secret) -> Result<(), PlatformError> {
        let body = json!({
            "access_token": access_token.expose(),
            "app_name": "douyin",
            "open_id": push.open_id,
            "update_time": push.update_time,
            "order_detail": push.order_detail,
            "order_type": 0,
            "order_status": push.order_status,
        });
        let answer = outbound::send(self.http.post(self.url("/api/apps/order/v2/push")).json(&body)).await?;
        // Bad input may come back as HTTP 400 with the usual body, so read it anyway.
        let answer = answer.json()?;
        match answer.get("err_code").and_then(Value::as_i64) {
            Some(0) => Ok(()),
            Some(code) => Err(PlatformError::rejected(
                code,
                answer.get("err_msg").and_then(Value::as_str).unwrap_or("no message"),
            )),
            None => Err(PlatformError::Unavailable("push answer has no err_code".into())),
        }
    }
}
