//! The settlements the platform holds: an order's money leaving escrow for the seller
//! and the split receivers, minus the platform's fee.

use super::first_answers::FirstAnswers;
use super::settle_params::{SettleParams, SettleReceiver};
use super::transfer_status::{Finished, TransferStatus};
use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// The platform's fee, in percent of the order total (rounded down to the fen).
const RAKE_PERCENT: i64 = 1;

/// A settlement as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSettle {
    pub out_settle_no: String,
    pub out_order_no: String,
    /// The platform's id of the settled order.
    pub order_id: String,
    /// The platform's settlement number.
    pub settle_no: String,
    pub settle_desc: String,
    /// The `settle_params` JSON string as sent, parsed (an array, possibly empty).
    pub settle_params: Value,
    /// The split receivers it names.
    pub receivers: Vec<SettleReceiver>,
    pub cp_extra: String,
    /// Where settle callbacks go: the settlement's own `notify_url`, else the order's.
    pub notify_url: Option<String>,
    /// `finish` as sent.
    pub finish: Option<String>,
    /// Whether it settles the rest of the order (`finish` absent or "true", or the
    /// order's 50th settle); a non-final one moves only the receivers' shares.
    pub is_final: bool,
    pub status: TransferStatus,
    pub created_at: i64,
    /// When the money moved; only for SUCCESS.
    pub settled_at: Option<i64>,
    /// What leaves escrow: a final settlement the order total minus the refunds done
    /// and the earlier partial settlements, fixed when it finishes; a partial one the
    /// receivers' shares.
    pub settle_amount: i64,
    /// The platform's fee: 1% of the order total, rounded down.
    pub rake: i64,
    /// The split as text, once settled.
    pub settle_detail: String,
    pub channel_settle_id: String,
}

impl SandboxSettle {
    /// The platform's note on the outcome (`msg` in queries, `message` in callbacks).
    pub fn message(&self) -> &'static str {
        match self.status {
            TransferStatus::Fail => "分账失败 (sandbox)",
            TransferStatus::Processing | TransferStatus::Success => "",
        }
    }
}

/// The parameters of an accepted `settle`, plus what the platform knows of the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSettle {
    pub out_settle_no: String,
    pub out_order_no: String,
    pub order_id: String,
    pub order_total: i64,
    pub settle_desc: String,
    pub settle_params: SettleParams,
    pub cp_extra: String,
    pub notify_url: Option<String>,
    pub finish: Option<String>,
    pub is_final: bool,
    /// The amount it would settle now.
    pub settle_amount: i64,
}

#[derive(Debug, Default)]
pub struct SettleBook {
    settles: HashMap<String, SandboxSettle>,
    /// What `settle` answered first for each `out_settle_no`.
    pub answers: FirstAnswers,
}

impl SettleBook {
    pub fn get(&self, out_settle_no: &str) -> Option<SandboxSettle> {
        self.settles.get(out_settle_no).cloned()
    }

    /// Whether the order is settled or being settled: its refunds must then come out of
    /// the withdrawable balance (`all_settle=1`).
    pub fn is_settled(&self, out_order_no: &str) -> bool {
        self.settles
            .values()
            .any(|s| s.out_order_no == out_order_no && s.status != TransferStatus::Fail)
    }

    fn of_order<'a>(&'a self, out_order_no: &'a str) -> impl Iterator<Item = &'a SandboxSettle> {
        self.settles
            .values()
            .filter(move |s| s.out_order_no == out_order_no && s.status != TransferStatus::Fail)
    }

    /// How many settlements the order has (failed ones do not count), and the
    /// `out_settle_no` of its final one if it has one.
    pub fn standing(&self, out_order_no: &str) -> (usize, Option<String>) {
        let count = self.of_order(out_order_no).count();
        let final_one = self
            .of_order(out_order_no)
            .find(|s| s.is_final)
            .map(|s| s.out_settle_no.clone());
        (count, final_one)
    }

    /// What the order's partial (non-final) settlements move, failed ones aside.
    pub fn partial_total(&self, out_order_no: &str) -> i64 {
        self.of_order(out_order_no)
            .filter(|s| !s.is_final)
            .map(|s| s.settle_amount)
            .sum()
    }

    /// Accepts the settlement (PROCESSING); an existing one is returned unchanged.
    pub fn create(&mut self, new: NewSettle, now: i64) -> SandboxSettle {
        self.settles
            .entry(new.out_settle_no.clone())
            .or_insert_with(|| SandboxSettle {
                settle_no: format!("7{}", random::digits(18)),
                out_settle_no: new.out_settle_no,
                out_order_no: new.out_order_no,
                order_id: new.order_id,
                settle_desc: new.settle_desc,
                settle_params: new.settle_params.json,
                receivers: new.settle_params.receivers,
                cp_extra: new.cp_extra,
                notify_url: new.notify_url,
                finish: new.finish,
                is_final: new.is_final,
                status: TransferStatus::Processing,
                created_at: now,
                settled_at: None,
                settle_amount: new.settle_amount,
                rake: new.order_total * RAKE_PERCENT / 100,
                settle_detail: String::new(),
                channel_settle_id: random::digits(19),
            })
            .clone()
    }

    /// The money moved (SUCCESS) or could not (FAIL), a final settlement's amount
    /// being `rest_of_order`, what the order holds now; see [`TransferStatus::finish`].
    pub fn finish(
        &mut self,
        out_settle_no: &str,
        outcome: TransferStatus,
        rest_of_order: i64,
        now: i64,
    ) -> Result<SandboxSettle, SandboxError> {
        let settle = self
            .settles
            .get_mut(out_settle_no)
            .ok_or_else(|| SandboxError::UnknownSettle(out_settle_no.to_owned()))?;
        let finished = settle
            .status
            .finish(outcome)
            .map_err(|reason| SandboxError::Conflict(format!("settlement {out_settle_no} {reason}")))?;
        if finished == Finished::Now {
            settle.status = outcome;
            if settle.is_final {
                settle.settle_amount = rest_of_order;
            }
            if outcome == TransferStatus::Success {
                settle.settled_at = Some(now);
                settle.settle_detail = detail(&settle.receivers);
            }
        }
        Ok(settle.clone())
    }
}

/// The split in the platform's wording, one `商户号<uid>-分账金额(分)<amount>` per
/// receiver; empty when the seller keeps everything.
fn detail(receivers: &[SettleReceiver]) -> String {
    receivers
        .iter()
        .map(|r| format!("商户号{}-分账金额(分){}", r.merchant_uid, r.amount))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_settle(no: &str, order: &str) -> NewSettle {
        NewSettle {
            out_settle_no: no.into(),
            out_order_no: order.into(),
            order_id: "7000".into(),
            order_total: 1990,
            settle_desc: "d".into(),
            settle_params: SettleParams {
                json: serde_json::json!([{"merchant_uid": "m1", "amount": 100}]),
                receivers: vec![SettleReceiver {
                    merchant_uid: "m1".into(),
                    amount: 100,
                }],
            },
            cp_extra: String::new(),
            notify_url: None,
            finish: None,
            is_final: true,
            settle_amount: 1990,
        }
    }

    #[test]
    fn settling_fixes_the_amount_once() {
        let mut book = SettleBook::default();
        let first = book.create(new_settle("S1", "A"), 1);
        assert_eq!((first.rake, first.settle_amount, first.settled_at), (19, 1990, None));
        assert_eq!(book.create(new_settle("S1", "B"), 2), first);
        assert!(book.is_settled("A") && !book.is_settled("B"));

        let done = book.finish("S1", TransferStatus::Success, 1890, 7).unwrap();
        assert_eq!((done.settle_amount, done.settled_at), (1890, Some(7)));
        assert_eq!(done.settle_detail, "商户号m1-分账金额(分)100");
        assert_eq!(book.finish("S1", TransferStatus::Success, 1, 9).unwrap(), done);
        assert!(book.finish("S1", TransferStatus::Fail, 1, 9).is_err());
        assert!(matches!(
            book.finish("S9", TransferStatus::Fail, 1, 9),
            Err(SandboxError::UnknownSettle(_))
        ));
    }

    #[test]
    fn a_failed_settlement_leaves_the_order_unsettled() {
        let mut book = SettleBook::default();
        book.create(new_settle("S1", "A"), 1);
        let failed = book.finish("S1", TransferStatus::Fail, 1990, 3).unwrap();
        assert_eq!((failed.settled_at, failed.settle_detail.as_str()), (None, ""));
        assert!(!book.is_settled("A"));
    }
}
