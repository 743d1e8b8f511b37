//! `trade_state` of a WeChat Pay order (wechat.md §6). NOTPAY and USERPAYING are
//! intermediate; the others are final, except that a paid order turns REFUND once a
//! refund is accepted.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TradeState {
    #[serde(rename = "NOTPAY")]
    NotPay,
    #[serde(rename = "USERPAYING")]
    UserPaying,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "REFUND")]
    Refund,
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "PAYERROR")]
    PayError,
}

impl TradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::NotPay => "NOTPAY",
            TradeState::UserPaying => "USERPAYING",
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Closed => "CLOSED",
            TradeState::PayError => "PAYERROR",
        }
    }

    /// `trade_state_desc`, in WeChat's words.
    pub fn description(self) -> &'static str {
        match self {
            TradeState::NotPay => "订单未支付",
            TradeState::UserPaying => "需要用户输入支付密码",
            TradeState::Success => "支付成功",
            TradeState::Refund => "转入退款",
            TradeState::Closed => "订单已关闭",
            TradeState::PayError => "支付失败，请重新下单支付",
        }
    }

    /// Money was taken (whatever was refunded since).
    pub fn is_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }

    /// The payer may still pay.
    pub fn is_open(self) -> bool {
        matches!(self, TradeState::NotPay | TradeState::UserPaying)
    }
}

impl fmt::Display for TradeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
