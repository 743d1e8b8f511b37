//! `refund_create/` and `refund_query/` (douyin-trade.md §5). A refund names the item
//! orders it takes money from (or `refund_all`); refunds in flight count as done.

use super::envelope::{TradeBody, error, ok};
use super::orders::{TradeOrder, TradePayStatus};
use super::refunds::{AUDIT_WINDOW_MS, ItemRefund, NewTradeRefund, RefundOrigin, TradeRefund, new_refund_id};
use super::{TradeState, codes, schema};
use crate::clock::now_millis;
use crate::douyin::params::{self, ParamError};
use crate::notify_url;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

const REASON_CODES: [i64; 4] = [101, 102, 103, 999];
const MAX_REASONS: usize = 10;
/// "< 50 chars".
const REASON_TEXT_MAX_CHARS: usize = 49;
/// "under 100 entries".
const MAX_ITEM_DETAILS: usize = 99;
const CP_EXTRA_MAX_BYTES: usize = 2048;

/// Why a refund is refused: the `err_no` and the message.
struct Refusal(i64, String);

impl From<ParamError> for Refusal {
    fn from(ParamError(msg): ParamError) -> Refusal {
        Refusal(codes::PARAMETER, msg)
    }
}

/// `POST /api/trade_basic/v1/developer/refund_create/`: idempotent on
/// `out_refund_no` for the same body; another body with that number is refused.
pub async fn refund_create(State(state): State<SharedState>, TradeBody(params): TradeBody) -> Json<Value> {
    let mut trade = lock(&state.trade);
    match create(&mut trade, params, now_millis()) {
        Ok(refund) => ok(json!({
            "refund_id": refund.refund_id,
            "refund_audit_deadline": refund.refund_audit_deadline,
        })),
        Err(Refusal(err_no, msg)) => error(err_no, msg),
    }
}

fn create(trade: &mut TradeState, params: Map<String, Value>, now: i64) -> Result<TradeRefund, Refusal> {
    let out_refund_no = params::required_merchant_no(&params, "out_refund_no")?;
    if let Some(existing) = trade.refunds.by_out_refund_no(out_refund_no) {
        if existing.request.as_ref() == Some(&params) {
            return Ok(existing.clone());
        }
        return Err(Refusal(
            codes::PARAMETER,
            format!("out_refund_no {out_refund_no} is already used by a refund with other parameters"),
        ));
    }
    let order_id = params::required_str(&params, "order_id")?;
    let reasons = refund_reasons(&params)?;
    let refund_all = match params.get("refund_all") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(all)) => *all,
        Some(_) => return Err(ParamError::new("refund_all", "must be a boolean").into()),
    };
    let stated_total = params::optional_int(&params, "refund_total_amount", 1..=i64::MAX)?;
    // The refund-detail page, required (douyin-trade.md §5, [ZY]); a missing one is the
    // common parameter error 10000, as the reference names no code of its own.
    let entry_schema = params
        .get("order_entry_schema")
        .ok_or_else(|| ParamError::new("order_entry_schema", "is required"))?;
    schema::check("order_entry_schema", entry_schema)?;
    let notify_url = params::optional_notify_url(&params, "notify_url", notify_url::TRADE)?;
    let cp_extra = params::optional_bounded_str(&params, "cp_extra", CP_EXTRA_MAX_BYTES)?;
    if let Some(currency) = params::optional_str(&params, "currency")?
        && !matches!(currency, "CNY" | "DIAMOND")
    {
        return Err(ParamError::new("currency", format!("{currency:?} is neither CNY nor DIAMOND")).into());
    }

    let order = trade
        .orders
        .by_order_id(order_id)
        .ok_or_else(|| Refusal(codes::NOT_FOUND, format!("order {order_id} not found")))?;
    let order = trade.order_view(order, now);
    let detail = if refund_all {
        if params.contains_key("item_order_detail") {
            return Err(ParamError::new("item_order_detail", "must be left out with refund_all").into());
        }
        whole_order(trade, &order)?
    } else {
        item_order_detail(&params)?
    };
    check_refundable(trade, &order, &detail)?;
    let total: i64 = detail.iter().map(|d| d.refund_amount).sum();
    if stated_total.is_some_and(|stated| stated != total) {
        let problem = format!("is not the sum {total} of item_order_detail");
        return Err(ParamError::new("refund_total_amount", problem).into());
    }
    let new = NewTradeRefund {
        refund_id: new_refund_id(),
        out_refund_no: out_refund_no.to_owned(),
        item_order_detail: detail,
        origin: RefundOrigin::Developer,
        reasons,
        cp_extra: cp_extra.unwrap_or_default().to_owned(),
        notify_url: notify_url.map(str::to_owned),
        refund_audit_deadline: now + AUDIT_WINDOW_MS,
        request: Some(params.clone()),
    };
    Ok(trade.refunds.create(&order, new, now))
}

/// `refund_reason`: 1 to 10 `{code, text}`.
fn refund_reasons(params: &Map<String, Value>) -> Result<Vec<String>, ParamError> {
    let field = "refund_reason";
    let reasons = match params.get(field) {
        Some(Value::Array(reasons)) => reasons,
        None | Some(Value::Null) => return Err(ParamError::new(field, "is required")),
        Some(_) => return Err(ParamError::new(field, "must be an array of {code, text}")),
    };
    if reasons.is_empty() || reasons.len() > MAX_REASONS {
        return Err(ParamError::new(
            field,
            format!("has {} items; 1 to {MAX_REASONS} are allowed", reasons.len()),
        ));
    }
    reasons
        .iter()
        .enumerate()
        .map(|(index, reason)| {
            let path = format!("{field}[{index}]");
            let Value::Object(reason) = reason else {
                return Err(ParamError::new(&path, "must be an object {code, text}"));
            };
            let read = || {
                let code = params::required_int(reason, "code", 0..=i64::MAX)?;
                if !REASON_CODES.contains(&code) {
                    return Err(ParamError::new(
                        "code",
                        format!("{code} is not one of 101, 102, 103, 999"),
                    ));
                }
                let text = params::required_str(reason, "text")?;
                params::max_chars("text", text, REASON_TEXT_MAX_CHARS)?;
                Ok(text.to_owned())
            };
            read().map_err(|e: ParamError| e.inside(&path))
        })
        .collect()
}

/// `item_order_detail`: 1 to 99 `{item_order_id, refund_amount}`.
fn item_order_detail(params: &Map<String, Value>) -> Result<Vec<ItemRefund>, ParamError> {
    let field = "item_order_detail";
    let items = match params.get(field) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Err(ParamError::new(field, "is required unless refund_all is true")),
        Some(_) => {
            return Err(ParamError::new(
                field,
                "must be an array of {item_order_id, refund_amount}",
            ));
        }
    };
    if items.is_empty() || items.len() > MAX_ITEM_DETAILS {
        return Err(ParamError::new(
            field,
            format!("has {} items; 1 to {MAX_ITEM_DETAILS} are allowed", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("{field}[{index}]");
            let Value::Object(item) = item else {
                return Err(ParamError::new(
                    &path,
                    "must be an object {item_order_id, refund_amount}",
                ));
            };
            let read = || {
                Ok(ItemRefund {
                    item_order_id: params::required_str(item, "item_order_id")?.to_owned(),
                    refund_amount: params::required_int(item, "refund_amount", 1..=i64::MAX)?,
                })
            };
            read().map_err(|e: ParamError| e.inside(&path))
        })
        .collect()
}

/// `refund_all`: every item order in full, allowed only before any refund.
fn whole_order(trade: &TradeState, order: &TradeOrder) -> Result<Vec<ItemRefund>, ParamError> {
    if trade.refunds.has_live_refund(&order.order_id) {
        return Err(ParamError::new(
            "refund_all",
            "is only allowed when the order had no refund",
        ));
    }
    Ok(trade.refunds.remaining(order))
}

/// The order is paid, each item order is the order's, appears once and keeps enough.
pub fn check_refundable(trade: &TradeState, order: &TradeOrder, detail: &[ItemRefund]) -> Result<(), ParamError> {
    if order.pay_status != TradePayStatus::Success {
        let problem = format!("{} is {}, not paid", order.order_id, order.pay_status.as_str());
        return Err(ParamError::new("order_id", problem));
    }
    let remaining = trade.refunds.remaining(order);
    for (index, item) in detail.iter().enumerate() {
        let path = format!("item_order_detail[{index}]");
        if detail[..index]
            .iter()
            .any(|earlier| earlier.item_order_id == item.item_order_id)
        {
            return Err(ParamError::new(
                &path,
                format!("repeats item_order_id {}", item.item_order_id),
            ));
        }
        let Some(left) = remaining.iter().find(|r| r.item_order_id == item.item_order_id) else {
            return Err(ParamError::new(
                &path,
                format!("item_order_id {} is not an item of this order", item.item_order_id),
            ));
        };
        if item.refund_amount > left.refund_amount {
            let problem = format!(
                "refund_amount {} exceeds the {} left to refund of item order {} (refunds in flight count)",
                item.refund_amount, left.refund_amount, item.item_order_id
            );
            return Err(ParamError::new(&path, problem));
        }
    }
    Ok(())
}

/// `POST /api/trade_basic/v1/developer/refund_query/`: by `refund_id`, else
/// `out_refund_no`, else `order_id` (all the order's refunds).
pub async fn refund_query(State(state): State<SharedState>, TradeBody(params): TradeBody) -> Json<Value> {
    let trade = lock(&state.trade);
    let found: Vec<&TradeRefund> = match lookup(&params) {
        Ok(Lookup::RefundId(id)) => trade.refunds.get(id).into_iter().collect(),
        Ok(Lookup::OutRefundNo(no)) => trade.refunds.by_out_refund_no(no).into_iter().collect(),
        Ok(Lookup::OrderId(id)) => trade.refunds.of_order(id).collect(),
        Err(ParamError(msg)) => return error(codes::PARAMETER, msg),
    };
    let refund_list: Vec<Value> = found.into_iter().map(refund_entry).collect();
    ok(json!({ "refund_list": refund_list }))
}

enum Lookup<'a> {
    RefundId(&'a str),
    OutRefundNo(&'a str),
    OrderId(&'a str),
}

fn lookup(params: &Map<String, Value>) -> Result<Lookup<'_>, ParamError> {
    if let Some(id) = params::optional_str(params, "refund_id")? {
        return Ok(Lookup::RefundId(id));
    }
    if let Some(no) = params::optional_str(params, "out_refund_no")? {
        return Ok(Lookup::OutRefundNo(no));
    }
    match params::optional_str(params, "order_id")? {
        Some(id) => Ok(Lookup::OrderId(id)),
        None => Err(ParamError::new("refund_id", "or out_refund_no or order_id is required")),
    }
}

fn refund_entry(refund: &TradeRefund) -> Value {
    let mut entry = json!({
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "order_id": refund.order_id,
        "refund_status": refund.status.as_str(),
        "refund_total_amount": refund.refund_total_amount,
        "message": refund.message(),
        "item_order_detail": refund.item_order_detail,
        "create_at": refund.create_at,
    });
    if let Some(refund_at) = refund.refund_at {
        entry["refund_at"] = json!(refund_at);
    }
    entry
}
