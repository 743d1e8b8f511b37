//! Telling the merchant (CONTRACT.md §9): the sinks events go to (the EventBridge bus,
//! the merchant's webhook) and what the `events` function builds once per cold start.

pub mod bus;
pub mod webhook;

use crate::config::{Config, ConfigError};
use crate::secret::Secret;
use crate::store::{DynamoStore, Store};
use bus::{EventBridgeBus, EventBus};
use std::sync::Arc;
use webhook::{HttpWebhook, WebhookSender};

/// The `events` function's dependencies; `S` is the table, as in [`crate::App`].
pub struct Notifier<S: ?Sized = dyn Store> {
    pub store: Arc<S>,
    pub bus: Arc<dyn EventBus>,
    /// `None`: no `MERCHANT_WEBHOOK_URL`, events go to the bus only.
    pub webhook: Option<WebhookTarget>,
}

/// Where webhooks go and what signs them.
pub struct WebhookTarget {
    pub sender: Arc<dyn WebhookSender>,
    pub secret: Secret,
}

impl Notifier<DynamoStore> {
    /// Reads the configuration and builds the table, bus and webhook clients.
    pub async fn from_env() -> Result<Notifier<DynamoStore>, ConfigError> {
        let http = crate::outbound::http_client();
        let sdk = crate::aws::sdk_config(&http)?;
        let config = Config::load(&sdk).await?;
        let store = Arc::new(DynamoStore::from_sdk(&sdk, config.table_name.clone()));
        let bus = Arc::new(EventBridgeBus::from_sdk(&sdk, config.event_bus_name.clone()));
        let webhook = WebhookTarget::from_config(&config, &http);
        Ok(Notifier { store, bus, webhook })
    }
}

impl Notifier {
    /// A notifier from given parts, with the configured webhook (tests put a bus here).
    pub fn assemble(config: &Config, store: Arc<dyn Store>, bus: Arc<dyn EventBus>) -> Notifier {
        let webhook = WebhookTarget::from_config(config, &crate::outbound::http_client());
        Notifier { store, bus, webhook }
    }
}

impl WebhookTarget {
    /// The configured webhook (`None` without `MERCHANT_WEBHOOK_URL`).
    pub fn from_config(config: &Config, http: &reqwest::Client) -> Option<WebhookTarget> {
        config.merchant_webhook.as_ref().map(|w| WebhookTarget {
            sender: Arc::new(HttpWebhook::new(w.url.clone(), http.clone())) as Arc<dyn WebhookSender>,
            secret: w.secret.clone(),
        })
    }
}
