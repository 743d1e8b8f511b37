//! Callbacks applied with their audit record: applied once, kept once; a redelivery of
//! what was applied changes nothing and is not kept again; what changes nothing else
//! (another payment, another amount, an unknown number) is kept all the same.

use super::{Subject, T0, at_once, insert, paid_order, payment, pending_order, refund, started_refund};
use crate::domain::order::{Order, OrderStatus, Payment, Platform};
use crate::domain::refund::RefundStatus;
use crate::store::{CallbackPaid, CallbackRefund, Received, Store};

fn received<'a>(kind: &'a str, body: &'a [u8], order: Option<&'a str>, at: i64) -> Received<'a> {
    Received {
        platform: Platform::Douyin,
        kind,
        raw_body: body,
        out_order_no: order,
        at,
    }
}

fn paid(order: &Order, at: i64, late: bool) -> Order {
    Order {
        status: OrderStatus::Paid,
        payment: Some(payment(order.total_amount)),
        updated_at: at,
        late,
        ..order.clone()
    }
}

/// How many callbacks the order's timeline shows.
async fn kept_for(store: &dyn Store, no: &str) -> usize {
    store.order_with_children(no).await.unwrap().unwrap().callbacks.len()
}

async fn money(store: &dyn Store, no: &str) -> (i64, i64, i64, OrderStatus) {
    let o = store.get_order(no).await.unwrap().unwrap();
    (o.refunded_amount, o.refunding_amount, o.refundable(), o.status)
}

pub async fn a_payment_callback_pays_once_and_is_kept_with_it(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;
    let first = received("payment", b"pay o-1 #1", Some("o-1"), T0 + 30);
    assert_eq!(
        store.pay_by_callback(&first, "o-1", &payment(990)).await,
        Ok(CallbackPaid::Applied)
    );
    assert_eq!(store.get_order("o-1").await, Ok(Some(paid(&order, T0 + 30, false))));
    assert!(subject.callback_expires_at(b"pay o-1 #1").await.is_some(), "kept");

    // Redeliveries of the payment that paid, the same bytes or others: acknowledged,
    // nothing written, the delivery that paid stays the one kept.
    let again = received("payment", b"pay o-1 #1", Some("o-1"), T0 + 40);
    let other_bytes = received("payment", b"pay o-1 #2", Some("o-1"), T0 + 50);
    for redelivery in [again, other_bytes] {
        assert_eq!(
            store.pay_by_callback(&redelivery, "o-1", &payment(990)).await,
            Ok(CallbackPaid::Duplicate)
        );
    }
    assert_eq!(subject.callback_expires_at(b"pay o-1 #2").await, None);
    assert_eq!(kept_for(store, "o-1").await, 1);
    assert_eq!(store.get_order("o-1").await, Ok(Some(paid(&order, T0 + 30, false))));

    // Another payment of a paid order: nothing moves, and it is kept for a person.
    let twice = Payment {
        trade_no: "trade-0002".into(),
        ..payment(990)
    };
    let second = received("payment", b"pay o-1 again", Some("o-1"), T0 + 60);
    assert_eq!(
        store.pay_by_callback(&second, "o-1", &twice).await,
        Ok(CallbackPaid::PaidOtherwise(Box::new(paid(&order, T0 + 30, false))))
    );
    assert_eq!(kept_for(store, "o-1").await, 2);
}

pub async fn a_payment_callback_that_changes_nothing_is_kept(subject: &dyn Subject) {
    let store = subject.store();
    let pending = pending_order("o-1", 990);
    insert(store, &pending).await;
    let wrong = received("payment", b"pay o-1 99", Some("o-1"), T0 + 30);
    assert_eq!(
        store.pay_by_callback(&wrong, "o-1", &payment(99)).await,
        Ok(CallbackPaid::AmountMismatch { expected: 990 })
    );
    assert_eq!(store.get_order("o-1").await, Ok(Some(pending)));
    assert_eq!(kept_for(store, "o-1").await, 1);
    // Kept once, however often it comes.
    assert_eq!(
        store.pay_by_callback(&wrong, "o-1", &payment(99)).await,
        Ok(CallbackPaid::AmountMismatch { expected: 990 })
    );
    assert_eq!(kept_for(store, "o-1").await, 1);

    let unknown = received("payment", b"pay o-x", Some("o-x"), T0 + 30);
    assert_eq!(
        store.pay_by_callback(&unknown, "o-x", &payment(990)).await,
        Ok(CallbackPaid::NotFound)
    );
    assert!(subject.callback_expires_at(b"pay o-x").await.is_some(), "kept");
    assert_eq!(store.get_order("o-x").await, Ok(None));
}

pub async fn a_late_payment_callback_pays_the_ended_order_late(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;
    store.finish_unpaid("o-1", OrderStatus::Closed, T0 + 900).await.unwrap();
    let late = received("payment", b"pay o-1 late", Some("o-1"), T0 + 1000);
    assert_eq!(
        store.pay_by_callback(&late, "o-1", &payment(990)).await,
        Ok(CallbackPaid::Applied)
    );
    assert_eq!(store.get_order("o-1").await, Ok(Some(paid(&order, T0 + 1000, true))));
    assert_eq!(kept_for(store, "o-1").await, 1);
}

pub async fn a_payment_callback_kept_before_but_not_applied_still_pays(subject: &dyn Subject) {
    // Kept by an attempt that failed before paying (a deployment that kept callbacks
    // in a write of their own): its redelivery pays, and the first receipt stays.
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;
    let body = b"pay o-1";
    store
        .keep_callback(Platform::Douyin, "payment", body, Some("o-1"), T0 + 10)
        .await
        .unwrap();
    let redelivered = received("payment", body, Some("o-1"), T0 + 30);
    assert_eq!(
        store.pay_by_callback(&redelivered, "o-1", &payment(990)).await,
        Ok(CallbackPaid::Applied)
    );
    assert_eq!(store.get_order("o-1").await, Ok(Some(paid(&order, T0 + 30, false))));
    let kept = store.order_with_children("o-1").await.unwrap().unwrap().callbacks;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].received_at, T0 + 10);
}

pub async fn concurrent_payment_callbacks_pay_once(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;
    let bodies: Vec<Vec<u8>> = (0..4).map(|i| format!("pay o-1 delivery {i}").into_bytes()).collect();
    let deliveries: Vec<Received> = bodies
        .iter()
        .map(|b| received("payment", b, Some("o-1"), T0 + 30))
        .collect();
    let pay = payment(990);
    let outcomes = at_once(
        deliveries
            .iter()
            .map(|d| store.pay_by_callback(d, "o-1", &pay))
            .collect(),
    )
    .await;
    let applied = outcomes.iter().filter(|o| **o == Ok(CallbackPaid::Applied)).count();
    let duplicates = outcomes.iter().filter(|o| **o == Ok(CallbackPaid::Duplicate)).count();
    assert_eq!((applied, duplicates), (1, 3), "{outcomes:?}");
    assert_eq!(store.get_order("o-1").await, Ok(Some(paid(&order, T0 + 30, false))));
    assert_eq!(kept_for(store, "o-1").await, 1, "the delivery that paid");
}

pub async fn a_refund_callback_ends_the_refund_once_and_is_kept_with_it(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    let ok = received("refund", b"refund r-1 ok", None, T0 + 200);
    assert_eq!(
        store.finish_refund_by_callback(&ok, "r-1", true, Some(300)).await,
        Ok(CallbackRefund::Applied)
    );
    assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));
    let ended = store.get_refund("r-1").await.unwrap().unwrap();
    assert_eq!((ended.status, ended.updated_at), (RefundStatus::Success, T0 + 200));
    assert!(subject.callback_expires_at(b"refund r-1 ok").await.is_some(), "kept");
    assert!(
        !super::due_keys(store, T0 + 10_000)
            .await
            .contains(&crate::store::OpenKey::Refund("r-1".into())),
        "out of the open index"
    );

    // A redelivery: nothing moves, not kept again.
    let again = received("refund", b"refund r-1 ok again", None, T0 + 210);
    assert_eq!(
        store.finish_refund_by_callback(&again, "r-1", true, None).await,
        Ok(CallbackRefund::Duplicate)
    );
    assert_eq!(subject.callback_expires_at(b"refund r-1 ok again").await, None);
    // Contradicting the end recorded, another amount, an unknown refund: nothing
    // moves, each kept.
    let contra = received("refund", b"refund r-1 fail", None, T0 + 220);
    assert_eq!(
        store.finish_refund_by_callback(&contra, "r-1", false, None).await,
        Ok(CallbackRefund::EndedOtherwise(Box::new(ended)))
    );
    let amount = received("refund", b"refund r-1 301", None, T0 + 230);
    assert_eq!(
        store.finish_refund_by_callback(&amount, "r-1", true, Some(301)).await,
        Ok(CallbackRefund::AmountMismatch { expected: 300 })
    );
    let unknown = received("refund", b"refund r-x", None, T0 + 240);
    assert_eq!(
        store.finish_refund_by_callback(&unknown, "r-x", true, None).await,
        Ok(CallbackRefund::NotFound)
    );
    for body in [&b"refund r-1 fail"[..], b"refund r-1 301", b"refund r-x"] {
        assert!(subject.callback_expires_at(body).await.is_some(), "kept");
    }
    assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));
}

pub async fn refund_callbacks_give_back_or_refund_the_rest_of_the_order(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    started_refund(store, &refund("r-2", "o-1", 700, T0 + 110)).await;
    // A failed refund gives its amount back.
    let failed = received("refund", b"refund r-1 fail", None, T0 + 200);
    assert_eq!(
        store.finish_refund_by_callback(&failed, "r-1", false, None).await,
        Ok(CallbackRefund::Applied)
    );
    assert_eq!(money(store, "o-1").await, (0, 700, 300, OrderStatus::Paid));
    started_refund(store, &refund("r-3", "o-1", 300, T0 + 300)).await;
    let partial = received("refund", b"refund r-2 ok", None, T0 + 400);
    assert_eq!(
        store.finish_refund_by_callback(&partial, "r-2", true, Some(700)).await,
        Ok(CallbackRefund::Applied)
    );
    assert_eq!(money(store, "o-1").await, (700, 300, 0, OrderStatus::Paid));
    // The last one refunds the order wholly.
    let last = received("refund", b"refund r-3 ok", None, T0 + 500);
    assert_eq!(
        store.finish_refund_by_callback(&last, "r-3", true, None).await,
        Ok(CallbackRefund::Applied)
    );
    assert_eq!(money(store, "o-1").await, (1000, 0, 0, OrderStatus::Refunded));
    // Ended before by a query: the callback is a redelivery.
    paid_order(store, "o-2", 500).await;
    let r = started_refund(store, &refund("r-4", "o-2", 500, T0 + 100)).await;
    store.finish_refund(&r, true, T0 + 150).await.unwrap();
    let late = received("refund", b"refund r-4 ok", None, T0 + 200);
    assert_eq!(
        store.finish_refund_by_callback(&late, "r-4", true, Some(500)).await,
        Ok(CallbackRefund::Duplicate)
    );
    assert_eq!(money(store, "o-2").await, (500, 0, 0, OrderStatus::Refunded));
}

pub async fn concurrent_refund_callbacks_apply_each_once(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    started_refund(store, &refund("r-2", "o-1", 700, T0 + 110)).await;
    let r1a = received("refund", b"r-1 a", None, T0 + 200);
    let r1b = received("refund", b"r-1 b", None, T0 + 200);
    let r2a = received("refund", b"r-2 a", None, T0 + 200);
    let r2b = received("refund", b"r-2 b", None, T0 + 200);
    let outcomes = at_once(vec![
        store.finish_refund_by_callback(&r1a, "r-1", true, None),
        store.finish_refund_by_callback(&r1b, "r-1", true, None),
        store.finish_refund_by_callback(&r2a, "r-2", true, None),
        store.finish_refund_by_callback(&r2b, "r-2", true, None),
    ])
    .await;
    let applied = outcomes.iter().filter(|o| **o == Ok(CallbackRefund::Applied)).count();
    let duplicates = outcomes.iter().filter(|o| **o == Ok(CallbackRefund::Duplicate)).count();
    assert_eq!((applied, duplicates), (2, 2), "{outcomes:?}");
    assert_eq!(money(store, "o-1").await, (1000, 0, 0, OrderStatus::Refunded));
}
