//! The real table behind a hook that runs before every store call and may fail it:
//! to fail chosen writes (`flaky.rs`) or to hold concurrent calls at a barrier until all
//! have arrived (`gate.rs`).

use async_trait::async_trait;
use minipay::domain::order::{Order, OrderStatus, Payment, Platform, PlatformOrder};
use minipay::domain::refund::{Refund, SettleStatus, Settlement};
use minipay::error::StoreError;
use minipay::secret::Secret;
use minipay::store::*;
use std::sync::Arc;

/// Runs before each call of the store, named by its method; an error is the call's.
#[async_trait]
pub trait Hook: Send + Sync {
    async fn before(&self, call: &'static str) -> Result<(), StoreError>;
}

/// Delegates every call to the real table after the hook.
pub struct HookedStore {
    inner: Arc<DynamoStore>,
    hook: Arc<dyn Hook>,
}

impl HookedStore {
    pub fn new(inner: Arc<DynamoStore>, hook: Arc<dyn Hook>) -> Self {
        HookedStore { inner, hook }
    }
}

#[async_trait]
impl SessionStore for HookedStore {
    async fn put_session(&self, token_hash: &str, session: &Session) -> Result<(), StoreError> {
        self.hook.before("put_session").await?;
        self.inner.put_session(token_hash, session).await
    }
    async fn get_session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        self.hook.before("get_session").await?;
        self.inner.get_session(token_hash, now).await
    }
}

#[async_trait]
impl CatalogStore for HookedStore {
    async fn get_catalog_item(&self, sku: &str) -> Result<Option<CatalogItem>, StoreError> {
        self.hook.before("get_catalog_item").await?;
        self.inner.get_catalog_item(sku).await
    }
}

/// The session and the catalog entry read one after the other, each through the hook.
impl PrepayReads for HookedStore {}

#[async_trait]
impl OrderStore for HookedStore {
    async fn get_order(&self, no: &str) -> Result<Option<Order>, StoreError> {
        self.hook.before("get_order").await?;
        self.inner.get_order(no).await
    }
    async fn insert_order(
        &self,
        order: &Order,
        key: &str,
        replaces: Option<&str>,
    ) -> Result<InsertOutcome, StoreError> {
        self.hook.before("insert_order").await?;
        self.inner.insert_order(order, key, replaces).await
    }
    async fn reuse_slot(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.hook.before("reuse_slot").await?;
        self.inner.reuse_slot(key).await
    }
    async fn record_platform_order(&self, no: &str, po: &PlatformOrder, now: i64) -> Result<Option<Order>, StoreError> {
        self.hook.before("record_platform_order").await?;
        self.inner.record_platform_order(no, po, now).await
    }
    async fn mark_paid(&self, no: &str, payment: &Payment, now: i64) -> Result<PaidOutcome, StoreError> {
        self.hook.before("mark_paid").await?;
        self.inner.mark_paid(no, payment, now).await
    }
    async fn finish_unpaid(&self, no: &str, status: OrderStatus, now: i64) -> Result<Option<Order>, StoreError> {
        self.hook.before("finish_unpaid").await?;
        self.inner.finish_unpaid(no, status, now).await
    }
}

#[async_trait]
impl RefundStore for HookedStore {
    async fn begin_refund(&self, refund: &Refund) -> Result<BeginRefund, StoreError> {
        self.hook.before("begin_refund").await?;
        self.inner.begin_refund(refund).await
    }
    async fn get_refund(&self, no: &str) -> Result<Option<Refund>, StoreError> {
        self.hook.before("get_refund").await?;
        self.inner.get_refund(no).await
    }
    async fn record_refund_no(&self, no: &str, refund_no: &str, now: i64) -> Result<Option<Refund>, StoreError> {
        self.hook.before("record_refund_no").await?;
        self.inner.record_refund_no(no, refund_no, now).await
    }
    async fn finish_refund(&self, seen: &Refund, success: bool, now: i64) -> Result<Finish<Refund>, StoreError> {
        self.hook.before("finish_refund").await?;
        self.inner.finish_refund(seen, success, now).await
    }
}

#[async_trait]
impl SettleStore for HookedStore {
    async fn begin_settle(&self, settlement: &Settlement, refunded_seen: i64) -> Result<BeginSettle, StoreError> {
        self.hook.before("begin_settle").await?;
        self.inner.begin_settle(settlement, refunded_seen).await
    }
    async fn get_settlement(&self, no: &str) -> Result<Option<Settlement>, StoreError> {
        self.hook.before("get_settlement").await?;
        self.inner.get_settlement(no).await
    }
    async fn record_settle_no(&self, no: &str, settle_no: &str, now: i64) -> Result<Option<Settlement>, StoreError> {
        self.hook.before("record_settle_no").await?;
        self.inner.record_settle_no(no, settle_no, now).await
    }
    async fn finish_settle(&self, no: &str, status: SettleStatus, now: i64) -> Result<Finish<Settlement>, StoreError> {
        self.hook.before("finish_settle").await?;
        self.inner.finish_settle(no, status, now).await
    }
}

#[async_trait]
impl AuditStore for HookedStore {
    async fn keep_callback(
        &self,
        platform: Platform,
        kind: &str,
        body: &[u8],
        out_order_no: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        self.hook.before("keep_callback").await?;
        self.inner.keep_callback(platform, kind, body, out_order_no, at).await
    }
}

#[async_trait]
impl CallbackStore for HookedStore {
    async fn pay_by_callback(
        &self,
        received: &Received<'_>,
        no: &str,
        payment: &Payment,
    ) -> Result<CallbackPaid, StoreError> {
        self.hook.before("pay_by_callback").await?;
        self.inner.pay_by_callback(received, no, payment).await
    }
    async fn finish_refund_by_callback(
        &self,
        received: &Received<'_>,
        no: &str,
        success: bool,
        amount: Option<i64>,
    ) -> Result<CallbackRefund, StoreError> {
        self.hook.before("finish_refund_by_callback").await?;
        self.inner
            .finish_refund_by_callback(received, no, success, amount)
            .await
    }
}

#[async_trait]
impl TokenStore for HookedStore {
    async fn get_token(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        self.hook.before("get_token").await?;
        self.inner.get_token(key).await
    }
    async fn take_lease(&self, key: &str, owner: &str, seen: i64, now: i64, until: i64) -> Result<bool, StoreError> {
        self.hook.before("take_lease").await?;
        self.inner.take_lease(key, owner, seen, now, until).await
    }
    async fn save_token(
        &self,
        key: &str,
        owner: &str,
        token: &Secret,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.hook.before("save_token").await?;
        self.inner.save_token(key, owner, token, expires_at).await
    }
    async fn release_lease(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        self.hook.before("release_lease").await?;
        self.inner.release_lease(key, owner).await
    }
    async fn expire_token(&self, key: &str, version: i64) -> Result<(), StoreError> {
        self.hook.before("expire_token").await?;
        self.inner.expire_token(key, version).await
    }
}

#[async_trait]
impl ReconcileStore for HookedStore {
    async fn due_items(&self, now: i64, limit: i32, start: Option<String>) -> Result<DuePage, StoreError> {
        self.hook.before("due_items").await?;
        self.inner.due_items(now, limit, start).await
    }
    async fn claim(&self, key: &OpenKey, seen_due: i64, next_due: i64, now: i64) -> Result<bool, StoreError> {
        self.hook.before("claim").await?;
        self.inner.claim(key, seen_due, next_due, now).await
    }
    async fn claim_order_query(&self, no: &str, now: i64, min_gap: i64) -> Result<bool, StoreError> {
        self.hook.before("claim_order_query").await?;
        self.inner.claim_order_query(no, now, min_gap).await
    }
    async fn flag_refund(&self, no: &str, attention: &str, now: i64) -> Result<Option<Refund>, StoreError> {
        self.hook.before("flag_refund").await?;
        self.inner.flag_refund(no, attention, now).await
    }
}

#[async_trait]
impl AdminStore for HookedStore {
    async fn list_orders(
        &self,
        filter: &admin::OrderFilter,
        limit: usize,
        cursor: Option<&admin::OrderCursor>,
    ) -> Result<admin::OrderPage, StoreError> {
        self.hook.before("list_orders").await?;
        self.inner.list_orders(filter, limit, cursor).await
    }
    async fn order_with_children(&self, no: &str) -> Result<Option<admin::OrderWithChildren>, StoreError> {
        self.hook.before("order_with_children").await?;
        self.inner.order_with_children(no).await
    }
}

#[async_trait]
impl WebhookStore for HookedStore {
    async fn record_webhook(&self, webhook: &Webhook, due_at: i64) -> Result<bool, StoreError> {
        self.hook.before("record_webhook").await?;
        self.inner.record_webhook(webhook, due_at).await
    }
    async fn get_webhook(&self, event_id: &str) -> Result<Option<Webhook>, StoreError> {
        self.hook.before("get_webhook").await?;
        self.inner.get_webhook(event_id).await
    }
    async fn waiting_webhooks(&self, no: &str) -> Result<Vec<String>, StoreError> {
        self.hook.before("waiting_webhooks").await?;
        self.inner.waiting_webhooks(no).await
    }
    async fn webhook_failed(&self, event_id: &str, error: &str, now: i64) -> Result<(), StoreError> {
        self.hook.before("webhook_failed").await?;
        self.inner.webhook_failed(event_id, error, now).await
    }
    async fn end_webhook(
        &self,
        webhook: &Webhook,
        status: WebhookStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.hook.before("end_webhook").await?;
        self.inner.end_webhook(webhook, status, error, now).await
    }
    async fn drop_from_line(&self, no: &str, sequence: &str) -> Result<(), StoreError> {
        self.hook.before("drop_from_line").await?;
        self.inner.drop_from_line(no, sequence).await
    }
    async fn list_webhooks(
        &self,
        status: WebhookStatus,
        limit: usize,
        cursor: Option<&minipay::store::webhooks::WebhookCursor>,
    ) -> Result<minipay::store::webhooks::WebhookPage, StoreError> {
        self.hook.before("list_webhooks").await?;
        self.inner.list_webhooks(status, limit, cursor).await
    }
    async fn record_redelivery(&self, seen: &Webhook, error: Option<&str>, now: i64) -> Result<bool, StoreError> {
        self.hook.before("record_redelivery").await?;
        self.inner.record_redelivery(seen, error, now).await
    }
}
