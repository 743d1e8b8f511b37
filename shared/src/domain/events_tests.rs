use super::*;
use crate::domain::order::{Payment, Platform};
use OrderStatus::*;

fn order(status: OrderStatus) -> Order {
    Order {
        openid: "u1".into(),
        sku: "course".into(),
        quantity: 2,
        total_amount: 200,
        subject: "s".into(),
        body: "b".into(),
        created_at: 1_000,
        pay_deadline: 1_900,
        updated_at: 1_050,
        ..crate::testing::fixtures::order(
            "o1",
            Platform::Douyin,
            crate::domain::channel::ChannelId::DouyinEcpay,
            status,
        )
    }
}

fn paid(mut o: Order) -> Order {
    o.status = Paid;
    o.payment = Some(Payment {
        amount: o.total_amount,
        paid_at: 1_040,
        trade_no: "T1".into(),
        channel: "1".into(),
    });
    o
}

fn refund(status: RefundStatus) -> Refund {
    Refund {
        out_refund_no: "RF-1".into(),
        out_order_no: "o1".into(),
        refund_amount: 50,
        reason: "r".into(),
        status,
        refund_no: Some("rn".into()),
        all_settle: false,
        created_at: 1_100,
        updated_at: 1_160,
        attention: None,
    }
}

fn settlement(status: RefundStatus) -> Settlement {
    Settlement {
        out_settle_no: "ST-1".into(),
        out_order_no: "o1".into(),
        settle_desc: "d".into(),
        settle_params: r#"[{"merchant_uid":"m","amount":10}]"#.into(),
        status,
        settle_no: None,
        created_at: 1_200,
        updated_at: 1_260,
    }
}

fn types(old: Option<Entity>, new: Option<Entity>) -> Vec<&'static str> {
    events_of(old.as_ref(), new.as_ref())
        .iter()
        .map(|e| e.kind.as_str())
        .collect()
}

fn change(old: Order, new: Order) -> Vec<&'static str> {
    types(Some(Entity::Order(old)), Some(Entity::Order(new)))
}

#[test]
fn an_inserted_order_is_created() {
    let events = events_of(None, Some(&Entity::Order(order(Pending))));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventType::OrderCreated);
    assert_eq!(events[0].created, 1_000, "the order's creation time");
    assert_eq!(events[0].out_order_no, "o1");
}

#[test]
fn a_pending_order_ends_in_one_event_each_way() {
    assert_eq!(change(order(Pending), paid(order(Pending))), ["order.paid"]);
    assert_eq!(change(order(Pending), order(Failed)), ["order.failed"]);
    assert_eq!(change(order(Pending), order(Timeout)), ["order.timed_out"]);
    assert_eq!(change(order(Pending), order(Closed)), ["order.closed"]);
}

#[test]
fn a_late_payment_is_a_payment() {
    for before in [Timeout, Failed, Closed] {
        let mut after = paid(order(before));
        after.late = true;
        let events = events_of(Some(&Entity::Order(order(before))), Some(&Entity::Order(after)));
        assert_eq!(events.len(), 1, "{before}");
        assert_eq!(events[0].kind, EventType::OrderPaid);
        assert_eq!(events[0].data["late"], true);
    }
}

#[test]
fn the_whole_amount_refunded_is_order_refunded() {
    let before = paid(order(Pending));
    let mut after = before.clone();
    after.status = Refunded;
    after.refunded_amount = 200;
    assert_eq!(change(before, after), ["order.refunded"]);
}

#[test]
fn refunds_start_and_end() {
    assert_eq!(
        types(None, Some(Entity::Refund(refund(RefundStatus::Processing)))),
        ["refund.processing"]
    );
    let start = Some(Entity::Refund(refund(RefundStatus::Processing)));
    assert_eq!(
        types(start.clone(), Some(Entity::Refund(refund(RefundStatus::Success)))),
        ["refund.succeeded"]
    );
    assert_eq!(
        types(start, Some(Entity::Refund(refund(RefundStatus::Fail)))),
        ["refund.failed"]
    );
}

#[test]
fn a_refund_or_settlement_stored_already_ended_makes_no_start_event() {
    for status in [RefundStatus::Success, RefundStatus::Fail] {
        assert!(types(None, Some(Entity::Refund(refund(status)))).is_empty());
        assert!(types(None, Some(Entity::Settlement(settlement(status)))).is_empty());
    }
}

#[test]
fn settlements_start_and_end() {
    let start = Some(Entity::Settlement(settlement(RefundStatus::Processing)));
    assert_eq!(types(None, start.clone()), ["settlement.processing"]);
    assert_eq!(
        types(
            start.clone(),
            Some(Entity::Settlement(settlement(RefundStatus::Success)))
        ),
        ["settlement.succeeded"]
    );
    assert_eq!(
        types(start, Some(Entity::Settlement(settlement(RefundStatus::Fail)))),
        ["settlement.failed"]
    );
}

#[test]
fn changes_without_a_status_change_make_no_event() {
    let pending = order(Pending);
    // The reconciler's claims and a platform order id recorded.
    let mut claimed = pending.clone();
    claimed.updated_at += 30;
    claimed.platform_order = Some(crate::domain::order::PlatformOrder {
        order_id: "p".into(),
        order_token: "t".into(),
    });
    assert!(change(pending, claimed).is_empty());
    // Money moving on a paid order: a refund starting, a partial refund ending.
    let before = paid(order(Pending));
    let mut refunding = before.clone();
    refunding.refunding_amount = 50;
    assert!(change(before.clone(), refunding.clone()).is_empty());
    let mut partly = refunding.clone();
    partly.refunding_amount = 0;
    partly.refunded_amount = 50;
    assert!(change(refunding, partly).is_empty());
    // A refund's platform number or a person's attention recorded.
    let mut flagged = refund(RefundStatus::Processing);
    flagged.attention = Some("CHANGE".into());
    assert!(
        types(
            Some(Entity::Refund(refund(RefundStatus::Processing))),
            Some(Entity::Refund(flagged))
        )
        .is_empty()
    );
    // Final states do not move again, and removals are no events.
    assert!(change(paid(order(Pending)), order(Closed)).is_empty());
    assert!(
        types(
            Some(Entity::Refund(refund(RefundStatus::Success))),
            Some(Entity::Refund(refund(RefundStatus::Fail)))
        )
        .is_empty()
    );
    assert!(types(Some(Entity::Order(order(Pending))), None).is_empty());
    assert!(types(None, None).is_empty());
}

#[test]
fn ids_are_stable_per_item_and_type_and_unique_otherwise() {
    let first = events_of(None, Some(&Entity::Order(order(Pending))));
    let again = events_of(None, Some(&Entity::Order(order(Pending))));
    assert_eq!(first, again, "a redelivered record makes the same event");
    assert_eq!(first[0].body(), again[0].body());
    let id = &first[0].id;
    assert!(id.starts_with("evt_") && id.len() == 28, "{id}");
    assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    let paid_id = &events_of(
        Some(&Entity::Order(order(Pending))),
        Some(&Entity::Order(paid(order(Pending)))),
    )[0]
    .id;
    assert_ne!(id, paid_id);
    let mut other = order(Pending);
    other.out_order_no = "o2".into();
    assert_ne!(id, &events_of(None, Some(&Entity::Order(other)))[0].id);
    // "evt_" and 24 hex digits of SHA-256("ORDER#o1\norder.created"), from python3 -c
    //   'import hashlib; print(hashlib.sha256(b"ORDER#o1\norder.created").hexdigest()[:24])'
    assert_eq!(id, "evt_5a1fefed8364c78d39b9fcc8");
}

#[test]
fn the_body_carries_what_the_contract_names() {
    let event = &events_of(
        Some(&Entity::Order(order(Pending))),
        Some(&Entity::Order(paid(order(Pending)))),
    )[0];
    let body: Value = serde_json::from_str(&event.body()).unwrap();
    assert_eq!(body["id"], json!(event.id));
    assert_eq!(body["type"], "order.paid");
    assert_eq!(body["created"], 1_050);
    assert_eq!(
        body["data"],
        json!({"out_order_no": "o1", "platform": "douyin", "status": "PAID", "total_amount": 200,
               "refunded_amount": 0, "openid": "u1", "sku": "course", "quantity": 2, "paid_at": 1_040, "late": false})
    );
    let refund = &events_of(None, Some(&Entity::Refund(refund(RefundStatus::Processing))))[0];
    let body: Value = serde_json::from_str(&refund.body()).unwrap();
    assert_eq!(body["data"]["out_order_no"], "o1");
    assert_eq!(body["data"]["refund_amount"], 50);
    assert_eq!(refund.out_order_no, "o1");
    let settled = &events_of(None, Some(&Entity::Settlement(settlement(RefundStatus::Processing))))[0];
    let body: Value = serde_json::from_str(&settled.body()).unwrap();
    assert_eq!(body["data"]["settle_params"][0]["amount"], 10);
}

#[test]
fn sequence_keys_sort_an_orders_events_as_they_happened() {
    let created = &events_of(None, Some(&Entity::Order(order(Pending))))[0];
    let mut same_second = paid(order(Pending));
    same_second.updated_at = created.created;
    let paid = &events_of(Some(&Entity::Order(order(Pending))), Some(&Entity::Order(same_second)))[0];
    let refund = &events_of(None, Some(&Entity::Refund(refund(RefundStatus::Processing))))[0];
    let mut keys = [refund.sequence_key(), paid.sequence_key(), created.sequence_key()];
    keys.sort();
    assert_eq!(
        keys,
        [created.sequence_key(), paid.sequence_key(), refund.sequence_key()]
    );
    assert!(EventType::RefundSucceeded.rank() < EventType::OrderRefunded.rank());
    // Twelve digits of time, the rank, the id.
    assert_eq!(created.sequence_key(), format!("000000001000-0-{}", created.id));
    assert_eq!(refund.sequence_key(), format!("000000001100-2-{}", refund.id));
}
