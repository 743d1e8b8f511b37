//! A user asking for a refund on the platform's order page: the `pre_create_refund`
//! callback, whose synchronous reply must give the refund the backend's
//! `out_refund_no` (douyin-trade.md §6). Without a good reply there is no refund yet:
//! the application stays pending and the platform sends it again.

use super::callback::{self, Kind};
use super::orders::TradePayStatus;
use super::refunds::{AUDIT_WINDOW_MS, ItemRefund, NewTradeRefund, RefundOrigin, new_refund_id, spread};
use super::{configured, schema};
use crate::clock::now_millis;
use crate::delivery::Delivery;
use crate::douyin::params::{self, ParamError};
use crate::douyin::{CallbackOptions, login};
use crate::error::SandboxError;
use crate::notify_url;
use crate::state::{State, lock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The user every trade order belongs to (requestOrder does not say who pays).
pub const TRADE_USER: &str = "sandbox-trade-user";
/// "需要审核" per the sandbox; the docs leave the meaning of 1 and 2 open.
const NEED_REFUND_AUDIT: i64 = 2;

/// The `msg` of `pre_create_refund`, fields in the order of the platform's table.
#[derive(Serialize)]
struct PreCreateRefundMsg<'a> {
    app_id: &'a str,
    open_id: &'a str,
    refund_id: &'a str,
    order_id: &'a str,
    out_order_no: &'a str,
    refund_total_amount: i64,
    need_refund_audit: i64,
    refund_audit_deadline: i64,
    create_refund_time: i64,
    refund_reason: [&'a str; 1],
    refund_description: &'a str,
    cp_extra: &'a str,
    refund_source: i64,
    currency: &'a str,
    refund_item_detail: RefundItemDetail<'a>,
}

#[derive(Serialize)]
struct RefundItemDetail<'a> {
    item_order_quantity: usize,
    item_order_detail: &'a [ItemRefund],
}

/// What `trade_user_refund` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeUserRefund {
    /// The platform's id, made before asking the backend (in the callback).
    pub refund_id: String,
    pub deliveries: Vec<Delivery>,
    /// The backend's number from the first good reply; `None`: no refund was made.
    pub out_refund_no: Option<String>,
}

/// A refund application the backend has not accepted yet: the platform keeps it and
/// sends the same `pre_create_refund` again (douyin-trade.md §6: "No correct reply:
/// retries, a stuck refund").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUserRefund {
    pub out_order_no: String,
    pub amount: i64,
    pub reason: String,
    /// The `msg` exactly as first sent: a retry carries the same one.
    pub msg: String,
    /// Unix ms of the application.
    pub created_at: i64,
}

/// Sends `pre_create_refund` for `amount` of a paid order and, on a good reply,
/// makes the refund (PROCESSING); without one the application stays pending, for
/// [`retry`].
pub async fn user_refund(
    state: &State,
    out_order_no: &str,
    amount: i64,
    reason: &str,
    options: CallbackOptions,
) -> Result<TradeUserRefund, SandboxError> {
    configured(state)?;
    let now = now_millis();
    let refund_id = new_refund_id();
    {
        let mut trade = lock(&state.trade);
        let order = trade
            .orders
            .get(out_order_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_order_no.to_owned()))?;
        let order = trade.order_view(order, now);
        if order.pay_status != TradePayStatus::Success {
            let problem = format!("order {out_order_no} is {}, not paid", order.pay_status.as_str());
            return Err(SandboxError::Conflict(problem));
        }
        let detail = refundable(&trade.refunds.remaining(&order), amount)?;
        // Checked before anything is kept, so that a refused call changes nothing.
        let what = format!("order {out_order_no}");
        options.target(order.notify_url.as_deref(), &state.config, &what)?;
        let open_id = login::openid_of(&state.config.app_id, TRADE_USER);
        let msg = PreCreateRefundMsg {
            app_id: &state.config.app_id,
            open_id: &open_id,
            refund_id: &refund_id,
            order_id: &order.order_id,
            out_order_no: &order.out_order_no,
            refund_total_amount: amount,
            need_refund_audit: NEED_REFUND_AUDIT,
            refund_audit_deadline: now + AUDIT_WINDOW_MS,
            create_refund_time: now,
            refund_reason: [reason],
            refund_description: "",
            cp_extra: "",
            refund_source: 1,
            currency: "CNY",
            refund_item_detail: RefundItemDetail {
                item_order_quantity: detail.len(),
                item_order_detail: &detail,
            },
        };
        let pending = PendingUserRefund {
            out_order_no: out_order_no.to_owned(),
            amount,
            reason: reason.to_owned(),
            msg: serde_json::to_string(&msg).expect("plain fields serialize"),
            created_at: now,
        };
        trade.pending_user_refunds.insert(refund_id.clone(), pending);
    }
    deliver(state, &refund_id, &options).await
}

/// Sends the pending application `refund_id` again, the same `msg`, as the platform
/// retries an application the backend did not accept; on a good reply the refund is
/// made. Refused for an unknown id and for one whose refund was made already.
pub async fn retry(state: &State, refund_id: &str, options: CallbackOptions) -> Result<TradeUserRefund, SandboxError> {
    configured(state)?;
    let unsent = {
        let trade = lock(&state.trade);
        match (
            trade.pending_user_refunds.contains_key(refund_id),
            trade.refunds.get(refund_id),
        ) {
            (true, _) => None,
            (false, Some(made)) => Some(SandboxError::Conflict(format!(
                "refund {refund_id} was made already, as {}",
                made.out_refund_no
            ))),
            (false, None) => Some(SandboxError::UnknownRefund(refund_id.to_owned())),
        }
    };
    match unsent {
        Some(error) => Err(error),
        None => deliver(state, refund_id, &options).await,
    }
}

/// Delivers the pending application and, on the first good reply, makes its refund.
async fn deliver(state: &State, refund_id: &str, options: &CallbackOptions) -> Result<TradeUserRefund, SandboxError> {
    let (_, keys) = configured(state)?;
    let (pending, url) = {
        let trade = lock(&state.trade);
        let pending = trade
            .pending_user_refunds
            .get(refund_id)
            .cloned()
            .ok_or_else(|| SandboxError::UnknownRefund(refund_id.to_owned()))?;
        let order_url = trade
            .orders
            .get(&pending.out_order_no)
            .and_then(|order| order.notify_url.clone());
        let what = format!("order {}", pending.out_order_no);
        (pending, options.target(order_url.as_deref(), &state.config, &what)?)
    };
    let deliveries = callback::send(&state.http, keys, &url, Kind::PreCreateRefund, &pending.msg, options).await;
    let Some(reply) = deliveries.iter().find_map(|delivery| good_reply(delivery).ok()) else {
        return Ok(TradeUserRefund {
            refund_id: refund_id.to_owned(),
            deliveries,
            out_refund_no: None,
        });
    };
    // The order may have changed while the backend answered: check again.
    let mut trade = lock(&state.trade);
    let order = trade.orders.get(&pending.out_order_no).cloned();
    let made = order.and_then(|order| {
        let detail = refundable(&trade.refunds.remaining(&order), pending.amount).ok()?;
        if trade.refunds.by_out_refund_no(&reply.out_refund_no).is_some() || trade.refunds.get(refund_id).is_some() {
            return None;
        }
        let new = NewTradeRefund {
            refund_id: refund_id.to_owned(),
            out_refund_no: reply.out_refund_no,
            item_order_detail: detail,
            origin: RefundOrigin::User,
            reasons: vec![pending.reason.clone()],
            cp_extra: String::new(),
            notify_url: reply.notify_url,
            refund_audit_deadline: pending.created_at + AUDIT_WINDOW_MS,
            request: None,
        };
        Some(trade.refunds.create(&order, new, pending.created_at).out_refund_no)
    });
    if made.is_some() {
        trade.pending_user_refunds.remove(refund_id);
    }
    Ok(TradeUserRefund {
        refund_id: refund_id.to_owned(),
        deliveries,
        out_refund_no: made,
    })
}

fn refundable(remaining: &[ItemRefund], amount: i64) -> Result<Vec<ItemRefund>, SandboxError> {
    spread(amount, remaining).ok_or_else(|| {
        let left: i64 = remaining.iter().map(|r| r.refund_amount).sum();
        SandboxError::Invalid(format!(
            "amount {amount} is not within the {left} left to refund (from 1)"
        ))
    })
}

/// What a good reply gives the refund.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub out_refund_no: String,
    pub notify_url: Option<String>,
}

/// HTTP 200 `{"err_no":0,"err_tips":…,"data":{"out_refund_no","order_entry_schema"}}`.
pub fn good_reply(delivery: &Delivery) -> Result<Reply, String> {
    if delivery.status != 200 {
        return Err(format!("HTTP {}", delivery.status));
    }
    let reply: Value = serde_json::from_str(&delivery.body).map_err(|e| format!("not JSON: {e}"))?;
    if reply.get("err_no").and_then(Value::as_i64) != Some(0) || !reply["err_no"].is_i64() {
        return Err("err_no is not the integer 0".into());
    }
    let Some(Value::Object(data)) = reply.get("data") else {
        return Err("data is not an object".into());
    };
    let read = || {
        let out_refund_no = params::required_str(data, "out_refund_no")?;
        params::merchant_no("out_refund_no", out_refund_no)?;
        let entry_schema = data
            .get("order_entry_schema")
            .ok_or_else(|| ParamError::new("order_entry_schema", "is required"))?;
        schema::check("order_entry_schema", entry_schema)?;
        let notify_url = params::optional_notify_url(data, "notify_url", notify_url::TRADE)?;
        Ok(Reply {
            out_refund_no: out_refund_no.to_owned(),
            notify_url: notify_url.map(str::to_owned),
        })
    };
    read().map_err(|ParamError(problem): ParamError| problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(status: u16, body: Value) -> Result<Reply, String> {
        good_reply(&Delivery {
            status,
            body: body.to_string(),
        })
    }

    #[test]
    fn only_a_complete_success_reply_is_good() {
        let schema = json!({"path": "pages/refund", "params": "{\"id\":\"1\"}"});
        let good =
            json!({"err_no": 0, "err_tips": "success", "data": {"out_refund_no": "R-1", "order_entry_schema": schema}});
        assert_eq!(reply(200, good.clone()).unwrap().out_refund_no, "R-1");
        assert!(reply(500, good.clone()).is_err());
        assert!(reply(200, json!({"err_no": 0, "err_tips": "success"})).is_err());
        assert!(reply(200, json!({"err_no": 1, "data": good["data"]})).is_err());
        assert!(reply(200, json!({"err_no": "0", "data": good["data"]})).is_err());
        let no_number = json!({"err_no": 0, "data": {"out_refund_no": "", "order_entry_schema": schema}});
        assert!(reply(200, no_number).unwrap_err().contains("out_refund_no is required"));
        let bad_path = json!({"err_no": 0, "data": {"out_refund_no": "R", "order_entry_schema": {"path": "/x"}}});
        assert!(reply(200, bad_path).unwrap_err().contains("must not start"));
        let no_schema = json!({"err_no": 0, "data": {"out_refund_no": "R"}});
        assert!(reply(200, no_schema).is_err());
    }
}
