//! Delivering events to the merchant's webhook: at least once, an order's events in
//! the order they happened, each attempt claimed first (two sweeps, or a sweep and the
//! stream, never post the same event at once), failures backed off for 24 hours and
//! then kept as undelivered. Every function takes `now`, so back-off is testable
//! without waiting.

use crate::domain::events::Event;
use crate::domain::webhook_backoff::{BACKOFF_SECS, retry_at};
use crate::domain::webhook_signature::signature_header;
use crate::error::StoreError;
use crate::merchant::{Notifier, WebhookTarget};
use crate::store::webhooks::event_id_of;
use crate::store::{OpenItem, OpenKey, Store, Webhook, WebhookStatus};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Open items read per index query.
const PAGE_SIZE: i32 = 100;

/// How one attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Failed; tried again when due.
    Failed,
    /// Failed for the last time: kept as UNDELIVERED.
    GaveUp,
    /// An earlier event of its order is not delivered yet: it goes out after that one.
    Waiting,
    /// Someone else claimed it first, or it ended meanwhile.
    Taken,
}

/// Records the delivery of `event`, due at once: the delivery, or `None` when it was
/// recorded before.
pub async fn record<S: Store + ?Sized>(
    notifier: &Notifier<S>,
    event: &Event,
    now: i64,
) -> Result<Option<Webhook>, StoreError> {
    let webhook = Webhook {
        event_id: event.id.clone(),
        event_type: event.kind.as_str().to_owned(),
        out_order_no: event.out_order_no.clone(),
        created_at: event.created,
        body: event.body(),
        sequence: event.sequence_key(),
        status: WebhookStatus::Pending,
        attempts: 0,
        first_attempt_at: None,
        last_attempt_at: None,
        last_error: None,
        due_at: Some(now),
    };
    let recorded = notifier.store.record_webhook(&webhook, now).await?;
    Ok(recorded.then_some(webhook))
}

/// Tries `webhook` (read when it was due at `seen_due`) now, unless an earlier event of
/// its order waits; after it ends, goes on with the order's next events that are due.
/// The outcome of `webhook`'s own attempt, and how many of the order's later events
/// were delivered after it.
pub async fn attempt<S: Store + ?Sized>(
    store: &S,
    target: &WebhookTarget,
    webhook: Webhook,
    seen_due: i64,
    now: i64,
) -> Result<(Attempt, usize), StoreError> {
    let out_order_no = webhook.out_order_no.clone();
    let first = attempt_one(store, target, webhook, seen_due, now).await?;
    let followed = match first {
        Attempt::Delivered | Attempt::GaveUp => follow_line(store, target, &out_order_no, now).await?,
        _ => 0,
    };
    Ok((first, followed))
}

/// Sends the order's waiting events, earliest first, while they go through; how many
/// were delivered.
async fn follow_line<S: Store + ?Sized>(
    store: &S,
    target: &WebhookTarget,
    out_order_no: &str,
    now: i64,
) -> Result<usize, StoreError> {
    let mut delivered = 0;
    loop {
        let waiting = store.waiting_webhooks(out_order_no).await?;
        let Some(next) = waiting.first() else {
            return Ok(delivered);
        };
        let webhook = match store.get_webhook(event_id_of(next)).await? {
            Some(webhook) if webhook.status == WebhookStatus::Pending => webhook,
            // Ended, and left in the line by a run that stopped halfway.
            _ => {
                store.drop_from_line(out_order_no, next).await?;
                continue;
            }
        };
        let Some(due_at) = webhook.due_at.filter(|due| *due <= now) else {
            // Backing off already: its own due time comes.
            return Ok(delivered);
        };
        match attempt_one(store, target, webhook, due_at, now).await? {
            Attempt::Delivered => delivered += 1,
            Attempt::GaveUp => {}
            _ => return Ok(delivered),
        }
    }
}

/// The earlier event of the webhook's order still pending, if any. Entries of
/// deliveries that ended, left in the line by a run that stopped halfway, are cleared
/// on the way.
async fn waits_behind<S: Store + ?Sized>(store: &S, webhook: &Webhook) -> Result<Option<Webhook>, StoreError> {
    for key in store.waiting_webhooks(&webhook.out_order_no).await? {
        if key >= webhook.sequence {
            return Ok(None);
        }
        match store.get_webhook(event_id_of(&key)).await? {
            Some(earlier) if earlier.status == WebhookStatus::Pending => return Ok(Some(earlier)),
            _ => store.drop_from_line(&webhook.out_order_no, &key).await?,
        }
    }
    Ok(None)
}

async fn attempt_one<S: Store + ?Sized>(
    store: &S,
    target: &WebhookTarget,
    webhook: Webhook,
    seen_due: i64,
    now: i64,
) -> Result<Attempt, StoreError> {
    let key = OpenKey::Webhook(webhook.event_id.clone());
    if let Some(earlier) = waits_behind(store, &webhook).await? {
        // Looked at again when the earlier one is due, not in every sweep before: its
        // delivery sends this one right after it anyway.
        if let Some(due) = earlier.due_at.filter(|due| *due > seen_due) {
            store.claim(&key, seen_due, due, now).await?;
        }
        return Ok(Attempt::Waiting);
    }
    let attempts = webhook.attempts + 1;
    let first_attempt_at = webhook.first_attempt_at.unwrap_or(now);
    // Due again when this attempt fails, and meanwhile nobody else's to make; had this
    // run stopped halfway, the attempt is made again then.
    let next_due = retry_at(first_attempt_at, attempts, now).unwrap_or(now + BACKOFF_SECS[0]);
    if !store.claim(&key, seen_due, next_due, now).await? {
        return Ok(Attempt::Taken);
    }
    let signature = signature_header(&target.secret, now, &webhook.body);
    match target.sender.post(&webhook.body, &signature).await {
        Ok(()) => {
            store.end_webhook(&webhook, WebhookStatus::Delivered, None, now).await?;
            tracing::info!(event_id = %webhook.event_id, attempts, "webhook delivered");
            Ok(Attempt::Delivered)
        }
        Err(error) if retry_at(first_attempt_at, attempts, now).is_none() => {
            store
                .end_webhook(&webhook, WebhookStatus::Undelivered, Some(&error), now)
                .await?;
            tracing::warn!(event_id = %webhook.event_id, attempts, %error, "webhook undelivered after 24 hours");
            Ok(Attempt::GaveUp)
        }
        Err(error) => {
            store.webhook_failed(&webhook.event_id, &error, now).await?;
            tracing::warn!(event_id = %webhook.event_id, attempts, %error, next_due, "webhook failed; tried again later");
            Ok(Attempt::Failed)
        }
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Due webhooks read from the index.
    pub due: usize,
    pub delivered: usize,
    pub failed: usize,
    pub undelivered: usize,
    /// Found waiting for an earlier event of their order.
    pub waiting: usize,
    /// Delivered in this sweep right after the earlier event of their order (also
    /// counted in `delivered`).
    pub followed: usize,
    /// Claimed by another sweep, or delivered already by its order's line.
    pub taken: usize,
    /// Stopped because the time budget ran out; the rest waits for the next sweep.
    pub out_of_time: bool,
}

/// Delivers every webhook due at `now`, within `budget`.
pub async fn sweep<S: Store + ?Sized>(
    notifier: &Notifier<S>,
    now: i64,
    budget: Duration,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let Some(target) = notifier.webhook.as_ref() else {
        return Ok(report);
    };
    let deadline = Instant::now() + budget;
    let mut cursor = None;
    loop {
        let page = notifier.store.due_items(now, PAGE_SIZE, cursor).await?;
        for due in page.items {
            let OpenItem::Webhook(webhook) = due.item else {
                continue;
            };
            if Instant::now() >= deadline {
                report.out_of_time = true;
                return Ok(report);
            }
            report.due += 1;
            let outcome = attempt(notifier.store.as_ref(), target, webhook, due.due_at, now).await;
            if let Ok((_, followed)) = outcome {
                report.delivered += followed;
                report.followed += followed;
            }
            match outcome.map(|(first, _)| first) {
                Ok(Attempt::Delivered) => report.delivered += 1,
                Ok(Attempt::Failed) => report.failed += 1,
                Ok(Attempt::GaveUp) => report.undelivered += 1,
                Ok(Attempt::Waiting) => report.waiting += 1,
                Ok(Attempt::Taken) => report.taken += 1,
                // One item's trouble must not stop the others: it stays due.
                Err(err) => {
                    tracing::warn!(error = %err, "webhook sweep: item stays due");
                    report.failed += 1;
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(report),
        }
    }
}
