use crate::app::App;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::{Order, OrderStatus, PaymentOutcome, Platform};
use crate::domain::time::now_secs;
use crate::error::{ApiError, PlatformError};
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
pub async fn order_status(app: &App, session: &Session, out_order_no: &str) -> Result<OrderAnswer, ApiError> {
    if !valid_out_order_no(out_order_no) {
        return Err(ApiError::invalid("out_order_no must be up to 32 of [0-9A-Za-z_-]"));
    }
    let not_found = || ApiError::not_found(format!("no order {out_order_no}"));
    let order = app.store.get_order(out_order_no).await?.ok_or_else(not_found)?;
    if order.openid != session.openid || order.platform != session.platform {
        return Err(not_found());
    }
    if !order.status.awaits_platform() {
        return Ok(OrderAnswer::from(&order));
    }
    let order = reconcile(app, order).await?;
    Ok(OrderAnswer::from(&order))
}

/// How a trade order stands. The platform knows an order only once the client placed
/// it with tt.requestOrder; an order it does not know can only time out.
async fn trade_outcome(app: &App, out_order_no: &str, expired: bool, now: i64) -> Result<PaymentOutcome, ApiError> {
    let query = app
        .with_client_token(|api, token| async move { api.query_order(&token, out_order_no).await })
        .await;
    match query {
        Ok(query) => Ok(query.outcome(now)),
        Err(PlatformError::Rejected { code, message }) => {
            tracing::info!(out_order_no, code = %code, message = %message, "order_query refused; order not placed yet");
            Ok(if expired {
                PaymentOutcome::Timeout
            } else {
                PaymentOutcome::Pending
            })
        }
        Err(err) => Err(err.into()),
    }
}

async fn reconcile(app: &App, order: Order) -> Result<Order, ApiError> {
    let now = now_secs();
    let expired = now > order.pay_deadline + TIMEOUT_GRACE_SECS;
    let outcome = if order.is_trade() {
        trade_outcome(app, &order.out_order_no, expired, now).await?
    } else if order.platform_order.is_none() {
        // The platform never accepted this order, so it can only time out.
        if expired {
            PaymentOutcome::Timeout
        } else {
            PaymentOutcome::Pending
        }
    } else {
        match order.platform {
            Platform::Douyin => match app.douyin()?.query_order(&order.out_order_no).await? {
                Some(query) => query.outcome(),
                None if expired => PaymentOutcome::Timeout,
                None => PaymentOutcome::Pending,
            },
            Platform::Wechat => app
                .wechat()?
                .order_query(&order.out_order_no)
                .await?
                .outcome(expired, now),
        }
    };
    let no = &order.out_order_no;
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
    };
    stored.ok_or_else(|| ApiError::not_found(format!("no order {no}")))
}
