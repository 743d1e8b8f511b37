//! Orders: insertion under a reuse slot, the platform's order, payment and the end of
//! an unpaid order.

use super::{Subject, T0, at_once, due_keys, insert, paid_order, payment, pending_order, refund, started_refund};
use crate::domain::channel::ChannelId;
use crate::domain::order::{Order, OrderStatus, Platform, PlatformOrder};
use crate::store::{InsertOutcome, OpenKey, PaidOutcome};
use tokio::sync::Barrier;

fn platform_order(id: &str) -> PlatformOrder {
    PlatformOrder {
        order_id: id.to_owned(),
        order_token: format!("token-of-{id}"),
    }
}

/// The order as a payment of its whole amount at `at` leaves it.
fn paid(order: &Order, at: i64, late: bool) -> Order {
    Order {
        status: OrderStatus::Paid,
        payment: Some(payment(order.total_amount)),
        updated_at: at,
        late,
        ..order.clone()
    }
}

pub async fn an_inserted_order_reads_back_and_holds_its_slot(subject: &dyn Subject) {
    let store = subject.store();
    let ecpay = pending_order("o-ecpay", 990);
    let trade = Order {
        channel: ChannelId::DouyinTrade,
        trade_data: Some(r#"{"outOrderNo":"o-trade","totalAmount":1990}"#.to_owned()),
        ..pending_order("o-trade", 1990)
    };
    let wechat = Order {
        platform: Platform::Wechat,
        channel: ChannelId::WechatV2,
        ..pending_order("o-wechat", 500)
    };
    assert_eq!(
        store.insert_order(&ecpay, "slot-a", None).await,
        Ok(InsertOutcome::Inserted)
    );
    assert_eq!(
        store.insert_order(&trade, "slot-b", None).await,
        Ok(InsertOutcome::Inserted)
    );

    assert_eq!(store.get_order("o-ecpay").await, Ok(Some(ecpay)));
    assert_eq!(store.get_order("o-trade").await, Ok(Some(trade)));
    // Each order keeps the channel it was made with.
    store.insert_order(&wechat, "slot-c", None).await.unwrap();
    assert_eq!(store.get_order("o-wechat").await, Ok(Some(wechat)));
    assert_eq!(store.reuse_slot("slot-a").await, Ok(Some("o-ecpay".to_owned())));
    assert_eq!(store.reuse_slot("slot-b").await, Ok(Some("o-trade".to_owned())));
    assert_eq!(store.get_order("o-unknown").await, Ok(None));
    assert_eq!(store.reuse_slot("slot-unknown").await, Ok(None));
}

pub async fn a_held_slot_refuses_another_order_and_writes_nothing(subject: &dyn Subject) {
    let store = subject.store();
    let first = pending_order("o-first", 990);
    let second = pending_order("o-second", 990);
    store.insert_order(&first, "slot", None).await.unwrap();

    let held = Ok(InsertOutcome::SlotHeldBy("o-first".to_owned()));
    assert_eq!(store.insert_order(&second, "slot", None).await, held);
    assert_eq!(store.insert_order(&second, "slot", Some("o-other")).await, held);
    assert_eq!(store.get_order("o-second").await, Ok(None));
    assert_eq!(store.reuse_slot("slot").await, Ok(Some("o-first".to_owned())));

    // The order found unusable is replaced: the slot moves, the old order stays.
    assert_eq!(
        store.insert_order(&second, "slot", Some("o-first")).await,
        Ok(InsertOutcome::Inserted)
    );
    assert_eq!(store.reuse_slot("slot").await, Ok(Some("o-second".to_owned())));
    assert_eq!(store.get_order("o-first").await, Ok(Some(first)));
    assert_eq!(store.get_order("o-second").await, Ok(Some(second)));
    // Replacing a free slot takes it.
    let third = pending_order("o-third", 990);
    assert_eq!(
        store.insert_order(&third, "slot-free", Some("o-gone")).await,
        Ok(InsertOutcome::Inserted)
    );
    assert_eq!(store.reuse_slot("slot-free").await, Ok(Some("o-third".to_owned())));
}

pub async fn an_order_number_in_use_is_refused_and_leaves_the_slot_free(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    store.insert_order(&order, "slot-a", None).await.unwrap();
    let again = Order {
        total_amount: 1,
        ..order.clone()
    };
    assert!(store.insert_order(&again, "slot-b", None).await.is_err());
    assert_eq!(store.get_order("o-1").await, Ok(Some(order)));
    assert_eq!(store.reuse_slot("slot-b").await, Ok(None));
}

pub async fn concurrent_inserts_into_one_slot_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    let orders: Vec<Order> = (0..3).map(|i| pending_order(&format!("o-{i}"), 990)).collect();
    let outcomes = at_once(orders.iter().map(|o| store.insert_order(o, "slot", None)).collect()).await;

    let winners: Vec<&Order> = orders
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| **outcome == Ok(InsertOutcome::Inserted))
        .map(|(order, _)| order)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = winners[0].out_order_no.clone();
    for (order, outcome) in orders.iter().zip(&outcomes) {
        if order.out_order_no != winner {
            assert_eq!(*outcome, Ok(InsertOutcome::SlotHeldBy(winner.clone())));
            assert_eq!(store.get_order(&order.out_order_no).await, Ok(None));
        }
    }
    assert_eq!(store.reuse_slot("slot").await, Ok(Some(winner)));
}

pub async fn the_platform_order_is_recorded_once(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;

    let recorded = Order {
        platform_order: Some(platform_order("p-1")),
        updated_at: T0 + 5,
        ..order
    };
    let first = store.record_platform_order("o-1", &platform_order("p-1"), T0 + 5).await;
    assert_eq!(first, Ok(Some(recorded.clone())));
    // Another id later changes nothing: the order as stored comes back.
    let second = store.record_platform_order("o-1", &platform_order("p-2"), T0 + 9).await;
    assert_eq!(second, Ok(Some(recorded.clone())));
    assert_eq!(store.get_order("o-1").await, Ok(Some(recorded)));
    assert_eq!(
        store
            .record_platform_order("o-unknown", &platform_order("p-3"), T0)
            .await,
        Ok(None)
    );
    assert_eq!(store.get_order("o-unknown").await, Ok(None));
}

pub async fn a_payment_is_applied_once(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;

    let expected = paid(&order, T0 + 30, false);
    assert_eq!(
        store.mark_paid("o-1", &payment(990), T0 + 30).await,
        Ok(PaidOutcome::Applied(expected.clone()))
    );
    assert_eq!(expected.refundable(), 990);
    let repeated = store.mark_paid("o-1", &payment(990), T0 + 40).await;
    assert_eq!(repeated, Ok(PaidOutcome::AlreadyPaid(expected.clone())));
    assert_eq!(store.get_order("o-1").await, Ok(Some(expected)));
    assert_eq!(
        store.mark_paid("o-unknown", &payment(990), T0).await,
        Ok(PaidOutcome::NotFound)
    );
}

pub async fn a_payment_of_another_amount_changes_nothing(subject: &dyn Subject) {
    let store = subject.store();
    let pending = pending_order("o-pending", 990);
    insert(store, &pending).await;
    let mismatch = Ok(PaidOutcome::AmountMismatch { expected: 990 });
    assert_eq!(store.mark_paid("o-pending", &payment(99), T0 + 30).await, mismatch);
    assert_eq!(store.get_order("o-pending").await, Ok(Some(pending)));
    assert!(
        due_keys(store, T0).await.contains(&OpenKey::Order("o-pending".into())),
        "still open"
    );

    insert(store, &pending_order("o-ended", 990)).await;
    let ended = store
        .finish_unpaid("o-ended", OrderStatus::Timeout, T0 + 900)
        .await
        .unwrap();
    assert_eq!(store.mark_paid("o-ended", &payment(991), T0 + 901).await, mismatch);
    assert_eq!(store.get_order("o-ended").await, Ok(ended));
}

pub async fn a_late_payment_of_an_ended_order_is_applied_and_marked_late(subject: &dyn Subject) {
    let store = subject.store();
    for status in [OrderStatus::Failed, OrderStatus::Timeout, OrderStatus::Closed] {
        let no = format!("o-{}", status.as_str());
        let order = pending_order(&no, 990);
        insert(store, &order).await;
        store.finish_unpaid(&no, status, T0 + 900).await.unwrap();

        let expected = paid(&order, T0 + 1000, true);
        let outcome = store.mark_paid(&no, &payment(990), T0 + 1000).await;
        assert_eq!(outcome, Ok(PaidOutcome::Applied(expected.clone())), "{status}");
        assert_eq!(store.get_order(&no).await, Ok(Some(expected)));
    }
    assert_eq!(due_keys(store, T0 + 2000).await, []);
}

pub async fn a_payment_after_refunds_leaves_the_money_alone(subject: &dyn Subject) {
    let store = subject.store();
    // Partly refunded, another refund in flight: a repeated payment callback must not
    // give back what was refunded or reserved.
    paid_order(store, "o-1", 1000).await;
    let done = started_refund(store, &refund("r-1", "o-1", 300, T0 + 100)).await;
    store.finish_refund(&done, true, T0 + 200).await.unwrap();
    started_refund(store, &refund("r-2", "o-1", 200, T0 + 300)).await;
    let before = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        (before.refunded_amount, before.refunding_amount, before.refundable()),
        (300, 200, 500)
    );
    assert_eq!(
        store.mark_paid("o-1", &payment(1000), T0 + 400).await,
        Ok(PaidOutcome::AlreadyPaid(before.clone()))
    );
    assert_eq!(store.get_order("o-1").await, Ok(Some(before)));

    // Wholly refunded: still paid before, nothing moves.
    paid_order(store, "o-2", 500).await;
    let all = started_refund(store, &refund("r-3", "o-2", 500, T0 + 100)).await;
    store.finish_refund(&all, true, T0 + 200).await.unwrap();
    let refunded = store.get_order("o-2").await.unwrap().unwrap();
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert_eq!(
        store.mark_paid("o-2", &payment(500), T0 + 400).await,
        Ok(PaidOutcome::AlreadyPaid(refunded.clone()))
    );
    assert_eq!(store.get_order("o-2").await, Ok(Some(refunded)));
}

pub async fn concurrent_payments_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    insert(store, &pending_order("o-1", 990)).await;
    let pay = payment(990);
    let outcomes = at_once((0..4).map(|i| store.mark_paid("o-1", &pay, T0 + 30 + i)).collect()).await;
    let applied: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(PaidOutcome::Applied(order)) => Some(order.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(applied.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Ok(PaidOutcome::Applied(_)) => {}
            Ok(PaidOutcome::AlreadyPaid(order)) => assert_eq!(*order, applied[0]),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(store.get_order("o-1").await, Ok(Some(applied[0].clone())));
}

pub async fn only_a_pending_order_ends_unpaid(subject: &dyn Subject) {
    let store = subject.store();
    let order = pending_order("o-1", 990);
    insert(store, &order).await;
    let timed_out = Order {
        status: OrderStatus::Timeout,
        updated_at: T0 + 900,
        ..order
    };
    assert_eq!(
        store.finish_unpaid("o-1", OrderStatus::Timeout, T0 + 900).await,
        Ok(Some(timed_out.clone()))
    );
    // Ended already: the order as stored, unchanged.
    assert_eq!(
        store.finish_unpaid("o-1", OrderStatus::Closed, T0 + 950).await,
        Ok(Some(timed_out.clone()))
    );
    assert_eq!(store.get_order("o-1").await, Ok(Some(timed_out)));

    let paid = paid_order(store, "o-2", 990).await;
    assert_eq!(
        store.finish_unpaid("o-2", OrderStatus::Failed, T0 + 950).await,
        Ok(Some(paid.clone()))
    );
    assert_eq!(store.get_order("o-2").await, Ok(Some(paid)));
    assert_eq!(
        store.finish_unpaid("o-unknown", OrderStatus::Closed, T0).await,
        Ok(None)
    );
    assert_eq!(due_keys(store, T0 + 1000).await, []);
}

pub async fn ending_unpaid_racing_a_payment_ends_paid(subject: &dyn Subject) {
    let store = subject.store();
    for round in 0..4 {
        let no = format!("o-{round}");
        let order = pending_order(&no, 990);
        insert(store, &order).await;
        let pay = payment(990);
        let barrier = Barrier::new(2);
        let (ended, paid_outcome) = tokio::join!(
            async {
                barrier.wait().await;
                store.finish_unpaid(&no, OrderStatus::Timeout, T0 + 900).await
            },
            async {
                barrier.wait().await;
                store.mark_paid(&no, &pay, T0 + 900).await
            },
        );
        let ended = ended.unwrap().expect("order exists");
        // The payment always wins in the end; it is late exactly when the order had
        // timed out first.
        let timed_out_first = ended.status == OrderStatus::Timeout;
        assert!(timed_out_first || ended.status == OrderStatus::Paid, "{ended:?}");
        let expected = paid(&order, T0 + 900, timed_out_first);
        assert_eq!(
            paid_outcome,
            Ok(PaidOutcome::Applied(expected.clone())),
            "round {round}"
        );
        assert_eq!(store.get_order(&no).await, Ok(Some(expected)));
    }
}
