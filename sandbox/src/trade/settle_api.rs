//! `settle_create/` and `settle_query/` (douyin-trade.md §5). Unlike ecpay's `settle`,
//! `settle_create/` is not idempotent: a repeated `out_settle_no` is 23111 and the
//! backend has to query it.

use super::envelope::{TradeBody, error, ok};
use super::orders::TradePayStatus;
use super::settles::{NewTradeSettle, TradeSettle};
use super::{TradeState, codes};
use crate::clock::now_millis;
use crate::douyin::TransferStatus;
use crate::douyin::params::{self, ParamError};
use crate::douyin::settle_params;
use crate::notify_url;
use crate::settlement_rules;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

const SETTLE_DESC_MAX_CHARS: usize = 80;
const CP_EXTRA_MAX_BYTES: usize = 2048;

/// `POST /api/trade_basic/v1/developer/settle_create/`.
pub async fn settle_create(State(state): State<SharedState>, TradeBody(params): TradeBody) -> Json<Value> {
    let mut trade = lock(&state.trade);
    match create(&mut trade, &params, now_millis()) {
        Ok(settle) => ok(json!({ "settle_id": settle.settle_id, "wallet_settle_id": settle.wallet_settle_id })),
        Err((err_no, msg)) => error(err_no, msg),
    }
}

fn create(trade: &mut TradeState, params: &Map<String, Value>, now: i64) -> Result<TradeSettle, (i64, String)> {
    let parameter = |ParamError(msg)| (codes::PARAMETER, msg);
    let out_order_no = params::required_str(params, "out_order_no").map_err(parameter)?;
    let out_settle_no = params::required_merchant_no(params, "out_settle_no").map_err(parameter)?;
    let settle_desc = params::required_str(params, "settle_desc").map_err(parameter)?;
    params::max_chars("settle_desc", settle_desc, SETTLE_DESC_MAX_CHARS).map_err(parameter)?;
    let notify_url = params::optional_notify_url(params, "notify_url", notify_url::TRADE).map_err(parameter)?;
    let cp_extra = params::optional_bounded_str(params, "cp_extra", CP_EXTRA_MAX_BYTES).map_err(parameter)?;
    let receivers = match params::optional_str(params, "settle_params").map_err(parameter)? {
        Some(text) => settle_params::parse(text).map_err(parameter)?.receivers,
        None => Vec::new(),
    };

    if trade.settles.by_out_settle_no(out_settle_no).is_some() {
        let msg = format!("out_settle_no {out_settle_no} already exists; query it with settle_query");
        return Err((codes::SETTLE_NO_EXISTS, msg));
    }
    let order = trade
        .orders
        .get(out_order_no)
        .ok_or_else(|| (codes::SETTLE_ORDER_NOT_FOUND, format!("order {out_order_no} not found")))?;
    let order = trade.order_view(order, now);
    if order.pay_status != TradePayStatus::Success {
        let msg = format!("order {out_order_no} is {}, not paid", order.pay_status.as_str());
        return Err((codes::SETTLE_ORDER_NOT_PAID, msg));
    }
    let paid_at = order.payment.as_ref().map_or(now, |payment| payment.pay_time);
    if let Some(problem) = settlement_rules::too_early(paid_at.div_euclid(1000), now.div_euclid(1000)) {
        return Err((codes::SETTLE_NOT_FINISHED, format!("order {out_order_no}: {problem}")));
    }
    if order.refunding_amount > 0 {
        let msg = format!(
            "order {out_order_no}: a refund of {} is in flight; settle once it has ended",
            order.refunding_amount
        );
        return Err((codes::SETTLE_NOT_FINISHED, msg));
    }
    let settle_amount = order.total_amount - order.refunded_amount;
    if trade.settles.is_settled(&order.order_id) || settle_amount <= 0 {
        let msg = format!("order {out_order_no} has nothing left to settle");
        return Err((codes::SETTLE_NOTHING_LEFT, msg));
    }
    let shared: i64 = receivers.iter().map(|r| r.amount).sum();
    if shared > settle_amount {
        let problem = format!("gives receivers {shared}, more than the {settle_amount} to settle");
        return Err(parameter(ParamError::new("settle_params", problem)));
    }
    let new = NewTradeSettle {
        out_settle_no: out_settle_no.to_owned(),
        order_id: order.order_id.clone(),
        out_order_no: order.out_order_no.clone(),
        settle_desc: settle_desc.to_owned(),
        receivers,
        cp_extra: cp_extra.unwrap_or_default().to_owned(),
        notify_url: notify_url.map(str::to_owned),
        settle_amount,
    };
    Ok(trade.settles.create(new, now))
}

/// `POST /api/trade_basic/v1/developer/settle_query/`: by `settle_id`, else
/// `order_id`, else `out_settle_no`, else `out_order_no` (the legacy page's priority);
/// `data` is an array, empty when nothing matches.
pub async fn settle_query(State(state): State<SharedState>, TradeBody(params): TradeBody) -> Json<Value> {
    let mut key = None;
    for field in ["settle_id", "order_id", "out_settle_no", "out_order_no"] {
        match params::optional_str(&params, field) {
            Ok(Some(value)) => {
                key = Some((field, value));
                break;
            }
            Ok(None) => {}
            Err(ParamError(msg)) => return error(codes::PARAMETER, msg),
        }
    }
    let Some((field, value)) = key else {
        return error(
            codes::PARAMETER,
            "参数错误: one of settle_id, order_id, out_settle_no, out_order_no is required",
        );
    };
    let trade = lock(&state.trade);
    let matches = |settle: &&TradeSettle| match field {
        "settle_id" => settle.settle_id == value,
        "order_id" => settle.order_id == value,
        "out_settle_no" => settle.out_settle_no == value,
        _ => settle.out_order_no == value,
    };
    let list: Vec<Value> = trade.settles.all().filter(matches).map(settle_entry).collect();
    ok(Value::Array(list))
}

fn settle_entry(settle: &TradeSettle) -> Value {
    let mut entry = json!({
        "settle_id": settle.settle_id,
        "out_settle_no": settle.out_settle_no,
        "order_id": settle.order_id,
        "out_order_no": settle.out_order_no,
        "settle_status": settle.status.as_str(),
        "settle_amount": settle.settle_amount,
        "rake": 0,
        "commission": 0,
        "cp_extra": settle.cp_extra,
    });
    if settle.status != TransferStatus::Processing
        && let Some(settle_at) = settle.settle_at
    {
        entry["settle_at"] = json!(settle_at);
    }
    entry
}
