//! Refunds asked for by the back office, and what the platform says of them.

use crate::app::App;
use crate::domain::ids::{valid_back_office_no, valid_out_order_no};
use crate::domain::order::{Order, OrderStatus, Platform};
use crate::domain::refund::{Refund, RefundStatus};
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

/// Asks the platform for a recorded refund. It is idempotent on `out_refund_no`, so a
/// repeat after a failure in between asks for the same refund.
async fn submit(app: &App, refund: Refund) -> Result<RefundAnswer, ApiError> {
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
        Err(err @ PlatformError::Rejected { .. }) => {
            // Refused for good: the amount becomes refundable again.
            app.store.finish_refund(&refund, false, now_secs()).await?;
            Err(err.into())
        }
        Err(err) => Err(err.into()),
    }
}

/// Sends the refund to the order's platform; the platform's refund number.
async fn ask_platform(app: &App, refund: &Refund) -> Result<String, PlatformError> {
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
            app.douyin_platform()?.create_refund(&request).await
        }
        Platform::Wechat => {
            let request = WechatRefundRequest {
                out_trade_no: refund.out_order_no.clone(),
                out_refund_no: refund.out_refund_no.clone(),
                total_fee: order.total_amount,
                refund_fee: refund.refund_amount,
                refund_desc: refund.reason.clone(),
            };
            app.wechat_platform()?.refund(&request).await
        }
    }
}

/// `refund_create/` names item orders, which only `order_query/` tells: the refund is
/// split over them after what earlier refunds took.
async fn trade_refund(app: &App, order: &Order, refund: &Refund) -> Result<String, PlatformError> {
    let no = order.out_order_no.as_str();
    let placed = app
        .with_client_token(|api, token| async move { api.query_order(&token, no).await })
        .await?;
    // This refund is already counted in flight.
    let already = order.refunded_amount + order.refunding_amount - refund.refund_amount;
    let first_and_whole = already == 0 && refund.refund_amount == order.total_amount;
    let items = match allocate_refund(&placed.items, already, refund.refund_amount) {
        Some(items) => items,
        None if placed.items.is_empty() && first_and_whole => Vec::new(),
        None => {
            return Err(PlatformError::Unavailable(
                "order_query lists too little in item orders for this refund".into(),
            ));
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
    app.with_client_token(|api, token| async move { api.create_refund(&token, request).await })
        .await
}

/// A refund as the back office sees it; while in flight, the platform is asked.
pub async fn refund_state(app: &App, out_refund_no: &str) -> Result<RefundState, ApiError> {
    if !valid_back_office_no(out_refund_no) {
        return Err(ApiError::invalid("out_refund_no must be up to 64 of [0-9A-Za-z_-]"));
    }
    let not_found = || ApiError::not_found(format!("no refund {out_refund_no}"));
    let mut refund = app.store.get_refund(out_refund_no).await?.ok_or_else(not_found)?;
    let order = app.store.get_order(&refund.out_order_no).await?;
    let is_douyin = order.as_ref().is_some_and(|o| o.platform == Platform::Douyin);
    // WeChat reports refunds by notify; only Douyin's are asked after here.
    if is_douyin && refund.status == RefundStatus::Processing && refund.refund_no.is_some() {
        let query = if order.as_ref().is_some_and(Order::is_trade) {
            app.with_client_token(|api, token| async move { api.query_refund(&token, out_refund_no).await })
                .await?
        } else {
            Some(app.douyin()?.query_refund(out_refund_no).await?)
        };
        if let Some(query) = query.filter(|q| q.status != RefundStatus::Processing) {
            refund = match app
                .store
                .finish_refund(&refund, query.status == RefundStatus::Success, now_secs())
                .await?
            {
                Finish::Applied(r) | Finish::AlreadyFinished(r) => r,
                Finish::NotFound => return Err(not_found()),
            };
        }
    }
    Ok(RefundState {
        out_refund_no: refund.out_refund_no,
        out_order_no: refund.out_order_no,
        refund_amount: refund.refund_amount,
        status: refund.status,
    })
}
