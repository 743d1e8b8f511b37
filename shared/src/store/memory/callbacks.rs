//! Callbacks applied with their audit record, under the one lock: what the table's
//! single transaction does, outcome for outcome.

use super::MemoryStore;
use crate::domain::order::Payment;
use crate::domain::verdict::{PaymentVerdict, RefundEndVerdict, judge_payment, judge_refund_end};
use crate::error::StoreError;
use crate::store::{CallbackPaid, CallbackRefund, CallbackStore, Finish, PaidOutcome, Received};
use async_trait::async_trait;

#[async_trait]
impl CallbackStore for MemoryStore {
    async fn pay_by_callback(
        &self,
        received: &Received<'_>,
        out_order_no: &str,
        payment: &Payment,
    ) -> Result<CallbackPaid, StoreError> {
        let mut inner = self.lock();
        let outcome = match judge_payment(inner.orders.get(out_order_no), payment) {
            PaymentVerdict::Duplicate => return Ok(CallbackPaid::Duplicate),
            PaymentVerdict::Pay { .. } => match inner.pay(out_order_no, payment, received.at) {
                PaidOutcome::Applied(_) => CallbackPaid::Applied,
                other => unreachable!("judged payable under the same lock: {other:?}"),
            },
            PaymentVerdict::PaidOtherwise => CallbackPaid::PaidOtherwise(Box::new(inner.orders[out_order_no].clone())),
            PaymentVerdict::AmountMismatch { expected } => CallbackPaid::AmountMismatch { expected },
            PaymentVerdict::NotFound => CallbackPaid::NotFound,
        };
        inner.keep(received, self.callback_retention_secs);
        Ok(outcome)
    }

    async fn finish_refund_by_callback(
        &self,
        received: &Received<'_>,
        out_refund_no: &str,
        success: bool,
        amount: Option<i64>,
    ) -> Result<CallbackRefund, StoreError> {
        let mut inner = self.lock();
        let outcome = match inner.refunds.get(out_refund_no).cloned() {
            None => CallbackRefund::NotFound,
            Some(refund) => match judge_refund_end(&refund, success, amount) {
                RefundEndVerdict::Duplicate => return Ok(CallbackRefund::Duplicate),
                RefundEndVerdict::EndedOtherwise => CallbackRefund::EndedOtherwise(Box::new(refund)),
                RefundEndVerdict::AmountMismatch { expected } => CallbackRefund::AmountMismatch { expected },
                RefundEndVerdict::End => match inner.end_refund(out_refund_no, success, received.at) {
                    Finish::Applied(_) => CallbackRefund::Applied,
                    // Its order is gone: as the table's transaction, nothing is ended.
                    Finish::NotFound => CallbackRefund::NotFound,
                    Finish::AlreadyFinished(r) => unreachable!("judged in flight under the same lock: {r:?}"),
                },
            },
        };
        inner.keep(received, self.callback_retention_secs);
        Ok(outcome)
    }
}
