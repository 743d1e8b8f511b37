//! The table behind narrow traits: a DynamoDB implementation and an in-memory one
//! with the same conditional semantics for unit tests.

pub mod admin;
pub mod callbacks;
#[cfg(any(test, feature = "store-contract"))]
pub mod contract;
pub mod dynamo;
pub mod dynamo_admin;
pub mod memory;
mod memory_admin;
pub mod webhooks;

use crate::domain::order::{Order, OrderStatus, Payment, Platform, PlatformOrder};
use crate::domain::refund::{Refund, SettleStatus, Settlement};
use crate::error::StoreError;
use crate::secret::Secret;
use async_trait::async_trait;

pub use admin::AdminStore;
pub use callbacks::{CallbackPaid, CallbackRefund, CallbackStore, Received};
pub use dynamo::DynamoStore;
pub use memory::MemoryStore;
pub use webhooks::{Webhook, WebhookStatus, WebhookStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub openid: String,
    pub unionid: Option<String>,
    pub platform: Platform,
    pub session_key: Secret,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub sku: String,
    pub price: i64,
    pub subject: String,
    pub body: String,
    pub image: String,
    /// The trade system's goods type (商品类型) and tag group, required in trade mode.
    pub goods_type: Option<i64>,
    pub tag_group_id: Option<String>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session under the hash of its token.
    async fn put_session(&self, token_hash: &str, session: &Session) -> Result<(), StoreError>;
    /// The session, if one was stored and has not expired at `now`.
    async fn get_session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError>;
}

#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn get_catalog_item(&self, sku: &str) -> Result<Option<CatalogItem>, StoreError>;
}

/// What prepay reads before it writes, together: the table answers both in one request.
#[async_trait]
pub trait PrepayReads: SessionStore + CatalogStore {
    /// The session under `token_hash` (unless expired at `now`) and the catalog entry of `sku`.
    async fn session_and_catalog_item(
        &self,
        token_hash: &str,
        now: i64,
        sku: &str,
    ) -> Result<(Option<Session>, Option<CatalogItem>), StoreError> {
        Ok((
            self.get_session(token_hash, now).await?,
            self.get_catalog_item(sku).await?,
        ))
    }
}

/// The result of trying to insert a new order in a reuse slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// Another order holds the slot; nothing was written.
    SlotHeldBy(String),
}

/// The result of applying a verified payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidOutcome {
    /// This call moved the order to PAID.
    Applied(Order),
    /// The order was paid before (a duplicate or concurrent delivery).
    AlreadyPaid(Order),
    /// The amount paid differs from the order's; nothing changed.
    AmountMismatch {
        expected: i64,
    },
    NotFound,
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn get_order(&self, out_order_no: &str) -> Result<Option<Order>, StoreError>;

    /// Writes `order` and points the reuse slot `reuse_key` at it, atomically, if the
    /// slot is free or still points at `replaces` (an order found unusable).
    async fn insert_order(
        &self,
        order: &Order,
        reuse_key: &str,
        replaces: Option<&str>,
    ) -> Result<InsertOutcome, StoreError>;

    /// The order a reuse slot points at.
    async fn reuse_slot(&self, reuse_key: &str) -> Result<Option<String>, StoreError>;

    /// Records the platform's order id and pay token, unless another id is recorded.
    /// Returns the order as stored afterwards.
    async fn record_platform_order(
        &self,
        out_order_no: &str,
        platform_order: &PlatformOrder,
        now: i64,
    ) -> Result<Option<Order>, StoreError>;

    /// Marks the order PAID if the amount matches and it is not paid already.
    async fn mark_paid(&self, out_order_no: &str, payment: &Payment, now: i64) -> Result<PaidOutcome, StoreError>;

    /// Moves a PENDING order to a final unpaid status (FAILED, TIMEOUT, CLOSED).
    /// Returns the order as stored afterwards, changed or not.
    async fn finish_unpaid(
        &self,
        out_order_no: &str,
        status: OrderStatus,
        now: i64,
    ) -> Result<Option<Order>, StoreError>;
}

/// The result of asking for a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginRefund {
    /// Recorded as in flight and subtracted from the refundable amount.
    Started(Refund),
    /// A refund with this number exists; nothing was written.
    Exists(Refund),
    OrderNotFound,
    /// The order is not paid, or the amount is more than what is left to refund.
    NotRefundable(Order),
}

/// The result of recording how a refund or settlement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish<T> {
    /// This call recorded the end.
    Applied(T),
    /// It had ended before (a duplicate callback).
    AlreadyFinished(T),
    NotFound,
}

#[async_trait]
pub trait RefundStore: Send + Sync {
    /// Records the refund as in flight and takes its amount off the order's refundable
    /// amount, atomically: racing refunds can never exceed what was paid.
    async fn begin_refund(&self, refund: &Refund) -> Result<BeginRefund, StoreError>;
    async fn get_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, StoreError>;
    /// Records the platform's refund number; returns the refund as stored afterwards.
    async fn record_refund_no(
        &self,
        out_refund_no: &str,
        refund_no: &str,
        now: i64,
    ) -> Result<Option<Refund>, StoreError>;
    /// Ends an in-flight refund exactly once, moving the order's money fields with it;
    /// the refund as stored afterwards. `seen` is the refund as the caller read it: it
    /// saves a read, and a stale copy only costs a retry (the write is conditioned on the
    /// refund being as seen).
    async fn finish_refund(&self, seen: &Refund, success: bool, now: i64) -> Result<Finish<Refund>, StoreError>;
}

/// The result of asking for a settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginSettle {
    Started(Settlement),
    Exists(Settlement),
    OrderNotFound,
    NotPaid(Order),
    /// A refund of the order is in flight: the platform would fail it if the order
    /// were settled under it.
    RefundInFlight(Order),
    /// A refund ended since the caller read the order (`refunded_seen`): its receiver
    /// shares were checked against an amount that is no longer left.
    OrderChanged(Order),
}

#[async_trait]
pub trait SettleStore: Send + Sync {
    /// Records the settlement as in flight on a paid order with no refund in flight and
    /// still `refunded_seen` refunded, atomically with the order.
    async fn begin_settle(&self, settlement: &Settlement, refunded_seen: i64) -> Result<BeginSettle, StoreError>;
    async fn get_settlement(&self, out_settle_no: &str) -> Result<Option<Settlement>, StoreError>;
    async fn record_settle_no(
        &self,
        out_settle_no: &str,
        settle_no: &str,
        now: i64,
    ) -> Result<Option<Settlement>, StoreError>;
    async fn finish_settle(
        &self,
        out_settle_no: &str,
        status: SettleStatus,
        now: i64,
    ) -> Result<Finish<Settlement>, StoreError>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Keeps a verified callback as received (deliveries of the same body are kept once),
    /// with the order it concerns when its message names it (the order's timeline shows it).
    async fn keep_callback(
        &self,
        platform: Platform,
        kind: &str,
        raw_body: &[u8],
        out_order_no: Option<&str>,
        received_at: i64,
    ) -> Result<(), StoreError>;
}

/// A cached platform access token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub token: Option<Secret>,
    pub expires_at: i64,
    pub version: i64,
    /// Until when a refresher holds the lease.
    pub lease_until: i64,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn get_token(&self, key: &str) -> Result<Option<StoredToken>, StoreError>;
    /// Takes the refresh lease if nobody holds a live one and the stored token is still
    /// the `seen_version` the caller found stale (0: none), so that an instance that
    /// looked just before another's refresh does not refresh again. While no token was
    /// ever saved under `key`, no refresh can have happened: any `seen_version` will do.
    /// A refused lease writes nothing.
    async fn take_lease(
        &self,
        key: &str,
        owner: &str,
        seen_version: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError>;
    /// Stores a new token and ends the lease, if `owner` still holds it (even past its
    /// end, unless another took it); the new version, or `None`, writing nothing, when
    /// the lease was lost.
    async fn save_token(
        &self,
        key: &str,
        owner: &str,
        token: &Secret,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Gives the lease up after a failed refresh.
    async fn release_lease(&self, key: &str, owner: &str) -> Result<(), StoreError>;
    /// Marks the token of `version` expired (the platform refused it), unless a newer
    /// one is stored already.
    async fn expire_token(&self, key: &str, version: i64) -> Result<(), StoreError>;
}

/// Something whose outcome the platform has not told us yet: an unpaid order, a refund
/// or settlement in flight; or a webhook not delivered yet. Such items, and only they,
/// are in the table's sparse index of open items, ordered by when they are next due to
/// be asked about (or, for webhooks, tried again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenItem {
    Order(Order),
    Refund(Refund),
    Settlement(Settlement),
    /// Not the reconciler's: the `events` function delivers these.
    Webhook(Webhook),
}

impl OpenItem {
    /// The item's key as [`ReconcileStore::claim`] takes it.
    pub fn key(&self) -> OpenKey {
        match self {
            OpenItem::Order(o) => OpenKey::Order(o.out_order_no.clone()),
            OpenItem::Refund(r) => OpenKey::Refund(r.out_refund_no.clone()),
            OpenItem::Settlement(s) => OpenKey::Settlement(s.out_settle_no.clone()),
            OpenItem::Webhook(w) => OpenKey::Webhook(w.event_id.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OpenKey {
    Order(String),
    Refund(String),
    Settlement(String),
    /// A webhook by its event id.
    Webhook(String),
}

/// An open item as the index holds it: when it is due and how often it was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub item: OpenItem,
    pub due_at: i64,
    pub checks: i64,
}

/// One page of due items, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DuePage {
    pub items: Vec<Due>,
    pub next: Option<String>,
}

#[async_trait]
pub trait ReconcileStore: Send + Sync {
    /// Open items due at `now`, soonest first, `limit` at most, from the index (never a
    /// scan of the table); `start` is a previous page's `next`.
    async fn due_items(&self, now: i64, limit: i32, start: Option<String>) -> Result<DuePage, StoreError>;
    /// Takes the right to ask about an item now, if it is still open and still due at
    /// `seen_due` (so of two runs at once only one asks), and puts it off to `next_due`.
    /// Claiming an order counts as asking about it at `now` for [`Self::claim_order_query`].
    async fn claim(&self, key: &OpenKey, seen_due: i64, next_due: i64, now: i64) -> Result<bool, StoreError>;
    /// Takes the right to ask the platform about a PENDING order now, unless someone
    /// asked less than `min_gap` seconds ago (a polling mini-program asks often).
    async fn claim_order_query(&self, out_order_no: &str, now: i64, min_gap: i64) -> Result<bool, StoreError>;
    /// Marks an in-flight refund as needing a person (WeChat's `CHANGE`): it stays
    /// PROCESSING, its amount reserved. The refund as stored afterwards.
    async fn flag_refund(&self, out_refund_no: &str, attention: &str, now: i64) -> Result<Option<Refund>, StoreError>;
}

/// Everything a function may need from the table.
pub trait Store:
    SessionStore
    + CatalogStore
    + PrepayReads
    + OrderStore
    + RefundStore
    + SettleStore
    + AuditStore
    + CallbackStore
    + TokenStore
    + ReconcileStore
    + AdminStore
    + WebhookStore
{
}
impl<T> Store for T where
    T: SessionStore
        + CatalogStore
        + PrepayReads
        + OrderStore
        + RefundStore
        + SettleStore
        + AuditStore
        + CallbackStore
        + TokenStore
        + ReconcileStore
        + AdminStore
        + WebhookStore
{
}
