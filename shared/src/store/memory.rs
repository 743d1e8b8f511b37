//! In-memory store for unit tests: one lock makes every operation atomic, like a
//! conditional write.

use super::*;
use crate::domain::refund::{RefundStatus, refund_result};
use crate::domain::timeline::CallbackReceived;
use crate::domain::verdict::{PaymentVerdict, judge_payment};
use std::collections::HashMap;
use std::sync::Mutex;

mod callbacks;
#[cfg(test)]
mod contract;
mod webhooks;

pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// How long a kept callback stays before the table's TTL would remove it.
    callback_retention_secs: i64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            callback_retention_secs: super::dynamo::DEFAULT_CALLBACK_RETENTION_SECS,
        }
    }
}

/// A kept callback and the order it named.
#[derive(Debug, Clone)]
pub(crate) struct KeptCallback {
    pub(crate) callback: CallbackReceived,
    pub(crate) out_order_no: Option<String>,
    /// When its retention ends (the table's TTL).
    pub(crate) expires_at: i64,
}

#[derive(Default)]
pub(crate) struct Inner {
    sessions: HashMap<String, Session>,
    catalog: HashMap<String, CatalogItem>,
    pub(crate) orders: HashMap<String, Order>,
    slots: HashMap<String, String>,
    pub(crate) refunds: HashMap<String, Refund>,
    pub(crate) settlements: HashMap<String, Settlement>,
    pub(crate) callbacks: HashMap<Vec<u8>, KeptCallback>,
    tokens: HashMap<String, MemoryToken>,
    /// The open index: when each open item is due, and how often it was asked about.
    open: HashMap<OpenKey, (i64, i64)>,
    asked_at: HashMap<String, i64>,
    pub(crate) webhooks: HashMap<String, Webhook>,
    /// Each order's line of pending webhooks (`sequence` keys, sorted).
    webhook_lines: HashMap<String, std::collections::BTreeSet<String>>,
}

#[derive(Clone, Default)]
struct MemoryToken {
    token: Option<Secret>,
    expires_at: i64,
    version: i64,
    lease_owner: Option<String>,
    lease_until: i64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_callback_retention(mut self, secs: i64) -> Self {
        self.callback_retention_secs = secs;
        self
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

    /// Forgets when orders were last asked about, as if the query gap had passed.
    pub fn forget_queries(&self) {
        self.lock().asked_at.clear();
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put_session(&self, token_hash: &str, session: &Session) -> Result<(), StoreError> {
        let mut inner = self.lock();
        // As the table's condition: a token is fresh randomness, a repeat is a bug.
        if inner.sessions.contains_key(token_hash) {
            return Err(StoreError::Malformed("session token hash exists".into()));
        }
        inner.sessions.insert(token_hash.to_owned(), session.clone());
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

/// Two reads under the lock are as good as one batch here.
impl PrepayReads for MemoryStore {}

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
        if order.status.awaits_platform() {
            inner
                .open
                .insert(OpenKey::Order(order.out_order_no.clone()), (order.created_at, 0));
        }
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
        Ok(self.lock().pay(out_order_no, payment, now))
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
        let order = order.clone();
        if !order.status.awaits_platform() {
            inner.open.remove(&OpenKey::Order(order.out_order_no.clone()));
        }
        Ok(Some(order))
    }
}

#[async_trait]
impl RefundStore for MemoryStore {
    async fn begin_refund(&self, refund: &Refund) -> Result<BeginRefund, StoreError> {
        let mut inner = self.lock();
        if let Some(existing) = inner.refunds.get(&refund.out_refund_no) {
            return Ok(BeginRefund::Exists(existing.clone()));
        }
        let Some(order) = inner.orders.get_mut(&refund.out_order_no) else {
            return Ok(BeginRefund::OrderNotFound);
        };
        if order.status != OrderStatus::Paid || order.refundable() < refund.refund_amount {
            return Ok(BeginRefund::NotRefundable(order.clone()));
        }
        order.refunding_amount += refund.refund_amount;
        order.updated_at = refund.created_at;
        inner.refunds.insert(refund.out_refund_no.clone(), refund.clone());
        inner
            .open
            .insert(OpenKey::Refund(refund.out_refund_no.clone()), (refund.created_at, 0));
        Ok(BeginRefund::Started(refund.clone()))
    }

    async fn get_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, StoreError> {
        Ok(self.lock().refunds.get(out_refund_no).cloned())
    }

    async fn record_refund_no(
        &self,
        out_refund_no: &str,
        refund_no: &str,
        now: i64,
    ) -> Result<Option<Refund>, StoreError> {
        let mut inner = self.lock();
        let Some(refund) = inner.refunds.get_mut(out_refund_no) else {
            return Ok(None);
        };
        if refund.refund_no.is_none() {
            refund.refund_no = Some(refund_no.to_owned());
            refund.updated_at = now;
        }
        Ok(Some(refund.clone()))
    }

    async fn finish_refund(&self, seen: &Refund, success: bool, now: i64) -> Result<Finish<Refund>, StoreError> {
        Ok(self.lock().end_refund(&seen.out_refund_no, success, now))
    }
}

#[async_trait]
impl SettleStore for MemoryStore {
    async fn begin_settle(&self, settlement: &Settlement, refunded_seen: i64) -> Result<BeginSettle, StoreError> {
        let mut inner = self.lock();
        if let Some(existing) = inner.settlements.get(&settlement.out_settle_no) {
            return Ok(BeginSettle::Exists(existing.clone()));
        }
        let Some(order) = inner.orders.get_mut(&settlement.out_order_no) else {
            return Ok(BeginSettle::OrderNotFound);
        };
        if order.status != OrderStatus::Paid {
            return Ok(BeginSettle::NotPaid(order.clone()));
        }
        if order.refunding_amount > 0 {
            return Ok(BeginSettle::RefundInFlight(order.clone()));
        }
        if order.refunded_amount != refunded_seen {
            return Ok(BeginSettle::OrderChanged(order.clone()));
        }
        order.settle_status = Some(SettleStatus::Processing);
        order.updated_at = settlement.created_at;
        inner
            .settlements
            .insert(settlement.out_settle_no.clone(), settlement.clone());
        inner.open.insert(
            OpenKey::Settlement(settlement.out_settle_no.clone()),
            (settlement.created_at, 0),
        );
        Ok(BeginSettle::Started(settlement.clone()))
    }

    async fn get_settlement(&self, out_settle_no: &str) -> Result<Option<Settlement>, StoreError> {
        Ok(self.lock().settlements.get(out_settle_no).cloned())
    }

    async fn record_settle_no(
        &self,
        out_settle_no: &str,
        settle_no: &str,
        now: i64,
    ) -> Result<Option<Settlement>, StoreError> {
        let mut inner = self.lock();
        let Some(settlement) = inner.settlements.get_mut(out_settle_no) else {
            return Ok(None);
        };
        if settlement.settle_no.is_none() {
            settlement.settle_no = Some(settle_no.to_owned());
            settlement.updated_at = now;
        }
        Ok(Some(settlement.clone()))
    }

    async fn finish_settle(
        &self,
        out_settle_no: &str,
        status: SettleStatus,
        now: i64,
    ) -> Result<Finish<Settlement>, StoreError> {
        let mut inner = self.lock();
        let Some(settlement) = inner.settlements.get_mut(out_settle_no) else {
            return Ok(Finish::NotFound);
        };
        if settlement.status != SettleStatus::Processing {
            return Ok(Finish::AlreadyFinished(settlement.clone()));
        }
        settlement.status = status;
        settlement.updated_at = now;
        let settlement = settlement.clone();
        inner
            .open
            .remove(&OpenKey::Settlement(settlement.out_settle_no.clone()));
        if let Some(order) = inner.orders.get_mut(&settlement.out_order_no) {
            order.settle_status = Some(status);
            order.settle_succeeded |= status == SettleStatus::Success;
            order.updated_at = now;
        }
        Ok(Finish::Applied(settlement))
    }
}

impl Inner {
    /// Applies a payment as the table's conditional write does.
    pub(crate) fn pay(&mut self, out_order_no: &str, payment: &Payment, now: i64) -> PaidOutcome {
        let Some(order) = self.orders.get_mut(out_order_no) else {
            return PaidOutcome::NotFound;
        };
        match judge_payment(Some(order), payment) {
            PaymentVerdict::Pay { late } => {
                order.late = late;
                order.status = OrderStatus::Paid;
                order.payment = Some(payment.clone());
                order.updated_at = now;
                let order = order.clone();
                self.open.remove(&OpenKey::Order(order.out_order_no.clone()));
                PaidOutcome::Applied(order)
            }
            PaymentVerdict::AmountMismatch { expected } => PaidOutcome::AmountMismatch { expected },
            PaymentVerdict::NotFound => PaidOutcome::NotFound,
            PaymentVerdict::Duplicate | PaymentVerdict::PaidOtherwise => PaidOutcome::AlreadyPaid(order.clone()),
        }
    }

    /// Ends an in-flight refund once, moving the order's money with it.
    pub(crate) fn end_refund(&mut self, out_refund_no: &str, success: bool, now: i64) -> Finish<Refund> {
        let Some(refund) = self.refunds.get(out_refund_no).cloned() else {
            return Finish::NotFound;
        };
        if refund.status != RefundStatus::Processing {
            return Finish::AlreadyFinished(refund);
        }
        let Some(order) = self.orders.get_mut(&refund.out_order_no) else {
            return Finish::NotFound;
        };
        let after = refund_result(order, refund.refund_amount, success);
        order.refunded_amount = after.refunded_amount;
        order.refunding_amount = after.refunding_amount;
        order.status = after.status;
        order.updated_at = now;
        let refund = self
            .refunds
            .get_mut(out_refund_no)
            .expect("read above under the same lock");
        refund.status = if success {
            RefundStatus::Success
        } else {
            RefundStatus::Fail
        };
        refund.updated_at = now;
        let refund = refund.clone();
        self.open.remove(&OpenKey::Refund(refund.out_refund_no.clone()));
        Finish::Applied(refund)
    }

    /// Keeps a callback unless the same bytes were kept before (the first receipt stays).
    pub(crate) fn keep(&mut self, received: &Received<'_>, retention_secs: i64) {
        let kept = KeptCallback {
            callback: CallbackReceived {
                platform: received.platform,
                kind: received.kind.to_owned(),
                received_at: received.at,
            },
            out_order_no: received.out_order_no.map(str::to_owned),
            expires_at: received.at + retention_secs,
        };
        self.callbacks.entry(received.raw_body.to_vec()).or_insert(kept);
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn keep_callback(
        &self,
        platform: Platform,
        kind: &str,
        raw_body: &[u8],
        out_order_no: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        let received = Received {
            platform,
            kind,
            raw_body,
            out_order_no,
            at,
        };
        self.lock().keep(&received, self.callback_retention_secs);
        Ok(())
    }
}

impl MemoryStore {
    pub fn kept_callbacks(&self) -> usize {
        self.lock().callbacks.len()
    }

    /// When the kept callback with this body is let go; `None` when none is kept.
    pub fn kept_callback_expiry(&self, raw_body: &[u8]) -> Option<i64> {
        self.lock().callbacks.get(raw_body).map(|kept| kept.expires_at)
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn get_token(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.lock().tokens.get(key).map(|t| StoredToken {
            token: t.token.clone(),
            expires_at: t.expires_at,
            version: t.version,
            lease_until: t.lease_until,
        }))
    }

    async fn take_lease(&self, key: &str, owner: &str, seen: i64, now: i64, until: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let stored = inner.tokens.get(key).cloned().unwrap_or_default();
        let leased = stored.lease_owner.is_some() && stored.lease_until >= now;
        // Version 0 is none saved yet: then no refresh can have happened meanwhile.
        let refreshed_since = stored.version != 0 && stored.version != seen;
        if leased || refreshed_since {
            return Ok(false);
        }
        inner.tokens.insert(
            key.to_owned(),
            MemoryToken {
                lease_owner: Some(owner.to_owned()),
                lease_until: until,
                ..stored
            },
        );
        Ok(true)
    }

    async fn save_token(
        &self,
        key: &str,
        owner: &str,
        token: &Secret,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut inner = self.lock();
        let Some(entry) = inner.tokens.get_mut(key) else {
            return Ok(None);
        };
        if entry.lease_owner.as_deref() != Some(owner) {
            return Ok(None);
        }
        let version = entry.version + 1;
        *entry = MemoryToken {
            token: Some(token.clone()),
            expires_at,
            version,
            lease_owner: None,
            lease_until: 0,
        };
        Ok(Some(version))
    }

    async fn release_lease(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        if let Some(entry) = self.lock().tokens.get_mut(key)
            && entry.lease_owner.as_deref() == Some(owner)
        {
            entry.lease_owner = None;
            entry.lease_until = 0;
        }
        Ok(())
    }

    async fn expire_token(&self, key: &str, version: i64) -> Result<(), StoreError> {
        if let Some(entry) = self.lock().tokens.get_mut(key)
            && entry.version == version
        {
            entry.expires_at = 0;
        }
        Ok(())
    }
}

#[async_trait]
impl ReconcileStore for MemoryStore {
    async fn due_items(&self, now: i64, limit: i32, start: Option<String>) -> Result<DuePage, StoreError> {
        let inner = self.lock();
        let mut due: Vec<(i64, String, Due)> = inner
            .open
            .iter()
            .filter(|(_, (due_at, _))| *due_at <= now)
            .filter_map(|(key, (due_at, checks))| {
                let (sort, item) = match key {
                    OpenKey::Order(no) => (format!("o{no}"), OpenItem::Order(inner.orders.get(no)?.clone())),
                    OpenKey::Refund(no) => (format!("r{no}"), OpenItem::Refund(inner.refunds.get(no)?.clone())),
                    OpenKey::Settlement(no) => (
                        format!("s{no}"),
                        OpenItem::Settlement(inner.settlements.get(no)?.clone()),
                    ),
                    OpenKey::Webhook(id) => (
                        format!("w{id}"),
                        OpenItem::Webhook(Webhook {
                            due_at: Some(*due_at),
                            ..inner.webhooks.get(id)?.clone()
                        }),
                    ),
                };
                Some((
                    *due_at,
                    sort,
                    Due {
                        item,
                        due_at: *due_at,
                        checks: *checks,
                    },
                ))
            })
            .collect();
        due.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        // A cursor is a place in the index, as the table's is, not a count: the items a
        // run claimed from one page (put off past now) must not shift the next.
        let after: Option<(i64, String)> = start
            .map(|s| serde_json::from_str(&s).map_err(|_| StoreError::Malformed("page cursor".into())))
            .transpose()?;
        let limit = usize::try_from(limit.max(1)).unwrap_or(1);
        let mut items: Vec<(i64, String, Due)> = due
            .into_iter()
            .filter(|(due_at, sort, _)| after.as_ref().is_none_or(|(a, s)| (*due_at, sort) > (*a, s)))
            .take(limit + 1)
            .collect();
        let more = items.len() > limit;
        items.truncate(limit);
        let next = match items.last() {
            Some((due_at, sort, _)) if more => Some(serde_json::json!([due_at, sort]).to_string()),
            _ => None,
        };
        Ok(DuePage {
            next,
            items: items.into_iter().map(|(_, _, d)| d).collect(),
        })
    }

    async fn claim(&self, key: &OpenKey, seen_due: i64, next_due: i64, now: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.open.get_mut(key) {
            Some((due_at, checks)) if *due_at == seen_due => {
                *due_at = next_due;
                *checks += 1;
            }
            _ => return Ok(false),
        }
        // The claimer asks the platform now: as the table records, that is an order
        // query too, which a polling client need not repeat within the gap.
        if let OpenKey::Order(no) = key {
            inner.asked_at.insert(no.clone(), now);
        }
        Ok(true)
    }

    async fn claim_order_query(&self, out_order_no: &str, now: i64, min_gap: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let pending = inner
            .orders
            .get(out_order_no)
            .is_some_and(|o| o.status == OrderStatus::Pending);
        let recent = inner.asked_at.get(out_order_no).is_some_and(|at| *at > now - min_gap);
        if !pending || recent {
            return Ok(false);
        }
        inner.asked_at.insert(out_order_no.to_owned(), now);
        Ok(true)
    }

    async fn flag_refund(&self, out_refund_no: &str, attention: &str, now: i64) -> Result<Option<Refund>, StoreError> {
        let mut inner = self.lock();
        let Some(refund) = inner.refunds.get_mut(out_refund_no) else {
            return Ok(None);
        };
        if refund.status == RefundStatus::Processing {
            refund.attention = Some(attention.to_owned());
            refund.updated_at = now;
        }
        Ok(Some(refund.clone()))
    }
}
