//! What a function builds once per cold start and hands to every invocation.

use crate::config::{Config, ConfigError};
use crate::douyin::order_center::FreshToken;
use crate::douyin::{Douyin, DouyinClient};
use crate::error::{ApiError, PlatformError};
use crate::outbound::http_client;
use crate::store::{DynamoStore, Store};
use crate::token::{AccessToken, TokenCache, TokenSource};
use crate::wechat::client::{WechatApi, WechatClient};
use async_trait::async_trait;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub douyin: Option<Arc<dyn Douyin>>,
    pub wechat: Option<Arc<dyn WechatApi>>,
    /// The Douyin app access token, shared through the table by every instance.
    pub douyin_token: TokenCache,
}

impl App {
    /// Reads the configuration and builds the table and platform clients.
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = Config::load().await?;
        let store = Arc::new(DynamoStore::from_env(config.table_name.clone()).await);
        Self::with_store(config, store)
    }

    /// The real platform clients around a given store.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> Result<App, ConfigError> {
        let http = http_client();
        let douyin = config
            .douyin
            .clone()
            .map(|c| Arc::new(DouyinClient::new(c, http.clone())) as Arc<dyn Douyin>);
        let wechat = match config.wechat.clone() {
            None => None,
            Some(c) => Some(
                Arc::new(WechatClient::new(c, http.clone()).map_err(|why| ConfigError::Invalid {
                    name: "WECHAT_CLIENT_CERT",
                    why,
                })?) as Arc<dyn WechatApi>,
            ),
        };
        let mut app = Self::assemble(config, store, douyin);
        app.wechat = wechat;
        Ok(app)
    }

    /// An app from given parts (tests put doubles here).
    pub fn assemble(config: Config, store: Arc<dyn Store>, douyin: Option<Arc<dyn Douyin>>) -> App {
        let token_key = config
            .douyin
            .as_ref()
            .map(|d| format!("douyin#{}", d.app_id))
            .unwrap_or_default();
        App {
            config,
            store,
            douyin,
            wechat: None,
            douyin_token: TokenCache::new(token_key),
        }
    }

    /// A valid Douyin access token.
    pub async fn douyin_access_token(&self) -> Result<AccessToken, PlatformError> {
        let douyin = self
            .douyin
            .as_deref()
            .ok_or_else(|| PlatformError::Unavailable("Douyin is not configured".into()))?;
        self.douyin_token
            .get(self.store.as_ref(), &DouyinTokenSource(douyin))
            .await
    }

    pub fn wechat(&self) -> Result<&dyn WechatApi, ApiError> {
        self.wechat
            .as_deref()
            .ok_or_else(|| ApiError::invalid("WeChat is not configured on this deployment"))
    }

    pub fn douyin(&self) -> Result<&dyn Douyin, ApiError> {
        self.douyin
            .as_deref()
            .ok_or_else(|| ApiError::invalid("Douyin is not configured on this deployment"))
    }
}

/// Starts logging: JSON when Lambda asks for it, never a request body.
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}

struct DouyinTokenSource<'a>(&'a dyn Douyin);

#[async_trait]
impl TokenSource for DouyinTokenSource<'_> {
    async fn fetch(&self) -> Result<FreshToken, PlatformError> {
        self.0.fetch_access_token().await
    }
}
