//! An order's history as the back office reads it, derived from what is stored: the
//! items keep when each thing was asked and when it ended, not a log, so each moment
//! here is one of those times.

use super::order::{Order, OrderStatus, Platform};
use super::refund::{Refund, RefundStatus, Settlement, USER_REFUND_PREFIX};
use serde::Serialize;

/// Who made a moment happen.
pub const FROM_PREPAY: &str = "prepay";
pub const FROM_PLATFORM: &str = "platform";
pub const FROM_BACK_OFFICE: &str = "back office";
pub const FROM_USER: &str = "user";
/// The merchant's webhook, posted by the `events` function.
pub const FROM_EVENTS: &str = "events";

/// A verified platform callback about the order, as kept when it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReceived {
    pub platform: Platform,
    /// `payment`, `refund`, `settle`, `pre_create_refund`, ...
    pub kind: String,
    pub received_at: i64,
}

/// Where a webhook delivery of one of the order's events stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    /// The event type (`order.paid`, ...).
    pub event_type: String,
    /// `delivered`, `undelivered` or `pending`.
    pub state: &'static str,
    /// Its last attempt, or the event's time before any.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    pub at: i64,
    pub what: String,
    pub source: &'static str,
}

fn moment(at: i64, what: String, source: &'static str) -> Moment {
    Moment { at, what, source }
}

/// Every moment of an order, its refunds and settlements, oldest first; moments at the
/// same second keep the order in which one leads to the other.
pub fn timeline(order: &Order, refunds: &[Refund], settlements: &[Settlement]) -> Vec<Moment> {
    timeline_with(order, refunds, settlements, &[], &[])
}

/// [`timeline`] with the callbacks received about the order and its webhook deliveries.
/// A callback comes before the change it made when both fall in the same second (a
/// payment callback before the payment, a refund or settle callback before how the
/// refund or settlement ended, `pre_create_refund` before the user's refund), and a
/// delivery after everything of its second.
pub fn timeline_with(
    order: &Order,
    refunds: &[Refund],
    settlements: &[Settlement],
    callbacks: &[CallbackReceived],
    deliveries: &[DeliveryState],
) -> Vec<Moment> {
    // Each moment with the kind of callback that makes it, if one does.
    let mut moments: Vec<(Moment, Option<&'static str>)> = vec![(
        moment(
            order.created_at,
            format!(
                "order created: {} × {}, {} fen",
                order.quantity, order.sku, order.total_amount
            ),
            FROM_PREPAY,
        ),
        None,
    )];
    moments.extend(payment(order).map(|m| (m, Some("payment"))));
    for refund in refunds {
        let asked_by_user = refund.out_refund_no.starts_with(USER_REFUND_PREFIX);
        for (i, m) in refund_moments(refund).into_iter().enumerate() {
            let cause = match i {
                0 if asked_by_user => Some("pre_create_refund"),
                0 => None,
                _ => Some("refund"),
            };
            moments.push((m, cause));
        }
    }
    if order.status == OrderStatus::Refunded {
        // The refund that completed the amount is the last one to succeed.
        let at = refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Success)
            .map(|r| r.updated_at)
            .max()
            .unwrap_or(order.updated_at);
        moments.push((
            moment(
                at,
                format!("fully refunded: {} fen", order.refunded_amount),
                FROM_PLATFORM,
            ),
            Some("refund"),
        ));
    }
    for settlement in settlements {
        for (i, m) in settlement_moments(settlement).into_iter().enumerate() {
            moments.push((m, (i > 0).then_some("settle")));
        }
    }
    // Stable: ties keep the order above (made, then paid, then refunded).
    moments.sort_by_key(|(m, _)| m.at);
    let mut received: Vec<&CallbackReceived> = callbacks.iter().collect();
    received.sort_by_key(|c| c.received_at);
    for callback in received {
        let at = callback.received_at;
        let place = moments
            .iter()
            .position(|(m, cause)| m.at > at || (m.at == at && *cause == Some(callback.kind.as_str())))
            .unwrap_or(moments.len());
        let what = format!("{} {} callback", callback.platform.as_str(), callback.kind);
        moments.insert(place, (moment(at, what, FROM_PLATFORM), None));
    }
    let mut moments: Vec<Moment> = moments.into_iter().map(|(m, _)| m).collect();
    moments.extend(
        deliveries
            .iter()
            .map(|d| moment(d.at, format!("webhook {} {}", d.event_type, d.state), FROM_EVENTS)),
    );
    moments.sort_by_key(|m| m.at);
    moments
}

/// How the payment ended, if it did.
fn payment(order: &Order) -> Option<Moment> {
    if let Some(paid) = &order.payment {
        let what = if order.late {
            format!(
                "paid late, after the order had ended unpaid: {} fen (trade {}); deliver or refund it",
                paid.amount, paid.trade_no
            )
        } else {
            format!("paid: {} fen (trade {})", paid.amount, paid.trade_no)
        };
        return Some(moment(paid.paid_at, what, FROM_PLATFORM));
    }
    let ended = [OrderStatus::Failed, OrderStatus::Timeout, OrderStatus::Closed];
    ended.contains(&order.status).then(|| {
        moment(
            order.updated_at,
            format!("ended unpaid: {}", order.status),
            FROM_PLATFORM,
        )
    })
}

fn refund_moments(refund: &Refund) -> Vec<Moment> {
    let no = &refund.out_refund_no;
    let asked_by = if no.starts_with(USER_REFUND_PREFIX) {
        FROM_USER
    } else {
        FROM_BACK_OFFICE
    };
    let mut moments = vec![moment(
        refund.created_at,
        format!("refund {no} asked: {} fen ({})", refund.refund_amount, refund.reason),
        asked_by,
    )];
    if let Some(why) = &refund.attention {
        moments.push(moment(
            refund.updated_at,
            format!("refund {no} needs attention ({why}): act in the platform's merchant console"),
            FROM_PLATFORM,
        ));
    }
    match refund.status {
        RefundStatus::Processing => {}
        RefundStatus::Success => moments.push(moment(
            refund.updated_at,
            format!("refund {no} succeeded: {} fen", refund.refund_amount),
            FROM_PLATFORM,
        )),
        RefundStatus::Fail => moments.push(moment(
            refund.updated_at,
            format!(
                "refund {no} failed: its {} fen can be refunded again",
                refund.refund_amount
            ),
            FROM_PLATFORM,
        )),
    }
    moments
}

fn settlement_moments(settlement: &Settlement) -> Vec<Moment> {
    let no = &settlement.out_settle_no;
    let mut moments = vec![moment(
        settlement.created_at,
        format!("settlement {no} asked ({})", settlement.settle_desc),
        FROM_BACK_OFFICE,
    )];
    let ended = match settlement.status {
        RefundStatus::Processing => None,
        RefundStatus::Success => Some("succeeded"),
        RefundStatus::Fail => Some("failed"),
    };
    if let Some(ended) = ended {
        moments.push(moment(
            settlement.updated_at,
            format!("settlement {no} {ended}"),
            FROM_PLATFORM,
        ));
    }
    moments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{Payment, Platform};

    fn order(status: OrderStatus) -> Order {
        Order {
            openid: "u".into(),
            sku: "course".into(),
            quantity: 2,
            total_amount: 1000,
            subject: "s".into(),
            body: String::new(),
            created_at: 100,
            pay_deadline: 1000,
            updated_at: 100,
            ..crate::testing::fixtures::order(
                "o1",
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinEcpay,
                status,
            )
        }
    }

    fn paid(mut order: Order, at: i64) -> Order {
        order.payment = Some(Payment {
            amount: order.total_amount,
            paid_at: at,
            trade_no: "T1".into(),
            channel: "1".into(),
        });
        order
    }

    fn refund(no: &str, amount: i64, status: RefundStatus, asked: i64, ended: i64) -> Refund {
        Refund {
            out_refund_no: no.into(),
            out_order_no: "o1".into(),
            refund_amount: amount,
            reason: "退款".into(),
            status,
            refund_no: None,
            all_settle: false,
            created_at: asked,
            updated_at: ended,
            attention: None,
        }
    }

    fn settlement(status: RefundStatus, asked: i64, ended: i64) -> Settlement {
        Settlement {
            out_settle_no: "ST-1".into(),
            out_order_no: "o1".into(),
            settle_desc: "分账".into(),
            settle_params: "[]".into(),
            status,
            settle_no: None,
            created_at: asked,
            updated_at: ended,
        }
    }

    fn summary(moments: &[Moment]) -> Vec<(i64, &str, &str)> {
        moments
            .iter()
            .map(|m| (m.at, m.source, m.what.split(':').next().unwrap_or("")))
            .collect()
    }

    #[test]
    fn a_refunded_and_settled_order_tells_each_step_in_time_order() {
        let mut order = paid(order(OrderStatus::Refunded), 110);
        order.refunded_amount = 1000;
        let refunds = [
            // Listed out of time order: the timeline sorts.
            refund("dyu-77", 600, RefundStatus::Success, 130, 140),
            refund("RF-1", 400, RefundStatus::Success, 120, 125),
            refund("RF-0", 400, RefundStatus::Fail, 115, 118),
        ];
        let settlements = [settlement(RefundStatus::Success, 112, 113)];
        let moments = timeline(&order, &refunds, &settlements);
        assert_eq!(
            summary(&moments),
            [
                (100, "prepay", "order created"),
                (110, "platform", "paid"),
                (112, "back office", "settlement ST-1 asked (分账)"),
                (113, "platform", "settlement ST-1 succeeded"),
                (115, "back office", "refund RF-0 asked"),
                (118, "platform", "refund RF-0 failed"),
                (120, "back office", "refund RF-1 asked"),
                (125, "platform", "refund RF-1 succeeded"),
                (130, "user", "refund dyu-77 asked"),
                (140, "platform", "refund dyu-77 succeeded"),
                (140, "platform", "fully refunded"),
            ]
        );
        assert_eq!(moments[0].what, "order created: 2 × course, 1000 fen");
        assert_eq!(moments[1].what, "paid: 1000 fen (trade T1)");
    }

    #[test]
    fn unpaid_ends_late_payments_and_refunds_needing_a_person_are_told() {
        let mut timed_out = order(OrderStatus::Timeout);
        timed_out.updated_at = 1060;
        assert_eq!(
            summary(&timeline(&timed_out, &[], &[])),
            [(100, "prepay", "order created"), (1060, "platform", "ended unpaid")]
        );
        assert_eq!(timeline(&timed_out, &[], &[])[1].what, "ended unpaid: TIMEOUT");

        let pending = order(OrderStatus::Pending);
        assert_eq!(timeline(&pending, &[], &[]).len(), 1);

        let mut late = paid(order(OrderStatus::Paid), 2000);
        late.late = true;
        let mut stuck = refund("RF-9", 100, RefundStatus::Processing, 2100, 2200);
        stuck.attention = Some("CHANGE".into());
        let moments = timeline(&late, &[stuck], &[settlement(RefundStatus::Processing, 2300, 2300)]);
        assert_eq!(
            summary(&moments),
            [
                (100, "prepay", "order created"),
                (2000, "platform", "paid late, after the order had ended unpaid"),
                (2100, "back office", "refund RF-9 asked"),
                (2200, "platform", "refund RF-9 needs attention (CHANGE)"),
                (2300, "back office", "settlement ST-1 asked (分账)"),
            ]
        );
    }

    #[test]
    fn a_user_refund_follows_its_pre_create_callback_and_a_back_office_refund_its_request() {
        let order = paid(order(OrderStatus::Paid), 110);
        let refunds = [
            refund("RF-2", 100, RefundStatus::Processing, 300, 300),
            refund("dyu-1", 200, RefundStatus::Success, 250, 300),
        ];
        let callback = |kind: &str, received_at| CallbackReceived {
            platform: Platform::Douyin,
            kind: kind.into(),
            received_at,
        };
        let callbacks = [
            callback("pre_create_refund", 250),
            callback("refund", 300),
            // Another user refund asked in the second of the back office's, and refused.
            callback("pre_create_refund", 300),
        ];
        let moments = timeline_with(&order, &refunds, &[], &callbacks, &[]);
        assert_eq!(
            summary(&moments),
            [
                (100, "prepay", "order created"),
                (110, "platform", "paid"),
                (250, "platform", "douyin pre_create_refund callback"),
                (250, "user", "refund dyu-1 asked"),
                (300, "back office", "refund RF-2 asked"),
                (300, "platform", "douyin refund callback"),
                (300, "platform", "refund dyu-1 succeeded"),
                (300, "platform", "douyin pre_create_refund callback"),
            ]
        );
    }

    #[test]
    fn callbacks_and_webhook_deliveries_take_their_place_in_time() {
        let mut order = paid(order(OrderStatus::Refunded), 110);
        order.refunded_amount = 1000;
        let refunds = [refund("RF-1", 1000, RefundStatus::Success, 120, 130)];
        let settlements = [settlement(RefundStatus::Success, 120, 120)];
        let callbacks = [
            // Given out of time order: the timeline sorts.
            CallbackReceived {
                platform: Platform::Douyin,
                kind: "refund".into(),
                received_at: 130,
            },
            CallbackReceived {
                platform: Platform::Douyin,
                kind: "payment".into(),
                received_at: 110,
            },
            // In the second the refund was asked: after the asking, before the end.
            CallbackReceived {
                platform: Platform::Douyin,
                kind: "settle".into(),
                received_at: 120,
            },
        ];
        let deliveries = [
            DeliveryState {
                event_type: "order.created".into(),
                state: "delivered",
                at: 100,
            },
            DeliveryState {
                event_type: "order.paid".into(),
                state: "undelivered",
                at: 111,
            },
            DeliveryState {
                event_type: "order.refunded".into(),
                state: "pending",
                at: 130,
            },
        ];
        let moments = timeline_with(&order, &refunds, &settlements, &callbacks, &deliveries);
        let all: Vec<(i64, &str, &str)> = moments.iter().map(|m| (m.at, m.source, m.what.as_str())).collect();
        assert_eq!(
            all,
            [
                (100, "prepay", "order created: 2 × course, 1000 fen"),
                (100, "events", "webhook order.created delivered"),
                (110, "platform", "douyin payment callback"),
                (110, "platform", "paid: 1000 fen (trade T1)"),
                (111, "events", "webhook order.paid undelivered"),
                (120, "back office", "refund RF-1 asked: 1000 fen (退款)"),
                (120, "back office", "settlement ST-1 asked (分账)"),
                (120, "platform", "douyin settle callback"),
                (120, "platform", "settlement ST-1 succeeded"),
                (130, "platform", "douyin refund callback"),
                (130, "platform", "refund RF-1 succeeded: 1000 fen"),
                (130, "platform", "fully refunded: 1000 fen"),
                (130, "events", "webhook order.refunded pending"),
            ]
        );
        // Without callbacks or deliveries: the order's own moments only.
        let plain: Vec<(i64, &str, String)> = timeline(&order, &refunds, &settlements)
            .into_iter()
            .map(|m| (m.at, m.source, m.what))
            .collect();
        let expected = [
            (100, "prepay", "order created: 2 × course, 1000 fen"),
            (110, "platform", "paid: 1000 fen (trade T1)"),
            (120, "back office", "refund RF-1 asked: 1000 fen (退款)"),
            (120, "back office", "settlement ST-1 asked (分账)"),
            (120, "platform", "settlement ST-1 succeeded"),
            (130, "platform", "refund RF-1 succeeded: 1000 fen"),
            (130, "platform", "fully refunded: 1000 fen"),
        ]
        .map(|(at, source, what)| (at, source, what.to_owned()));
        assert_eq!(plain, expected);
    }
}
