//! The `events` function with the in-memory store, a recording bus and a scripted
//! webhook receiver.

use crate::config::Config;
use crate::domain::events::Event;
use crate::merchant::bus::EventBus;
use crate::merchant::webhook::WebhookSender;
use crate::merchant::{Notifier, WebhookTarget};
use crate::secret::Secret;
use crate::service::events::{handle, stream_batch};
use crate::service::webhooks::sweep;
use crate::store::{MemoryStore, WebhookStatus, WebhookStore};
use crate::testing::oracles::webhook_v1;
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_unit";
const T0: i64 = 1_732_240_000;

#[derive(Default)]
struct Bus {
    put: Mutex<Vec<Vec<String>>>,
    /// Entries refused, one per call, before the bus takes everything.
    refusals: AtomicUsize,
}

#[async_trait]
impl EventBus for Bus {
    async fn put(&self, events: &[&Event]) -> Result<Vec<usize>, String> {
        assert!(events.len() <= 10);
        let refuse = self
            .refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let (refused, taken): (Vec<_>, Vec<_>) = events.iter().enumerate().partition(|(i, _)| refuse && *i == 0);
        self.put
            .lock()
            .unwrap()
            .push(taken.iter().map(|(_, e)| e.kind.as_str().to_owned()).collect());
        Ok(refused.into_iter().map(|(i, _)| i).collect())
    }
}

#[derive(Default)]
struct Receiver {
    /// (type, body, signature) of every post, delivered or not.
    posts: Mutex<Vec<(String, String, String)>>,
    failures_left: AtomicUsize,
}

#[async_trait]
impl WebhookSender for Receiver {
    async fn post(&self, body: &str, signature: &str) -> Result<(), String> {
        let kind = serde_json::from_str::<Value>(body).unwrap()["type"]
            .as_str()
            .unwrap()
            .to_owned();
        self.posts
            .lock()
            .unwrap()
            .push((kind, body.to_owned(), signature.to_owned()));
        match self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Err("HTTP 503".into()),
            Err(_) => Ok(()),
        }
    }
}

impl Receiver {
    fn types(&self) -> Vec<String> {
        self.posts.lock().unwrap().iter().map(|p| p.0.clone()).collect()
    }
}

struct Setup {
    notifier: Notifier,
    store: Arc<MemoryStore>,
    bus: Arc<Bus>,
    receiver: Arc<Receiver>,
}

fn setup(receiver_failures: usize) -> Setup {
    let env: HashMap<String, String> = [("TABLE_NAME", "t")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let config = Config::from_source(&env, &HashMap::new()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let bus = Arc::new(Bus::default());
    let receiver = Arc::new(Receiver {
        failures_left: AtomicUsize::new(receiver_failures),
        ..Receiver::default()
    });
    let mut notifier = Notifier::assemble(&config, store.clone(), bus.clone());
    notifier.webhook = Some(WebhookTarget {
        sender: receiver.clone(),
        secret: Secret::new(SECRET),
    });
    Setup {
        notifier,
        store,
        bus,
        receiver,
    }
}

fn order_image(status: &str, updated_at: i64) -> Value {
    json!({
        "pk": {"S": "ORDER#o1"}, "sk": {"S": "ORDER"}, "entity": {"S": "ORDER"},
        "out_order_no": {"S": "o1"}, "platform": {"S": "douyin"}, "openid": {"S": "u1"},
        "sku": {"S": "course"}, "quantity": {"N": "1"}, "total_amount": {"N": "100"},
        "subject": {"S": "s"}, "body": {"S": "b"}, "status": {"S": status},
        "created_at": {"N": T0.to_string()}, "pay_deadline": {"N": (T0 + 900).to_string()},
        "updated_at": {"N": updated_at.to_string()},
    })
}

fn refund_image(status: &str, updated_at: i64) -> Value {
    json!({
        "pk": {"S": "REFUND#RF-1"}, "sk": {"S": "REFUND"}, "entity": {"S": "REFUND"},
        "out_refund_no": {"S": "RF-1"}, "out_order_no": {"S": "o1"}, "refund_amount": {"N": "40"},
        "reason": {"S": "r"}, "status": {"S": status}, "created_at": {"N": (T0 + 20).to_string()},
        "updated_at": {"N": updated_at.to_string()},
    })
}

fn record(seq: &str, old: Option<Value>, new: Value) -> Value {
    let keys = json!({"pk": new["pk"].clone(), "sk": new["sk"].clone()});
    let mut change = json!({
        "ApproximateCreationDateTime": T0, "Keys": keys, "NewImage": new, "SequenceNumber": seq,
        "SizeBytes": 300, "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = &old {
        change["OldImage"] = old.clone();
    }
    json!({
        "eventID": format!("e{seq}"),
        "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
        "dynamodb": change,
    })
}

fn batch(records: Vec<Value>) -> StreamEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Created, paid, a refund started and ended: four events of one order.
fn order_life() -> StreamEvent {
    batch(vec![
        record("1", None, order_image("PENDING", T0)),
        record("2", Some(order_image("PENDING", T0)), order_image("PAID", T0 + 10)),
        record("3", None, refund_image("PROCESSING", T0 + 20)),
        record(
            "4",
            Some(refund_image("PROCESSING", T0 + 20)),
            refund_image("SUCCESS", T0 + 30),
        ),
    ])
}

const LIFE: [&str; 4] = ["order.created", "order.paid", "refund.processing", "refund.succeeded"];

#[tokio::test]
async fn every_event_goes_to_the_bus_and_the_webhook_signed_once() {
    let s = setup(0);
    let answer = stream_batch(&s.notifier, order_life(), T0 + 31).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(*s.bus.put.lock().unwrap(), [LIFE.to_vec()], "one PutEvents call");
    assert_eq!(s.receiver.types(), LIFE);
    let posts = s.receiver.posts.lock().unwrap().clone();
    for (_, body, signature) in &posts {
        let v1 = webhook_v1(SECRET, T0 + 31, body);
        assert_eq!(*signature, format!("t={},v1={v1}", T0 + 31));
        let id = serde_json::from_str::<Value>(body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let stored = s.store.get_webhook(&id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.attempts, &stored.body),
            (WebhookStatus::Delivered, 1, body)
        );
        assert_eq!(s.store.webhook_due_at(&id), None, "out of the open index");
    }

    // The same batch again (Lambda retries from a failed record): the bus hears again,
    // the merchant does not.
    let again = stream_batch(&s.notifier, order_life(), T0 + 40).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(s.receiver.types().len(), 4);
    assert!(s.store.waiting_webhooks("o1").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_entry_is_put_once_more_and_only_then_fails_its_record() {
    let s = setup(0);
    s.bus.refusals.store(1, Ordering::SeqCst);
    let answer = stream_batch(&s.notifier, order_life(), T0 + 31).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(
        s.bus.put.lock().unwrap().concat().len(),
        4,
        "the refused one went on the retry"
    );

    let s = setup(0);
    s.bus.refusals.store(2, Ordering::SeqCst);
    let answer = stream_batch(&s.notifier, order_life(), T0 + 31).await;
    let failed: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["1"], "order.created was refused twice");
}

#[tokio::test]
async fn an_orders_events_wait_for_its_earlier_one_and_follow_it() {
    let s = setup(1);
    stream_batch(&s.notifier, order_life(), T0 + 31).await;
    // The first attempt failed; nothing after it was tried.
    assert_eq!(s.receiver.types(), ["order.created"]);
    let early = sweep(&s.notifier, T0 + 60, Duration::from_secs(5)).await.unwrap();
    assert_eq!((early.waiting, early.delivered), (3, 0), "{early:?}");
    assert_eq!(s.receiver.types().len(), 1, "not due yet, and the rest wait behind it");
    let paid = crate::domain::events::event_id("ORDER#o1", crate::domain::events::EventType::OrderPaid);
    assert_eq!(
        s.store.webhook_due_at(&paid),
        Some(T0 + 31 + 60),
        "looked at again when the one it waits for is due"
    );
    let again = sweep(&s.notifier, T0 + 70, Duration::from_secs(5)).await.unwrap();
    assert_eq!(again.due, 0, "{again:?}");

    let report = sweep(&s.notifier, T0 + 31 + 60, Duration::from_secs(5)).await.unwrap();
    assert_eq!((report.delivered, report.followed), (4, 3), "{report:?}");
    assert_eq!(
        s.receiver.types(),
        [
            "order.created",
            "order.created",
            "order.paid",
            "refund.processing",
            "refund.succeeded"
        ]
    );
    assert!(s.store.waiting_webhooks("o1").await.unwrap().is_empty());
}

#[tokio::test]
async fn after_24_hours_of_failures_it_is_kept_undelivered_out_of_the_index() {
    let s = setup(usize::MAX);
    stream_batch(
        &s.notifier,
        batch(vec![record("1", None, order_image("PENDING", T0))]),
        T0,
    )
    .await;
    let id = crate::domain::events::event_id("ORDER#o1", crate::domain::events::EventType::OrderCreated);
    let mut sweeps = 0;
    while let Some(due) = s.store.webhook_due_at(&id) {
        sweep(&s.notifier, due, Duration::from_secs(5)).await.unwrap();
        sweeps += 1;
        assert!(sweeps < 20, "never gave up");
    }
    let stored = s.store.get_webhook(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, WebhookStatus::Undelivered);
    assert_eq!((stored.attempts, stored.first_attempt_at), (10, Some(T0)));
    assert_eq!(stored.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(s.receiver.types().len(), 10);
}

#[tokio::test]
async fn handle_tells_the_stream_from_the_schedule() {
    let s = setup(0);
    let stream = json!({"Records": [record("1", None, order_image("PENDING", T0))]});
    let answer = handle(&s.notifier, stream, T0, Duration::from_secs(5)).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let report = handle(&s.notifier, scheduled, T0 + 60, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report["due"], 0);
    assert!(
        handle(&s.notifier, json!({"hello": 1}), T0, Duration::from_secs(5))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unreadable_records_fail_alone_and_other_items_make_nothing() {
    let s = setup(0);
    let mut broken = order_image("PENDING", T0);
    broken.as_object_mut().unwrap().remove("openid");
    let session = json!({"pk": {"S": "SESSION#x"}, "sk": {"S": "SESSION"}, "entity": {"S": "SESSION"}});
    let answer = stream_batch(
        &s.notifier,
        batch(vec![record("1", None, broken), record("2", None, session)]),
        T0,
    )
    .await;
    let failed: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["1"]);
    assert!(s.receiver.types().is_empty());
}

#[tokio::test]
async fn an_ended_delivery_left_in_its_line_holds_nothing_up() {
    let s = setup(0);
    stream_batch(
        &s.notifier,
        batch(vec![record("1", None, order_image("PENDING", T0))]),
        T0,
    )
    .await;
    let id = crate::domain::events::event_id("ORDER#o1", crate::domain::events::EventType::OrderCreated);
    let created = s.store.get_webhook(&id).await.unwrap().unwrap();
    assert_eq!(created.status, WebhookStatus::Delivered);
    // As if a run had stopped between ending the delivery and leaving the line.
    s.store.requeue_for_test("o1", &created.sequence);
    let paid = batch(vec![record(
        "2",
        Some(order_image("PENDING", T0)),
        order_image("PAID", T0 + 10),
    )]);
    stream_batch(&s.notifier, paid, T0 + 10).await;
    assert_eq!(s.receiver.types(), ["order.created", "order.paid"]);
    assert!(
        s.store.waiting_webhooks("o1").await.unwrap().is_empty(),
        "the stale entry was cleared"
    );
}

#[tokio::test]
async fn the_sample_events_drive_both_triggers() {
    let s = setup(0);
    let stream: Value = serde_json::from_str(include_str!("../../../events/events-stream.json")).unwrap();
    let answer = handle(&s.notifier, stream, T0, Duration::from_secs(5)).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let made = ["order.created", "order.paid"];
    assert_eq!(*s.bus.put.lock().unwrap(), [made.map(str::to_owned).to_vec()]);
    assert_eq!(s.receiver.types(), made);
    let sweep: Value = serde_json::from_str(include_str!("../../../events/events-sweep.json")).unwrap();
    let report = handle(&s.notifier, sweep, T0 + 60, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (report["due"].clone(), report["delivered"].clone()),
        (json!(0), json!(0))
    );
}
