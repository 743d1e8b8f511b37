//! Settlement (分账) of paid orders, asked for by the back office.

use crate::app::App;
use crate::channel::Channel;
use crate::domain::ids::{valid_back_office_no, valid_out_order_no};
use crate::domain::order::OrderStatus;
use crate::domain::refund::{SettleReceiver, SettleStatus, Settlement, check_receivers};
use crate::domain::time::now_secs;
use crate::error::ApiError;
use crate::store::Store;
use crate::store::{BeginSettle, Finish};
use serde::{Deserialize, Serialize};

const DESC_MAX_CHARS: usize = 80;

#[derive(Debug, Deserialize)]
pub struct SettleRequest {
    pub out_order_no: String,
    pub out_settle_no: String,
    pub settle_desc: String,
    #[serde(default)]
    pub settle_params: Option<Vec<SettleReceiver>>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SettleAnswer {
    pub out_settle_no: String,
    pub settle_no: String,
    pub status: SettleStatus,
}

pub async fn settle<S: Store + ?Sized>(app: &App<S>, request: SettleRequest) -> Result<SettleAnswer, ApiError> {
    if !valid_out_order_no(&request.out_order_no) {
        return Err(ApiError::invalid("out_order_no must be up to 32 of [0-9A-Za-z_-]"));
    }
    if !valid_back_office_no(&request.out_settle_no) {
        return Err(ApiError::invalid("out_settle_no must be up to 64 of [0-9A-Za-z_-]"));
    }
    let desc = request.settle_desc.trim();
    if desc.is_empty() || desc.chars().count() > DESC_MAX_CHARS {
        return Err(ApiError::invalid(format!(
            "settle_desc must be 1 to {DESC_MAX_CHARS} characters"
        )));
    }
    let not_found = || ApiError::not_found(format!("no order {}", request.out_order_no));
    let order = app
        .store
        .get_order(&request.out_order_no)
        .await?
        .ok_or_else(not_found)?;
    if !order.channel.settles() {
        return Err(ApiError::invalid(format!(
            "orders paid through {} are not settled",
            order.channel
        )));
    }
    let channel = app.channels.get(order.channel)?;
    let receivers = request.settle_params.unwrap_or_default();
    // The receivers' 30 % is of what the merchant keeps: the paid amount less refunds.
    check_receivers(&receivers, order.total_amount - order.refunded_amount).map_err(ApiError::invalid)?;
    let settle_params = serde_json::to_string(&receivers).map_err(|_| ApiError::internal("cannot encode receivers"))?;
    let now = now_secs();
    let settlement = Settlement {
        out_settle_no: request.out_settle_no.clone(),
        out_order_no: request.out_order_no.clone(),
        settle_desc: desc.to_owned(),
        settle_params,
        status: SettleStatus::Processing,
        settle_no: None,
        created_at: now,
        updated_at: now,
    };
    match app.store.begin_settle(&settlement, order.refunded_amount).await? {
        BeginSettle::Started(s) => submit(app, channel, s).await,
        BeginSettle::Exists(existing) => {
            let same = existing.out_order_no == settlement.out_order_no
                && existing.settle_desc == settlement.settle_desc
                && existing.settle_params == settlement.settle_params;
            if !same {
                return Err(ApiError::conflict(format!(
                    "out_settle_no {} was used for another settlement",
                    request.out_settle_no
                )));
            }
            if existing.settle_no.is_none() && existing.status == SettleStatus::Processing {
                return submit(app, channel, existing).await;
            }
            Ok(answer(&existing))
        }
        BeginSettle::OrderNotFound => Err(not_found()),
        BeginSettle::RefundInFlight(order) => Err(ApiError::conflict(format!(
            "order {} has {} fen of refunds in flight: settle it once they have ended",
            order.out_order_no, order.refunding_amount
        ))),
        BeginSettle::OrderChanged(order) => Err(ApiError::conflict(format!(
            "a refund of order {} ended meanwhile; repeat the request",
            order.out_order_no
        ))),
        BeginSettle::NotPaid(order) => Err(ApiError::conflict(format!(
            "order {} is {}: only a paid order can be settled",
            order.out_order_no,
            if order.status == OrderStatus::Paid {
                "busy"
            } else {
                order.status.as_str()
            }
        ))),
    }
}

fn answer(s: &Settlement) -> SettleAnswer {
    SettleAnswer {
        out_settle_no: s.out_settle_no.clone(),
        settle_no: s.settle_no.clone().unwrap_or_default(),
        status: s.status,
    }
}

/// Sends a recorded settlement; marked FAIL only on the platform's certain refusal, an
/// unknown outcome leaves it PROCESSING for a callback, a query or the reconciler.
pub(crate) async fn submit<S: Store + ?Sized>(
    app: &App<S>,
    channel: &dyn Channel,
    settlement: Settlement,
) -> Result<SettleAnswer, ApiError> {
    match channel.settle(&settlement).await {
        Ok(settle_no) => {
            let stored = app
                .store
                .record_settle_no(&settlement.out_settle_no, &settle_no, now_secs())
                .await?;
            Ok(answer(&stored.unwrap_or(Settlement {
                settle_no: Some(settle_no),
                ..settlement
            })))
        }
        Err(err) if err.is_certain_refusal() => {
            app.store
                .finish_settle(&settlement.out_settle_no, SettleStatus::Fail, now_secs())
                .await?;
            Err(err.into())
        }
        Err(err) => {
            tracing::warn!(out_settle_no = %settlement.out_settle_no, error = %err, "settlement outcome unknown; kept in flight");
            Err(err.into())
        }
    }
}

/// Asks the platform about an in-flight settlement and records a final answer; the
/// settlement as stored afterwards, and whether the platform has never heard of it.
pub(crate) async fn check_settlement<S: Store + ?Sized>(
    app: &App<S>,
    channel: &dyn Channel,
    settlement: Settlement,
) -> Result<(Settlement, bool), ApiError> {
    let no = settlement.out_settle_no.as_str();
    let query = channel.query_settle(&settlement).await?;
    let Some(query) = query else {
        return Ok((settlement, true));
    };
    let now = now_secs();
    let stored = match query.status {
        SettleStatus::Processing if settlement.settle_no.is_none() && !query.platform_no.is_empty() => app
            .store
            .record_settle_no(no, &query.platform_no, now)
            .await?
            .unwrap_or(settlement),
        SettleStatus::Processing => settlement,
        status => match app.store.finish_settle(no, status, now).await? {
            Finish::Applied(s) | Finish::AlreadyFinished(s) => s,
            Finish::NotFound => return Err(ApiError::not_found(format!("no settlement {no}"))),
        },
    };
    Ok((stored, false))
}
