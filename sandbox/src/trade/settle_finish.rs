//! A trade settlement finishing: the money left escrow or could not, then the
//! `settle` callback (douyin-trade.md §6) tells the backend.

use super::callback::{self, Kind};
use super::configured;
use super::settles::TradeSettle;
use crate::clock::now_millis;
use crate::delivery::Delivery;
use crate::douyin::{CallbackOptions, TransferStatus};
use crate::error::SandboxError;
use crate::state::{State, lock};
use serde::Serialize;

/// The `msg` of a settle callback, fields in the order of the (industry) example.
#[derive(Serialize)]
struct SettleMsg<'a> {
    app_id: &'a str,
    status: &'a str,
    order_id: &'a str,
    out_order_no: &'a str,
    out_settle_no: &'a str,
    settle_id: &'a str,
    settle_amount: i64,
    rake: i64,
    commission: i64,
    event_time: i64,
    message: &'a str,
    cp_extra: &'a str,
    is_auto_settle: bool,
}

pub fn settle_msg(app_id: &str, settle: &TradeSettle) -> String {
    let msg = SettleMsg {
        app_id,
        status: settle.status.as_str(),
        order_id: &settle.order_id,
        out_order_no: &settle.out_order_no,
        out_settle_no: &settle.out_settle_no,
        settle_id: &settle.settle_id,
        settle_amount: settle.settle_amount,
        rake: 0,
        commission: 0,
        event_time: settle.settle_at.unwrap_or_default(),
        message: settle.message(),
        cp_extra: &settle.cp_extra,
        is_auto_settle: false,
    };
    serde_json::to_string(&msg).expect("plain fields serialize")
}

/// Finishes the settlement (SUCCESS or FAIL, once), settling the order total minus
/// the refunds done by now, and sends the callback; a repeat only resends it.
pub async fn finish(
    state: &State,
    out_settle_no: &str,
    success: bool,
    options: CallbackOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let (_, keys) = configured(state)?;
    let (settle, url) = {
        let mut trade = lock(&state.trade);
        let current = trade
            .settles
            .by_out_settle_no(out_settle_no)
            .ok_or_else(|| SandboxError::UnknownSettle(out_settle_no.to_owned()))?;
        let order = trade.orders.get(&current.out_order_no);
        let stored = current
            .notify_url
            .as_deref()
            .or(order.and_then(|o| o.notify_url.as_deref()));
        let url = options.target(stored, &state.config, &format!("settlement {out_settle_no}"))?;
        let settle_amount = order.map_or(current.settle_amount, |order| {
            order.total_amount - trade.refunds.total(&order.order_id, TransferStatus::Success)
        });
        let outcome = TransferStatus::outcome(success);
        (
            trade
                .settles
                .finish(out_settle_no, outcome, settle_amount, now_millis())?,
            url,
        )
    };
    let msg = settle_msg(&state.config.app_id, &settle);
    Ok(callback::send(&state.http, keys, &url, Kind::Settle, &msg, &options).await)
}
