//! Webhook deliveries as the table keeps them: one item per event with its status and
//! attempts (the admin API shows them), in the open index while pending, and a line per
//! order of the deliveries still pending, so that an order's events go out in order.

use crate::error::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Not delivered yet; tried again when due.
    Pending,
    Delivered,
    /// Failed for 24 hours: kept for the operator to see and send again.
    Undelivered,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Pending => "PENDING",
            WebhookStatus::Delivered => "DELIVERED",
            WebhookStatus::Undelivered => "UNDELIVERED",
        }
    }
}

impl FromStr for WebhookStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            WebhookStatus::Pending,
            WebhookStatus::Delivered,
            WebhookStatus::Undelivered,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or(())
    }
}

/// One event's delivery to the merchant's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub event_id: String,
    pub event_type: String,
    pub out_order_no: String,
    /// The event's `created` (unix seconds).
    pub created_at: i64,
    /// The event as JSON: the exact bytes every attempt posts (and signs).
    pub body: String,
    /// Its place among its order's events (`Event::sequence_key`).
    pub sequence: String,
    pub status: WebhookStatus,
    pub attempts: i64,
    pub first_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// What the last failed attempt got: `HTTP <status>`, `timeout`, ...
    pub last_error: Option<String>,
    /// When it is tried next, while it is pending.
    pub due_at: Option<i64>,
}

/// Where a page of deliveries ended: the last one it returned, by its place newest
/// first (the event's creation time, then its id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookCursor {
    pub created_at: i64,
    pub event_id: String,
}

impl WebhookCursor {
    pub fn after(webhook: &Webhook) -> Self {
        WebhookCursor {
            created_at: webhook.created_at,
            event_id: webhook.event_id.clone(),
        }
    }

    /// Opaque to callers: base64url of its JSON.
    pub fn encode(&self) -> String {
        super::admin::encode_cursor(self)
    }

    /// `None` for anything [`WebhookCursor::encode`] did not make.
    pub fn decode(text: &str) -> Option<Self> {
        super::admin::decode_cursor(text)
    }
}

/// Up to `limit` deliveries of one status, newest first, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPage {
    pub webhooks: Vec<Webhook>,
    pub next_cursor: Option<WebhookCursor>,
}

/// The line of an order is kept with plain writes, not a transaction (each write is
/// idempotent, and a transaction costs twice): an entry is added after its delivery is
/// recorded and removed after it ended, and a crash between the two leaves an entry
/// that [`WebhookStore::drop_from_line`] clears when it is found ended.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Records a delivery to make, first due at `due_at`, once, and queues it in its
    /// order's line: `false` when it was recorded before (a redelivered stream record).
    async fn record_webhook(&self, webhook: &Webhook, due_at: i64) -> Result<bool, StoreError>;
    async fn get_webhook(&self, event_id: &str) -> Result<Option<Webhook>, StoreError>;
    /// The `sequence` keys of the order's deliveries still pending, earliest first.
    async fn waiting_webhooks(&self, out_order_no: &str) -> Result<Vec<String>, StoreError>;
    /// Counts an attempt made at `now` that failed with `error`, if still pending (when
    /// it is due again was set when it was claimed).
    async fn webhook_failed(&self, event_id: &str, error: &str, now: i64) -> Result<(), StoreError>;
    /// Ends a pending delivery after an attempt at `now`: DELIVERED, or UNDELIVERED with
    /// the last `error`, out of the open index; then out of its order's line. `false`
    /// when it had ended before.
    async fn end_webhook(
        &self,
        webhook: &Webhook,
        status: WebhookStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Takes an entry out of an order's line (one whose delivery has ended).
    async fn drop_from_line(&self, out_order_no: &str, sequence: &str) -> Result<(), StoreError>;
    /// The deliveries of `status`, newest first, `limit` at most, after `cursor`.
    async fn list_webhooks(
        &self,
        status: WebhookStatus,
        limit: usize,
        cursor: Option<&WebhookCursor>,
    ) -> Result<WebhookPage, StoreError>;
    /// Records the operator's attempt at `now` of an UNDELIVERED delivery, as `seen`
    /// (its attempts): DELIVERED when `error` is `None`, else still UNDELIVERED with the
    /// error; attempts + 1 either way. `false` when it changed since it was read.
    async fn record_redelivery(&self, seen: &Webhook, error: Option<&str>, now: i64) -> Result<bool, StoreError>;
}

/// The event id in a line's `sequence` key (`<created>-<rank>-<event id>`).
pub fn event_id_of(sequence: &str) -> &str {
    sequence.rsplit('-').next().unwrap_or(sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_sequence_keys_name_their_event() {
        for status in [
            WebhookStatus::Pending,
            WebhookStatus::Delivered,
            WebhookStatus::Undelivered,
        ] {
            assert_eq!(status.as_str().parse::<WebhookStatus>(), Ok(status));
        }
        assert_eq!(event_id_of("001732240000-1-evt_0123abcd"), "evt_0123abcd");
    }
}
