//! The index of open items the reconciler and the webhook sweep read: what is in it,
//! paging through it, and claims that let one run at a time ask about an item.

use super::{
    Subject, T0, all_due, at_once, due_keys, insert, paid_order, payment, pending_order, recorded_webhook, refund,
    settlement, started_refund, started_settlement, webhook,
};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::refund::SettleStatus;
use crate::store::{Due, OpenItem, OpenKey, Store, WebhookStatus};
use std::collections::HashMap;

fn order_key(no: &str) -> OpenKey {
    OpenKey::Order(no.to_owned())
}

/// Inserts a PENDING order made at `created_at`, first due then.
async fn open_order(store: &dyn Store, no: &str, created_at: i64) -> Order {
    let order = Order {
        created_at,
        updated_at: created_at,
        pay_deadline: created_at + 900,
        ..pending_order(no, 990)
    };
    insert(store, &order).await;
    order
}

pub async fn open_items_enter_and_leave_the_index_with_their_state(subject: &dyn Subject) {
    let store = subject.store();
    let order = open_order(store, "o-open", T0).await;
    assert_eq!(
        all_due(store, T0, 10).await,
        [Due {
            item: OpenItem::Order(order),
            due_at: T0,
            checks: 0
        }]
    );
    assert_eq!(due_keys(store, T0 - 1).await, [], "not due before it was made");
    store.mark_paid("o-open", &payment(990), T0 + 10).await.unwrap();
    assert_eq!(due_keys(store, T0 + 10).await, []);

    open_order(store, "o-unpaid", T0 + 20).await;
    store
        .finish_unpaid("o-unpaid", OrderStatus::Closed, T0 + 30)
        .await
        .unwrap();
    assert_eq!(due_keys(store, T0 + 30).await, []);
    let already_paid = Order {
        status: OrderStatus::Paid,
        payment: Some(payment(990)),
        ..pending_order("o-paid", 990)
    };
    insert(store, &already_paid).await;
    assert_eq!(due_keys(store, T0 + 30).await, [], "only what awaits the platform");

    let asked = started_refund(store, &refund("r-1", "o-open", 100, T0 + 40)).await;
    assert_eq!(
        all_due(store, T0 + 40, 10).await,
        [Due {
            item: OpenItem::Refund(asked.clone()),
            due_at: T0 + 40,
            checks: 0
        }]
    );
    store.finish_refund(&asked, true, T0 + 50).await.unwrap();
    assert_eq!(due_keys(store, T0 + 50).await, []);

    let asked = started_settlement(store, &super::settlement("s-1", "o-open", T0 + 60), 100).await;
    assert_eq!(
        all_due(store, T0 + 60, 10).await,
        [Due {
            item: OpenItem::Settlement(asked),
            due_at: T0 + 60,
            checks: 0
        }]
    );
    store.finish_settle("s-1", SettleStatus::Fail, T0 + 70).await.unwrap();
    assert_eq!(due_keys(store, T0 + 70).await, []);

    // A delivery is due when it was recorded for, not when its event was made.
    let delivery = recorded_webhook(store, &webhook("evt_1", "o-open", T0 + 10, 1), T0 + 80).await;
    assert_eq!(due_keys(store, T0 + 79).await, []);
    assert_eq!(
        all_due(store, T0 + 80, 10).await,
        [Due {
            item: OpenItem::Webhook(delivery.clone()),
            due_at: T0 + 80,
            checks: 0
        }]
    );
    store
        .end_webhook(&delivery, WebhookStatus::Delivered, None, T0 + 90)
        .await
        .unwrap();
    assert_eq!(due_keys(store, T0 + 1000).await, []);
}

pub async fn due_items_come_soonest_first_a_page_at_a_time(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-paid", 10_000).await;
    let mut expected = Vec::new();
    // Ties on the due time, and every kind of open item.
    for (i, at) in [T0 + 5, T0 + 1, T0 + 3, T0 + 3, T0 + 1].into_iter().enumerate() {
        let no = format!("o-{i}");
        open_order(store, &no, at).await;
        expected.push((at, order_key(&no)));
    }
    started_refund(store, &refund("r-1", "o-paid", 100, T0 + 3)).await;
    expected.push((T0 + 3, OpenKey::Refund("r-1".into())));
    paid_order(store, "o-settled", 10_000).await;
    started_settlement(store, &settlement("s-1", "o-settled", T0 + 2), 0).await;
    expected.push((T0 + 2, OpenKey::Settlement("s-1".into())));
    recorded_webhook(store, &webhook("evt_1", "o-paid", T0, 1), T0 + 4).await;
    expected.push((T0 + 4, OpenKey::Webhook("evt_1".into())));
    // Not due yet.
    open_order(store, "o-later", T0 + 7).await;
    recorded_webhook(store, &webhook("evt_2", "o-paid", T0, 2), T0 + 8).await;

    let wanted: HashMap<OpenKey, i64> = expected.into_iter().map(|(at, key)| (key, at)).collect();
    for limit in [1, 3, 8, 100] {
        let read = all_due(store, T0 + 6, limit).await;
        let times: Vec<i64> = read.iter().map(|due| due.due_at).collect();
        assert!(times.is_sorted(), "soonest first, limit {limit}: {times:?}");
        let keyed: HashMap<OpenKey, i64> = read.iter().map(|due| (due.item.key(), due.due_at)).collect();
        assert_eq!(read.len(), keyed.len(), "each due item once, limit {limit}");
        assert_eq!(keyed, wanted, "limit {limit}");
    }
    let first = store.due_items(T0 + 6, 3, None).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert!(first.next.is_some());
    assert!(store.due_items(T0 + 6, 3, Some("not a cursor".into())).await.is_err());
}

pub async fn paging_goes_on_after_the_items_claimed_from_a_page(subject: &dyn Subject) {
    let store = subject.store();
    for i in 0..7 {
        open_order(store, &format!("o-{i}"), T0 + i).await;
    }
    // As a run does: every item of a page is claimed (put off past now) before the
    // next page is read.
    let now = T0 + 100;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.due_items(now, 2, cursor).await.unwrap();
        for due in &page.items {
            assert_eq!(store.claim(&due.item.key(), due.due_at, now + 600, now).await, Ok(true));
            seen.push(due.item.key());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let wanted: Vec<OpenKey> = (0..7).map(|i| order_key(&format!("o-{i}"))).collect();
    assert_eq!(seen, wanted, "every item once, none skipped");
    assert_eq!(due_keys(store, now).await, []);
}

pub async fn a_claim_puts_an_item_off_once_per_due_time_seen(subject: &dyn Subject) {
    let store = subject.store();
    let order = open_order(store, "o-1", T0).await;
    assert_eq!(store.claim(&order_key("o-1"), T0, T0 + 60, T0 + 1).await, Ok(true));
    assert_eq!(due_keys(store, T0 + 59).await, []);
    assert_eq!(
        all_due(store, T0 + 60, 10).await,
        [Due {
            item: OpenItem::Order(order),
            due_at: T0 + 60,
            checks: 1
        }]
    );
    // A run that read it before: its due time is gone.
    assert_eq!(store.claim(&order_key("o-1"), T0, T0 + 120, T0 + 2).await, Ok(false));
    assert_eq!(
        store.claim(&order_key("o-1"), T0 + 60, T0 + 300, T0 + 61).await,
        Ok(true)
    );
    assert_eq!(all_due(store, T0 + 300, 10).await[0].checks, 2);

    // Closed items and unknown ones are nobody's to ask about.
    store.mark_paid("o-1", &payment(990), T0 + 400).await.unwrap();
    assert_eq!(
        store.claim(&order_key("o-1"), T0 + 300, T0 + 900, T0 + 401).await,
        Ok(false)
    );
    for unknown in [
        order_key("o-unknown"),
        OpenKey::Refund("r-unknown".into()),
        OpenKey::Settlement("s-unknown".into()),
        OpenKey::Webhook("evt_unknown".into()),
    ] {
        assert_eq!(store.claim(&unknown, T0, T0 + 60, T0).await, Ok(false), "{unknown:?}");
    }
    assert_eq!(store.get_order("o-unknown").await, Ok(None));
    assert_eq!(store.get_refund("r-unknown").await, Ok(None));
    assert_eq!(store.get_settlement("s-unknown").await, Ok(None));
    assert_eq!(store.get_webhook("evt_unknown").await, Ok(None));

    // Every kind is claimed alike.
    paid_order(store, "o-2", 1000).await;
    started_refund(store, &refund("r-1", "o-2", 100, T0 + 10)).await;
    let key = OpenKey::Refund("r-1".into());
    assert_eq!(store.claim(&key, T0 + 10, T0 + 70, T0 + 11).await, Ok(true));
    assert_eq!(store.claim(&key, T0 + 10, T0 + 70, T0 + 11).await, Ok(false));
    assert_eq!(due_keys(store, T0 + 70).await, [key]);
}

pub async fn concurrent_claims_of_one_due_time_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    open_order(store, "o-1", T0).await;
    let key = order_key("o-1");
    let claims = at_once((0..4).map(|i| store.claim(&key, T0, T0 + 60 + i, T0 + 1)).collect()).await;
    assert_eq!(claims.iter().filter(|c| **c == Ok(true)).count(), 1, "{claims:?}");
    assert!(claims.iter().all(Result::is_ok));
    let due = all_due(store, T0 + 100, 10).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].checks, 1);
    let won = claims.iter().position(|c| *c == Ok(true)).unwrap();
    assert_eq!(due[0].due_at, T0 + 60 + i64::try_from(won).unwrap());
}

pub async fn an_order_query_is_claimed_at_most_once_per_gap(subject: &dyn Subject) {
    let store = subject.store();
    open_order(store, "o-1", T0).await;
    assert_eq!(store.claim_order_query("o-1", T0 + 100, 10).await, Ok(true));
    assert_eq!(store.claim_order_query("o-1", T0 + 105, 10).await, Ok(false));
    assert_eq!(store.claim_order_query("o-1", T0 + 109, 10).await, Ok(false));
    assert_eq!(store.claim_order_query("o-1", T0 + 110, 10).await, Ok(true));
    assert_eq!(store.claim_order_query("o-1", T0 + 110, 0).await, Ok(true), "no gap");

    // Only a PENDING order is asked about.
    store
        .finish_unpaid("o-1", OrderStatus::Timeout, T0 + 900)
        .await
        .unwrap();
    assert_eq!(store.claim_order_query("o-1", T0 + 1000, 10).await, Ok(false));
    paid_order(store, "o-2", 990).await;
    assert_eq!(store.claim_order_query("o-2", T0 + 1000, 10).await, Ok(false));
    assert_eq!(store.claim_order_query("o-unknown", T0 + 1000, 10).await, Ok(false));
    assert_eq!(store.get_order("o-unknown").await, Ok(None));
}

pub async fn a_reconciler_claim_counts_as_an_order_query(subject: &dyn Subject) {
    let store = subject.store();
    open_order(store, "o-1", T0).await;
    // The reconciler is about to ask the platform: a polling client need not, too.
    assert_eq!(store.claim(&order_key("o-1"), T0, T0 + 60, T0 + 100).await, Ok(true));
    assert_eq!(store.claim_order_query("o-1", T0 + 105, 10).await, Ok(false));
    assert_eq!(store.claim_order_query("o-1", T0 + 110, 10).await, Ok(true));
}

pub async fn concurrent_order_query_claims_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    open_order(store, "o-1", T0).await;
    let claims = at_once((0..4).map(|_| store.claim_order_query("o-1", T0 + 100, 10)).collect()).await;
    assert_eq!(claims.iter().filter(|c| **c == Ok(true)).count(), 1, "{claims:?}");
    assert!(claims.iter().all(Result::is_ok));
}
