//! Platform callbacks: the channel that reads the callback's shape verifies it over
//! the raw body and says what it tells; it is kept, then applied exactly once, the same
//! way for every channel.

use crate::app::App;
use crate::channel::Channel;
use crate::channel::callback::{Ack, Inbound, Notice, Refusal, Reply, UserRefund};
use crate::domain::order::{OrderStatus, Payment, Platform};
use crate::domain::refund::{Refund, RefundStatus, SettleStatus};
use crate::domain::time::now_secs;
use crate::store::Store;
use crate::store::{BeginRefund, CallbackPaid, CallbackRefund, Finish, Received};

/// Takes a callback that came to `platform`'s notify route and answers it the way
/// the platform API that sent it reads answers.
pub async fn answer<S: Store + ?Sized>(app: &App<S>, platform: Platform, inbound: Inbound<'_>) -> Reply {
    let ack = callback(app, platform, inbound).await;
    reply(app, platform, &inbound, ack)
}

/// The answer to a callback that was not read (a body too large to take).
pub fn reply<S: Store + ?Sized>(app: &App<S>, platform: Platform, inbound: &Inbound, ack: Ack) -> Reply {
    match app.channels.answering(platform, inbound) {
        Some(channel) => channel.reply(ack),
        None => Reply::unanswerable(ack),
    }
}

/// Takes a callback that came to `platform`'s notify route.
pub async fn callback<S: Store + ?Sized>(app: &App<S>, platform: Platform, inbound: Inbound<'_>) -> Ack {
    let Some(channel) = app.channels.claiming(platform, &inbound) else {
        if app.channels.serves(platform) {
            // Not in the shape of any way of paying this platform has: not a callback.
            return Refusal::Malformed(format!("body is not a {} callback", platform.name())).into();
        }
        tracing::error!(
            platform = platform.as_str(),
            "a callback came that no configured channel reads"
        );
        return Refusal::temporary("no payment channel configured for this callback").into();
    };
    let verified = match channel.read_callback(&inbound).await {
        Ok(verified) => verified,
        Err(refusal) => return refusal.into(),
    };
    let received = Received {
        platform,
        kind: &verified.kind,
        raw_body: inbound.body,
        out_order_no: verified.order.as_deref(),
        at: now_secs(),
    };
    match verified.notice {
        // Kept in the same write that applies them (one request).
        Ok(Notice::Paid { out_order_no, payment }) => {
            finish(apply_payment(app, channel, &received, &out_order_no, &payment).await)
        }
        Ok(Notice::RefundEnded {
            out_refund_no,
            success,
            amount,
        }) => finish(end_refund(app, &received, &out_refund_no, success, amount).await),
        notice => {
            if let Err(err) = keep(app, &received).await {
                return err.into();
            }
            match notice {
                Ok(notice) => apply(app, notice).await,
                Err(refusal) => refusal.into(),
            }
        }
    }
}

fn finish(result: Result<(), Refusal>) -> Ack {
    match result {
        Ok(()) => Ack::done(),
        Err(refusal) => refusal.into(),
    }
}

/// Keeps a callback in the audit trail on its own; the platform retries when it cannot.
async fn keep<S: Store + ?Sized>(app: &App<S>, received: &Received<'_>) -> Result<(), Refusal> {
    let kept = app
        .store
        .keep_callback(
            received.platform,
            received.kind,
            received.raw_body,
            received.out_order_no,
            received.at,
        )
        .await;
    kept.map_err(|err| {
        tracing::error!(error = %err, "callback not kept; the platform will retry");
        Refusal::temporary("temporarily unable to record the callback")
    })
}

async fn apply<S: Store + ?Sized>(app: &App<S>, notice: Notice) -> Ack {
    let result = match notice {
        Notice::Unpaid { out_order_no, status } => end_unpaid(app, &out_order_no, status).await,
        Notice::RefundNeedsAttention { out_refund_no, why } => flag_refund(app, &out_refund_no, &why).await,
        Notice::SettleEnded { out_settle_no, status } => end_settle(app, &out_settle_no, status).await,
        Notice::UserRefund(refund) => return user_refund(app, refund).await,
        // Applied by the caller with the callback kept in the same write.
        Notice::Paid { .. } | Notice::RefundEnded { .. } | Notice::Nothing => Ok(()),
    };
    finish(result)
}

fn store_failed(err: crate::error::StoreError) -> Refusal {
    tracing::error!(error = %err, "callback not applied; the platform will retry");
    Refusal::temporary("temporarily unable to record the callback")
}

fn unknown_order() -> Refusal {
    Refusal::Unknown("unknown order".into())
}

/// Marks the order paid, once, if the amount is the order's, keeping the callback in the
/// same write; channels that ask for it confirm the payment with the platform first.
async fn apply_payment<S: Store + ?Sized>(
    app: &App<S>,
    channel: &dyn Channel,
    received: &Received<'_>,
    out_order_no: &str,
    payment: &Payment,
) -> Result<(), Refusal> {
    if channel.confirms_payments() {
        let order = match app.store.get_order(out_order_no).await {
            Ok(Some(order)) if order.channel == channel.id() => order,
            Ok(_) => {
                keep(app, received).await?;
                tracing::error!(out_order_no, "payment notify for an unknown order");
                return Err(unknown_order());
            }
            Err(err) => return Err(store_failed(err)),
        };
        if payment.amount != order.total_amount {
            keep(app, received).await?;
            tracing::error!(
                out_order_no,
                expected = order.total_amount,
                paid = payment.amount,
                "notify amount differs"
            );
            return Err(Refusal::Conflict("amount does not match the order".into()));
        }
        // A paid order needs no confirmation: the write below tells a redelivery.
        let paid = matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded);
        if !paid && let Err(refusal) = channel.confirm_payment(out_order_no, payment).await {
            keep(app, received).await?;
            return Err(refusal);
        }
    }
    match app.store.pay_by_callback(received, out_order_no, payment).await {
        Ok(CallbackPaid::Applied) => {
            tracing::info!(out_order_no = %out_order_no, amount = payment.amount, "order paid");
            Ok(())
        }
        Ok(CallbackPaid::Duplicate) => {
            tracing::info!(out_order_no = %out_order_no, "repeated payment callback acknowledged");
            Ok(())
        }
        Ok(CallbackPaid::PaidOtherwise(_)) => {
            tracing::error!(out_order_no = %out_order_no, "a second payment was reported for a paid order");
            Ok(())
        }
        Ok(CallbackPaid::AmountMismatch { expected }) => {
            tracing::error!(out_order_no = %out_order_no, expected, paid = payment.amount, "payment amount differs from the order");
            Err(Refusal::Conflict("amount does not match the order".into()))
        }
        Ok(CallbackPaid::NotFound) => {
            tracing::error!(out_order_no = %out_order_no, "payment for an unknown order");
            Err(unknown_order())
        }
        Err(err) => Err(store_failed(err)),
    }
}

async fn end_unpaid<S: Store + ?Sized>(app: &App<S>, out_order_no: &str, status: OrderStatus) -> Result<(), Refusal> {
    match app.store.finish_unpaid(out_order_no, status, now_secs()).await {
        Ok(Some(order)) => {
            tracing::info!(out_order_no, status = %order.status, "order ended unpaid");
            Ok(())
        }
        Ok(None) => Err(unknown_order()),
        Err(err) => Err(store_failed(err)),
    }
}

/// Records how a refund ended, once, keeping the callback in the same write; a reported
/// amount must be the refund's.
async fn end_refund<S: Store + ?Sized>(
    app: &App<S>,
    received: &Received<'_>,
    out_refund_no: &str,
    success: bool,
    amount: Option<i64>,
) -> Result<(), Refusal> {
    let ended = app
        .store
        .finish_refund_by_callback(received, out_refund_no, success, amount)
        .await;
    match ended {
        Ok(CallbackRefund::Applied | CallbackRefund::Duplicate) => Ok(()),
        Ok(CallbackRefund::EndedOtherwise(refund)) => {
            tracing::error!(out_refund_no = %out_refund_no, recorded = %refund.status.as_str(), success, "refund callback contradicts how the refund ended");
            Ok(())
        }
        Ok(CallbackRefund::AmountMismatch { .. }) => {
            tracing::error!(out_refund_no = %out_refund_no, "refund callback amount differs from the refund");
            Err(Refusal::Conflict("amount does not match the refund".into()))
        }
        Ok(CallbackRefund::NotFound) => {
            tracing::error!(out_refund_no = %out_refund_no, "refund callback for an unknown refund");
            Err(Refusal::Unknown("unknown refund".into()))
        }
        Err(err) => Err(store_failed(err)),
    }
}

/// A refund a person must finish in the merchant console: kept in flight, flagged.
async fn flag_refund<S: Store + ?Sized>(app: &App<S>, out_refund_no: &str, why: &str) -> Result<(), Refusal> {
    tracing::error!(
        out_refund_no,
        why,
        "refund needs manual handling in the merchant console"
    );
    match app.store.flag_refund(out_refund_no, why, now_secs()).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Refusal::Unknown("unknown refund".into())),
        Err(err) => Err(store_failed(err)),
    }
}

async fn end_settle<S: Store + ?Sized>(app: &App<S>, out_settle_no: &str, status: SettleStatus) -> Result<(), Refusal> {
    match app.store.finish_settle(out_settle_no, status, now_secs()).await {
        Ok(Finish::Applied(_) | Finish::AlreadyFinished(_)) => Ok(()),
        Ok(Finish::NotFound) => {
            tracing::error!(out_settle_no = %out_settle_no, "settle callback for an unknown settlement");
            Err(Refusal::Unknown("unknown settlement".into()))
        }
        Err(err) => Err(store_failed(err)),
    }
}

/// A refund the user asked for on the platform: recorded in flight (so back-office
/// refunds cannot exceed the paid amount with it) and answered at once with our number.
async fn user_refund<S: Store + ?Sized>(app: &App<S>, asked: UserRefund) -> Ack {
    let order = match app.store.get_order(&asked.out_order_no).await {
        Ok(Some(order)) => order,
        Ok(None) => return unknown_order().into(),
        Err(err) => return store_failed(err).into(),
    };
    let now = now_secs();
    let refund = Refund {
        out_refund_no: asked.out_refund_no.clone(),
        out_order_no: order.out_order_no.clone(),
        refund_amount: asked.amount,
        reason: asked.reason,
        status: RefundStatus::Processing,
        refund_no: Some(asked.refund_no.clone()),
        all_settle: order.settled(),
        created_at: now,
        updated_at: now,
        attention: None,
    };
    let accepted = match app.store.begin_refund(&refund).await {
        Ok(BeginRefund::Started(r)) => r,
        Ok(BeginRefund::Exists(r))
            if r.out_order_no == refund.out_order_no && r.refund_amount == refund.refund_amount =>
        {
            r
        }
        Ok(BeginRefund::Exists(_)) => {
            tracing::error!(refund_id = %asked.refund_no, "pre_create_refund differs from the refund recorded for its id");
            return Refusal::Conflict("refund id was recorded with other values".into()).into();
        }
        Ok(BeginRefund::OrderNotFound) => return unknown_order().into(),
        Ok(BeginRefund::NotRefundable(order)) => {
            tracing::warn!(out_order_no = %order.out_order_no, status = %order.status, asked = asked.amount, left = order.refundable(), "user refund refused");
            return Refusal::Conflict("order is not paid or has less left to refund".into()).into();
        }
        Err(err) => return store_failed(err).into(),
    };
    tracing::info!(out_order_no = %accepted.out_order_no, out_refund_no = %accepted.out_refund_no, amount = accepted.refund_amount, "user refund recorded");
    Ack::Done {
        data: Some(asked.reply_data),
    }
}
