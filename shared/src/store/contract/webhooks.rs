//! Webhook deliveries: recorded once, queued in their order's line, attempts counted,
//! ended once (out of the open index and the line), listed by status, and sent again
//! by the operator only as read.

use super::{Subject, T0, at_once, due_keys, recorded_webhook, webhook};
use crate::store::webhooks::{WebhookCursor, WebhookStatus};
use crate::store::{OpenKey, Store, Webhook};
use tokio::sync::Barrier;

/// A delivery that failed for good at `at` after one attempt.
async fn undelivered(store: &dyn Store, id: &str, created_at: i64, at: i64) -> Webhook {
    let pending = recorded_webhook(store, &webhook(id, "o-1", created_at, 1), created_at).await;
    store
        .end_webhook(&pending, WebhookStatus::Undelivered, Some("HTTP 503"), at)
        .await
        .unwrap();
    store.get_webhook(id).await.unwrap().unwrap()
}

pub async fn a_webhook_is_recorded_once_and_queued_in_its_orders_line(subject: &dyn Subject) {
    let store = subject.store();
    let paid = webhook("evt_paid", "o-1", T0 + 10, 1);
    let created = webhook("evt_created", "o-1", T0, 0);
    let stored = recorded_webhook(store, &paid, T0 + 10).await;
    assert_eq!(store.get_webhook("evt_paid").await, Ok(Some(stored)));
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![paid.sequence.clone()]));
    // A redelivered stream record, even with another due time: nothing changes.
    assert_eq!(store.record_webhook(&paid, T0 + 500).await, Ok(false));
    assert_eq!(
        store.get_webhook("evt_paid").await.unwrap().unwrap().due_at,
        Some(T0 + 10)
    );

    recorded_webhook(store, &created, T0 + 20).await;
    assert_eq!(
        store.waiting_webhooks("o-1").await,
        Ok(vec![created.sequence.clone(), paid.sequence.clone()]),
        "earliest first"
    );
    recorded_webhook(store, &webhook("evt_other", "o-2", T0, 0), T0).await;
    assert_eq!(store.waiting_webhooks("o-1").await.unwrap().len(), 2);
    assert_eq!(store.waiting_webhooks("o-unknown").await, Ok(vec![]));
    assert_eq!(store.get_webhook("evt_unknown").await, Ok(None));
}

pub async fn concurrent_records_of_one_event_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    let event = webhook("evt_1", "o-1", T0, 1);
    let recorded = at_once((0..3).map(|_| store.record_webhook(&event, T0)).collect()).await;
    assert_eq!(recorded.iter().filter(|r| **r == Ok(true)).count(), 1, "{recorded:?}");
    assert!(recorded.iter().all(Result::is_ok));
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![event.sequence.clone()]));
    assert_eq!(due_keys(store, T0).await, [OpenKey::Webhook("evt_1".into())]);
}

pub async fn a_failed_attempt_is_counted_while_pending(subject: &dyn Subject) {
    let store = subject.store();
    let stored = recorded_webhook(store, &webhook("evt_1", "o-1", T0, 1), T0).await;
    store.webhook_failed("evt_1", "HTTP 503", T0 + 1).await.unwrap();
    store.webhook_failed("evt_1", "timeout", T0 + 61).await.unwrap();
    let failed = Webhook {
        attempts: 2,
        first_attempt_at: Some(T0 + 1),
        last_attempt_at: Some(T0 + 61),
        last_error: Some("timeout".to_owned()),
        ..stored
    };
    assert_eq!(store.get_webhook("evt_1").await, Ok(Some(failed.clone())));
    assert_eq!(store.waiting_webhooks("o-1").await.unwrap().len(), 1, "still waiting");

    store
        .end_webhook(&failed, WebhookStatus::Delivered, None, T0 + 400)
        .await
        .unwrap();
    let ended = store.get_webhook("evt_1").await.unwrap().unwrap();
    store.webhook_failed("evt_1", "HTTP 500", T0 + 500).await.unwrap();
    assert_eq!(store.get_webhook("evt_1").await, Ok(Some(ended)), "ended: not counted");
    store.webhook_failed("evt_unknown", "HTTP 500", T0).await.unwrap();
    assert_eq!(store.get_webhook("evt_unknown").await, Ok(None));
}

pub async fn a_webhook_ends_once_and_leaves_the_index_and_its_line(subject: &dyn Subject) {
    let store = subject.store();
    let first = recorded_webhook(store, &webhook("evt_1", "o-1", T0, 1), T0).await;
    let second = recorded_webhook(store, &webhook("evt_2", "o-1", T0 + 1, 1), T0 + 1).await;
    // Claimed before its attempt, as the sweep does.
    assert_eq!(
        store
            .claim(&OpenKey::Webhook("evt_1".into()), T0, T0 + 60, T0 + 5)
            .await,
        Ok(true)
    );
    assert_eq!(
        store.end_webhook(&first, WebhookStatus::Delivered, None, T0 + 6).await,
        Ok(true)
    );
    let delivered = Webhook {
        status: WebhookStatus::Delivered,
        attempts: 1,
        first_attempt_at: Some(T0 + 6),
        last_attempt_at: Some(T0 + 6),
        due_at: None,
        ..first.clone()
    };
    assert_eq!(store.get_webhook("evt_1").await, Ok(Some(delivered.clone())));
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![second.sequence.clone()]));
    assert_eq!(due_keys(store, T0 + 100).await, [OpenKey::Webhook("evt_2".into())]);
    assert_eq!(
        store
            .end_webhook(&first, WebhookStatus::Undelivered, Some("HTTP 500"), T0 + 7)
            .await,
        Ok(false)
    );
    assert_eq!(store.get_webhook("evt_1").await, Ok(Some(delivered)));
    assert_eq!(
        store
            .claim(&OpenKey::Webhook("evt_1".into()), T0 + 60, T0 + 120, T0 + 8)
            .await,
        Ok(false),
        "ended: nobody's to try"
    );

    store.webhook_failed("evt_2", "HTTP 503", T0 + 2).await.unwrap();
    let failing = store.get_webhook("evt_2").await.unwrap().unwrap();
    assert_eq!(
        store
            .end_webhook(&failing, WebhookStatus::Undelivered, Some("timeout"), T0 + 86_400)
            .await,
        Ok(true)
    );
    let given_up = Webhook {
        status: WebhookStatus::Undelivered,
        attempts: 2,
        first_attempt_at: Some(T0 + 2),
        last_attempt_at: Some(T0 + 86_400),
        last_error: Some("timeout".to_owned()),
        due_at: None,
        ..second
    };
    assert_eq!(store.get_webhook("evt_2").await, Ok(Some(given_up)));
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![]));
    assert_eq!(due_keys(store, T0 + 100_000).await, []);
}

pub async fn ending_an_ended_webhook_still_clears_its_line_entry(subject: &dyn Subject) {
    let store = subject.store();
    let first = recorded_webhook(store, &webhook("evt_1", "o-1", T0, 1), T0).await;
    store
        .end_webhook(&first, WebhookStatus::Delivered, None, T0 + 1)
        .await
        .unwrap();
    // A run that stopped between ending a delivery and clearing its entry left it: the
    // next end of it, though it ended before, must not let it hold up the order.
    subject.put_in_line("o-1", &first.sequence).await;
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![first.sequence.clone()]));
    assert_eq!(
        store.end_webhook(&first, WebhookStatus::Delivered, None, T0 + 2).await,
        Ok(false)
    );
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![]));

    subject.put_in_line("o-1", &first.sequence).await;
    store.drop_from_line("o-1", &first.sequence).await.unwrap();
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![]));
    store.drop_from_line("o-unknown", "000000000000-1-evt_x").await.unwrap();
    assert_eq!(store.waiting_webhooks("o-unknown").await, Ok(vec![]));
}

pub async fn concurrent_ends_of_one_webhook_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    let pending = recorded_webhook(store, &webhook("evt_1", "o-1", T0, 1), T0).await;
    let barrier = Barrier::new(2);
    let (delivered, given_up) = tokio::join!(
        async {
            barrier.wait().await;
            store
                .end_webhook(&pending, WebhookStatus::Delivered, None, T0 + 5)
                .await
        },
        async {
            barrier.wait().await;
            store
                .end_webhook(&pending, WebhookStatus::Undelivered, Some("HTTP 500"), T0 + 5)
                .await
        },
    );
    let stored = store.get_webhook("evt_1").await.unwrap().unwrap();
    match (delivered, given_up) {
        (Ok(true), Ok(false)) => assert_eq!(stored.status, WebhookStatus::Delivered),
        (Ok(false), Ok(true)) => assert_eq!(stored.status, WebhookStatus::Undelivered),
        other => panic!("exactly one end applies: {other:?}"),
    }
    assert_eq!(stored.attempts, 1);
    assert_eq!(store.waiting_webhooks("o-1").await, Ok(vec![]));
}

/// Every delivery of `status`, `limit` at a time, in the order read, each as stored.
async fn listed(store: &dyn Store, status: WebhookStatus, limit: usize) -> Vec<Webhook> {
    let mut webhooks: Vec<Webhook> = Vec::new();
    let mut cursor: Option<WebhookCursor> = None;
    loop {
        let page = store.list_webhooks(status, limit, cursor.as_ref()).await.unwrap();
        assert!(page.webhooks.len() <= limit);
        webhooks.extend(page.webhooks);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for webhook in &webhooks {
        assert_eq!(
            store.get_webhook(&webhook.event_id).await.unwrap().as_ref(),
            Some(webhook),
            "listed as stored"
        );
    }
    webhooks
}

pub async fn deliveries_are_listed_by_status_newest_first_a_page_at_a_time(subject: &dyn Subject) {
    let store = subject.store();
    // Ties on the event's time, and every status.
    let times = [T0, T0 + 1, T0 + 1, T0 + 2, T0 + 2, T0 + 2, T0 + 3];
    let mut by_status = [Vec::new(), Vec::new(), Vec::new()];
    for (i, at) in times.into_iter().enumerate() {
        let id = format!("evt_{i}");
        let pending = recorded_webhook(store, &webhook(&id, &format!("o-{i}"), at, 1), at + 10).await;
        let status = [
            WebhookStatus::Pending,
            WebhookStatus::Delivered,
            WebhookStatus::Undelivered,
        ][i % 3];
        if status == WebhookStatus::Pending {
            store.webhook_failed(&id, "HTTP 502", at + 10).await.unwrap();
        } else {
            store
                .end_webhook(&pending, status, Some("HTTP 500"), at + 10)
                .await
                .unwrap();
        }
        by_status[i % 3].push((at, id));
    }
    for (status, made) in [
        WebhookStatus::Pending,
        WebhookStatus::Delivered,
        WebhookStatus::Undelivered,
    ]
    .into_iter()
    .zip(by_status)
    {
        let mut wanted: Vec<String> = made.iter().map(|(_, id)| id.clone()).collect();
        wanted.sort();
        for limit in [1, 2, 10] {
            let read = listed(store, status, limit).await;
            let times: Vec<i64> = read.iter().map(|w| w.created_at).collect();
            assert!(times.iter().rev().is_sorted(), "{status:?}: newest first: {times:?}");
            assert!(read.iter().all(|w| w.status == status));
            let mut ids: Vec<String> = read.iter().map(|w| w.event_id.clone()).collect();
            ids.sort();
            assert_eq!(ids, wanted, "{status:?}, limit {limit}: each once");
        }
    }
    let pending = listed(store, WebhookStatus::Pending, 10).await;
    assert!(pending.iter().all(|w| w.due_at.is_some()), "{pending:?}");
}

pub async fn a_redelivery_is_recorded_only_as_read(subject: &dyn Subject) {
    let store = subject.store();
    let seen = undelivered(store, "evt_1", T0, T0 + 86_400).await;
    assert_eq!(seen.attempts, 1);
    assert_eq!(
        store.record_redelivery(&seen, Some("HTTP 502"), T0 + 90_000).await,
        Ok(true)
    );
    let still_failing = Webhook {
        attempts: 2,
        last_attempt_at: Some(T0 + 90_000),
        last_error: Some("HTTP 502".to_owned()),
        ..seen.clone()
    };
    assert_eq!(store.get_webhook("evt_1").await, Ok(Some(still_failing.clone())));
    // Read before that attempt: another operator's click, told it lost.
    assert_eq!(store.record_redelivery(&seen, None, T0 + 90_001).await, Ok(false));
    assert_eq!(store.get_webhook("evt_1").await, Ok(Some(still_failing.clone())));

    assert_eq!(
        store.record_redelivery(&still_failing, None, T0 + 90_002).await,
        Ok(true)
    );
    let delivered = store.get_webhook("evt_1").await.unwrap().unwrap();
    assert_eq!(
        (delivered.status, delivered.attempts, delivered.last_attempt_at),
        (WebhookStatus::Delivered, 3, Some(T0 + 90_002))
    );
    assert_eq!(due_keys(store, T0 + 100_000).await, [], "not open again");
    assert_eq!(store.record_redelivery(&delivered, None, T0 + 90_003).await, Ok(false));

    let pending = recorded_webhook(store, &webhook("evt_2", "o-2", T0, 1), T0).await;
    assert_eq!(store.record_redelivery(&pending, None, T0 + 1).await, Ok(false));
    assert_eq!(store.get_webhook("evt_2").await, Ok(Some(pending)));
    let unknown = webhook("evt_unknown", "o-3", T0, 1);
    assert_eq!(store.record_redelivery(&unknown, None, T0).await, Ok(false));
    assert_eq!(store.get_webhook("evt_unknown").await, Ok(None));
}

pub async fn concurrent_redeliveries_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    let seen = undelivered(store, "evt_1", T0, T0 + 86_400).await;
    let outcomes = at_once(
        [None, Some("HTTP 502"), None]
            .into_iter()
            .map(|error| store.record_redelivery(&seen, error, T0 + 90_000))
            .collect(),
    )
    .await;
    assert_eq!(outcomes.iter().filter(|o| **o == Ok(true)).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(store.get_webhook("evt_1").await.unwrap().unwrap().attempts, 2);
}
