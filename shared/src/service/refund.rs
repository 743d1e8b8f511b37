//! Refunds asked for by the back office, and what the platform says of them.

use crate::app::App;
use crate::channel::{RefundAtPlatform, RefundNotMade};
use crate::domain::ids::{valid_back_office_no, valid_out_order_no};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::refund::{REASON_MAX_CHARS, Refund, RefundStatus, USER_REFUND_PREFIX};
use crate::domain::time::now_secs;
use crate::error::{ApiError, PlatformError};
use crate::store::Store;
use crate::store::{BeginRefund, Finish};
use serde::{Deserialize, Serialize};

const DEFAULT_REASON: &str = "退款";

#[derive(Debug, Deserialize)]
pub struct RefundRequest {
    pub out_order_no: String,
    pub out_refund_no: String,
    pub refund_amount: i64,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RefundAnswer {
    pub out_refund_no: String,
    pub refund_no: String,
    pub status: RefundStatus,
    pub refund_amount: i64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RefundState {
    pub out_refund_no: String,
    pub out_order_no: String,
    pub refund_amount: i64,
    pub status: RefundStatus,
}

pub async fn refund<S: Store + ?Sized>(app: &App<S>, request: RefundRequest) -> Result<RefundAnswer, ApiError> {
    if !valid_out_order_no(&request.out_order_no) {
        return Err(ApiError::invalid("out_order_no must be up to 32 of [0-9A-Za-z_-]"));
    }
    if !valid_back_office_no(&request.out_refund_no) {
        return Err(ApiError::invalid("out_refund_no must be up to 64 of [0-9A-Za-z_-]"));
    }
    if request.out_refund_no.starts_with(USER_REFUND_PREFIX) {
        return Err(ApiError::invalid(format!(
            "out_refund_no may not start with {USER_REFUND_PREFIX}: those are refunds users start on Douyin"
        )));
    }
    if request.refund_amount < 1 {
        return Err(ApiError::invalid("refund_amount must be at least 1 fen"));
    }
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REASON);
    if reason.chars().count() > REASON_MAX_CHARS {
        return Err(ApiError::invalid(format!(
            "reason must be at most {REASON_MAX_CHARS} characters"
        )));
    }
    let not_found = || ApiError::not_found(format!("no order {}", request.out_order_no));
    let order = app
        .store
        .get_order(&request.out_order_no)
        .await?
        .ok_or_else(not_found)?;
    app.channels.get(order.channel).map_err(|_| {
        ApiError::invalid(format!(
            "the {} channel of order {} is not configured on this deployment",
            order.channel, order.out_order_no
        ))
    })?;
    let now = now_secs();
    let refund = Refund {
        out_refund_no: request.out_refund_no.clone(),
        out_order_no: request.out_order_no.clone(),
        refund_amount: request.refund_amount,
        reason: reason.to_owned(),
        status: RefundStatus::Processing,
        refund_no: None,
        all_settle: order.settled(),
        created_at: now,
        updated_at: now,
        attention: None,
    };
    match app.store.begin_refund(&refund).await? {
        BeginRefund::Started(refund) => submit(app, &order, refund).await,
        BeginRefund::Exists(existing) => {
            if !existing.same_request(&request.out_order_no, request.refund_amount, reason) {
                return Err(ApiError::conflict(format!(
                    "out_refund_no {} was used for another refund",
                    request.out_refund_no
                )));
            }
            if existing.refund_no.is_none() && existing.status == RefundStatus::Processing {
                // An earlier attempt stopped before the platform answered: finish it.
                return submit(app, &order, existing).await;
            }
            Ok(answer(&existing))
        }
        BeginRefund::OrderNotFound => Err(not_found()),
        BeginRefund::NotRefundable(order) if order.status != OrderStatus::Paid => Err(ApiError::conflict(format!(
            "order {} is {}, not PAID: nothing to refund",
            order.out_order_no, order.status
        ))),
        BeginRefund::NotRefundable(order) => Err(ApiError::conflict(format!(
            "refund of {} fen exceeds the {} fen left to refund on order {}",
            request.refund_amount,
            order.refundable(),
            order.out_order_no
        ))),
    }
}

fn answer(refund: &Refund) -> RefundAnswer {
    RefundAnswer {
        out_refund_no: refund.out_refund_no.clone(),
        refund_no: refund.refund_no.clone().unwrap_or_default(),
        status: refund.status,
        refund_amount: refund.refund_amount,
    }
}

/// Asks the platform for a recorded refund. It is idempotent on `out_refund_no`, so a
/// repeat after a failure in between asks for the same refund. The amount is released
/// only on a certain refusal; on an unknown outcome the refund stays PROCESSING and a
/// callback, a query or the reconciler decides. `order` is the refund's order as read
/// before the refund began: its channel, numbers and total do not change meanwhile, so
/// it is read again only for a channel that reads its refunded amounts.
pub(crate) async fn submit<S: Store + ?Sized>(
    app: &App<S>,
    order: &Order,
    refund: Refund,
) -> Result<RefundAnswer, ApiError> {
    match ask_platform(app, order, &refund).await {
        Ok(refund_no) => {
            let stored = app
                .store
                .record_refund_no(&refund.out_refund_no, &refund_no, now_secs())
                .await?;
            Ok(answer(&stored.unwrap_or(Refund {
                refund_no: Some(refund_no),
                ..refund
            })))
        }
        Err(RefundNotMade::Platform(err)) if err.is_certain_refusal() => {
            app.store.finish_refund(&refund, false, now_secs()).await?;
            Err(err.into())
        }
        Err(RefundNotMade::Platform(err)) => {
            tracing::warn!(out_refund_no = %refund.out_refund_no, error = %err, "refund outcome unknown; kept in flight");
            Err(err.into())
        }
        Err(RefundNotMade::Unallocatable(why)) => {
            app.store.finish_refund(&refund, false, now_secs()).await?;
            Err(ApiError::conflict(why))
        }
    }
}

/// Sends the refund to the order's channel; the platform's refund number.
async fn ask_platform<S: Store + ?Sized>(
    app: &App<S>,
    order: &Order,
    refund: &Refund,
) -> Result<String, RefundNotMade> {
    let channel = app.channels.get(order.channel)?;
    if !channel.refund_reads_refunds() {
        return channel.refund(order, refund).await;
    }
    let current = app
        .store
        .get_order(&refund.out_order_no)
        .await
        .map_err(|e| PlatformError::Unavailable(e.to_string()))?
        .ok_or_else(|| PlatformError::Unavailable("order vanished".into()))?;
    channel.refund(&current, refund).await
}

/// Asks the order's channel about a refund.
async fn ask_refund<S: Store + ?Sized>(
    app: &App<S>,
    order: Option<&Order>,
    refund: &Refund,
) -> Result<RefundAtPlatform, PlatformError> {
    let Some(order) = order else {
        return Err(PlatformError::Unavailable("the refund's order is missing".into()));
    };
    app.channels.get(order.channel)?.query_refund(order, refund).await
}

/// Asks the platform about an in-flight refund and records what it says for certain;
/// the refund as stored afterwards, and whether the platform has never heard of it.
pub(crate) async fn check_refund<S: Store + ?Sized>(app: &App<S>, refund: Refund) -> Result<(Refund, bool), ApiError> {
    let order = app.store.get_order(&refund.out_order_no).await?;
    let now = now_secs();
    let finished = |found: Finish<Refund>| match found {
        Finish::Applied(r) | Finish::AlreadyFinished(r) => Ok(r),
        Finish::NotFound => Err(ApiError::not_found(format!("no refund {}", refund.out_refund_no))),
    };
    Ok(match ask_refund(app, order.as_ref(), &refund).await? {
        RefundAtPlatform::Unknown => (refund, true),
        RefundAtPlatform::Success => (finished(app.store.finish_refund(&refund, true, now).await?)?, false),
        RefundAtPlatform::Fail => (finished(app.store.finish_refund(&refund, false, now).await?)?, false),
        RefundAtPlatform::Processing { refund_no } if refund.refund_no.is_none() && !refund_no.is_empty() => {
            let stored = app
                .store
                .record_refund_no(&refund.out_refund_no, &refund_no, now)
                .await?;
            (stored.unwrap_or(refund), false)
        }
        RefundAtPlatform::Processing { .. } => (refund, false),
        RefundAtPlatform::NeedsAttention(why) => {
            if refund.attention.as_deref() != Some(why.as_str()) {
                tracing::error!(out_refund_no = %refund.out_refund_no, why = %why, "refund needs manual handling in the merchant console");
            }
            let stored = app.store.flag_refund(&refund.out_refund_no, &why, now).await?;
            (stored.unwrap_or(refund), false)
        }
    })
}

/// A refund as the back office sees it; while in flight, the platform is asked.
pub async fn refund_state<S: Store + ?Sized>(app: &App<S>, out_refund_no: &str) -> Result<RefundState, ApiError> {
    if !valid_back_office_no(out_refund_no) {
        return Err(ApiError::invalid("out_refund_no must be up to 64 of [0-9A-Za-z_-]"));
    }
    let not_found = || ApiError::not_found(format!("no refund {out_refund_no}"));
    let mut refund = app.store.get_refund(out_refund_no).await?.ok_or_else(not_found)?;
    if refund.status == RefundStatus::Processing && refund.refund_no.is_some() {
        refund = check_refund(app, refund).await?.0;
    }
    Ok(RefundState {
        out_refund_no: refund.out_refund_no,
        out_order_no: refund.out_order_no,
        refund_amount: refund.refund_amount,
        status: refund.status,
    })
}
