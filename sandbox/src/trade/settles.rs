//! The trade settlements the platform holds: an order's money leaving escrow.

use crate::douyin::transfer_status::Finished;
use crate::douyin::{SettleReceiver, TransferStatus};
use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};

/// A trade settlement as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeSettle {
    pub settle_id: String,
    pub wallet_settle_id: String,
    pub out_settle_no: String,
    pub order_id: String,
    pub out_order_no: String,
    pub settle_desc: String,
    /// The split receivers `settle_params` named.
    pub receivers: Vec<SettleReceiver>,
    pub cp_extra: String,
    /// The settlement's own notify URL; callbacks fall back to the order's.
    pub notify_url: Option<String>,
    pub status: TransferStatus,
    /// The order total minus the refunds done; fixed when the settlement finishes.
    pub settle_amount: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms when it finished (SUCCESS or FAIL).
    pub settle_at: Option<i64>,
}

impl TradeSettle {
    /// The platform's note on the outcome (`message` in callbacks).
    pub fn message(&self) -> &'static str {
        match self.status {
            TransferStatus::Fail => "分账失败 (sandbox)",
            TransferStatus::Processing | TransferStatus::Success => "",
        }
    }
}

/// A settlement about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTradeSettle {
    pub out_settle_no: String,
    pub order_id: String,
    pub out_order_no: String,
    pub settle_desc: String,
    pub receivers: Vec<SettleReceiver>,
    pub cp_extra: String,
    pub notify_url: Option<String>,
    pub settle_amount: i64,
}

#[derive(Debug, Default)]
pub struct TradeSettleBook {
    /// In creation order.
    settles: Vec<TradeSettle>,
}

impl TradeSettleBook {
    pub fn by_out_settle_no(&self, out_settle_no: &str) -> Option<&TradeSettle> {
        self.settles.iter().find(|s| s.out_settle_no == out_settle_no)
    }

    pub fn all(&self) -> impl Iterator<Item = &TradeSettle> {
        self.settles.iter()
    }

    /// Whether the order is settled or being settled.
    pub fn is_settled(&self, order_id: &str) -> bool {
        self.settles
            .iter()
            .any(|s| s.order_id == order_id && s.status != TransferStatus::Fail)
    }

    pub fn create(&mut self, new: NewTradeSettle, now: i64) -> TradeSettle {
        let settle = TradeSettle {
            settle_id: random::digits(19),
            wallet_settle_id: random::digits(19),
            out_settle_no: new.out_settle_no,
            order_id: new.order_id,
            out_order_no: new.out_order_no,
            settle_desc: new.settle_desc,
            receivers: new.receivers,
            cp_extra: new.cp_extra,
            notify_url: new.notify_url,
            status: TransferStatus::Processing,
            settle_amount: new.settle_amount,
            created_at: now,
            settle_at: None,
        };
        self.settles.push(settle.clone());
        settle
    }

    /// SUCCESS or FAIL, once, settling `settle_amount`; see [`TransferStatus::finish`].
    pub fn finish(
        &mut self,
        out_settle_no: &str,
        outcome: TransferStatus,
        settle_amount: i64,
        now: i64,
    ) -> Result<TradeSettle, SandboxError> {
        let settle = self
            .settles
            .iter_mut()
            .find(|s| s.out_settle_no == out_settle_no)
            .ok_or_else(|| SandboxError::UnknownSettle(out_settle_no.to_owned()))?;
        let finished = settle
            .status
            .finish(outcome)
            .map_err(|reason| SandboxError::Conflict(format!("settlement {out_settle_no} {reason}")))?;
        if finished == Finished::Now {
            settle.status = outcome;
            settle.settle_amount = settle_amount;
            settle.settle_at = Some(now);
        }
        Ok(settle.clone())
    }
}
