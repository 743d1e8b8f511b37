//! The `events` function: the table's stream in, merchant events out (CONTRACT.md §9).
//! Each record's events go on the EventBridge bus and, with a webhook configured, are
//! recorded for delivery and tried once at once; the schedule's sweep delivers the
//! rest. Records whose events could not all be put or recorded are reported back, so
//! that only they (and what follows them) come again.

use super::webhooks::{self, Attempt, SweepReport};
use crate::domain::events::{Entity, Event, events_of};
use crate::merchant::Notifier;
use crate::merchant::bus::MAX_ENTRIES;
use crate::store::Store;
use crate::store::dynamo::{order_from_item, refund_from_item, settlement_from_item};
use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Time the stream gives first attempts, whatever the batch: a slow receiver must not
/// hold the stream (the sweep, a minute later, makes the attempts left over).
pub const FIRST_ATTEMPTS_BUDGET: Duration = Duration::from_secs(20);

/// One invocation: a stream batch (`Records`) or the schedule (`detail-type`). `budget`
/// bounds the sweep.
pub async fn handle<S: Store + ?Sized>(
    notifier: &Notifier<S>,
    payload: Value,
    now: i64,
    budget: Duration,
) -> Result<Value, String> {
    if payload.get("Records").is_some() {
        let batch: StreamEvent = serde_json::from_value(payload).map_err(|e| format!("not a stream batch: {e}"))?;
        let answer = stream_batch(notifier, batch, now).await;
        return serde_json::to_value(answer).map_err(|e| e.to_string());
    }
    if payload.get("detail-type").is_some() {
        let report: SweepReport = webhooks::sweep(notifier, now, budget)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(?report, "webhook sweep done");
        return serde_json::to_value(report).map_err(|e| e.to_string());
    }
    Err("neither a stream batch (Records) nor a scheduled event (detail-type)".into())
}

pub async fn stream_batch<S: Store + ?Sized>(
    notifier: &Notifier<S>,
    batch: StreamEvent,
    now: i64,
) -> DynamoDbEventResponse {
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    let mut events: Vec<(usize, Event)> = Vec::new();
    for (i, record) in batch.records.iter().enumerate() {
        match record_events(record) {
            Ok(made) => events.extend(made.into_iter().map(|event| (i, event))),
            Err(why) => {
                tracing::error!(event_id = %record.event_id, error = %why, "stream record unreadable");
                failed.insert(i);
            }
        }
    }
    failed.extend(publish(notifier, &events).await);
    if notifier.webhook.is_some() {
        failed.extend(record_and_try(notifier, &events, now).await);
    }
    let mut response = DynamoDbEventResponse::default();
    for i in failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = batch.records[i].change.sequence_number.clone();
        response.batch_item_failures.push(failure);
    }
    response
}

/// The events of one stream record.
pub fn record_events(record: &EventRecord) -> Result<Vec<Event>, String> {
    let old = entity(&record.change.old_image)?;
    let new = entity(&record.change.new_image)?;
    Ok(events_of(old.as_ref(), new.as_ref()))
}

/// The order, refund or settlement in a stream image (`None` for other items and for
/// the missing image of an insert or a removal).
fn entity(image: &serde_dynamo::Item) -> Result<Option<Entity>, String> {
    let item: HashMap<String, AttributeValue> = image.clone().into();
    let entity = match item.get("entity") {
        Some(AttributeValue::S(entity)) => entity.as_str(),
        _ => return Ok(None),
    };
    let parsed = match entity {
        "ORDER" => order_from_item(&item).map(Entity::Order),
        "REFUND" => refund_from_item(&item).map(Entity::Refund),
        "SETTLE" => settlement_from_item(&item).map(Entity::Settlement),
        _ => return Ok(None),
    };
    parsed.map(Some).map_err(|e| e.to_string())
}

/// Puts every event on the bus, ten per call, and those refused once more; the records
/// of events that still did not go.
async fn publish<S: Store + ?Sized>(notifier: &Notifier<S>, events: &[(usize, Event)]) -> BTreeSet<usize> {
    let mut left: Vec<&(usize, Event)> = events.iter().collect();
    for round in 0..2 {
        let mut refused = Vec::new();
        for chunk in left.chunks(MAX_ENTRIES) {
            let batch: Vec<&Event> = chunk.iter().map(|(_, event)| event).collect();
            match notifier.bus.put(&batch).await {
                Ok(positions) => refused.extend(positions.into_iter().filter_map(|p| chunk.get(p).copied())),
                Err(error) => {
                    tracing::warn!(%error, round, "PutEvents failed");
                    refused.extend(chunk.iter().copied());
                }
            }
        }
        left = refused;
        if left.is_empty() {
            break;
        }
    }
    for (_, event) in &left {
        tracing::warn!(event_id = %event.id, "event not put on the bus; its record will be retried");
    }
    left.iter().map(|(i, _)| *i).collect()
}

/// Records each event's delivery and makes its first attempt, within
/// [`FIRST_ATTEMPTS_BUDGET`] and until one fails (the receiver is likely down: the
/// sweep carries on). The records whose deliveries could not be recorded.
async fn record_and_try<S: Store + ?Sized>(
    notifier: &Notifier<S>,
    events: &[(usize, Event)],
    now: i64,
) -> BTreeSet<usize> {
    let Some(target) = notifier.webhook.as_ref() else {
        return BTreeSet::new();
    };
    let deadline = Instant::now() + FIRST_ATTEMPTS_BUDGET;
    let mut trying = true;
    let mut failed = BTreeSet::new();
    for (i, event) in events {
        let webhook = match webhooks::record(notifier, event, now).await {
            Ok(webhook) => webhook,
            Err(err) => {
                tracing::warn!(event_id = %event.id, error = %err, "webhook not recorded; its record will be retried");
                failed.insert(*i);
                continue;
            }
        };
        // A redelivered record's webhook is on its way already (or due for the sweep).
        let Some(webhook) = webhook else {
            continue;
        };
        if !trying || Instant::now() >= deadline {
            continue;
        }
        match webhooks::attempt(notifier.store.as_ref(), target, webhook, now, now).await {
            Ok((Attempt::Failed | Attempt::GaveUp, _)) => trying = false,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(event_id = %event.id, error = %err, "first attempt not made; the sweep makes it")
            }
        }
    }
    failed
}
