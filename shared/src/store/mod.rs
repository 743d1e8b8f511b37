//! The table behind narrow traits: a DynamoDB implementation and an in-memory one
//! with the same conditional semantics for unit tests.

pub mod dynamo;
pub mod memory;

use crate::domain::order::{Order, OrderStatus, Payment, Platform, PlatformOrder};
use crate::error::StoreError;
use crate::secret::Secret;
use async_trait::async_trait;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

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

/// Everything a function may need from the table.
pub trait Store: SessionStore + CatalogStore + OrderStore {}
impl<T: SessionStore + CatalogStore + OrderStore> Store for T {}
