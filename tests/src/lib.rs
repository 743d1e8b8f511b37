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
pub mod requests;
pub mod table;
pub mod watch;
pub mod wechat_v3;

use minipay::App;
use minipay::config::Config;
use minipay::store::{DynamoStore, Store};
use sandbox::{Sandbox, SandboxConfig, TradeKeys, Tunnel, WechatSandboxConfig, WechatV3Mode};
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

pub use wechat_v3::WECHAT_APIV3_KEY;

/// Every secret the tests configure, to prove none of them leaks (`for secret in
/// SECRETS`): the fixed ones and a line of the APIv3 merchant private key, which is made
/// at run time (see [`wechat_v3::merchant_private_key_line`]).
pub const SECRETS: Secrets = Secrets;

/// The list behind [`SECRETS`]: a constant that iterates like the array it once was.
#[derive(Debug, Clone, Copy)]
pub struct Secrets;

impl IntoIterator for Secrets {
    type Item = &'static str;
    type IntoIter = std::array::IntoIter<&'static str, 8>;

    fn into_iter(self) -> Self::IntoIter {
        [
            APP_SECRET,
            SALT,
            TOKEN,
            ADMIN_KEY,
            WECHAT_APP_SECRET,
            WECHAT_API_KEY,
            WECHAT_APIV3_KEY,
            wechat_v3::merchant_private_key_line(),
        ]
        .into_iter()
    }
}

/// The public https origin the backend under test is reached at, as behind a tunnel:
/// the platforms refuse http notify URLs, and the sandbox carries calls to this origin
/// to wherever the backend listens (see [`tunnel_to`]).
pub const PUBLIC_ORIGIN: &str = "https://minipay.test";

/// The public URL of `path` on the backend, e.g. the notify URLs it is configured with.
pub fn public_url(path: &str) -> String {
    format!("{PUBLIC_ORIGIN}{path}")
}

/// The tunnel from [`PUBLIC_ORIGIN`] to a backend listening at `local_origin`.
pub fn tunnel_to(local_origin: &str) -> Tunnel {
    Tunnel {
        public_origin: PUBLIC_ORIGIN.into(),
        local_origin: local_origin.into(),
    }
}

/// The sandbox's view of the test credentials, with the consoles' notify URLs set to
/// the backend's public ones. Set its tunnel once the backend listens.
pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        app_id: APP_ID.into(),
        app_secret: APP_SECRET.into(),
        salt: SALT.into(),
        token: TOKEN.into(),
        notify_url: Some(public_url("/notify/douyin")),
        wechat: Some(WechatSandboxConfig {
            app_id: WECHAT_APP_ID.into(),
            app_secret: WECHAT_APP_SECRET.into(),
            mch_id: WECHAT_MCH_ID.into(),
            api_key: WECHAT_API_KEY.into(),
            notify_url: Some(public_url("/notify/wechat")),
            // The merchant certificate the backend sends refunds with (its key after
            // it is ignored).
            client_cert_pem: Some(client_cert_pem().to_owned()),
            v3: None,
        }),
        trade: Some(trade_keys().sandbox_config(KEY_VERSION)),
        tunnel: None,
    }
}

/// [`sandbox_config`], with the WeChat merchant on APIv3 in `mode` when given.
pub fn sandbox_config_with(wechat_v3: Option<WechatV3Mode>) -> SandboxConfig {
    let mut config = sandbox_config();
    if let Some(wechat) = config.wechat.as_mut() {
        wechat.v3 = wechat_v3.map(wechat_v3::sandbox_v3_config);
    }
    config
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

/// Makes the backend trust the sandbox's TLS listener (WeChat Pay) as a deployment would a
/// private CA: minipay's outbound clients add the certificates of `SSL_CERT_FILE` to their
/// roots when they are built. Set once per test process, before the first App is built; every
/// sandbox of the process has the same CA.
pub fn trust_sandbox_tls() {
    static TRUSTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    TRUSTED.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("minipay-sandbox-ca-{}.pem", std::process::id()));
        // Making the CA initialises aws-lc, whose start-up is the one C reader of the
        // environment here, so that it has finished before the variable is set.
        std::fs::write(&path, Sandbox::tls_ca_pem()).expect("write the sandbox CA");
        // SAFETY: the other readers of the environment in a test process (reqwest,
        // rustls-native-certs, the AWS SDK) read it through `std::env`, which serialises
        // with `set_var`; no C code reads it concurrently once aws-lc has started.
        unsafe { std::env::set_var("SSL_CERT_FILE", &path) };
    });
}

/// A whole local stack: a fresh table on moto, a sandbox, the routes on a local port.
pub struct Stack {
    pub client: client::ApiClient,
    pub app: Arc<App>,
    pub store: Arc<DynamoStore>,
    /// Every request the functions' table client sent.
    pub table_requests: requests::TableRequests,
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
    /// Puts the WeChat merchant on APIv3 in this profile: the sandbox serves `/v3/` with
    /// it, and the backend gets CONTRACT §11's variables (before `overrides`). With
    /// `reuse`, only the backend side changes (the sandbox keeps its configuration).
    pub wechat_v3: Option<WechatV3Mode>,
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

    /// Starts a stack whose WeChat merchant is on APIv3 in `mode`.
    pub async fn start_wechat_v3(mode: WechatV3Mode) -> Stack {
        Self::start_custom(StackOptions {
            wechat_v3: Some(mode),
            ..StackOptions::default()
        })
        .await
    }

    pub async fn start_custom(options: StackOptions) -> Stack {
        trust_sandbox_tls();
        let endpoint = options.endpoint.unwrap_or_else(table::endpoint);
        let listener = local::Listener::bind().await;
        let tunnel = tunnel_to(&listener.base_url);
        let (sandbox, table) = match options.reuse {
            Some((sandbox, table)) => {
                sandbox.set_tunnel(Some(tunnel));
                (sandbox, table)
            }
            None => (
                Sandbox::start(SandboxConfig {
                    tunnel: Some(tunnel),
                    ..sandbox_config_with(options.wechat_v3)
                })
                .await,
                table::create_fresh_table_at(&endpoint).await,
            ),
        };
        let douyin_notify = public_url("/notify/douyin");
        let wechat_notify = public_url("/notify/wechat");
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
            // WeChat Pay over TLS, as in production: refunds need the client certificate.
            ("WECHAT_API_BASE", sandbox.tls_url.as_str()),
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
        if let Some(mode) = options.wechat_v3 {
            env.extend(
                wechat_v3::backend_v3_env(mode)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v)),
            );
        }
        env.extend(options.overrides);
        let config = Config::from_source(&env, &HashMap::new()).expect("test configuration is valid");
        // As App::from_env builds its store, on a client whose requests are counted.
        let table_requests = requests::TableRequests::default();
        let store = Arc::new(
            DynamoStore::new(table::counted_client_at(&endpoint, &table_requests).await, &table)
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
            table_requests,
            sandbox,
            api,
            table,
        }
    }
}
