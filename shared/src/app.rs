//! What a function builds once per cold start and hands to every invocation.

use crate::config::{Config, ConfigError};
use crate::douyin::{DouyinApi, DouyinClient};
use crate::error::ApiError;
use crate::outbound::http_client;
use crate::store::{DynamoStore, Store};
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub douyin: Option<Arc<dyn DouyinApi>>,
}

impl App {
    /// Reads the configuration and builds the table and platform clients.
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = Config::load().await?;
        let store = Arc::new(DynamoStore::from_env(config.table_name.clone()).await);
        Ok(Self::with_store(config, store))
    }

    /// The real platform clients around a given store.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> App {
        let http = http_client();
        let douyin = config
            .douyin
            .clone()
            .map(|c| Arc::new(DouyinClient::new(c, http.clone())) as Arc<dyn DouyinApi>);
        App { config, store, douyin }
    }

    pub fn douyin(&self) -> Result<&dyn DouyinApi, ApiError> {
        self.douyin
            .as_deref()
            .ok_or_else(|| ApiError::invalid("Douyin is not configured on this deployment"))
    }
}

/// Starts logging: JSON when Lambda asks for it, never a request body.
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
