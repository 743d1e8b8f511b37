//! The trade refunds the platform holds, per item order: what each takes back, and
//! what is left to refund of each item order (douyin-trade.md §5 `refund_create/`).

use super::orders::TradeOrder;
use crate::douyin::TransferStatus;
use crate::douyin::transfer_status::Finished;
use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How much of one item order a refund takes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRefund {
    pub item_order_id: String,
    pub refund_amount: i64,
}

/// Who started the refund: `refund_type` in the refund callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOrigin {
    /// The user on the platform's order page (`pre_create_refund`): type 1.
    User,
    /// The developer's `refund_create/`: type 2.
    Developer,
}

impl RefundOrigin {
    pub fn refund_type(self) -> i64 {
        match self {
            RefundOrigin::User => 1,
            RefundOrigin::Developer => 2,
        }
    }
}

/// A trade refund as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRefund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub order_id: String,
    pub out_order_no: String,
    pub refund_total_amount: i64,
    pub item_order_detail: Vec<ItemRefund>,
    pub status: TransferStatus,
    pub origin: RefundOrigin,
    /// The reasons' texts.
    pub reasons: Vec<String>,
    pub cp_extra: String,
    /// The refund's own notify URL; callbacks fall back to the order's.
    pub notify_url: Option<String>,
    /// Unix ms.
    pub create_at: i64,
    pub refund_audit_deadline: i64,
    /// Unix ms when it finished (SUCCESS or FAIL).
    pub refund_at: Option<i64>,
    /// The `refund_create/` body, to tell a repeat from a different request.
    #[serde(skip)]
    pub request: Option<Map<String, Value>>,
}

impl TradeRefund {
    /// The platform's note on the outcome (`message` in queries and callbacks).
    pub fn message(&self) -> &'static str {
        match self.status {
            TransferStatus::Fail => "退款失败 (sandbox)",
            TransferStatus::Processing | TransferStatus::Success => "",
        }
    }
}

/// A refund about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTradeRefund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub item_order_detail: Vec<ItemRefund>,
    pub origin: RefundOrigin,
    pub reasons: Vec<String>,
    pub cp_extra: String,
    pub notify_url: Option<String>,
    pub refund_audit_deadline: i64,
    pub request: Option<Map<String, Value>>,
}

/// A refund id shaped like the platform's.
pub fn new_refund_id() -> String {
    format!("ort{}", random::digits(23))
}

/// The platform gives the merchant this long to audit a refund: "usually 3 days".
pub const AUDIT_WINDOW_MS: i64 = 3 * 24 * 3600 * 1000;

#[derive(Debug, Default)]
pub struct TradeRefundBook {
    /// In creation order.
    refunds: Vec<TradeRefund>,
}

impl TradeRefundBook {
    pub fn get(&self, refund_id: &str) -> Option<&TradeRefund> {
        self.refunds.iter().find(|r| r.refund_id == refund_id)
    }

    pub fn by_out_refund_no(&self, out_refund_no: &str) -> Option<&TradeRefund> {
        self.refunds.iter().find(|r| r.out_refund_no == out_refund_no)
    }

    pub fn of_order<'a>(&'a self, order_id: &'a str) -> impl Iterator<Item = &'a TradeRefund> {
        self.refunds.iter().filter(move |r| r.order_id == order_id)
    }

    /// The order's refunds in `status`, summed.
    pub fn total(&self, order_id: &str, status: TransferStatus) -> i64 {
        self.of_order(order_id)
            .filter(|r| r.status == status)
            .map(|r| r.refund_total_amount)
            .sum()
    }

    /// Whether the order has a refund that took or may take money back.
    pub fn has_live_refund(&self, order_id: &str) -> bool {
        self.of_order(order_id).any(|r| r.status != TransferStatus::Fail)
    }

    /// What is left to refund of each item order, refunds in flight counted as done.
    pub fn remaining(&self, order: &TradeOrder) -> Vec<ItemRefund> {
        order
            .item_orders
            .iter()
            .map(|item| {
                let taken: i64 = self
                    .of_order(&order.order_id)
                    .filter(|r| r.status != TransferStatus::Fail)
                    .flat_map(|r| &r.item_order_detail)
                    .filter(|d| d.item_order_id == item.item_order_id)
                    .map(|d| d.refund_amount)
                    .sum();
                ItemRefund {
                    item_order_id: item.item_order_id.clone(),
                    refund_amount: item.item_order_amount - taken,
                }
            })
            .collect()
    }

    /// Records a PROCESSING refund; the caller has checked the amounts.
    pub fn create(&mut self, order: &TradeOrder, new: NewTradeRefund, now: i64) -> TradeRefund {
        let refund = TradeRefund {
            refund_total_amount: new.item_order_detail.iter().map(|d| d.refund_amount).sum(),
            refund_id: new.refund_id,
            out_refund_no: new.out_refund_no,
            order_id: order.order_id.clone(),
            out_order_no: order.out_order_no.clone(),
            item_order_detail: new.item_order_detail,
            status: TransferStatus::Processing,
            origin: new.origin,
            reasons: new.reasons,
            cp_extra: new.cp_extra,
            notify_url: new.notify_url,
            create_at: now,
            refund_audit_deadline: new.refund_audit_deadline,
            refund_at: None,
            request: new.request,
        };
        self.refunds.push(refund.clone());
        refund
    }

    /// SUCCESS or FAIL, once; see [`TransferStatus::finish`].
    pub fn finish(&mut self, refund_id: &str, outcome: TransferStatus, now: i64) -> Result<TradeRefund, SandboxError> {
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.refund_id == refund_id)
            .ok_or_else(|| SandboxError::UnknownRefund(refund_id.to_owned()))?;
        let finished = refund
            .status
            .finish(outcome)
            .map_err(|reason| SandboxError::Conflict(format!("refund {refund_id} {reason}")))?;
        if finished == Finished::Now {
            refund.status = outcome;
            refund.refund_at = Some(now);
        }
        Ok(refund.clone())
    }
}

/// Spreads `amount` over the item orders in order, each up to what is left of it (a
/// user asks for an amount, not for item orders). `None` when it does not fit.
pub fn spread(amount: i64, remaining: &[ItemRefund]) -> Option<Vec<ItemRefund>> {
    let mut left = amount;
    let mut detail = Vec::new();
    for item in remaining.iter().filter(|item| item.refund_amount > 0) {
        if left == 0 {
            break;
        }
        let take = left.min(item.refund_amount);
        detail.push(ItemRefund {
            item_order_id: item.item_order_id.clone(),
            refund_amount: take,
        });
        left -= take;
    }
    (amount > 0 && left == 0).then_some(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, amount: i64) -> ItemRefund {
        ItemRefund {
            item_order_id: id.into(),
            refund_amount: amount,
        }
    }

    #[test]
    fn spreading_fills_item_orders_in_turn() {
        let remaining = [item("a", 0), item("b", 100), item("c", 100)];
        assert_eq!(spread(150, &remaining), Some(vec![item("b", 100), item("c", 50)]));
        assert_eq!(spread(50, &remaining), Some(vec![item("b", 50)]));
        assert_eq!(spread(201, &remaining), None);
        assert_eq!(spread(0, &remaining), None);
    }
}
