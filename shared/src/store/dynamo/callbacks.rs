//! Callbacks applied with their audit record in one transaction. A refused transaction
//! returns, per item, whether its condition failed and the item as it was (ALL_OLD):
//! the domain judges a duplicate, a conflict or a late payment from that, so the common
//! cases cost one write request and no read.

use super::*;
use crate::domain::verdict::{PaymentVerdict, RefundEndVerdict, judge_payment, judge_refund_end};
use aws_sdk_dynamodb::types::CancellationReason;

/// Why each item of a cancelled transaction was refused, in the items' order.
type Reasons = Vec<CancellationReason>;

fn condition_failed(reason: Option<&CancellationReason>) -> bool {
    reason.and_then(CancellationReason::code) == Some("ConditionalCheckFailed")
}

impl DynamoStore {
    /// Runs a transaction: `None` when it was applied, else why each item was refused
    /// (a failed condition, a conflicting transaction, or `None` for items that were fine).
    async fn transact_or_reasons(&self, items: Vec<TransactWriteItem>) -> Result<Option<Reasons>, StoreError> {
        self.count();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_transaction_canceled_exception() => {
                    let reasons = match e {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                            c.cancellation_reasons().to_vec()
                        }
                        _ => Vec::new(),
                    };
                    Ok(Some(reasons))
                }
                _ => Err(unavailable(err)),
            },
        }
    }

    /// The transaction item that keeps a callback, unless the same bytes are kept.
    fn keep_item(&self, received: &Received<'_>) -> Result<TransactWriteItem, StoreError> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.callback_item(received)))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Keeps a callback on its own when what it says changed nothing (the rare cases).
    async fn keep_alone(&self, received: &Received<'_>) -> Result<(), StoreError> {
        self.keep_callback(
            received.platform,
            received.kind,
            received.raw_body,
            received.out_order_no,
            received.at,
        )
        .await
    }

    /// The transaction item that pays the order from `from`, returning it as it was when
    /// its condition fails.
    fn pay_item(
        &self,
        out_order_no: &str,
        payment: &Payment,
        from: OrderStatus,
        now: i64,
    ) -> Result<Update, StoreError> {
        built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(order_pk(out_order_no)))
                .key("sk", s(ORDER_SK))
                .update_expression(PAY_UPDATE)
                .condition_expression(PAY_CONDITION)
                .expression_attribute_names("#status", "status")
                .set_expression_attribute_values(Some(pay_values(payment, from, now)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )
    }

    /// Moves the order's money for a refund ended as `success` says, by the refund's
    /// amount, with no read of the order: the counters move by arithmetic, conditioned on
    /// the refund's amount being reserved. A success that would refund the order wholly
    /// must also make it REFUNDED, which arithmetic cannot decide: the condition refuses
    /// it, and the order it returns is judged and written exactly (see `move_money_exact`).
    fn move_money_by_amount(&self, refund: &Refund, success: bool, now: i64) -> Result<Update, StoreError> {
        let (update, condition) = if success {
            (
                "SET refunded_amount = refunded_amount + :amount, refunding_amount = refunding_amount - :amount, \
                 updated_at = :now ADD version :one",
                // refundable = total - refunded - refunding: the order stays partly
                // refunded unless nothing else is refundable or in flight.
                "refunding_amount >= :amount AND (refundable > :zero OR refunding_amount > :amount)",
            )
        } else {
            (
                "SET refunding_amount = refunding_amount - :amount, refundable = refundable + :amount, \
                 updated_at = :now ADD version :one",
                "refunding_amount >= :amount",
            )
        };
        let mut builder = Update::builder()
            .table_name(&self.table)
            .key("pk", s(order_pk(&refund.out_order_no)))
            .key("sk", s(ORDER_SK))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":amount", n(refund.refund_amount))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if success {
            builder = builder.expression_attribute_values(":zero", n(0));
        }
        built(builder.build())
    }
}

#[async_trait]
impl CallbackStore for DynamoStore {
    async fn pay_by_callback(
        &self,
        received: &Received<'_>,
        out_order_no: &str,
        payment: &Payment,
    ) -> Result<CallbackPaid, StoreError> {
        let now = received.at;
        let mut from = OrderStatus::Pending;
        // Whether the audit record still goes in: not once these bytes proved kept.
        let mut keep = true;
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            let mut items = Vec::with_capacity(2);
            if keep {
                items.push(self.keep_item(received)?);
            }
            let pay = self.pay_item(out_order_no, payment, from, now)?;
            items.push(TransactWriteItem::builder().update(pay).build());
            let Some(reasons) = self.transact_or_reasons(items).await? else {
                return Ok(CallbackPaid::Applied);
            };
            if keep && condition_failed(reasons.first()) {
                // Kept before without paying (an earlier attempt failed in between):
                // pay without keeping it again.
                keep = false;
            }
            let order_reason = reasons.last();
            if !condition_failed(order_reason) {
                // Only the audit record was refused, or another transaction was busy
                // with the order: try again.
                continue;
            }
            let old = order_reason
                .and_then(CancellationReason::item)
                .map(order_from_item)
                .transpose()?;
            let outcome = match (judge_payment(old.as_ref(), payment), old) {
                (PaymentVerdict::Pay { .. }, Some(old)) => {
                    // Ended unpaid meanwhile (a late payment), or changed: from where it is.
                    from = old.status;
                    continue;
                }
                (PaymentVerdict::Duplicate, _) => return Ok(CallbackPaid::Duplicate),
                (PaymentVerdict::PaidOtherwise, Some(old)) => CallbackPaid::PaidOtherwise(Box::new(old)),
                (PaymentVerdict::AmountMismatch { expected }, _) => CallbackPaid::AmountMismatch { expected },
                _ => CallbackPaid::NotFound,
            };
            if keep {
                self.keep_alone(received).await?;
            }
            return Ok(outcome);
        }
        Err(StoreError::Unavailable("order is busy; retry".into()))
    }

    async fn finish_refund_by_callback(
        &self,
        received: &Received<'_>,
        out_refund_no: &str,
        success: bool,
        amount: Option<i64>,
    ) -> Result<CallbackRefund, StoreError> {
        let now = received.at;
        let to = if success {
            RefundStatus::Success
        } else {
            RefundStatus::Fail
        };
        let mut keep = true;
        // The refund as a refused transaction returned it, saving the read.
        let mut known: Option<Refund> = None;
        // The order as a refused transaction returned it, with its version: its money
        // is then written exactly, as judged from it.
        let mut order_seen: Option<(Order, i64)> = None;
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            let refund = match known.take() {
                Some(refund) => refund,
                None => match self.get_refund(out_refund_no).await? {
                    Some(refund) => refund,
                    None => return self.kept(received, keep, CallbackRefund::NotFound).await,
                },
            };
            let outcome = match judge_refund_end(&refund, success, amount) {
                RefundEndVerdict::End => None,
                RefundEndVerdict::Duplicate => return Ok(CallbackRefund::Duplicate),
                RefundEndVerdict::EndedOtherwise => Some(CallbackRefund::EndedOtherwise(Box::new(refund.clone()))),
                RefundEndVerdict::AmountMismatch { expected } => Some(CallbackRefund::AmountMismatch { expected }),
            };
            if let Some(outcome) = outcome {
                return self.kept(received, keep, outcome).await;
            }
            // As seen, or the transaction is refused and returns it as it is.
            let seen_fields = [
                ("refund_no", refund.refund_no.as_deref()),
                ("attention", refund.attention.as_deref()),
            ];
            let end = self.end_in_flight(refund_pk(out_refund_no), REFUND_SK, to, now, &seen_fields)?;
            let money = match order_seen.take() {
                Some((order, version)) => {
                    let after = refund_result(&order, refund.refund_amount, success);
                    self.move_money_exact(&order.out_order_no, &after, version, now)?
                }
                None => self.move_money_by_amount(&refund, success, now)?,
            };
            let mut items = Vec::with_capacity(3);
            if keep {
                items.push(self.keep_item(received)?);
            }
            items.push(TransactWriteItem::builder().update(end).build());
            items.push(TransactWriteItem::builder().update(money).build());
            let Some(reasons) = self.transact_or_reasons(items).await? else {
                return Ok(CallbackRefund::Applied);
            };
            let first = usize::from(keep);
            if keep && condition_failed(reasons.first()) {
                keep = false;
            }
            let refund_reason = reasons.get(first);
            if condition_failed(refund_reason) {
                match refund_reason.and_then(CancellationReason::item) {
                    Some(item) => known = Some(refund_from_item(item)?),
                    None => return self.kept(received, keep, CallbackRefund::NotFound).await,
                }
                continue;
            }
            known = Some(refund);
            let order_reason = reasons.get(first + 1);
            if condition_failed(order_reason) {
                match order_reason.and_then(CancellationReason::item) {
                    Some(item) => order_seen = Some((order_from_item(item)?, get_n(item, "version")?)),
                    // The refund's order is gone: nothing can be ended.
                    None => return self.kept(received, keep, CallbackRefund::NotFound).await,
                }
            }
        }
        Err(StoreError::Unavailable("order is busy; retry".into()))
    }
}

impl DynamoStore {
    /// Keeps the callback on its own (unless it proved kept) and answers `outcome`.
    async fn kept(
        &self,
        received: &Received<'_>,
        keep: bool,
        outcome: CallbackRefund,
    ) -> Result<CallbackRefund, StoreError> {
        if keep {
            self.keep_alone(received).await?;
        }
        Ok(outcome)
    }
}
