//! Callbacks applied together with their audit record: the record and the change it
//! tells go in one conditional write, so a callback costs one write request, and a
//! redelivery is told apart from what the refused write returns, without a read.

use crate::domain::order::{Order, Payment, Platform};
use crate::domain::refund::Refund;
use crate::error::StoreError;
use async_trait::async_trait;

/// A verified callback as the audit trail keeps it (see [`super::AuditStore`]).
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub platform: Platform,
    pub kind: &'a str,
    pub raw_body: &'a [u8],
    /// The order its message names, for the order's timeline.
    pub out_order_no: Option<&'a str>,
    pub at: i64,
}

/// The result of a payment callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackPaid {
    /// This callback moved the order to PAID; it is kept.
    Applied,
    /// The order was paid before by this payment: a redelivery, acknowledged as it is
    /// and not kept again (the delivery that paid the order is).
    Duplicate,
    /// The order was paid before by another payment; kept, nothing else changed.
    PaidOtherwise(Box<Order>),
    /// The amount differs from the order's; kept, nothing else changed.
    AmountMismatch { expected: i64 },
    /// No such order; kept.
    NotFound,
}

/// The result of a callback saying how a refund ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackRefund {
    /// This callback ended the refund and moved the order's money; it is kept.
    Applied,
    /// The refund had ended before as this callback says: not kept again.
    Duplicate,
    /// The refund had ended before the other way; kept, nothing else changed.
    EndedOtherwise(Box<Refund>),
    /// The reported amount is not the refund's; kept, nothing else changed.
    AmountMismatch { expected: i64 },
    /// No such refund; kept.
    NotFound,
}

#[async_trait]
pub trait CallbackStore: Send + Sync {
    /// Marks the order PAID (late when it had ended unpaid) if the amount is its own and
    /// it is not paid already, and keeps the callback with it, atomically. A callback that
    /// changes nothing is kept on its own, except a redelivery of the payment that paid.
    async fn pay_by_callback(
        &self,
        received: &Received<'_>,
        out_order_no: &str,
        payment: &Payment,
    ) -> Result<CallbackPaid, StoreError>;

    /// Ends an in-flight refund as a callback reports it (`amount` when it reports one),
    /// moving the order's money with it and keeping the callback, atomically; kept on
    /// its own when it changes nothing, except a redelivery of the end recorded.
    async fn finish_refund_by_callback(
        &self,
        received: &Received<'_>,
        out_refund_no: &str,
        success: bool,
        amount: Option<i64>,
    ) -> Result<CallbackRefund, StoreError>;
}
