//! Settlements: started only on a paid order with no refund in flight and the refunded
//! amount the caller checked the receivers against; ended once.

use super::{Subject, T0, at_once, due_keys, paid_order, refund, settlement, started_refund, started_settlement};
use crate::domain::order::OrderStatus;
use crate::domain::refund::{SettleStatus, Settlement};
use crate::store::{BeginSettle, Finish, OpenKey};
use tokio::sync::Barrier;

pub async fn a_settlement_starts_on_a_paid_order_and_ends_once(subject: &dyn Subject) {
    let store = subject.store();
    let paid = paid_order(store, "o-1", 1000).await;
    let asked = settlement("s-1", "o-1", T0 + 100);
    assert_eq!(
        store.begin_settle(&asked, 0).await,
        Ok(BeginSettle::Started(asked.clone()))
    );
    assert_eq!(store.get_settlement("s-1").await, Ok(Some(asked.clone())));
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(order.settle_status, Some(SettleStatus::Processing));
    assert_eq!(order.updated_at, T0 + 100, "the order changed with it");
    assert_eq!(
        (order.status, order.refundable()),
        (OrderStatus::Paid, paid.refundable())
    );
    assert_eq!(due_keys(store, T0 + 100).await, [OpenKey::Settlement("s-1".into())]);

    let numbered = Settlement {
        settle_no: Some("p-s-1".to_owned()),
        updated_at: T0 + 110,
        ..asked
    };
    assert_eq!(
        store.record_settle_no("s-1", "p-s-1", T0 + 110).await,
        Ok(Some(numbered.clone()))
    );
    assert_eq!(
        store.record_settle_no("s-1", "p-s-2", T0 + 120).await,
        Ok(Some(numbered.clone()))
    );
    assert_eq!(store.record_settle_no("s-unknown", "p-s-3", T0).await, Ok(None));

    let succeeded = Settlement {
        status: SettleStatus::Success,
        updated_at: T0 + 200,
        ..numbered
    };
    assert_eq!(
        store.finish_settle("s-1", SettleStatus::Success, T0 + 200).await,
        Ok(Finish::Applied(succeeded.clone()))
    );
    assert_eq!(
        store.finish_settle("s-1", SettleStatus::Fail, T0 + 300).await,
        Ok(Finish::AlreadyFinished(succeeded.clone()))
    );
    assert_eq!(store.get_settlement("s-1").await, Ok(Some(succeeded)));
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        (order.settle_status, order.updated_at),
        (Some(SettleStatus::Success), T0 + 200)
    );
    assert!(order.settled());
    assert_eq!(
        store.finish_settle("s-unknown", SettleStatus::Success, T0).await,
        Ok(Finish::NotFound)
    );
    assert_eq!(store.get_settlement("s-unknown").await, Ok(None));
    assert_eq!(due_keys(store, T0 + 1000).await, []);
}

/// Douyin takes up to 50 settlements of one order: one that fails after one that succeeded
/// leaves the order settled (a refund comes from the settled balance), though its latest
/// status is the failure.
pub async fn a_success_stays_settled_when_a_later_settlement_fails(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert!(!order.settled() && !order.settle_succeeded);

    started_settlement(store, &settlement("s-fail-first", "o-1", T0 + 100), 0).await;
    store
        .finish_settle("s-fail-first", SettleStatus::Fail, T0 + 150)
        .await
        .unwrap();
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(order.settle_status, Some(SettleStatus::Fail));
    assert!(!order.settled(), "a failed settlement moved no money");

    started_settlement(store, &settlement("s-ok", "o-1", T0 + 200), 0).await;
    store
        .finish_settle("s-ok", SettleStatus::Success, T0 + 250)
        .await
        .unwrap();
    started_settlement(store, &settlement("s-fail-later", "o-1", T0 + 300), 0).await;
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(order.settle_status, Some(SettleStatus::Processing));
    assert!(order.settle_succeeded && order.settled());
    store
        .finish_settle("s-fail-later", SettleStatus::Fail, T0 + 350)
        .await
        .unwrap();
    let order = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        (order.settle_status, order.settle_succeeded, order.settled()),
        (Some(SettleStatus::Fail), true, true)
    );
}

pub async fn a_settlement_number_used_before_answers_the_stored_settlement(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let first = started_settlement(store, &settlement("s-1", "o-1", T0 + 100), 0).await;
    let other_desc = Settlement {
        settle_desc: "另一次".to_owned(),
        ..settlement("s-1", "o-1", T0 + 200)
    };
    for again in [
        settlement("s-1", "o-1", T0 + 200),
        other_desc,
        settlement("s-1", "o-unknown", T0),
    ] {
        assert_eq!(
            store.begin_settle(&again, 0).await,
            Ok(BeginSettle::Exists(first.clone()))
        );
    }
}

pub async fn a_settlement_is_refused_on_unpaid_unknown_busy_or_changed_orders(subject: &dyn Subject) {
    let store = subject.store();
    let pending = super::pending_order("o-pending", 1000);
    super::insert(store, &pending).await;
    assert_eq!(
        store.begin_settle(&settlement("s-1", "o-pending", T0), 0).await,
        Ok(BeginSettle::NotPaid(pending))
    );
    assert_eq!(
        store.begin_settle(&settlement("s-2", "o-unknown", T0), 0).await,
        Ok(BeginSettle::OrderNotFound)
    );

    paid_order(store, "o-1", 1000).await;
    let in_flight = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    let busy = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        store.begin_settle(&settlement("s-3", "o-1", T0 + 150), 0).await,
        Ok(BeginSettle::RefundInFlight(busy))
    );
    store.finish_refund(&in_flight, true, T0 + 200).await.unwrap();
    // The receivers were checked against the order before that refund.
    let changed = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        store.begin_settle(&settlement("s-4", "o-1", T0 + 250), 0).await,
        Ok(BeginSettle::OrderChanged(changed.clone()))
    );
    for refused in ["s-1", "s-2", "s-3", "s-4"] {
        assert_eq!(store.get_settlement(refused).await, Ok(None), "{refused}");
    }
    assert_eq!(store.get_order("o-1").await, Ok(Some(changed)));
    started_settlement(store, &settlement("s-5", "o-1", T0 + 300), 300).await;

    let refunded = paid_order(store, "o-2", 500).await;
    let all = started_refund(store, &refund("r-2", "o-2", 500, T0 + 100)).await;
    store.finish_refund(&all, true, T0 + 200).await.unwrap();
    let refunded = store.get_order(&refunded.out_order_no).await.unwrap().unwrap();
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert_eq!(
        store.begin_settle(&settlement("s-6", "o-2", T0 + 300), 500).await,
        Ok(BeginSettle::NotPaid(refunded))
    );
}

pub async fn a_settlement_racing_the_end_of_a_refund_never_starts(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let seen = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    let asked = settlement("s-1", "o-1", T0 + 200);
    let barrier = Barrier::new(2);
    let (began, ended) = tokio::join!(
        async {
            barrier.wait().await;
            store.begin_settle(&asked, 0).await
        },
        async {
            barrier.wait().await;
            store.finish_refund(&seen, true, T0 + 200).await
        },
    );
    assert!(matches!(ended, Ok(Finish::Applied(_))), "{ended:?}");
    // Before the end: a refund in flight; after: 300 refunded, not the 0 seen.
    match began {
        Ok(BeginSettle::RefundInFlight(order)) => assert_eq!(order.refunding_amount, 300),
        Ok(BeginSettle::OrderChanged(order)) => assert_eq!(order.refunded_amount, 300),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.get_settlement("s-1").await, Ok(None));
    assert_eq!(store.get_order("o-1").await.unwrap().unwrap().settle_status, None);
}

pub async fn concurrent_settlements_under_one_number_start_once(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    let asked = settlement("s-1", "o-1", T0 + 100);
    let outcomes = at_once((0..3).map(|_| store.begin_settle(&asked, 0)).collect()).await;
    let started = outcomes
        .iter()
        .filter(|o| **o == Ok(BeginSettle::Started(asked.clone())))
        .count();
    let exists = outcomes
        .iter()
        .filter(|o| **o == Ok(BeginSettle::Exists(asked.clone())))
        .count();
    assert_eq!((started, exists), (1, 2), "{outcomes:?}");
    assert_eq!(due_keys(store, T0 + 100).await, [OpenKey::Settlement("s-1".into())]);
}
