//! Webhook deliveries in memory, with the table's conditions.

use super::*;
use crate::store::webhooks::{WebhookCursor, WebhookPage};

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn record_webhook(&self, webhook: &Webhook, due_at: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.webhooks.contains_key(&webhook.event_id) {
            return Ok(false);
        }
        // What the table's item keeps: no attempt made yet, due when the index says.
        let recorded = Webhook {
            first_attempt_at: None,
            last_attempt_at: None,
            last_error: None,
            due_at: None,
            ..webhook.clone()
        };
        inner.webhooks.insert(webhook.event_id.clone(), recorded);
        inner
            .webhook_lines
            .entry(webhook.out_order_no.clone())
            .or_default()
            .insert(webhook.sequence.clone());
        inner
            .open
            .insert(OpenKey::Webhook(webhook.event_id.clone()), (due_at, 0));
        Ok(true)
    }

    async fn get_webhook(&self, event_id: &str) -> Result<Option<Webhook>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .webhooks
            .get(event_id)
            .map(|webhook| inner.webhook_as_stored(webhook)))
    }

    async fn waiting_webhooks(&self, out_order_no: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()
            .webhook_lines
            .get(out_order_no)
            .map(|line| line.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn webhook_failed(&self, event_id: &str, error: &str, now: i64) -> Result<(), StoreError> {
        if let Some(webhook) = self.lock().webhooks.get_mut(event_id)
            && webhook.status == WebhookStatus::Pending
        {
            webhook.attempts += 1;
            webhook.first_attempt_at.get_or_insert(now);
            webhook.last_attempt_at = Some(now);
            webhook.last_error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn end_webhook(
        &self,
        webhook: &Webhook,
        status: WebhookStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        // Either way it has ended: it must hold up no later event of its order.
        if let Some(line) = inner.webhook_lines.get_mut(&webhook.out_order_no) {
            line.remove(&webhook.sequence);
        }
        let Some(stored) = inner.webhooks.get_mut(&webhook.event_id) else {
            return Ok(false);
        };
        if stored.status != WebhookStatus::Pending {
            return Ok(false);
        }
        stored.status = status;
        stored.attempts += 1;
        stored.first_attempt_at.get_or_insert(now);
        stored.last_attempt_at = Some(now);
        if let Some(error) = error {
            stored.last_error = Some(error.to_owned());
        }
        inner.open.remove(&OpenKey::Webhook(webhook.event_id.clone()));
        Ok(true)
    }

    async fn drop_from_line(&self, out_order_no: &str, sequence: &str) -> Result<(), StoreError> {
        if let Some(line) = self.lock().webhook_lines.get_mut(out_order_no) {
            line.remove(sequence);
        }
        Ok(())
    }

    async fn list_webhooks(
        &self,
        status: WebhookStatus,
        limit: usize,
        cursor: Option<&WebhookCursor>,
    ) -> Result<WebhookPage, StoreError> {
        let inner = self.lock();
        let place = |created_at: i64, id: &str| std::cmp::Reverse((created_at, id.to_owned()));
        let after = cursor.map(|c| place(c.created_at, &c.event_id));
        let mut webhooks: Vec<Webhook> = inner
            .webhooks
            .values()
            .filter(|w| w.status == status)
            .filter(|w| after.as_ref().is_none_or(|a| place(w.created_at, &w.event_id) > *a))
            .map(|w| inner.webhook_as_stored(w))
            .collect();
        webhooks.sort_by_key(|w| place(w.created_at, &w.event_id));
        let more = webhooks.len() > limit;
        webhooks.truncate(limit);
        let next_cursor = if more {
            webhooks.last().map(WebhookCursor::after)
        } else {
            None
        };
        Ok(WebhookPage { webhooks, next_cursor })
    }

    async fn record_redelivery(&self, seen: &Webhook, error: Option<&str>, now: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.webhooks.get_mut(&seen.event_id) else {
            return Ok(false);
        };
        if stored.status != WebhookStatus::Undelivered || stored.attempts != seen.attempts {
            return Ok(false);
        }
        stored.attempts += 1;
        stored.last_attempt_at = Some(now);
        match error {
            Some(error) => stored.last_error = Some(error.to_owned()),
            None => stored.status = WebhookStatus::Delivered,
        }
        Ok(true)
    }
}

impl Inner {
    /// A delivery as the table's item reads: due when the open index says, while open.
    pub(crate) fn webhook_as_stored(&self, webhook: &Webhook) -> Webhook {
        Webhook {
            due_at: self
                .open
                .get(&OpenKey::Webhook(webhook.event_id.clone()))
                .map(|(due_at, _)| *due_at),
            ..webhook.clone()
        }
    }
}

impl MemoryStore {
    /// Puts an entry in an order's line, as a run that stopped halfway leaves it.
    pub fn requeue_for_test(&self, out_order_no: &str, sequence: &str) {
        self.lock()
            .webhook_lines
            .entry(out_order_no.to_owned())
            .or_default()
            .insert(sequence.to_owned());
    }

    /// When a webhook is next due (`None`: out of the open index).
    pub fn webhook_due_at(&self, event_id: &str) -> Option<i64> {
        self.lock()
            .open
            .get(&OpenKey::Webhook(event_id.to_owned()))
            .map(|(due_at, _)| *due_at)
    }
}
