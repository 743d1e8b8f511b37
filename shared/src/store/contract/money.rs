//! Refunds: the money they reserve and move, exactly once.

use super::{Subject, T0, at_once, due_keys, paid_order, refund, started_refund};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::refund::{Refund, RefundStatus};
use crate::store::{BeginRefund, Finish, OpenKey, Store};
use tokio::sync::Barrier;

/// The order's refunded, in-flight and refundable amounts, and its status.
async fn money(store: &dyn Store, out_order_no: &str) -> (i64, i64, i64, OrderStatus) {
    let order = store.get_order(out_order_no).await.unwrap().expect("order exists");
    (
        order.refunded_amount,
        order.refunding_amount,
        order.refundable(),
        order.status,
    )
}

fn ended(refund: &Refund, status: RefundStatus, at: i64) -> Refund {
    Refund {
        status,
        updated_at: at,
        ..refund.clone()
    }
}

pub async fn a_refund_takes_its_amount_off_what_is_refundable(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let first = refund("r-1", "o-1", 300, T0 + 100);
    assert_eq!(
        store.begin_refund(&first).await,
        Ok(BeginRefund::Started(first.clone()))
    );
    assert_eq!(store.get_refund("r-1").await, Ok(Some(first)));
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        (order.refunding_amount, order.refundable(), order.updated_at),
        (300, 700, T0 + 100)
    );

    let rest = refund("r-2", "o-1", 700, T0 + 200);
    assert_eq!(store.begin_refund(&rest).await, Ok(BeginRefund::Started(rest)));
    assert_eq!(money(store, "o-1").await, (0, 1000, 0, OrderStatus::Paid));
    let one_more = refund("r-3", "o-1", 1, T0 + 300);
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        store.begin_refund(&one_more).await,
        Ok(BeginRefund::NotRefundable(order))
    );
}

pub async fn a_refund_over_what_is_refundable_writes_nothing(subject: &dyn Subject) {
    let store = subject.store();
    let paid = paid_order(store, "o-paid", 1000).await;
    let too_much = refund("r-1", "o-paid", 1001, T0 + 100);
    assert_eq!(
        store.begin_refund(&too_much).await,
        Ok(BeginRefund::NotRefundable(paid.clone()))
    );
    assert_eq!(store.get_refund("r-1").await, Ok(None));
    assert_eq!(store.get_order("o-paid").await, Ok(Some(paid)));

    let pending = super::pending_order("o-pending", 1000);
    super::insert(store, &pending).await;
    let unpaid = refund("r-2", "o-pending", 1, T0 + 100);
    assert_eq!(
        store.begin_refund(&unpaid).await,
        Ok(BeginRefund::NotRefundable(pending))
    );
    let unknown = refund("r-3", "o-unknown", 1, T0 + 100);
    assert_eq!(store.begin_refund(&unknown).await, Ok(BeginRefund::OrderNotFound));
    assert_eq!(store.get_refund("r-2").await, Ok(None));
    assert_eq!(store.get_refund("r-3").await, Ok(None));
    assert_eq!(store.get_refund("r-unknown").await, Ok(None));
    assert_eq!(due_keys(store, T0 + 1000).await, [OpenKey::Order("o-pending".into())]);
}

pub async fn a_refund_number_used_before_answers_the_stored_refund(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    paid_order(store, "o-2", 1000).await;
    let first = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    for again in [
        refund("r-1", "o-1", 300, T0 + 200),
        refund("r-1", "o-1", 400, T0 + 200),
        refund("r-1", "o-2", 300, T0 + 200),
        refund("r-1", "o-unknown", 300, T0 + 200),
    ] {
        assert_eq!(store.begin_refund(&again).await, Ok(BeginRefund::Exists(first.clone())));
    }
    assert_eq!(money(store, "o-1").await, (0, 300, 700, OrderStatus::Paid));
    assert_eq!(money(store, "o-2").await, (0, 0, 1000, OrderStatus::Paid));
}

pub async fn concurrent_refunds_never_add_up_to_more_than_was_paid(subject: &dyn Subject) {
    let store = subject.store();
    // Two that do not fit together: one wins.
    paid_order(store, "o-1", 1000).await;
    let pair = [refund("r-a", "o-1", 600, T0 + 100), refund("r-b", "o-1", 600, T0 + 100)];
    let outcomes = at_once(pair.iter().map(|r| store.begin_refund(r)).collect()).await;
    let started = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(BeginRefund::Started(_))))
        .count();
    assert_eq!(started, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Ok(BeginRefund::NotRefundable(order)) if order.refunding_amount == 600)),
        "{outcomes:?}"
    );
    assert_eq!(money(store, "o-1").await, (0, 600, 400, OrderStatus::Paid));

    // Five of 300 on 1000: exactly the three that fit.
    paid_order(store, "o-2", 1000).await;
    let five: Vec<Refund> = (0..5)
        .map(|i| refund(&format!("r-{i}"), "o-2", 300, T0 + 100))
        .collect();
    let outcomes = at_once(five.iter().map(|r| store.begin_refund(r)).collect()).await;
    let mut won = Vec::new();
    for (asked, outcome) in five.iter().zip(&outcomes) {
        match outcome {
            Ok(BeginRefund::Started(r)) => {
                assert_eq!(r, asked);
                won.push(r.out_refund_no.clone());
            }
            Ok(BeginRefund::NotRefundable(_)) => {
                assert_eq!(store.get_refund(&asked.out_refund_no).await, Ok(None));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(won.len(), 3, "{outcomes:?}");
    assert_eq!(money(store, "o-2").await, (0, 900, 100, OrderStatus::Paid));
}

pub async fn concurrent_refunds_under_one_number_start_once(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let asked = refund("r-1", "o-1", 300, T0 + 100);
    let outcomes = at_once((0..3).map(|_| store.begin_refund(&asked)).collect()).await;
    let started = outcomes
        .iter()
        .filter(|o| **o == Ok(BeginRefund::Started(asked.clone())))
        .count();
    let exists = outcomes
        .iter()
        .filter(|o| **o == Ok(BeginRefund::Exists(asked.clone())))
        .count();
    assert_eq!((started, exists), (1, 2), "{outcomes:?}");
    assert_eq!(money(store, "o-1").await, (0, 300, 700, OrderStatus::Paid));
}

pub async fn a_refund_ends_once_and_moves_the_money_with_it(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    started_refund(store, &refund("r-ok", "o-1", 300, T0 + 100)).await;
    let seen = store.record_refund_no("r-ok", "p-ok", T0 + 110).await.unwrap().unwrap();
    let succeeded = ended(&seen, RefundStatus::Success, T0 + 200);
    assert_eq!(
        store.finish_refund(&seen, true, T0 + 200).await,
        Ok(Finish::Applied(succeeded.clone()))
    );
    assert_eq!(store.get_refund("r-ok").await, Ok(Some(succeeded.clone())));
    assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));
    assert_eq!(store.get_order("o-1").await.unwrap().unwrap().updated_at, T0 + 200);
    // A duplicate callback, with the copy read before the first ended it: nothing moves.
    for success in [true, false] {
        assert_eq!(
            store.finish_refund(&seen, success, T0 + 300).await,
            Ok(Finish::AlreadyFinished(succeeded.clone()))
        );
    }
    assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));

    // A failed refund gives its amount back.
    let seen = started_refund(store, &refund("r-fail", "o-1", 200, T0 + 400)).await;
    assert_eq!(money(store, "o-1").await, (300, 200, 500, OrderStatus::Paid));
    let failed = ended(&seen, RefundStatus::Fail, T0 + 500);
    assert_eq!(
        store.finish_refund(&seen, false, T0 + 500).await,
        Ok(Finish::Applied(failed.clone()))
    );
    assert_eq!(store.get_refund("r-fail").await, Ok(Some(failed)));
    assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));
    assert_eq!(
        store
            .finish_refund(&refund("r-unknown", "o-1", 1, T0), true, T0 + 600)
            .await,
        Ok(Finish::NotFound)
    );
    assert_eq!(due_keys(store, T0 + 1000).await, []);
}

pub async fn a_refund_ended_from_an_old_copy_answers_it_as_stored(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    // Read before the platform's number was recorded and a person was asked to look.
    let seen = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    store.record_refund_no("r-1", "p-1", T0 + 110).await.unwrap();
    let flagged = store.flag_refund("r-1", "CHANGE", T0 + 120).await.unwrap().unwrap();
    let succeeded = ended(&flagged, RefundStatus::Success, T0 + 200);
    assert_eq!(
        (succeeded.refund_no.as_deref(), succeeded.attention.as_deref()),
        (Some("p-1"), Some("CHANGE"))
    );
    assert_eq!(
        store.finish_refund(&seen, true, T0 + 200).await,
        Ok(Finish::Applied(succeeded.clone()))
    );
    assert_eq!(store.get_refund("r-1").await, Ok(Some(succeeded)));
    assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));
}

pub async fn refunds_reaching_the_paid_amount_make_the_order_refunded(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let first = started_refund(store, &refund("r-1", "o-1", 400, T0 + 100)).await;
    let second = started_refund(store, &refund("r-2", "o-1", 600, T0 + 100)).await;
    store.finish_refund(&first, true, T0 + 200).await.unwrap();
    assert_eq!(money(store, "o-1").await, (400, 600, 0, OrderStatus::Paid));
    store.finish_refund(&second, true, T0 + 300).await.unwrap();
    assert_eq!(money(store, "o-1").await, (1000, 0, 0, OrderStatus::Refunded));
    let order: Order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        store.begin_refund(&refund("r-3", "o-1", 1, T0 + 400)).await,
        Ok(BeginRefund::NotRefundable(order))
    );
}

pub async fn concurrent_ends_of_one_refund_apply_once(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let seen = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    let barrier = Barrier::new(2);
    let (succeeded, failed) = tokio::join!(
        async {
            barrier.wait().await;
            store.finish_refund(&seen, true, T0 + 200).await
        },
        async {
            barrier.wait().await;
            store.finish_refund(&seen, false, T0 + 200).await
        },
    );
    let stored = store.get_refund("r-1").await.unwrap().unwrap();
    match (succeeded, failed) {
        (Ok(Finish::Applied(won)), Ok(Finish::AlreadyFinished(after))) => {
            assert_eq!(won.status, RefundStatus::Success);
            assert_eq!((&won, &after), (&stored, &stored));
            assert_eq!(money(store, "o-1").await, (300, 0, 700, OrderStatus::Paid));
        }
        (Ok(Finish::AlreadyFinished(after)), Ok(Finish::Applied(won))) => {
            assert_eq!(won.status, RefundStatus::Fail);
            assert_eq!((&won, &after), (&stored, &stored));
            assert_eq!(money(store, "o-1").await, (0, 0, 1000, OrderStatus::Paid));
        }
        other => panic!("exactly one end applies: {other:?}"),
    }
}

pub async fn the_platform_refund_number_is_recorded_once(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let asked = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    let recorded = Refund {
        refund_no: Some("p-1".to_owned()),
        updated_at: T0 + 110,
        ..asked
    };
    assert_eq!(
        store.record_refund_no("r-1", "p-1", T0 + 110).await,
        Ok(Some(recorded.clone()))
    );
    assert_eq!(
        store.record_refund_no("r-1", "p-2", T0 + 120).await,
        Ok(Some(recorded.clone()))
    );
    assert_eq!(store.get_refund("r-1").await, Ok(Some(recorded)));
    assert_eq!(store.record_refund_no("r-unknown", "p-3", T0).await, Ok(None));
    assert_eq!(store.get_refund("r-unknown").await, Ok(None));
}

pub async fn a_flagged_refund_stays_in_flight_with_its_amount_reserved(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let asked = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    let flagged = Refund {
        attention: Some("CHANGE".to_owned()),
        updated_at: T0 + 200,
        ..asked
    };
    assert_eq!(
        store.flag_refund("r-1", "CHANGE", T0 + 200).await,
        Ok(Some(flagged.clone()))
    );
    assert_eq!(store.get_refund("r-1").await, Ok(Some(flagged.clone())));
    assert_eq!(money(store, "o-1").await, (0, 300, 700, OrderStatus::Paid));
    assert_eq!(due_keys(store, T0 + 300).await, [OpenKey::Refund("r-1".into())]);

    // It still ends like any refund, and an ended one is not flagged again.
    let succeeded = ended(&flagged, RefundStatus::Success, T0 + 400);
    assert_eq!(
        store.finish_refund(&flagged, true, T0 + 400).await,
        Ok(Finish::Applied(succeeded.clone()))
    );
    assert_eq!(
        store.flag_refund("r-1", "OTHER", T0 + 500).await,
        Ok(Some(succeeded.clone()))
    );
    assert_eq!(store.get_refund("r-1").await, Ok(Some(succeeded)));
    assert_eq!(store.flag_refund("r-unknown", "CHANGE", T0).await, Ok(None));
}
