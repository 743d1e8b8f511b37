use crate::app::App;
use crate::channel::Closing;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::{Order, OrderStatus, PaymentOutcome, Platform};
use crate::domain::time::now_secs;
use crate::error::{ApiError, PlatformError};
use crate::store::Store;
use crate::store::{PaidOutcome, Session};
use serde::Serialize;

/// Time after the pay deadline before an order the platform never heard of is
/// recorded as TIMEOUT.
const TIMEOUT_GRACE_SECS: i64 = 60;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OrderAnswer {
    pub out_order_no: String,
    pub platform: Platform,
    pub status: OrderStatus,
    pub code: u8,
    pub total_amount: i64,
    pub refunded_amount: i64,
    pub paid_at: Option<i64>,
}

impl From<&Order> for OrderAnswer {
    fn from(order: &Order) -> Self {
        OrderAnswer {
            out_order_no: order.out_order_no.clone(),
            platform: order.platform,
            status: order.status,
            code: order.status.get_order_status_code(),
            total_amount: order.total_amount,
            refunded_amount: order.refunded_amount,
            paid_at: order.payment.as_ref().map(|p| p.paid_at),
        }
    }
}

/// The caller's order; while it is PENDING, the platform is asked how the payment
/// ended and a final answer is recorded (failed and timed-out payments get no callback).
pub async fn order_status<S: Store + ?Sized>(
    app: &App<S>,
    session: &Session,
    out_order_no: &str,
) -> Result<OrderAnswer, ApiError> {
    if !valid_out_order_no(out_order_no) {
        return Err(ApiError::invalid("out_order_no must be up to 32 of [0-9A-Za-z_-]"));
    }
    let not_found = || ApiError::not_found(format!("no order {out_order_no}"));
    let order = app.store.get_order(out_order_no).await?.ok_or_else(not_found)?;
    if order.openid != session.openid || order.platform != session.platform {
        return Err(not_found());
    }
    let now = now_secs();
    // tt.pay's `getOrderStatus` polls: each poll must not become a platform call.
    let gap = app.config.order_query_gap_seconds;
    if !order.status.awaits_platform() || !app.store.claim_order_query(out_order_no, now, gap).await? {
        return Ok(OrderAnswer::from(&order));
    }
    let order = check_payment(app, order, now).await?;
    Ok(OrderAnswer::from(&order))
}

/// Asks the order's platform how its payment stands and records a final answer; the
/// order as stored afterwards. A failed query changes nothing.
pub async fn check_payment<S: Store + ?Sized>(app: &App<S>, order: Order, now: i64) -> Result<Order, ApiError> {
    let outcome = ask_payment(app, &order, now).await?;
    record_payment(app, order, outcome, now).await
}

/// What the order's channel says of an unpaid order. Only the platform's own word ends
/// the order: a status, or "no such order" once nobody can pay it any more.
async fn ask_payment<S: Store + ?Sized>(
    app: &App<S>,
    order: &Order,
    now: i64,
) -> Result<PaymentOutcome, PlatformError> {
    let expired = now > order.pay_deadline + TIMEOUT_GRACE_SECS;
    app.channels
        .get(order.channel)?
        .query_payment(order, expired, now)
        .await
}

async fn record_payment<S: Store + ?Sized>(
    app: &App<S>,
    order: Order,
    outcome: PaymentOutcome,
    now: i64,
) -> Result<Order, ApiError> {
    let no = order.out_order_no.as_str();
    let stored = match outcome {
        PaymentOutcome::Pending => return Ok(order),
        PaymentOutcome::Paid(payment) => match app.store.mark_paid(no, &payment, now).await? {
            PaidOutcome::Applied(o) | PaidOutcome::AlreadyPaid(o) => Some(o),
            PaidOutcome::AmountMismatch { expected } => {
                tracing::error!(out_order_no = %no, expected, paid = payment.amount, "platform reports a different amount");
                return Ok(order);
            }
            PaidOutcome::NotFound => None,
        },
        PaymentOutcome::Failed => app.store.finish_unpaid(no, OrderStatus::Failed, now).await?,
        PaymentOutcome::Timeout => app.store.finish_unpaid(no, OrderStatus::Timeout, now).await?,
        PaymentOutcome::Closed => app.store.finish_unpaid(no, OrderStatus::Closed, now).await?,
        PaymentOutcome::Expired => return close_expired(app, order, now).await,
    };
    stored.ok_or_else(|| ApiError::not_found(format!("no order {no}")))
}

/// Closes an order the platform would still take payment for, then records it CLOSED;
/// one paid meanwhile is recorded PAID instead.
async fn close_expired<S: Store + ?Sized>(app: &App<S>, order: Order, now: i64) -> Result<Order, ApiError> {
    let no = order.out_order_no.as_str();
    match app.channels.get(order.channel)?.close(&order).await? {
        Closing::Closed => {
            tracing::info!(out_order_no = %no, "expired order closed on the platform");
            let stored = app.store.finish_unpaid(no, OrderStatus::Closed, now).await?;
            stored.ok_or_else(|| ApiError::not_found(format!("no order {no}")))
        }
        Closing::AlreadyPaid => {
            let outcome = ask_payment(app, &order, now).await?;
            match outcome {
                PaymentOutcome::Paid(_) => Box::pin(record_payment(app, order, outcome, now)).await,
                _ => Ok(order),
            }
        }
    }
}
