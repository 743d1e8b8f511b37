//! Refunds asked for by the back office, and what the platform says of them.

use crate::app::App;
use crate::domain::ids::{valid_back_office_no, valid_out_order_no};
use crate::domain::order::{Order, OrderStatus, Platform};
use crate::domain::refund::{Refund, RefundStatus, USER_REFUND_PREFIX};
use crate::domain::time::now_secs;
use crate::douyin::money::CreateRefund;
use crate::douyin::trade::client::TradeRefundRequest;
use crate::douyin::trade::items::allocate_refund;
use crate::douyin::trade::request_order::order_entry_schema;
use crate::error::{ApiError, PlatformError};
use crate::store::{BeginRefund, Finish};
use crate::wechat::client::WechatRefundRequest;
use serde::{Deserialize, Serialize};

/// Longest refund reason kept, whoever gives it.
pub(crate) const REASON_MAX_CHARS: usize = 100;
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

pub async fn refund(app: &App, request: RefundRequest) -> Result<RefundAnswer, ApiError> {
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
    match order.platform {
        Platform::Douyin => drop(app.douyin()?),
        Platform::Wechat => drop(app.wechat()?),
    }
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
        BeginRefund::Started(refund) => submit(app, refund).await,
        BeginRefund::Exists(existing) => {
            if !existing.same_request(&request.out_order_no, request.refund_amount, reason) {
                return Err(ApiError::conflict(format!(
                    "out_refund_no {} was used for another refund",
                    request.out_refund_no
                )));
            }
            if existing.refund_no.is_none() && existing.status == RefundStatus::Processing {
                // An earlier attempt stopped before the platform answered: finish it.
                return submit(app, existing).await;
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

/// Why a refund was not made.
enum NotMade {
    /// The platform refused, or its answer was lost (see [`PlatformError::is_certain_refusal`]).
    Platform(PlatformError),
    /// We refused before asking: the trade system's item orders cannot carry it.
    Unallocatable(String),
}

impl From<PlatformError> for NotMade {
    fn from(err: PlatformError) -> Self {
        NotMade::Platform(err)
    }
}

/// Asks the platform for a recorded refund. It is idempotent on `out_refund_no`, so a
/// repeat after a failure in between asks for the same refund. The amount is released
/// only on a certain refusal; on an unknown outcome the refund stays PROCESSING and a
/// callback, a query or the reconciler decides.
pub(crate) async fn submit(app: &App, refund: Refund) -> Result<RefundAnswer, ApiError> {
    match ask_platform(app, &refund).await {
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
        Err(NotMade::Platform(err)) if err.is_certain_refusal() => {
            app.store.finish_refund(&refund, false, now_secs()).await?;
            Err(err.into())
        }
        Err(NotMade::Platform(err)) => {
            tracing::warn!(out_refund_no = %refund.out_refund_no, error = %err, "refund outcome unknown; kept in flight");
            Err(err.into())
        }
        Err(NotMade::Unallocatable(why)) => {
            app.store.finish_refund(&refund, false, now_secs()).await?;
            Err(ApiError::conflict(why))
        }
    }
}

/// Sends the refund to the order's platform; the platform's refund number.
async fn ask_platform(app: &App, refund: &Refund) -> Result<String, NotMade> {
    let order = app
        .store
        .get_order(&refund.out_order_no)
        .await
        .map_err(|e| PlatformError::Unavailable(e.to_string()))?
        .ok_or_else(|| PlatformError::Unavailable("order vanished".into()))?;
    match order.platform {
        Platform::Douyin if order.is_trade() => trade_refund(app, &order, refund).await,
        Platform::Douyin => {
            let request = CreateRefund {
                out_order_no: refund.out_order_no.clone(),
                out_refund_no: refund.out_refund_no.clone(),
                refund_amount: refund.refund_amount,
                reason: refund.reason.clone(),
                all_settle: refund.all_settle,
            };
            Ok(app.douyin_platform()?.create_refund(&request).await?)
        }
        Platform::Wechat => {
            let request = WechatRefundRequest {
                out_trade_no: refund.out_order_no.clone(),
                out_refund_no: refund.out_refund_no.clone(),
                total_fee: order.total_amount,
                refund_fee: refund.refund_amount,
                refund_desc: refund.reason.clone(),
            };
            Ok(app.wechat_platform()?.refund(&request).await?)
        }
    }
}

/// `refund_create/` names item orders, which only `order_query/` tells: the refund is
/// split over them after what earlier refunds took.
async fn trade_refund(app: &App, order: &Order, refund: &Refund) -> Result<String, NotMade> {
    let no = order.out_order_no.as_str();
    let placed = app
        .with_client_token(|api, token| async move { api.query_order(&token, no).await })
        .await?
        .ok_or_else(|| PlatformError::Unavailable("order_query does not know this paid order".into()))?;
    // This refund is already counted in flight.
    let already = order.refunded_amount + order.refunding_amount - refund.refund_amount;
    let first_and_whole = already == 0 && refund.refund_amount == order.total_amount;
    let items = match allocate_refund(&placed.items, already, refund.refund_amount) {
        Some(items) => items,
        None if placed.items.is_empty() && first_and_whole => Vec::new(),
        None => {
            return Err(NotMade::Unallocatable(format!(
                "the item orders of {no} cannot carry a refund of {} fen after the {already} fen refunded or in flight",
                refund.refund_amount
            )));
        }
    };
    let request = TradeRefundRequest {
        order_id: placed.order_id,
        out_refund_no: refund.out_refund_no.clone(),
        reason: refund.reason.clone(),
        refund_total_amount: refund.refund_amount,
        refund_all: items.is_empty(),
        items,
        order_entry_schema: order_entry_schema(&app.config.order_entry_page, no),
    };
    let request = &request;
    Ok(app
        .with_client_token(|api, token| async move { api.create_refund(&token, request).await })
        .await?)
}

/// How the platform says a refund stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefundAtPlatform {
    /// The platform has no refund with this number.
    Unknown,
    Processing {
        refund_no: String,
    },
    Success,
    Fail,
    /// WeChat's `CHANGE`: not refunded, not failed; a person must act in the merchant
    /// console.
    NeedsAttention(String),
}

/// Asks the order's platform about a refund.
async fn ask_refund(app: &App, order: Option<&Order>, refund: &Refund) -> Result<RefundAtPlatform, PlatformError> {
    let no = refund.out_refund_no.as_str();
    let from_status = |status: RefundStatus, refund_no: String| match status {
        RefundStatus::Success => RefundAtPlatform::Success,
        RefundStatus::Fail => RefundAtPlatform::Fail,
        RefundStatus::Processing => RefundAtPlatform::Processing { refund_no },
    };
    let Some(order) = order else {
        return Err(PlatformError::Unavailable("the refund's order is missing".into()));
    };
    match order.platform {
        Platform::Douyin if order.is_trade() => {
            let query = app
                .with_client_token(|api, token| async move { api.query_refund(&token, no).await })
                .await?;
            Ok(query.map_or(RefundAtPlatform::Unknown, |q| from_status(q.status, q.platform_no)))
        }
        Platform::Douyin => {
            let q = app.douyin_platform()?.query_refund(no).await?;
            Ok(from_status(q.status, q.platform_no))
        }
        Platform::Wechat => Ok(match app.wechat_platform()?.refund_query(no).await? {
            None => RefundAtPlatform::Unknown,
            Some(q) => match q.refund_status.as_str() {
                "SUCCESS" => RefundAtPlatform::Success,
                "REFUNDCLOSE" => RefundAtPlatform::Fail,
                "CHANGE" => RefundAtPlatform::NeedsAttention("CHANGE".into()),
                _ => RefundAtPlatform::Processing { refund_no: q.refund_id },
            },
        }),
    }
}

/// Asks the platform about an in-flight refund and records what it says for certain;
/// the refund as stored afterwards, and whether the platform has never heard of it.
pub(crate) async fn check_refund(app: &App, refund: Refund) -> Result<(Refund, bool), ApiError> {
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
pub async fn refund_state(app: &App, out_refund_no: &str) -> Result<RefundState, ApiError> {
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
