//! What a function builds once per cold start and hands to every invocation.

use crate::channel::Channels;
use crate::channel::registry::Parts;
pub use crate::channel::trade::Trade;
use crate::config::{Config, ConfigError};
use crate::douyin::order_center::{FreshToken, INVALID_ACCESS_TOKEN};
use crate::douyin::trade::{AppKey, PlatformKey, TradeApi, TradeClient, TradeKeys};
use crate::douyin::{Douyin, DouyinClient};
use crate::error::{ApiError, PlatformError};
use crate::merchant::WebhookTarget;
use crate::outbound::http_client;
use crate::secret::Secret;
use crate::store::{DynamoStore, Store};
use crate::token::{AccessToken, TokenCache, TokenSource};
use crate::wechat::client::{WechatApi, WechatClient};
use crate::wechat::v3::client::WechatV3Client;
use async_trait::async_trait;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub douyin: Option<Arc<dyn Douyin>>,
    pub wechat: Option<Arc<dyn WechatApi>>,
    /// WeChat Pay APIv3, when the merchant has its settings.
    pub wechat_v3: Option<Arc<WechatV3Client>>,
    /// The Douyin app access token, shared through the table by every instance.
    pub douyin_token: TokenCache,
    /// The trade system's keys and calls, when its keys are configured.
    pub trade: Option<Arc<Trade>>,
    /// The ways of paying this deployment has (see `crate::channel`).
    pub channels: Channels,
    /// The merchant's webhook, when configured: the admin API redelivers with it.
    pub webhook: Option<WebhookTarget>,
}

impl App {
    /// Reads the configuration and builds the table and platform clients.
    pub async fn from_env() -> Result<App, ConfigError> {
        let http = http_client();
        let sdk = crate::aws::sdk_config(&http)?;
        let config = Config::load(&sdk).await?;
        let store = Arc::new(
            DynamoStore::from_sdk(&sdk, config.table_name.clone())
                .with_callback_retention(config.callback_retention_days * 86_400),
        );
        Self::with_store_and_http(config, store, http)
    }

    /// The real platform clients around a given store.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> Result<App, ConfigError> {
        Self::with_store_and_http(config, store, http_client())
    }

    /// The real platform clients on `http` (the cold start's one client) around a store.
    fn with_store_and_http(config: Config, store: Arc<dyn Store>, http: reqwest::Client) -> Result<App, ConfigError> {
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
        let wechat_v3 = match (&config.wechat, config.wechat.as_ref().and_then(|w| w.v3.as_ref())) {
            (Some(wechat), Some(v3)) => Some(Arc::new(WechatV3Client::new(wechat, v3, http.clone(), store.clone())?)),
            _ => None,
        };
        let trade_api = config
            .douyin
            .as_ref()
            .map(|d| Arc::new(TradeClient::new(d, http.clone())) as Arc<dyn TradeApi>);
        let mut app = Self::assemble_on(config, store, douyin, &http);
        app.wechat = wechat;
        app.wechat_v3 = wechat_v3;
        if let Some(api) = trade_api {
            app.trade = Some(Arc::new(Self::trade_from_config(&app.config, api)?));
        }
        app.build_channels();
        Ok(app)
    }

    /// Parses the trade keys of `config` (once per cold start) around a trade client.
    pub fn trade_from_config(config: &Config, api: Arc<dyn TradeApi>) -> Result<Trade, ConfigError> {
        let douyin = config.douyin.as_ref().ok_or(ConfigError::Missing("DOUYIN_APP_ID"))?;
        let trade = &douyin.trade;
        let invalid = |name: &'static str| {
            move |e: crate::douyin::trade::KeyError| ConfigError::Invalid {
                name,
                why: e.to_string(),
            }
        };
        Ok(Trade {
            keys: TradeKeys {
                app_id: douyin.app_id.clone(),
                app_key: trade
                    .private_key
                    .as_ref()
                    .map(|k| AppKey::from_pem(k.expose()))
                    .transpose()
                    .map_err(invalid("DOUYIN_PRIVATE_KEY"))?,
                platform_key: trade
                    .platform_public_key
                    .as_deref()
                    .map(PlatformKey::from_pem)
                    .transpose()
                    .map_err(invalid("DOUYIN_PLATFORM_PUBLIC_KEY"))?,
                key_version: trade.key_version.clone(),
            },
            api,
            token: TokenCache::new(format!("trade#{}", douyin.app_id)),
        })
    }

    /// An app from given parts (tests put doubles here).
    pub fn assemble(config: Config, store: Arc<dyn Store>, douyin: Option<Arc<dyn Douyin>>) -> App {
        Self::assemble_on(config, store, douyin, &http_client())
    }

    fn assemble_on(
        config: Config,
        store: Arc<dyn Store>,
        douyin: Option<Arc<dyn Douyin>>,
        http: &reqwest::Client,
    ) -> App {
        let token_key = config
            .douyin
            .as_ref()
            .map(|d| format!("douyin#{}", d.app_id))
            .unwrap_or_default();
        let webhook = WebhookTarget::from_config(&config, http);
        let mut app = App {
            webhook,
            config,
            store,
            douyin,
            wechat: None,
            wechat_v3: None,
            douyin_token: TokenCache::new(token_key),
            trade: None,
            channels: Channels::default(),
        };
        app.build_channels();
        app
    }

    /// (Re)makes the channels from the platform clients: once per cold start, and in
    /// tests after a client was swapped for a double.
    pub fn build_channels(&mut self) {
        self.channels = Channels::build(&Parts {
            config: &self.config,
            store: &self.store,
            douyin: self.douyin.as_ref(),
            trade: self.trade.as_ref(),
            wechat: self.wechat.as_ref(),
            wechat_v3: self.wechat_v3.as_ref(),
        });
    }

    /// Uses `trade` for the trade system (tests put a double here).
    pub fn set_trade(&mut self, trade: Trade) {
        self.trade = Some(Arc::new(trade));
        self.build_channels();
    }

    /// Uses `wechat` for WeChat (tests put a double here).
    pub fn set_wechat(&mut self, wechat: Arc<dyn WechatApi>) {
        self.wechat = Some(wechat);
        self.build_channels();
    }

    /// A valid Douyin access token.
    pub async fn douyin_access_token(&self) -> Result<AccessToken, PlatformError> {
        let douyin = self.douyin_platform()?;
        self.douyin_token
            .get(self.store.as_ref(), &DouyinTokenSource(douyin))
            .await
    }

    /// Runs an order-center call with the shared access token (see [`TokenCache::with_token`]).
    pub async fn with_access_token<'a, T, F, Fut>(&'a self, call: F) -> Result<T, PlatformError>
    where
        F: Fn(&'a dyn Douyin, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, PlatformError>>,
    {
        let douyin = self.douyin_platform()?;
        let refused =
            |e: &PlatformError| matches!(e, PlatformError::Rejected { code, .. } if code == INVALID_ACCESS_TOKEN);
        self.douyin_token
            .with_token(self.store.as_ref(), &DouyinTokenSource(douyin), refused, |token| {
                call(douyin, token)
            })
            .await
    }

    /// The Douyin client, for calls whose failure is a platform error.
    pub fn douyin_platform(&self) -> Result<&dyn Douyin, PlatformError> {
        self.douyin
            .as_deref()
            .ok_or_else(|| PlatformError::Unavailable("Douyin is not configured".into()))
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let subscriber = tracing_subscriber::registry().with(log_filter(&level));
    if json {
        subscriber.with(logs.json()).init();
    } else {
        subscriber.with(logs).init();
    }
}

/// Targets whose TRACE events print whole invocation events: headers (Authorization,
/// a session or the admin key) and callback bodies.
const EVENT_DUMPING_TARGETS: [&str; 2] = ["lambda_runtime::layers::api_response", "lambda_runtime::requests"];

/// The log filter for a level such as Lambda's `AWS_LAMBDA_LOG_LEVEL` (default INFO),
/// with the event-dumping targets held at DEBUG whatever the level asks. A level is all
/// Lambda ever sets, so a plain target filter serves: `EnvFilter`'s directive syntax
/// would link a regex engine into every function for nothing.
pub fn log_filter(level: &str) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::LevelFilter;
    // An unset level is INFO (the tracing crate would read "" as ERROR).
    let level: LevelFilter = Some(level.trim())
        .filter(|l| !l.is_empty())
        .and_then(|l| l.parse().ok())
        .unwrap_or(LevelFilter::INFO);
    EVENT_DUMPING_TARGETS.into_iter().fold(
        tracing_subscriber::filter::Targets::new().with_default(level),
        |filter, target| filter.with_target(target, LevelFilter::DEBUG),
    )
}

struct DouyinTokenSource<'a>(&'a dyn Douyin);

#[async_trait]
impl TokenSource for DouyinTokenSource<'_> {
    async fn fetch(&self) -> Result<FreshToken, PlatformError> {
        self.0.fetch_access_token().await
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What a subscriber with `log_filter(level)` prints of the events `emit` sends.
    fn printed(level: &str, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(log_filter(level))
            .with(tracing_subscriber::fmt::layer().with_writer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn trace_level_never_prints_the_raw_event() {
        let out = printed("TRACE", || {
            // What lambda_runtime logs at TRACE for every invocation.
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "Authorization: Bearer admin-key-123", "raw JSON event received from Lambda");
            tracing::trace!(target: "minipay::service", "our own trace line");
        });
        assert!(out.contains("our own trace line"), "{out}");
        assert!(!out.contains("admin-key-123"), "{out}");
    }

    #[test]
    fn an_unset_level_is_info() {
        for level in ["", "  ", "nonsense"] {
            let out = printed(level, || {
                tracing::info!("an info line");
                tracing::debug!("a debug line");
            });
            assert!(out.contains("an info line"), "{level:?}: {out}");
            assert!(!out.contains("a debug line"), "{level:?}: {out}");
        }
    }
}
