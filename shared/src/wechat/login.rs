//! WeChat login (`sns/jscode2session`), apart from WeChat Pay: `openid` builds only this.

use crate::config::WechatConfig;
use crate::douyin::LoginSession;
use crate::error::PlatformError;
use crate::outbound;
use crate::secret::Secret;
use async_trait::async_trait;
use serde_json::Value;

/// Codes of a login code WeChat refused: invalid, used, blocked.
const BAD_LOGIN_CODES: [i64; 3] = [40029, 40163, 40226];

#[async_trait]
pub trait WechatLogin: Send + Sync {
    async fn code2session(&self, code: &str) -> Result<LoginSession, PlatformError>;
}

pub struct WechatLoginClient {
    http: reqwest::Client,
    app_id: String,
    /// Needed only where users log in.
    app_secret: Option<Secret>,
    login_base: String,
}

impl WechatLoginClient {
    pub fn new(config: &WechatConfig, http: reqwest::Client) -> Self {
        WechatLoginClient {
            http,
            app_id: config.app_id.clone(),
            app_secret: config.app_secret.clone(),
            login_base: config.login_base.clone(),
        }
    }
}

#[async_trait]
impl WechatLogin for WechatLoginClient {
    async fn code2session(&self, code: &str) -> Result<LoginSession, PlatformError> {
        let secret = self
            .app_secret
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("WECHAT_APP_SECRET is not configured".into()))?;
        let request = self
            .http
            .get(format!("{}/sns/jscode2session", self.login_base))
            .query(&[
                ("appid", self.app_id.as_str()),
                ("secret", secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ]);
        // A login code works once: never retried.
        let answer = outbound::send(request).await?.json()?;
        let errcode = answer.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        let errmsg = || {
            answer
                .get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned()
        };
        if BAD_LOGIN_CODES.contains(&errcode) {
            return Err(PlatformError::BadLoginCode {
                code: errcode.to_string(),
                message: errmsg(),
            });
        }
        if errcode != 0 {
            return Err(PlatformError::rejected(errcode, errmsg()));
        }
        let text = |key: &str| answer.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let openid = text("openid");
        if openid.is_empty() {
            return Err(PlatformError::Unavailable("login answer has no openid".into()));
        }
        let unionid = Some(text("unionid")).filter(|u| !u.is_empty());
        Ok(LoginSession {
            openid,
            unionid,
            session_key: Secret::new(text("session_key")),
        })
    }
}
