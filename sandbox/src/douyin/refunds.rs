//! The refunds the platform holds, and how much of each order they take back.

use super::first_answers::FirstAnswers;
use super::transfer_status::{Finished, TransferStatus};
use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A refund as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRefund {
    pub out_refund_no: String,
    pub out_order_no: String,
    /// The platform's id of the refunded order (`order_id` in the callback).
    pub order_id: String,
    /// The platform's refund number.
    pub refund_no: String,
    pub refund_amount: i64,
    pub reason: String,
    /// Sent with `all_settle=1`: refunded after settlement, from the withdrawable balance.
    pub all_settle: bool,
    pub cp_extra: String,
    /// Where refund callbacks go: the refund's own `notify_url`, else the order's
    /// (itself the console one when the order had none).
    pub notify_url: Option<String>,
    pub status: TransferStatus,
    pub created_at: i64,
    /// When the money went back; only for SUCCESS.
    pub refunded_at: Option<i64>,
}

impl SandboxRefund {
    /// The platform's note on the outcome (`msg` in queries, `message` in callbacks).
    pub fn message(&self) -> &'static str {
        match self.status {
            TransferStatus::Fail => "退款失败 (sandbox)",
            TransferStatus::Processing | TransferStatus::Success => "",
        }
    }
}

/// The parameters of an accepted `create_refund`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub out_refund_no: String,
    pub out_order_no: String,
    pub order_id: String,
    pub refund_amount: i64,
    pub reason: String,
    pub all_settle: bool,
    pub cp_extra: String,
    pub notify_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct RefundBook {
    refunds: HashMap<String, SandboxRefund>,
    /// What `create_refund` answered first for each `out_refund_no`.
    pub answers: FirstAnswers,
}

impl RefundBook {
    pub fn get(&self, out_refund_no: &str) -> Option<SandboxRefund> {
        self.refunds.get(out_refund_no).cloned()
    }

    fn of_order<'a>(&'a self, out_order_no: &'a str) -> impl Iterator<Item = &'a SandboxRefund> {
        self.refunds.values().filter(move |r| r.out_order_no == out_order_no)
    }

    /// What the order's refunds take back or may still take back: all but the failed ones.
    pub fn committed_total(&self, out_order_no: &str) -> i64 {
        self.of_order(out_order_no)
            .filter(|r| r.status != TransferStatus::Fail)
            .map(|r| r.refund_amount)
            .sum()
    }

    /// What the order's refunds in flight (PROCESSING) may still take back.
    pub fn processing_total(&self, out_order_no: &str) -> i64 {
        self.of_order(out_order_no)
            .filter(|r| r.status == TransferStatus::Processing)
            .map(|r| r.refund_amount)
            .sum()
    }

    /// What the order's refunds have actually taken back.
    pub fn refunded_total(&self, out_order_no: &str) -> i64 {
        self.of_order(out_order_no)
            .filter(|r| r.status == TransferStatus::Success)
            .map(|r| r.refund_amount)
            .sum()
    }

    /// Accepts the refund (PROCESSING); an existing one is returned unchanged.
    pub fn create(&mut self, new: NewRefund, now: i64) -> SandboxRefund {
        self.refunds
            .entry(new.out_refund_no.clone())
            .or_insert_with(|| SandboxRefund {
                refund_no: format!("7{}", random::digits(18)),
                out_refund_no: new.out_refund_no,
                out_order_no: new.out_order_no,
                order_id: new.order_id,
                refund_amount: new.refund_amount,
                reason: new.reason,
                all_settle: new.all_settle,
                cp_extra: new.cp_extra,
                notify_url: new.notify_url,
                status: TransferStatus::Processing,
                created_at: now,
                refunded_at: None,
            })
            .clone()
    }

    /// The money went back (SUCCESS) or could not (FAIL); see [`TransferStatus::finish`].
    pub fn finish(
        &mut self,
        out_refund_no: &str,
        outcome: TransferStatus,
        now: i64,
    ) -> Result<SandboxRefund, SandboxError> {
        let refund = self
            .refunds
            .get_mut(out_refund_no)
            .ok_or_else(|| SandboxError::UnknownRefund(out_refund_no.to_owned()))?;
        let finished = refund
            .status
            .finish(outcome)
            .map_err(|reason| SandboxError::Conflict(format!("refund {out_refund_no} {reason}")))?;
        if finished == Finished::Now {
            refund.status = outcome;
            refund.refunded_at = (outcome == TransferStatus::Success).then_some(now);
        }
        Ok(refund.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_refund(no: &str, order: &str, amount: i64) -> NewRefund {
        NewRefund {
            out_refund_no: no.into(),
            out_order_no: order.into(),
            order_id: "7000".into(),
            refund_amount: amount,
            reason: "r".into(),
            all_settle: false,
            cp_extra: String::new(),
            notify_url: None,
        }
    }

    #[test]
    fn totals_count_what_each_state_takes_back() {
        let mut book = RefundBook::default();
        book.create(new_refund("R1", "A", 100), 1);
        book.create(new_refund("R2", "A", 20), 1);
        book.create(new_refund("R3", "A", 3), 1);
        book.create(new_refund("R4", "B", 1000), 1);
        book.finish("R1", TransferStatus::Success, 5).unwrap();
        book.finish("R2", TransferStatus::Fail, 5).unwrap();
        assert_eq!(book.committed_total("A"), 103);
        assert_eq!(book.refunded_total("A"), 100);
        assert_eq!(book.committed_total("nope"), 0);
    }

    #[test]
    fn create_is_idempotent_and_finish_happens_once() {
        let mut book = RefundBook::default();
        let first = book.create(new_refund("R1", "A", 100), 1);
        assert_eq!(first.refund_no.len(), 19);
        assert_eq!(book.create(new_refund("R1", "A", 5), 2), first);
        let done = book.finish("R1", TransferStatus::Success, 9).unwrap();
        assert_eq!((done.status, done.refunded_at), (TransferStatus::Success, Some(9)));
        assert_eq!(book.finish("R1", TransferStatus::Success, 20).unwrap(), done);
        assert!(matches!(
            book.finish("R1", TransferStatus::Fail, 20),
            Err(SandboxError::Conflict(_))
        ));
        assert!(matches!(
            book.finish("R9", TransferStatus::Fail, 20),
            Err(SandboxError::UnknownRefund(_))
        ));
    }
}
