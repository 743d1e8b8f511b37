//! `POST /pay/orderquery` (wechat.md §6): the order's `trade_state` and, once paid,
//! the payment (`transaction_id`, `time_end`, `bank_type`, `cash_fee`).

use super::Fields;
use super::answer::XmlAnswer;
use super::auth::authenticate;
use super::fields::required;
use super::order_lookup::find_order;
use super::orders::WechatOrder;
use super::xml_body::WechatXml;
use crate::clock::beijing_compact;
use crate::state::{SharedState, lock};
use axum::extract::State;

/// The sandbox's payers all pay by this debit card.
pub const BANK_TYPE: &str = "CMB_DEBIT";

pub async fn order_query(State(state): State<SharedState>, WechatXml(params): WechatXml) -> XmlAnswer {
    let answerer = match authenticate(&state.config, &params) {
        Ok(answerer) => answerer,
        Err(answer) => return answer,
    };
    let result = required(&params, "nonce_str")
        .and_then(|_| find_order(&lock(&state.wechat).orders, &params))
        .map(|order| query_fields(&order));
    answerer.answer(result)
}

fn query_fields(order: &WechatOrder) -> Fields {
    let mut fields = Fields::new();
    let mut put = |name: &str, value: String| {
        fields.insert(name.to_owned(), value);
    };
    put("out_trade_no", order.out_trade_no.clone());
    put("trade_state", order.trade_state.as_str().to_owned());
    put("trade_state_desc", order.trade_state.description().to_owned());
    put("trade_type", order.trade_type.clone());
    put("total_fee", order.total_fee.to_string());
    put("fee_type", "CNY".to_owned());
    put("openid", order.openid.clone().unwrap_or_default());
    put("attach", order.attach.clone().unwrap_or_default());
    if order.trade_state.is_paid() {
        put("transaction_id", order.transaction_id.clone().unwrap_or_default());
        put("time_end", order.paid_at.map(beijing_compact).unwrap_or_default());
        put("bank_type", BANK_TYPE.to_owned());
        put("cash_fee", order.total_fee.to_string());
        put("is_subscribe", "N".to_owned());
    }
    // Empty values are neither signed nor worth sending.
    fields.retain(|_, value| !value.is_empty());
    fields
}
