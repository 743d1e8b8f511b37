//! What the merchant is told (CONTRACT.md §9): the events a change of an order, a
//! refund or a settlement makes, decided from the item before and after the change.

use super::order::{Order, OrderStatus};
use super::refund::{Refund, RefundStatus, Settlement};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An item of the table as a stream image holds it, when it is one events are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    Order(Order),
    Refund(Refund),
    Settlement(Settlement),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    OrderCreated,
    OrderPaid,
    OrderFailed,
    OrderTimedOut,
    OrderClosed,
    OrderRefunded,
    RefundProcessing,
    RefundSucceeded,
    RefundFailed,
    SettlementProcessing,
    SettlementSucceeded,
    SettlementFailed,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderPaid => "order.paid",
            EventType::OrderFailed => "order.failed",
            EventType::OrderTimedOut => "order.timed_out",
            EventType::OrderClosed => "order.closed",
            EventType::OrderRefunded => "order.refunded",
            EventType::RefundProcessing => "refund.processing",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
            EventType::SettlementProcessing => "settlement.processing",
            EventType::SettlementSucceeded => "settlement.succeeded",
            EventType::SettlementFailed => "settlement.failed",
        }
    }

    /// Where the event falls in an order's life, for events of the same second: an
    /// order is created, then paid or ended unpaid, then refunds and settlements start,
    /// end, and last the whole amount is refunded.
    pub fn rank(self) -> u8 {
        match self {
            EventType::OrderCreated => 0,
            EventType::OrderPaid | EventType::OrderFailed | EventType::OrderTimedOut | EventType::OrderClosed => 1,
            EventType::RefundProcessing | EventType::SettlementProcessing => 2,
            EventType::RefundSucceeded
            | EventType::RefundFailed
            | EventType::SettlementSucceeded
            | EventType::SettlementFailed => 3,
            EventType::OrderRefunded => 4,
        }
    }
}

/// One event, as put on the bus and posted to the merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: EventType,
    /// Unix seconds of the change (from the item, so a redelivered record makes the
    /// same event, byte for byte).
    pub created: i64,
    pub out_order_no: String,
    pub data: Value,
}

#[derive(Serialize)]
struct Wire<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    created: i64,
    data: &'a Value,
}

impl Event {
    /// The event as JSON text: the exact bytes the bus and the webhook carry.
    pub fn body(&self) -> String {
        let wire = Wire {
            id: &self.id,
            kind: self.kind.as_str(),
            created: self.created,
            data: &self.data,
        };
        serde_json::to_string(&wire).expect("an event always serialises")
    }

    /// Sorts the events of one order in the order they happened: by time, then by
    /// [`EventType::rank`]; the id makes the key unique.
    pub fn sequence_key(&self) -> String {
        format!("{:012}-{}-{}", self.created.max(0), self.kind.rank(), self.id)
    }
}

/// The event id: the same for every delivery of the same stream record, different for
/// every event, because each transition happens at most once per item.
pub fn event_id(item_key: &str, kind: EventType) -> String {
    let digest = Sha256::digest(format!("{item_key}\n{}", kind.as_str()).as_bytes());
    format!("evt_{}", &hex::encode(digest)[..24])
}

/// The events of one change: `old` is the item before (`None`: it was inserted), `new`
/// after (`None`: it was removed). Changes the contract names no event for (claims of
/// the reconciler, platform numbers recorded, money moving without a status change)
/// make none.
pub fn events_of(old: Option<&Entity>, new: Option<&Entity>) -> Vec<Event> {
    match (old, new) {
        (None, Some(Entity::Order(order))) => vec![order_event(EventType::OrderCreated, order, order.created_at)],
        (Some(Entity::Order(before)), Some(Entity::Order(after))) => order_change(before, after)
            .map(|kind| order_event(kind, after, after.updated_at))
            .into_iter()
            .collect(),
        (None, Some(Entity::Refund(refund))) if refund.status == RefundStatus::Processing => {
            vec![refund_event(EventType::RefundProcessing, refund, refund.created_at)]
        }
        (Some(Entity::Refund(before)), Some(Entity::Refund(after))) => ended(
            before.status,
            after.status,
            EventType::RefundSucceeded,
            EventType::RefundFailed,
        )
        .map(|kind| refund_event(kind, after, after.updated_at))
        .into_iter()
        .collect(),
        (None, Some(Entity::Settlement(s))) if s.status == RefundStatus::Processing => {
            vec![settlement_event(EventType::SettlementProcessing, s, s.created_at)]
        }
        (Some(Entity::Settlement(before)), Some(Entity::Settlement(after))) => ended(
            before.status,
            after.status,
            EventType::SettlementSucceeded,
            EventType::SettlementFailed,
        )
        .map(|kind| settlement_event(kind, after, after.updated_at))
        .into_iter()
        .collect(),
        _ => Vec::new(),
    }
}

fn order_change(before: &Order, after: &Order) -> Option<EventType> {
    use OrderStatus::*;
    match (before.status, after.status) {
        // A payment after TIMEOUT, FAILED or CLOSED is a payment too (`late` says so).
        (Pending | Timeout | Failed | Closed, Paid) => Some(EventType::OrderPaid),
        (Pending, Failed) => Some(EventType::OrderFailed),
        (Pending, Timeout) => Some(EventType::OrderTimedOut),
        (Pending, Closed) => Some(EventType::OrderClosed),
        (Paid, Refunded) => Some(EventType::OrderRefunded),
        _ => None,
    }
}

/// The end of something that was in flight: PROCESSING to SUCCESS or FAIL.
fn ended(before: RefundStatus, after: RefundStatus, success: EventType, fail: EventType) -> Option<EventType> {
    match (before, after) {
        (RefundStatus::Processing, RefundStatus::Success) => Some(success),
        (RefundStatus::Processing, RefundStatus::Fail) => Some(fail),
        _ => None,
    }
}

fn order_event(kind: EventType, order: &Order, created: i64) -> Event {
    let data = json!({
        "out_order_no": order.out_order_no,
        "platform": order.platform.as_str(),
        "status": order.status.as_str(),
        "total_amount": order.total_amount,
        "refunded_amount": order.refunded_amount,
        "openid": order.openid,
        "sku": order.sku,
        "quantity": order.quantity,
        "paid_at": order.payment.as_ref().map(|p| p.paid_at),
        "late": order.late,
    });
    event(
        format!("ORDER#{}", order.out_order_no),
        kind,
        created,
        &order.out_order_no,
        data,
    )
}

fn refund_event(kind: EventType, refund: &Refund, created: i64) -> Event {
    let data = json!({
        "out_refund_no": refund.out_refund_no,
        "out_order_no": refund.out_order_no,
        "refund_no": refund.refund_no,
        "refund_amount": refund.refund_amount,
        "reason": refund.reason,
        "status": refund.status.as_str(),
        "created_at": refund.created_at,
    });
    event(
        format!("REFUND#{}", refund.out_refund_no),
        kind,
        created,
        &refund.out_order_no,
        data,
    )
}

fn settlement_event(kind: EventType, settlement: &Settlement, created: i64) -> Event {
    // The receivers as JSON, as the back office sent them (kept as text if they are not).
    let receivers = serde_json::from_str::<Value>(&settlement.settle_params)
        .unwrap_or_else(|_| Value::String(settlement.settle_params.clone()));
    let data = json!({
        "out_settle_no": settlement.out_settle_no,
        "out_order_no": settlement.out_order_no,
        "settle_no": settlement.settle_no,
        "settle_desc": settlement.settle_desc,
        "settle_params": receivers,
        "status": settlement.status.as_str(),
        "created_at": settlement.created_at,
    });
    event(
        format!("SETTLE#{}", settlement.out_settle_no),
        kind,
        created,
        &settlement.out_order_no,
        data,
    )
}

fn event(item_key: String, kind: EventType, created: i64, out_order_no: &str, data: Value) -> Event {
    Event {
        id: event_id(&item_key, kind),
        kind,
        created,
        out_order_no: out_order_no.to_owned(),
        data,
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
