//! The EventBridge bus: every event is put on it, `Source` `minipay`, `DetailType` the
//! event type, `Detail` the whole event.

use crate::domain::events::Event;
use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// PutEvents takes at most this many entries per call.
pub const MAX_ENTRIES: usize = 10;
pub const SOURCE: &str = "minipay";

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Puts up to [`MAX_ENTRIES`] events; the positions of those the bus refused. An
    /// error means none may have been put.
    async fn put(&self, events: &[&Event]) -> Result<Vec<usize>, String>;
}

pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// The client of a loaded SDK configuration (`crate::aws::sdk_config`:
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE` or `AWS_ENDPOINT_URL` for a local emulator, timeouts
    /// so that a slow bus cannot hold the stream).
    pub fn from_sdk(config: &crate::aws::SdkConfig, bus_name: impl Into<String>) -> Self {
        Self::new(Client::new(config), bus_name)
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put(&self, events: &[&Event]) -> Result<Vec<usize>, String> {
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(SOURCE)
                    .detail_type(event.kind.as_str())
                    .detail(event.body())
                    .build()
            })
            .collect();
        let answer = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        // Entries answer in the order they were sent; a refused one carries an error code.
        Ok(answer
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.error_code().is_some())
            .map(|(i, _)| i)
            .collect())
    }
}
