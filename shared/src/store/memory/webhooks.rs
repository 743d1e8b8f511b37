//! Webhook deliveries in memory, with the table's conditions.

use super::*;

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn record_webhook(&self, webhook: &Webhook, due_at: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.webhooks.contains_key(&webhook.event_id) {
            return Ok(false);
        }
        inner.webhooks.insert(webhook.event_id.clone(), webhook.clone());
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
        Ok(inner.webhooks.get(event_id).map(|webhook| Webhook {
            due_at: inner
                .open
                .get(&OpenKey::Webhook(event_id.to_owned()))
                .map(|(due_at, _)| *due_at),
            ..webhook.clone()
        }))
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
        let Some(stored) = inner.webhooks.get_mut(&webhook.event_id) else {
            return Ok(false);
        };
        if stored.status != WebhookStatus::Pending {
            return Ok(false);
        }
        stored.status = status;
        stored.attempts += 1;
        stored.first_attempt_at.get_or_insert(now);
        if let Some(error) = error {
            stored.last_error = Some(error.to_owned());
        }
        inner.open.remove(&OpenKey::Webhook(webhook.event_id.clone()));
        if let Some(line) = inner.webhook_lines.get_mut(&webhook.out_order_no) {
            line.remove(&webhook.sequence);
        }
        Ok(true)
    }

    async fn drop_from_line(&self, out_order_no: &str, sequence: &str) -> Result<(), StoreError> {
        if let Some(line) = self.lock().webhook_lines.get_mut(out_order_no) {
            line.remove(sequence);
        }
        Ok(())
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
