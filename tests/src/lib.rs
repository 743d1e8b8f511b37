//! Test harness: a real DynamoDB API (moto, started by the test command), the platform
//! sandbox over real HTTP, and the functions' routes served over HTTP in-process.

pub mod client;
pub mod flaky;
pub mod flows;
pub mod gate;
pub mod hooked;
pub mod local;
pub mod merchant;
pub mod money;
pub mod moto;
pub mod ports;
pub mod readback;
pub mod table;
pub mod watch;

use minipay::App;
use minipay::config::Config;
use minipay::store::{DynamoStore, Store};
use sandbox::{Sandbox, SandboxConfig, TradeKeys, WechatSandboxConfig};
use std::collections::HashMap;
use std::sync::Arc;

pub const APP_ID: &str = "tt_sandbox_app";
pub const APP_SECRET: &str = "sandbox-app-secret-7f3a";
pub const SALT: &str = "sandbox-salt-Q8hnGDm29i4A6pbTMDKme4WLLvA";
pub const TOKEN: &str = "sandbox-callback-token-5280";
pub const ADMIN_KEY: &str = "sandbox-admin-key-9c1e";
pub const WECHAT_APP_ID: &str = "wx_sandbox_app";
pub const WECHAT_APP_SECRET: &str = "wechat-app-secret-31d4";
pub const WECHAT_MCH_ID: &str = "1900000109";
pub const WECHAT_API_KEY: &str = "qazwsxedcrfvtgbyhnujmikolp111111";

/// Every secret the tests configure, to prove none of them leaks.
pub const SECRETS: [&str; 6] = [APP_SECRET, SALT, TOKEN, ADMIN_KEY, WECHAT_APP_SECRET, WECHAT_API_KEY];

/// The sandbox's view of the test credentials.
pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        app_id: APP_ID.into(),
        app_secret: APP_SECRET.into(),
        salt: SALT.into(),
        token: TOKEN.into(),
        notify_url: None,
        wechat: Some(WechatSandboxConfig {
            app_id: WECHAT_APP_ID.into(),
            app_secret: WECHAT_APP_SECRET.into(),
            mch_id: WECHAT_MCH_ID.into(),
            api_key: WECHAT_API_KEY.into(),
            notify_url: None,
        }),
        trade: Some(trade_keys().sandbox_config(KEY_VERSION)),
    }
}

/// `key_version` of the test app key, as the console would show it.
pub const KEY_VERSION: &str = "1";

/// The app and platform RSA key pairs of the trade system, made once per test process.
pub fn trade_keys() -> &'static TradeKeys {
    static KEYS: std::sync::OnceLock<TradeKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(sandbox::trade_keys::generate)
}

/// A throwaway merchant client certificate and key (PEM), made once per test process.
pub fn client_cert_pem() -> &'static str {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("minipay-cert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let status = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=minipay-test",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl makes a test certificate");
        assert!(status.success(), "openssl failed");
        std::fs::read_to_string(cert).unwrap() + &std::fs::read_to_string(key).unwrap()
    })
}

/// A whole local stack: a fresh table on moto, a sandbox, the routes on a local port.
pub struct Stack {
    pub client: client::ApiClient,
    pub app: Arc<App>,
    pub store: Arc<DynamoStore>,
    pub sandbox: Sandbox,
    pub api: local::LocalApi,
    pub table: String,
}

/// Wraps the table, e.g. in a fault injector.
pub type StoreWrapper = Box<dyn FnOnce(Arc<DynamoStore>) -> Arc<dyn Store>>;

/// How a test wants its stack.
#[derive(Default)]
pub struct StackOptions {
    /// The DynamoDB API (default: the test command's moto).
    pub endpoint: Option<String>,
    /// Extra or overriding configuration variables.
    pub overrides: Vec<(String, String)>,
    /// Puts a wrapper (a fault injector) around the table.
    pub wrap_store: Option<StoreWrapper>,
    /// The sandbox and table of an earlier stack, as when a deployment is reconfigured
    /// (a new cold start on the same table and platform).
    pub reuse: Option<(Sandbox, String)>,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_custom(StackOptions::default()).await
    }

    /// Starts a stack with extra or overriding configuration variables.
    pub async fn start_with(overrides: &[(&str, &str)]) -> Stack {
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start_custom(StackOptions {
            overrides,
            ..StackOptions::default()
        })
        .await
    }

    pub async fn start_custom(options: StackOptions) -> Stack {
        let endpoint = options.endpoint.unwrap_or_else(table::endpoint);
        let (sandbox, table) = match options.reuse {
            Some(reused) => reused,
            None => (
                Sandbox::start(sandbox_config()).await,
                table::create_fresh_table_at(&endpoint).await,
            ),
        };
        let listener = local::Listener::bind().await;
        let douyin_notify = format!("{}/notify/douyin", listener.base_url);
        let wechat_notify = format!("{}/notify/wechat", listener.base_url);
        let mut env: HashMap<String, String> = [
            ("TABLE_NAME", table.as_str()),
            ("DOUYIN_APP_ID", APP_ID),
            ("DOUYIN_APP_SECRET", APP_SECRET),
            ("DOUYIN_SALT", SALT),
            ("DOUYIN_TOKEN", TOKEN),
            ("DOUYIN_API_BASE", sandbox.base_url.as_str()),
            ("DOUYIN_NOTIFY_URL", douyin_notify.as_str()),
            ("ADMIN_API_KEY", ADMIN_KEY),
            ("WECHAT_APP_ID", WECHAT_APP_ID),
            ("WECHAT_APP_SECRET", WECHAT_APP_SECRET),
            ("WECHAT_MCH_ID", WECHAT_MCH_ID),
            ("WECHAT_API_KEY", WECHAT_API_KEY),
            ("WECHAT_API_BASE", sandbox.base_url.as_str()),
            ("WECHAT_LOGIN_BASE", sandbox.base_url.as_str()),
            ("WECHAT_NOTIFY_URL", wechat_notify.as_str()),
            ("WECHAT_CLIENT_CERT", client_cert_pem()),
            ("DOUYIN_PRIVATE_KEY", trade_keys().app_private_pem.as_str()),
            ("DOUYIN_PLATFORM_PUBLIC_KEY", trade_keys().platform_public_pem.as_str()),
            ("DOUYIN_KEY_VERSION", KEY_VERSION),
            ("DOUYIN_OPEN_API_BASE", sandbox.base_url.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.extend(options.overrides);
        let config = Config::from_source(&env, &HashMap::new()).expect("test configuration is valid");
        // As App::from_env builds its store.
        let store = Arc::new(
            table::store_at(&endpoint, &table)
                .await
                .with_callback_retention(config.callback_retention_days * 86_400),
        );
        let app_store: Arc<dyn Store> = match options.wrap_store {
            Some(wrap) => wrap(store.clone()),
            None => store.clone(),
        };
        let app = Arc::new(App::with_store(config, app_store).expect("test configuration builds"));
        let api = listener.serve(app.clone());
        let client = client::ApiClient::new(api.base_url.clone(), client::Routing::Gateway);
        Stack {
            client,
            app,
            store,
            sandbox,
            api,
            table,
        }
    }
}
