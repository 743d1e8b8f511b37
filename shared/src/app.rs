//! What a function builds once per cold start and hands to every invocation.

use crate::channel::Channels;
use crate::channel::registry::{self, MakeChannel, Parts};
pub use crate::channel::trade::Trade;
use crate::config::{Config, ConfigError};
use crate::douyin::order_center::{FreshToken, INVALID_ACCESS_TOKEN};
use crate::douyin::trade::{AppKey, PlatformKey, TradeApi, TradeClient, TradeKeys};
use crate::douyin::{Douyin, DouyinClient};
use crate::error::{ApiError, PlatformError};
use crate::merchant::WebhookTarget;
use crate::outbound::http_client;
use crate::secret::Secret;
use crate::store::{DynamoStore, Store, TokenStore};
use crate::token::{AccessToken, TokenCache, TokenSource};
use crate::wechat::client::{WechatApi, WechatClient};
use crate::wechat::login::{WechatLogin, WechatLoginClient};
use crate::wechat::v3::client::WechatV3Client;
use async_trait::async_trait;
use std::sync::Arc;

/// `S` is the table: `DynamoStore` in the functions, so that each binary carries only the
/// table operations its routes call; any store behind `dyn Store` in tests.
pub struct App<S: ?Sized = dyn Store> {
    pub config: Config,
    pub store: Arc<S>,
    /// The same table, for the token caches (the Douyin token, the trade system's, WeChat
    /// Pay's certificates).
    tokens: Arc<dyn TokenStore>,
    pub douyin: Option<Arc<dyn Douyin>>,
    /// WeChat login, when WeChat is configured.
    pub wechat_login: Option<Arc<dyn WechatLogin>>,
    /// WeChat Pay v2, in functions whose kit has WeChat Pay.
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
    /// What this function was built with (`build_channels` makes its channels again).
    kit: Kit,
}

/// What a function builds at cold start besides its configuration, its table, the
/// Douyin client and the logins: each `main` names its kit, and what its kit does not
/// name is never called from that binary, so the compiler leaves it (and the crates only
/// it uses: WeChat Pay's XML and certificates, the trade system's keys) out.
#[derive(Clone, Copy)]
pub struct Kit {
    wechat_pay: Option<BuildWechatPay>,
    douyin_trade: Option<BuildTrade>,
    channels: &'static [MakeChannel],
}

type BuildWechatPay = fn(&Config, &reqwest::Client, &Arc<dyn TokenStore>) -> Result<WechatPay, ConfigError>;
type BuildTrade = fn(&Config, &reqwest::Client) -> Result<Option<Trade>, ConfigError>;

/// WeChat Pay's v2 and v3 clients, as configured.
type WechatPay = (Option<Arc<dyn WechatApi>>, Option<Arc<WechatV3Client>>);

impl Kit {
    /// Every platform client and channel: the functions that take, query, refund and
    /// reconcile payments (prepay, query, notify, refund, reconcile, admin).
    pub const PAYMENTS: Kit = Kit {
        wechat_pay: Some(build_wechat_pay),
        douyin_trade: Some(build_trade),
        channels: registry::ALL,
    };
    /// Douyin's channels only: settlement (分账) is Douyin's alone.
    pub const DOUYIN_SETTLEMENT: Kit = Kit {
        wechat_pay: None,
        douyin_trade: Some(build_trade),
        channels: registry::DOUYIN,
    };
    /// No channel: logins and the Douyin order center (openid, push).
    pub const ACCOUNTS: Kit = Kit {
        wechat_pay: None,
        douyin_trade: None,
        channels: &[],
    };
}

fn build_wechat_pay(
    config: &Config,
    http: &reqwest::Client,
    tokens: &Arc<dyn TokenStore>,
) -> Result<WechatPay, ConfigError> {
    let Some(wechat) = config.wechat.as_ref() else {
        return Ok((None, None));
    };
    let v2 = WechatClient::new(wechat.clone(), http.clone()).map_err(|why| ConfigError::Invalid {
        name: "WECHAT_CLIENT_CERT",
        why,
    })?;
    let v3 = match wechat.v3.as_ref() {
        Some(v3) => Some(Arc::new(WechatV3Client::new(wechat, v3, http.clone(), tokens.clone())?)),
        None => None,
    };
    Ok((Some(Arc::new(v2) as Arc<dyn WechatApi>), v3))
}

/// Parses the trade keys of `config` (once per cold start) around a trade client.
fn trade_from_config(config: &Config, api: Arc<dyn TradeApi>) -> Result<Trade, ConfigError> {
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

fn build_trade(config: &Config, http: &reqwest::Client) -> Result<Option<Trade>, ConfigError> {
    let Some(douyin) = config.douyin.as_ref() else {
        return Ok(None);
    };
    let api = Arc::new(TradeClient::new(douyin, http.clone())) as Arc<dyn TradeApi>;
    trade_from_config(config, api).map(Some)
}

impl App<DynamoStore> {
    /// Reads the configuration and builds the table, the platform clients and the
    /// channels of `kit`.
    pub async fn from_env(kit: Kit) -> Result<App<DynamoStore>, ConfigError> {
        let http = http_client();
        let sdk = crate::aws::sdk_config(&http)?;
        let config = Config::load(&sdk).await?;
        let store = Arc::new(
            DynamoStore::from_sdk(&sdk, config.table_name.clone())
                .with_callback_retention(config.callback_retention_days * 86_400),
        );
        let tokens: Arc<dyn TokenStore> = store.clone();
        App::with_store_and_http(config, store, tokens, http, kit)
    }
}

impl App {
    /// Every real platform client around a given store.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> Result<App, ConfigError> {
        let tokens: Arc<dyn TokenStore> = store.clone();
        App::with_store_and_http(config, store, tokens, http_client(), Kit::PAYMENTS)
    }

    /// An app from given parts (tests put doubles here).
    pub fn assemble(config: Config, store: Arc<dyn Store>, douyin: Option<Arc<dyn Douyin>>) -> App {
        let tokens: Arc<dyn TokenStore> = store.clone();
        App::assemble_on(config, store, tokens, douyin, &http_client(), Kit::PAYMENTS)
    }

    /// Parses the trade keys of `config` (once per cold start) around a trade client.
    pub fn trade_from_config(config: &Config, api: Arc<dyn TradeApi>) -> Result<Trade, ConfigError> {
        trade_from_config(config, api)
    }
}

impl<S: Store + ?Sized> App<S> {
    /// The real platform clients of `kit` on `http` (the cold start's one client) around a store.
    fn with_store_and_http(
        config: Config,
        store: Arc<S>,
        tokens: Arc<dyn TokenStore>,
        http: reqwest::Client,
        kit: Kit,
    ) -> Result<App<S>, ConfigError> {
        let douyin = config
            .douyin
            .clone()
            .map(|c| Arc::new(DouyinClient::new(c, http.clone())) as Arc<dyn Douyin>);
        let (wechat, wechat_v3) = match kit.wechat_pay {
            Some(build) => build(&config, &http, &tokens)?,
            None => (None, None),
        };
        let trade = match kit.douyin_trade {
            Some(build) => build(&config, &http)?,
            None => None,
        };
        let wechat_login = config
            .wechat
            .as_ref()
            .map(|w| Arc::new(WechatLoginClient::new(w, http.clone())) as Arc<dyn WechatLogin>);
        let mut app = Self::assemble_on(config, store, tokens, douyin, &http, kit);
        app.wechat_login = wechat_login;
        app.wechat = wechat;
        app.wechat_v3 = wechat_v3;
        app.trade = trade.map(Arc::new);
        app.build_channels();
        Ok(app)
    }

    fn assemble_on(
        config: Config,
        store: Arc<S>,
        tokens: Arc<dyn TokenStore>,
        douyin: Option<Arc<dyn Douyin>>,
        http: &reqwest::Client,
        kit: Kit,
    ) -> App<S> {
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
            tokens,
            douyin,
            wechat_login: None,
            wechat: None,
            wechat_v3: None,
            douyin_token: TokenCache::new(token_key),
            trade: None,
            channels: Channels::default(),
            kit,
        };
        app.build_channels();
        app
    }

    /// (Re)makes the channels from the platform clients: once per cold start, and in
    /// tests after a client was swapped for a double.
    pub fn build_channels(&mut self) {
        self.channels = Channels::build(
            self.kit.channels,
            &Parts {
                config: &self.config,
                tokens: &self.tokens,
                douyin: self.douyin.as_ref(),
                trade: self.trade.as_ref(),
                wechat: self.wechat.as_ref(),
                wechat_v3: self.wechat_v3.as_ref(),
            },
        );
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
            .get(self.tokens.as_ref(), &DouyinTokenSource(douyin))
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
            .with_token(self.tokens.as_ref(), &DouyinTokenSource(douyin), refused, |token| {
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

    pub fn wechat_login(&self) -> Result<&dyn WechatLogin, ApiError> {
        self.wechat_login
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
mod kit_tests {
    use super::{App, Kit};
    use crate::config::Config;
    use crate::domain::channel::ChannelId;
    use crate::domain::order::{OrderStatus, Platform};
    use crate::error::ErrorCode;
    use crate::service::settle;
    use crate::store::{MemoryStore, OrderStore};
    use crate::testing::fixtures;
    use std::sync::Arc;

    /// A deployment with Douyin (ecpay) and WeChat Pay v2.
    fn config() -> Config {
        fixtures::config(&[
            ("WECHAT_APP_ID", "wx1"),
            ("WECHAT_APP_SECRET", "wsecret"),
            ("WECHAT_MCH_ID", "1900000109"),
            ("WECHAT_API_KEY", "192006250b4c09247ec02edce69f6a2d"),
        ])
    }

    fn app(kit: Kit, store: Arc<MemoryStore>) -> App<MemoryStore> {
        let tokens: Arc<dyn crate::store::TokenStore> = store.clone();
        App::with_store_and_http(config(), store, tokens, crate::outbound::http_client(), kit).unwrap()
    }

    fn configured(app: &App<MemoryStore>) -> Vec<ChannelId> {
        ChannelId::ALL
            .into_iter()
            .filter(|id| app.channels.get(*id).is_ok())
            .collect()
    }

    #[test]
    fn each_kit_builds_what_it_names_and_nothing_else() {
        let store = Arc::new(MemoryStore::new());
        let payments = app(Kit::PAYMENTS, store.clone());
        assert_eq!(
            configured(&payments),
            [ChannelId::DouyinEcpay, ChannelId::DouyinTrade, ChannelId::WechatV2]
        );
        assert!(payments.wechat.is_some() && payments.wechat_login.is_some());

        let settlement = app(Kit::DOUYIN_SETTLEMENT, store.clone());
        assert_eq!(
            configured(&settlement),
            [ChannelId::DouyinEcpay, ChannelId::DouyinTrade]
        );
        assert!(settlement.wechat.is_none() && settlement.wechat_v3.is_none());

        let accounts = app(Kit::ACCOUNTS, store);
        assert_eq!(configured(&accounts), []);
        assert!(accounts.wechat.is_none() && accounts.trade.is_none());
        assert!(accounts.douyin.is_some(), "Douyin login and the order center");
        assert!(accounts.wechat_login.is_some(), "WeChat login without WeChat Pay");
    }

    #[tokio::test]
    async fn settle_built_without_wechat_pay_still_refuses_a_wechat_order_plainly() {
        let store = Arc::new(MemoryStore::new());
        let order = fixtures::order("MPW1", Platform::Wechat, ChannelId::WechatV2, OrderStatus::Paid);
        store.insert_order(&order, "reuse#MPW1", None).await.unwrap();
        let request = settle::SettleRequest {
            out_order_no: "MPW1".into(),
            out_settle_no: "s1".into(),
            settle_desc: "结算".into(),
            settle_params: None,
        };
        let err = settle::settle(&app(Kit::DOUYIN_SETTLEMENT, store), request)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest, "{}", err.message);
        assert!(err.message.contains("not settled"), "{}", err.message);
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
