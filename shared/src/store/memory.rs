//! In-memory store for unit tests: one lock makes every operation atomic, like a
//! conditional write.

use super::*;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    catalog: HashMap<String, CatalogItem>,
    orders: HashMap<String, Order>,
    slots: HashMap<String, String>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_catalog_item(&self, item: CatalogItem) {
        self.lock().catalog.insert(item.sku.clone(), item);
    }

    pub fn order_count(&self) -> usize {
        self.lock().orders.len()
    }

    pub fn order_numbers(&self) -> Vec<String> {
        self.lock().orders.keys().cloned().collect()
    }

    /// Moves an order's pay deadline, to test what happens once it has passed.
    pub fn shift_deadline(&self, out_order_no: &str, by_secs: i64) {
        if let Some(order) = self.lock().orders.get_mut(out_order_no) {
            order.pay_deadline += by_secs;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put_session(&self, token_hash: &str, session: &Session) -> Result<(), StoreError> {
        self.lock().sessions.insert(token_hash.to_owned(), session.clone());
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        Ok(self
            .lock()
            .sessions
            .get(token_hash)
            .filter(|s| s.expires_at > now)
            .cloned())
    }
}

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn get_catalog_item(&self, sku: &str) -> Result<Option<CatalogItem>, StoreError> {
        Ok(self.lock().catalog.get(sku).cloned())
    }
}

#[async_trait]
impl OrderStore for MemoryStore {
    async fn get_order(&self, out_order_no: &str) -> Result<Option<Order>, StoreError> {
        Ok(self.lock().orders.get(out_order_no).cloned())
    }

    async fn insert_order(
        &self,
        order: &Order,
        reuse_key: &str,
        replaces: Option<&str>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut inner = self.lock();
        if let Some(holder) = inner.slots.get(reuse_key)
            && Some(holder.as_str()) != replaces
        {
            return Ok(InsertOutcome::SlotHeldBy(holder.clone()));
        }
        if inner.orders.contains_key(&order.out_order_no) {
            return Err(StoreError::Malformed(format!("order {} exists", order.out_order_no)));
        }
        inner.slots.insert(reuse_key.to_owned(), order.out_order_no.clone());
        inner.orders.insert(order.out_order_no.clone(), order.clone());
        Ok(InsertOutcome::Inserted)
    }

    async fn reuse_slot(&self, reuse_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().slots.get(reuse_key).cloned())
    }

    async fn record_platform_order(
        &self,
        out_order_no: &str,
        platform_order: &PlatformOrder,
        now: i64,
    ) -> Result<Option<Order>, StoreError> {
        let mut inner = self.lock();
        let Some(order) = inner.orders.get_mut(out_order_no) else {
            return Ok(None);
        };
        if order.platform_order.is_none() {
            order.platform_order = Some(platform_order.clone());
            order.updated_at = now;
        }
        Ok(Some(order.clone()))
    }

    async fn mark_paid(&self, out_order_no: &str, payment: &Payment, now: i64) -> Result<PaidOutcome, StoreError> {
        let mut inner = self.lock();
        let Some(order) = inner.orders.get_mut(out_order_no) else {
            return Ok(PaidOutcome::NotFound);
        };
        if !OrderStatus::payable_from().contains(&order.status) {
            return Ok(PaidOutcome::AlreadyPaid(order.clone()));
        }
        if order.total_amount != payment.amount {
            return Ok(PaidOutcome::AmountMismatch {
                expected: order.total_amount,
            });
        }
        order.status = OrderStatus::Paid;
        order.payment = Some(payment.clone());
        order.updated_at = now;
        Ok(PaidOutcome::Applied(order.clone()))
    }

    async fn finish_unpaid(
        &self,
        out_order_no: &str,
        status: OrderStatus,
        now: i64,
    ) -> Result<Option<Order>, StoreError> {
        let mut inner = self.lock();
        let Some(order) = inner.orders.get_mut(out_order_no) else {
            return Ok(None);
        };
        if order.status == OrderStatus::Pending {
            order.status = status;
            order.updated_at = now;
        }
        Ok(Some(order.clone()))
    }
}
