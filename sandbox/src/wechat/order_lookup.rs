//! Which order a query or refund names: `transaction_id` wins over `out_trade_no`
//! when both are sent (wechat.md §6).

use super::Fields;
use super::answer::PayError;
use super::fields::optional;
use super::orders::{OrderBook, WechatOrder};

pub fn find_order(orders: &OrderBook, params: &Fields) -> Result<WechatOrder, PayError> {
    let found = match (optional(params, "transaction_id"), optional(params, "out_trade_no")) {
        (Some(transaction_id), _) => orders.by_transaction_id(transaction_id),
        (None, Some(out_trade_no)) => orders.get(out_trade_no),
        (None, None) => return Err(PayError::lack("out_trade_no")),
    };
    found.ok_or_else(|| PayError::Business("ORDERNOTEXIST", "订单不存在".into()))
}
