//! The reconciler: asks the platforms about everything they have not told us the end
//! of (unpaid orders, refunds and settlements in flight), found through the table's
//! sparse index of open items, and records their certain answers. Lost callbacks end
//! here. Every change goes through the same conditional writes as the callbacks', and
//! each item is claimed before it is asked about, so two runs at once and callbacks
//! racing a run leave each change applied once.

use super::orders::check_payment;
use super::refund::{check_refund, submit as resend_refund};
use super::settle::{check_settlement, submit as resend_settlement};
use crate::app::App;
use crate::domain::order::OrderStatus;
use crate::domain::refund::{RefundStatus, USER_REFUND_PREFIX};
use crate::domain::time::now_secs;
use crate::error::ApiError;
use crate::store::Store;
use crate::store::{Due, OpenItem};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Pause before the next ask, by how often the item was asked about already (WeChat's
/// recommended 5 s, 30 s, 1 m, 3 m, 5 m, 10 m, 30 m; then every 30 minutes until the
/// platform's last word is in). A run every few minutes rounds these up.
pub const BACKOFF_SECS: [i64; 7] = [5, 30, 60, 180, 300, 600, 1800];
/// Open items read per index query.
pub const PAGE_SIZE: i32 = 100;

/// When an item asked about `checks` times before, and asked again now, is next due.
pub fn next_due(now: i64, checks: i64) -> i64 {
    let step = usize::try_from(checks).unwrap_or(0).min(BACKOFF_SECS.len() - 1);
    now + BACKOFF_SECS[step]
}

/// Whether an item is old enough to be asked about: the platform and the callbacks get
/// `after` seconds first.
pub fn ripe(due: &Due, now: i64, after: i64) -> bool {
    let created_at = match &due.item {
        OpenItem::Order(o) => o.created_at,
        OpenItem::Refund(r) => r.created_at,
        OpenItem::Settlement(s) => s.created_at,
        // Never the reconciler's to ask about.
        OpenItem::Webhook(_) => return false,
    };
    due.checks > 0 || created_at + after <= now
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Items read from the index.
    pub seen: usize,
    /// Items this run asked the platform about (or sent again).
    pub asked: usize,
    /// Claimed by another run first, or not old enough yet.
    pub skipped: usize,
    pub orders_paid: usize,
    pub orders_ended_unpaid: usize,
    pub refunds_ended: usize,
    pub settlements_ended: usize,
    /// Refunds and settlements that had never reached the platform, sent again.
    pub resent: usize,
    pub needs_attention: usize,
    /// Asks that failed (the item stays open and is asked again later).
    pub errors: usize,
    /// Stopped because the time budget ran out; the rest waits for the next run.
    pub out_of_time: bool,
}

/// One run, within `budget`.
pub async fn run<S: Store + ?Sized>(app: &App<S>, budget: Duration) -> Result<RunReport, ApiError> {
    let deadline = Instant::now() + budget;
    let after = app.config.reconcile_after_seconds;
    let mut report = RunReport::default();
    let mut cursor = None;
    let started = now_secs();
    loop {
        let page = app.store.due_items(started, PAGE_SIZE, cursor).await?;
        for due in page.items {
            // Webhooks share the open index; the `events` function delivers them, and a
            // claim here would put their next attempt off.
            if matches!(due.item, OpenItem::Webhook(_)) {
                continue;
            }
            if Instant::now() >= deadline {
                report.out_of_time = true;
                return Ok(report);
            }
            report.seen += 1;
            let now = now_secs();
            if !ripe(&due, now, after)
                || !app
                    .store
                    .claim(&due.item.key(), due.due_at, next_due(now, due.checks), now)
                    .await?
            {
                report.skipped += 1;
                continue;
            }
            report.asked += 1;
            if let Err(err) = settle_item(app, due.item, &mut report).await {
                tracing::warn!(code = ?err.code, message = %err.message, "reconcile: item stays open");
                report.errors += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(report),
        }
    }
}

async fn settle_item<S: Store + ?Sized>(app: &App<S>, item: OpenItem, report: &mut RunReport) -> Result<(), ApiError> {
    match item {
        OpenItem::Order(order) if order.status.awaits_platform() => {
            let no = order.out_order_no.clone();
            let after = check_payment(app, order, now_secs()).await?;
            match after.status {
                OrderStatus::Pending => {}
                OrderStatus::Paid | OrderStatus::Refunded => {
                    tracing::info!(out_order_no = %no, "reconcile: payment found");
                    report.orders_paid += 1;
                }
                _ => report.orders_ended_unpaid += 1,
            }
        }
        OpenItem::Order(_) => {}
        OpenItem::Refund(refund) if refund.status == RefundStatus::Processing => {
            let ours = !refund.out_refund_no.starts_with(USER_REFUND_PREFIX);
            let no = refund.out_refund_no.clone();
            if refund.refund_no.is_none() && ours {
                // Never reached the platform, or its answer was lost: the same number
                // again, which the platforms treat as the same refund.
                report.resent += 1;
                let order = app.store.get_order(&refund.out_order_no).await?.ok_or_else(|| {
                    ApiError::from(crate::error::PlatformError::Unavailable(
                        "the refund's order is missing".into(),
                    ))
                })?;
                let answer = resend_refund(app, &order, refund).await?;
                if answer.status != RefundStatus::Processing {
                    report.refunds_ended += 1;
                    return Ok(());
                }
            }
            // Ask how it stands now, so that one whose callback was lost ends in this run.
            let Some(refund) = app.store.get_refund(&no).await? else {
                return Ok(());
            };
            let (after, unknown) = check_refund(app, refund).await?;
            if unknown {
                tracing::warn!(out_refund_no = %after.out_refund_no, "reconcile: the platform does not know this refund yet");
            }
            if after.status != RefundStatus::Processing {
                report.refunds_ended += 1;
            } else if after.attention.is_some() {
                report.needs_attention += 1;
            }
        }
        OpenItem::Refund(_) => {}
        OpenItem::Settlement(settlement) if settlement.status == RefundStatus::Processing => {
            let Some(order) = app.store.get_order(&settlement.out_order_no).await? else {
                return Err(ApiError::not_found(format!("no order {}", settlement.out_order_no)));
            };
            let channel = app.channels.get(order.channel)?;
            if settlement.settle_no.is_none() {
                report.resent += 1;
                let no = settlement.out_settle_no.clone();
                let answer = resend_settlement(app, channel, settlement).await?;
                if answer.status != RefundStatus::Processing {
                    report.settlements_ended += 1;
                    return Ok(());
                }
                let Some(sent) = app.store.get_settlement(&no).await? else {
                    return Ok(());
                };
                let (after, _) = check_settlement(app, channel, sent).await?;
                if after.status != RefundStatus::Processing {
                    report.settlements_ended += 1;
                }
                return Ok(());
            }
            let (after, _) = check_settlement(app, channel, settlement).await?;
            if after.status != RefundStatus::Processing {
                report.settlements_ended += 1;
            }
        }
        OpenItem::Settlement(_) | OpenItem::Webhook(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_follows_the_schedule_then_stays_at_its_longest() {
        let delays: Vec<i64> = (0..10).map(|checks| next_due(1000, checks) - 1000).collect();
        assert_eq!(delays, [5, 30, 60, 180, 300, 600, 1800, 1800, 1800, 1800]);
        assert_eq!(next_due(1000, -1) - 1000, 5);
    }
}
