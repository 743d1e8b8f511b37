//! The WeChat Pay refunds the platform holds. A refund is accepted as PROCESSING, then
//! a test finishes it: SUCCESS; REFUNDCLOSE (退款关闭) when WeChat gave up on it; or
//! CHANGE (退款异常) when the card the money should go back to is cancelled or frozen.

use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};

/// `refund_recv_accout` (sic): where the money goes back. The sandbox's payers pay by
/// debit card (`bank_type` CMB_DEBIT), and refunds go back the way the money came.
pub const REFUND_RECV_ACCOUNT: &str = "招商银行借记卡1234";
/// `refund_account`: the merchant's funds the refund is paid from.
pub const REFUND_ACCOUNT: &str = "REFUND_SOURCE_RECHARGE_FUNDS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WechatRefundStatus {
    #[serde(rename = "PROCESSING")]
    Processing,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "REFUNDCLOSE")]
    RefundClose,
    /// The money did not reach the payer: the merchant has to settle it by hand on the
    /// merchant platform, so it stays committed to the order and the refund stays CHANGE.
    #[serde(rename = "CHANGE")]
    Change,
}

impl WechatRefundStatus {
    /// `refund_status` of the refund notify and of `refundquery`.
    pub fn as_str(self) -> &'static str {
        match self {
            WechatRefundStatus::Processing => "PROCESSING",
            WechatRefundStatus::Success => "SUCCESS",
            WechatRefundStatus::RefundClose => "REFUNDCLOSE",
            WechatRefundStatus::Change => "CHANGE",
        }
    }
}

/// A refund as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatRefund {
    pub out_refund_no: String,
    /// WeChat's refund number.
    pub refund_id: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    /// The order's total, as the request had to repeat it.
    pub total_fee: i64,
    pub refund_fee: i64,
    pub refund_desc: Option<String>,
    /// The refund's own `notify_url`, if it named one.
    pub notify_url: Option<String>,
    pub status: WechatRefundStatus,
    pub created_at: i64,
    /// When the money went back; only for SUCCESS.
    pub success_at: Option<i64>,
}

/// The parameters of an accepted refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub total_fee: i64,
    pub refund_fee: i64,
    pub refund_desc: Option<String>,
    pub notify_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct RefundBook {
    /// In creation order, as `refundquery` lists an order's refunds.
    refunds: Vec<WechatRefund>,
}

impl RefundBook {
    pub fn get(&self, out_refund_no: &str) -> Option<WechatRefund> {
        self.refunds.iter().find(|r| r.out_refund_no == out_refund_no).cloned()
    }

    /// Every refund, in creation order.
    pub fn all(&self) -> impl Iterator<Item = &WechatRefund> {
        self.refunds.iter()
    }

    /// What the order's refunds take back or may still take back: all but the closed
    /// ones (a CHANGE refund is still owed to the payer).
    pub fn committed_total(&self, out_trade_no: &str) -> i64 {
        self.refunds
            .iter()
            .filter(|r| r.out_trade_no == out_trade_no && r.status != WechatRefundStatus::RefundClose)
            .map(|r| r.refund_fee)
            .sum()
    }

    /// Stores a new refund (PROCESSING); the caller has checked that the number is free.
    pub fn create(&mut self, new: NewRefund, now: i64) -> WechatRefund {
        let refund = WechatRefund {
            // 29 digits, like WeChat's refund ids.
            refund_id: format!("50{}", random::digits(27)),
            out_refund_no: new.out_refund_no,
            out_trade_no: new.out_trade_no,
            transaction_id: new.transaction_id,
            total_fee: new.total_fee,
            refund_fee: new.refund_fee,
            refund_desc: new.refund_desc,
            notify_url: new.notify_url,
            status: WechatRefundStatus::Processing,
            created_at: now,
            success_at: None,
        };
        self.refunds.push(refund.clone());
        refund
    }

    /// The refund ends as `outcome` (SUCCESS, REFUNDCLOSE or CHANGE), once: the same
    /// outcome again changes nothing (the notify is merely resent), another is refused.
    pub fn finish(
        &mut self,
        out_refund_no: &str,
        outcome: WechatRefundStatus,
        now: i64,
    ) -> Result<WechatRefund, SandboxError> {
        if outcome == WechatRefundStatus::Processing {
            return Err(SandboxError::Invalid(
                "a refund finishes as SUCCESS, REFUNDCLOSE or CHANGE, not PROCESSING".into(),
            ));
        }
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.out_refund_no == out_refund_no)
            .ok_or_else(|| SandboxError::UnknownRefund(out_refund_no.to_owned()))?;
        match refund.status {
            WechatRefundStatus::Processing => {
                refund.status = outcome;
                refund.success_at = (outcome == WechatRefundStatus::Success).then_some(now);
            }
            current if current == outcome => {}
            current => {
                return Err(SandboxError::Conflict(format!(
                    "refund {out_refund_no} is {} and cannot become {}",
                    current.as_str(),
                    outcome.as_str()
                )));
            }
        }
        Ok(refund.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_refund(no: &str, order: &str, fee: i64) -> NewRefund {
        NewRefund {
            out_refund_no: no.into(),
            out_trade_no: order.into(),
            transaction_id: "4200".into(),
            total_fee: 100,
            refund_fee: fee,
            refund_desc: None,
            notify_url: None,
        }
    }

    #[test]
    fn closed_refunds_give_the_amount_back() {
        let mut book = RefundBook::default();
        assert_eq!(book.create(new_refund("R1", "A", 30), 1).refund_id.len(), 29);
        book.create(new_refund("R2", "A", 20), 1);
        book.create(new_refund("R3", "B", 99), 1);
        book.create(new_refund("R4", "A", 7), 1);
        book.finish("R2", WechatRefundStatus::RefundClose, 2).unwrap();
        book.finish("R4", WechatRefundStatus::Change, 2).unwrap();
        assert_eq!(book.committed_total("A"), 37, "a CHANGE refund is still owed");
    }

    #[test]
    fn refunds_finish_once() {
        let mut book = RefundBook::default();
        book.create(new_refund("R1", "A", 30), 1);
        let done = book.finish("R1", WechatRefundStatus::Success, 9).unwrap();
        assert_eq!((done.status, done.success_at), (WechatRefundStatus::Success, Some(9)));
        assert_eq!(book.finish("R1", WechatRefundStatus::Success, 20).unwrap(), done);
        for other in [WechatRefundStatus::RefundClose, WechatRefundStatus::Change] {
            assert!(matches!(book.finish("R1", other, 20), Err(SandboxError::Conflict(_))));
        }
        assert!(matches!(
            book.finish("R1", WechatRefundStatus::Processing, 20),
            Err(SandboxError::Invalid(_))
        ));
        assert!(matches!(
            book.finish("R9", WechatRefundStatus::Success, 20),
            Err(SandboxError::UnknownRefund(_))
        ));
    }
}
