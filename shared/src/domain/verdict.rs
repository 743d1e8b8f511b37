//! What a payment or refund callback does to what we recorded, decided from the record
//! alone: the stores call these with the item as a refused conditional write returned
//! it, so that a duplicate is recognised without reading the item again.

use super::order::{Order, OrderStatus, Payment};
use super::refund::{Refund, RefundStatus};

/// What a verified payment does to its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentVerdict {
    /// Mark it PAID; `late` when the order had ended unpaid (FAILED, TIMEOUT, CLOSED).
    Pay {
        late: bool,
    },
    /// Paid before by this same payment: a redelivery, nothing to do.
    Duplicate,
    /// Paid before by another payment (another trade number): the user paid twice.
    PaidOtherwise,
    /// The amount is not the order's; nothing changes.
    AmountMismatch {
        expected: i64,
    },
    NotFound,
}

/// Judges `payment` against the order as stored (`None`: there is none). A paid order is
/// never paid again, whatever the amount; an unpaid one only with its own amount.
pub fn judge_payment(order: Option<&Order>, payment: &Payment) -> PaymentVerdict {
    let Some(order) = order else {
        return PaymentVerdict::NotFound;
    };
    if !OrderStatus::payable_from().contains(&order.status) {
        let same = order.payment.as_ref().is_some_and(|p| p.trade_no == payment.trade_no);
        return if same {
            PaymentVerdict::Duplicate
        } else {
            PaymentVerdict::PaidOtherwise
        };
    }
    if order.total_amount != payment.amount {
        return PaymentVerdict::AmountMismatch {
            expected: order.total_amount,
        };
    }
    PaymentVerdict::Pay {
        late: order.status != OrderStatus::Pending,
    }
}

/// What a callback saying a refund ended does to the refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundEndVerdict {
    /// End it (and move the order's money with it).
    End,
    /// It ended before the way this callback says: a redelivery.
    Duplicate,
    /// It ended before the other way: nothing changes, but someone should look.
    EndedOtherwise,
    /// The callback reports another amount than the refund's; nothing changes.
    AmountMismatch { expected: i64 },
}

/// Judges a refund's end as a callback reports it (`amount` when it reports one).
pub fn judge_refund_end(refund: &Refund, success: bool, amount: Option<i64>) -> RefundEndVerdict {
    if amount.is_some_and(|amount| amount != refund.refund_amount) {
        return RefundEndVerdict::AmountMismatch {
            expected: refund.refund_amount,
        };
    }
    let said = if success {
        RefundStatus::Success
    } else {
        RefundStatus::Fail
    };
    match refund.status {
        RefundStatus::Processing => RefundEndVerdict::End,
        status if status == said => RefundEndVerdict::Duplicate,
        _ => RefundEndVerdict::EndedOtherwise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::channel::ChannelId;
    use crate::domain::order::Platform;

    fn order(status: OrderStatus, trade_no: Option<&str>) -> Order {
        Order {
            payment: trade_no.map(|t| Payment {
                amount: 100,
                paid_at: 5,
                trade_no: t.into(),
                channel: "10".into(),
            }),
            ..crate::testing::fixtures::order("MP1", Platform::Douyin, ChannelId::DouyinEcpay, status)
        }
    }

    fn paying(amount: i64, trade_no: &str) -> Payment {
        Payment {
            amount,
            paid_at: 5,
            trade_no: trade_no.into(),
            channel: "10".into(),
        }
    }

    #[test]
    fn a_payment_is_judged_from_the_order_as_stored() {
        use PaymentVerdict::*;
        assert_eq!(judge_payment(None, &paying(100, "t1")), NotFound);
        let pending = order(OrderStatus::Pending, None);
        assert_eq!(judge_payment(Some(&pending), &paying(100, "t1")), Pay { late: false });
        assert_eq!(
            judge_payment(Some(&pending), &paying(99, "t1")),
            AmountMismatch { expected: 100 }
        );
        for ended in [OrderStatus::Failed, OrderStatus::Timeout, OrderStatus::Closed] {
            let order = order(ended, None);
            assert_eq!(judge_payment(Some(&order), &paying(100, "t1")), Pay { late: true });
            assert_eq!(
                judge_payment(Some(&order), &paying(1, "t1")),
                AmountMismatch { expected: 100 }
            );
        }
        for paid in [OrderStatus::Paid, OrderStatus::Refunded] {
            let order = order(paid, Some("t1"));
            assert_eq!(judge_payment(Some(&order), &paying(100, "t1")), Duplicate);
            // Paid is final: another amount or number never pays it again.
            assert_eq!(judge_payment(Some(&order), &paying(7, "t1")), Duplicate);
            assert_eq!(judge_payment(Some(&order), &paying(100, "t2")), PaidOtherwise);
        }
    }

    #[test]
    fn a_refund_end_is_judged_from_the_refund_as_stored() {
        use RefundEndVerdict::*;
        let mut refund = Refund {
            out_refund_no: "r".into(),
            out_order_no: "MP1".into(),
            refund_amount: 40,
            reason: "退款".into(),
            status: RefundStatus::Processing,
            refund_no: None,
            all_settle: false,
            created_at: 1,
            updated_at: 1,
            attention: None,
        };
        assert_eq!(judge_refund_end(&refund, true, None), End);
        assert_eq!(judge_refund_end(&refund, false, Some(40)), End);
        assert_eq!(
            judge_refund_end(&refund, true, Some(41)),
            AmountMismatch { expected: 40 }
        );
        refund.status = RefundStatus::Success;
        assert_eq!(judge_refund_end(&refund, true, Some(40)), Duplicate);
        assert_eq!(judge_refund_end(&refund, false, None), EndedOtherwise);
        assert_eq!(
            judge_refund_end(&refund, true, Some(1)),
            AmountMismatch { expected: 40 }
        );
        refund.status = RefundStatus::Fail;
        assert_eq!(judge_refund_end(&refund, false, None), Duplicate);
    }
}
