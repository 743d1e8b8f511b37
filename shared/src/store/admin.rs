//! What the back office reads: orders newest first, one page at a time, and one order
//! with everything that hangs off it. Read-only, and never a scan of the table.

use crate::domain::order::{Order, OrderStatus, Platform};
use crate::domain::refund::{Refund, Settlement};
use crate::domain::timeline::CallbackReceived;
use crate::error::StoreError;
use crate::store::Webhook;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Which orders to list; every field narrows, `None` does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub platform: Option<Platform>,
    pub openid: Option<String>,
    /// Made at or after, unix seconds.
    pub from: Option<i64>,
    /// Made at or before, unix seconds.
    pub to: Option<i64>,
}

impl OrderFilter {
    pub fn matches(&self, order: &Order) -> bool {
        self.status.is_none_or(|s| s == order.status)
            && self.platform.is_none_or(|p| p == order.platform)
            && self.openid.as_deref().is_none_or(|o| o == order.openid)
            && self.from.is_none_or(|from| order.created_at >= from)
            && self.to.is_none_or(|to| order.created_at <= to)
    }
}

/// Where a page ended: the last order it returned, by its place in the newest-first
/// order (creation time, then number). It is that order's index key, less what the
/// filter implies, so the next page starts right after it whatever was written since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCursor {
    pub created_at: i64,
    pub out_order_no: String,
}

impl OrderCursor {
    pub fn after(order: &Order) -> Self {
        OrderCursor {
            created_at: order.created_at,
            out_order_no: order.out_order_no.clone(),
        }
    }

    /// Opaque to callers: base64url of its JSON.
    pub fn encode(&self) -> String {
        encode_cursor(self)
    }

    /// `None` for anything [`OrderCursor::encode`] did not make.
    pub fn decode(text: &str) -> Option<Self> {
        decode_cursor(text)
    }
}

/// A page cursor as callers see it: base64url of its JSON, opaque.
pub(crate) fn encode_cursor<T: Serialize>(cursor: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

/// The cursor [`encode_cursor`] made, or `None` for any other text.
pub(crate) fn decode_cursor<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Up to `limit` orders, newest first, and where the next page starts (`None`: there
/// are no more).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next_cursor: Option<OrderCursor>,
}

/// An order and what was asked of the platform about it, each list oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderWithChildren {
    pub order: Order,
    pub refunds: Vec<Refund>,
    pub settlements: Vec<Settlement>,
    /// The callbacks received that named the order (kept until their retention ends).
    pub callbacks: Vec<CallbackReceived>,
    /// The webhook deliveries of its events.
    pub webhooks: Vec<Webhook>,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Orders matching `filter`, newest first, `limit` at most, after `cursor` (a
    /// previous page's `next_cursor`).
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        limit: usize,
        cursor: Option<&OrderCursor>,
    ) -> Result<OrderPage, StoreError>;

    /// The order with its refunds, settlements, callbacks and webhook deliveries; `None`
    /// for an unknown order.
    async fn order_with_children(&self, out_order_no: &str) -> Result<Option<OrderWithChildren>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let cursor = OrderCursor {
            created_at: 1_732_240_000,
            out_order_no: "1732240000a1b2".into(),
        };
        let text = cursor.encode();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(OrderCursor::decode(&text), Some(cursor));
        for bad in [
            "",
            "not base64!",
            "e30", // {}
            &URL_SAFE_NO_PAD.encode(r#"{"created_at":"1","out_order_no":"a"}"#),
            &URL_SAFE_NO_PAD.encode(r#"{"created_at":1,"out_order_no":"a","x":1}"#),
        ] {
            assert_eq!(OrderCursor::decode(bad), None, "{bad}");
        }
    }
}
