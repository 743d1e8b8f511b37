//! `order_query/` (douyin-trade.md §5): the order by `order_id` or `out_order_no`.

use super::envelope::{TradeBody, error, ok};
use super::orders::TradeOrder;
use super::{TradeState, codes};
use crate::clock::now_millis;
use crate::douyin::params::{self, ParamError};
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

/// The order named by `order_id` (first) or `out_order_no`, as stored.
pub fn find<'a>(trade: &'a TradeState, params: &Map<String, Value>) -> Result<Option<&'a TradeOrder>, ParamError> {
    let order_id = params::optional_str(params, "order_id")?;
    let out_order_no = params::optional_str(params, "out_order_no")?;
    Ok(match (order_id, out_order_no) {
        (Some(id), Some(no)) => trade.orders.by_order_id(id).filter(|order| order.out_order_no == no),
        (Some(id), None) => trade.orders.by_order_id(id),
        (None, Some(no)) => trade.orders.get(no),
        (None, None) => return Err(ParamError::new("order_id", "or out_order_no is required")),
    })
}

/// `POST /api/trade_basic/v1/developer/order_query/`.
pub async fn order_query(State(state): State<SharedState>, TradeBody(params): TradeBody) -> Json<Value> {
    let trade = lock(&state.trade);
    let order = match find(&trade, &params) {
        Ok(Some(order)) => trade.order_view(order, now_millis()),
        Ok(None) => return error(codes::NOT_FOUND, "order not found"),
        Err(ParamError(msg)) => return error(codes::PARAMETER, msg),
    };
    ok(order_data(&state.config.app_id, &order))
}

fn order_data(app_id: &str, order: &TradeOrder) -> Value {
    let mut data = json!({
        "order_id": order.order_id,
        "out_order_no": order.out_order_no,
        "app_id": app_id,
        "merchant_uid": order.merchant_uid,
        "pay_status": order.pay_status.as_str(),
        "channel_pay_id": order.payment.as_ref().map(|p| p.channel_pay_id.as_str()).unwrap_or_default(),
        "trade_time": order.trade_time,
        "total_amount": order.total_amount,
        "discount_amount": 0,
        "item_order_list": order.item_orders,
    });
    if let Some(payment) = &order.payment {
        data["pay_time"] = json!(payment.pay_time);
        data["pay_channel"] = json!(payment.pay_channel);
    }
    data
}
