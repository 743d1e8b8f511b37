//! Test harness: a real DynamoDB API (moto, started by the test command), the platform
//! sandbox over real HTTP, and the functions' routes served over HTTP in-process.

pub mod client;
pub mod flows;
pub mod local;
pub mod money;
pub mod table;
pub mod watch;

use minipay::App;
use minipay::config::Config;
use minipay::store::DynamoStore;
use sandbox::{Sandbox, SandboxConfig};
use std::collections::HashMap;
use std::sync::Arc;

pub const APP_ID: &str = "tt_sandbox_app";
pub const APP_SECRET: &str = "sandbox-app-secret-7f3a";
pub const SALT: &str = "sandbox-salt-Q8hnGDm29i4A6pbTMDKme4WLLvA";
pub const TOKEN: &str = "sandbox-callback-token-5280";
pub const ADMIN_KEY: &str = "sandbox-admin-key-9c1e";

/// Every secret the tests configure, to prove none of them leaks.
pub const SECRETS: [&str; 4] = [APP_SECRET, SALT, TOKEN, ADMIN_KEY];

/// A whole local stack: a fresh table on moto, a sandbox, the routes on a local port.
pub struct Stack {
    pub client: client::ApiClient,
    pub app: Arc<App>,
    pub store: Arc<DynamoStore>,
    pub sandbox: Sandbox,
    pub api: local::LocalApi,
    pub table: String,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(&[]).await
    }

    /// Starts a stack with extra or overriding configuration variables.
    pub async fn start_with(overrides: &[(&str, &str)]) -> Stack {
        let table = table::create_fresh_table().await;
        let sandbox = Sandbox::start(SandboxConfig {
            app_id: APP_ID.into(),
            app_secret: APP_SECRET.into(),
            salt: SALT.into(),
            token: TOKEN.into(),
            notify_url: None,
        })
        .await;
        let listener = local::Listener::bind().await;
        let mut env: HashMap<String, String> = [
            ("TABLE_NAME", table.as_str()),
            ("DOUYIN_APP_ID", APP_ID),
            ("DOUYIN_APP_SECRET", APP_SECRET),
            ("DOUYIN_SALT", SALT),
            ("DOUYIN_TOKEN", TOKEN),
            ("DOUYIN_API_BASE", sandbox.base_url.as_str()),
            ("ADMIN_API_KEY", ADMIN_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.insert(
            "DOUYIN_NOTIFY_URL".into(),
            format!("{}/notify/douyin", listener.base_url),
        );
        for (k, v) in overrides {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_source(&env, &HashMap::new()).expect("test configuration is valid");
        let store = Arc::new(table::store(&table).await);
        let app = Arc::new(App::with_store(config, store.clone()));
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
