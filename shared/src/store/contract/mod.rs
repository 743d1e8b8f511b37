//! One behavioural suite for every implementation of the store traits, so that the
//! in-memory double the service tests run on cannot drift from the DynamoDB table.
//!
//! Each case takes a fresh, empty [`Subject`] and checks what the traits promise
//! through the traits alone: the happy path, every conditional outcome, and races
//! run at once (exactly one winner). [`store_contract_tests!`](crate::store_contract_tests)
//! expands one `#[tokio::test]` per case for a store, named after the case.
//!
//! Compiled for the crate's own tests and, for the integration tests, behind the
//! `store-contract` feature; never in a production build.

pub mod admin;
pub mod audit;
pub mod callbacks;
pub mod money;
pub mod open_index;
pub mod orders;
pub mod sessions;
pub mod settle;
pub mod tokens;
pub mod webhooks;

use crate::domain::channel::ChannelId;
use crate::domain::order::{Order, OrderStatus, Payment, Platform};
use crate::domain::refund::{Refund, RefundStatus, SettleStatus, Settlement};
use crate::store::{BeginRefund, BeginSettle, CatalogItem, Due, OpenKey, PaidOutcome, Store, Webhook, WebhookStatus};
use async_trait::async_trait;
use std::future::Future;
use tokio::sync::Barrier;

/// A fresh, empty store of one implementation, and what the cases need that no
/// function does through the traits.
#[async_trait]
pub trait Subject: Send + Sync {
    fn store(&self) -> &dyn Store;
    /// Writes a catalog entry, as an operator loads the catalog.
    async fn add_catalog_item(&self, item: &CatalogItem);
    /// When the kept callback with this body is let go (its TTL); `None` when none is
    /// kept. Subjects are made with a retention of [`CALLBACK_RETENTION_SECS`].
    async fn callback_expires_at(&self, raw_body: &[u8]) -> Option<i64>;
    /// Puts an entry in an order's webhook line, as a run that stopped between ending a
    /// delivery and clearing its entry leaves it.
    async fn put_in_line(&self, out_order_no: &str, sequence: &str);
}

/// The callback retention every subject is made with.
pub const CALLBACK_RETENTION_SECS: i64 = 7 * 86_400;

/// The cases' clock: every time is an offset from it.
pub const T0: i64 = 1_750_000_000;

/// A fresh PENDING order of `total_amount` fen, made at `T0`.
pub fn pending_order(out_order_no: &str, total_amount: i64) -> Order {
    Order {
        out_order_no: out_order_no.to_owned(),
        platform: Platform::Douyin,
        channel: ChannelId::DouyinEcpay,
        openid: "openid-1".to_owned(),
        sku: "course-basic".to_owned(),
        quantity: 1,
        total_amount,
        subject: "基础课程".to_owned(),
        body: "基础课程 · 课程".to_owned(),
        status: OrderStatus::Pending,
        created_at: T0,
        pay_deadline: T0 + 900,
        platform_order: None,
        payment: None,
        refunded_amount: 0,
        refunding_amount: 0,
        settle_status: None,
        updated_at: T0,
        trade_data: None,
        late: false,
        settle_succeeded: false,
    }
}

/// The platform's word that `amount` was paid.
pub fn payment(amount: i64) -> Payment {
    Payment {
        amount,
        paid_at: T0 + 30,
        trade_no: "trade-0001".to_owned(),
        channel: "10".to_owned(),
    }
}

/// Inserts a PENDING order (its reuse slot named after it) and pays it at `T0 + 30`.
pub async fn paid_order(store: &dyn Store, out_order_no: &str, total_amount: i64) -> Order {
    insert(store, &pending_order(out_order_no, total_amount)).await;
    match store.mark_paid(out_order_no, &payment(total_amount), T0 + 30).await {
        Ok(PaidOutcome::Applied(order)) => order,
        other => panic!("paying {out_order_no}: {other:?}"),
    }
}

/// Inserts `order` under a reuse slot of its own.
pub async fn insert(store: &dyn Store, order: &Order) {
    let slot = format!("slot-{}", order.out_order_no);
    let outcome = store.insert_order(order, &slot, None).await;
    assert_eq!(
        outcome,
        Ok(crate::store::InsertOutcome::Inserted),
        "{}",
        order.out_order_no
    );
}

/// A refund in flight of `amount` fen, asked for at `at`.
pub fn refund(out_refund_no: &str, out_order_no: &str, amount: i64, at: i64) -> Refund {
    Refund {
        out_refund_no: out_refund_no.to_owned(),
        out_order_no: out_order_no.to_owned(),
        refund_amount: amount,
        reason: "不想要了".to_owned(),
        status: RefundStatus::Processing,
        refund_no: None,
        all_settle: false,
        created_at: at,
        updated_at: at,
        attention: None,
    }
}

/// Begins `refund`, which must start.
pub async fn started_refund(store: &dyn Store, refund: &Refund) -> Refund {
    match store.begin_refund(refund).await {
        Ok(BeginRefund::Started(started)) => started,
        other => panic!("beginning {}: {other:?}", refund.out_refund_no),
    }
}

/// A settlement in flight to the merchant alone, asked for at `at`.
pub fn settlement(out_settle_no: &str, out_order_no: &str, at: i64) -> Settlement {
    Settlement {
        out_settle_no: out_settle_no.to_owned(),
        out_order_no: out_order_no.to_owned(),
        settle_desc: "分账".to_owned(),
        settle_params: "[]".to_owned(),
        status: SettleStatus::Processing,
        settle_no: None,
        created_at: at,
        updated_at: at,
    }
}

/// Begins `settlement` on an order that had `refunded_seen` refunded; it must start.
pub async fn started_settlement(store: &dyn Store, settlement: &Settlement, refunded_seen: i64) -> Settlement {
    match store.begin_settle(settlement, refunded_seen).await {
        Ok(BeginSettle::Started(started)) => started,
        other => panic!("beginning {}: {other:?}", settlement.out_settle_no),
    }
}

/// A pending delivery of an event of `out_order_no` made at `created_at`, `rank` its
/// place among the order's events of that second; as the `events` function records it.
pub fn webhook(event_id: &str, out_order_no: &str, created_at: i64, rank: u8) -> Webhook {
    Webhook {
        event_id: event_id.to_owned(),
        event_type: "order.paid".to_owned(),
        out_order_no: out_order_no.to_owned(),
        created_at,
        body: format!(r#"{{"id":"{event_id}","type":"order.paid","created":{created_at}}}"#),
        sequence: format!("{created_at:012}-{rank}-{event_id}"),
        status: WebhookStatus::Pending,
        attempts: 0,
        first_attempt_at: None,
        last_attempt_at: None,
        last_error: None,
        due_at: None,
    }
}

/// Records `webhook` due at `due_at`; it must be new. The delivery as stored.
pub async fn recorded_webhook(store: &dyn Store, webhook: &Webhook, due_at: i64) -> Webhook {
    assert_eq!(
        store.record_webhook(webhook, due_at).await,
        Ok(true),
        "{}",
        webhook.event_id
    );
    Webhook {
        due_at: Some(due_at),
        ..webhook.clone()
    }
}

/// Every open item due at `now`, read a page of `limit` at a time.
pub async fn all_due(store: &dyn Store, now: i64, limit: i32) -> Vec<Due> {
    let mut due = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.due_items(now, limit, cursor).await.expect("due items");
        assert!(
            page.items.len() <= usize::try_from(limit).unwrap_or(0),
            "page over its limit"
        );
        due.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return due,
        }
    }
}

/// The keys of the open items due at `now`, in the order read.
pub async fn due_keys(store: &dyn Store, now: i64) -> Vec<OpenKey> {
    all_due(store, now, 100).await.iter().map(|d| d.item.key()).collect()
}

/// Runs `calls` at once: each waits until all have started, then they go together.
pub async fn at_once<T, F>(calls: Vec<F>) -> Vec<T>
where
    F: Future<Output = T>,
{
    let barrier = Barrier::new(calls.len());
    let barrier = &barrier;
    futures::future::join_all(calls.into_iter().map(|call| async move {
        barrier.wait().await;
        call.await
    }))
    .await
}

/// The cases of every group, by name: what [`store_contract_tests!`](crate::store_contract_tests)
/// must run, read from the groups' sources so that a case left out of it is noticed.
pub fn case_names() -> Vec<String> {
    let sources = [
        ("admin", include_str!("admin.rs")),
        ("audit", include_str!("audit.rs")),
        ("callbacks", include_str!("callbacks.rs")),
        ("money", include_str!("money.rs")),
        ("open_index", include_str!("open_index.rs")),
        ("orders", include_str!("orders.rs")),
        ("sessions", include_str!("sessions.rs")),
        ("settle", include_str!("settle.rs")),
        ("tokens", include_str!("tokens.rs")),
        ("webhooks", include_str!("webhooks.rs")),
    ];
    let mut names = Vec::new();
    for (group, source) in sources {
        for line in source.lines() {
            if let Some(rest) = line.strip_prefix("pub async fn ")
                && let Some((name, _)) = rest.split_once('(')
            {
                names.push(format!("{group}::{name}"));
            }
        }
    }
    names.sort();
    names
}

/// Expands one `#[tokio::test]` per contract case, in a module per group, each on a
/// fresh subject from `$fresh` (an `async fn() -> impl Subject` in scope), and a test
/// that every case of the groups' sources is among them.
#[macro_export]
macro_rules! store_contract_tests {
    ($fresh:ident) => {
        $crate::store_contract_tests!(@groups $fresh;
            admin {
                orders_are_listed_newest_first_a_page_at_a_time,
                every_filter_narrows_the_order_list,
                an_order_comes_with_everything_that_hangs_off_it,
            }
            audit {
                a_callback_is_kept_once_as_first_received,
                concurrent_deliveries_of_one_callback_keep_one,
            }
            callbacks {
                a_payment_callback_pays_once_and_is_kept_with_it,
                a_payment_callback_that_changes_nothing_is_kept,
                a_late_payment_callback_pays_the_ended_order_late,
                a_payment_callback_kept_before_but_not_applied_still_pays,
                concurrent_payment_callbacks_pay_once,
                a_refund_callback_ends_the_refund_once_and_is_kept_with_it,
                refund_callbacks_give_back_or_refund_the_rest_of_the_order,
                concurrent_refund_callbacks_apply_each_once,
            }
            money {
                a_refund_takes_its_amount_off_what_is_refundable,
                a_refund_over_what_is_refundable_writes_nothing,
                a_refund_number_used_before_answers_the_stored_refund,
                concurrent_refunds_never_add_up_to_more_than_was_paid,
                concurrent_refunds_under_one_number_start_once,
                a_refund_ends_once_and_moves_the_money_with_it,
                a_refund_ended_from_an_old_copy_answers_it_as_stored,
                refunds_reaching_the_paid_amount_make_the_order_refunded,
                concurrent_ends_of_one_refund_apply_once,
                the_platform_refund_number_is_recorded_once,
                a_flagged_refund_stays_in_flight_with_its_amount_reserved,
            }
            open_index {
                open_items_enter_and_leave_the_index_with_their_state,
                due_items_come_soonest_first_a_page_at_a_time,
                paging_goes_on_after_the_items_claimed_from_a_page,
                a_claim_puts_an_item_off_once_per_due_time_seen,
                concurrent_claims_of_one_due_time_have_one_winner,
                an_order_query_is_claimed_at_most_once_per_gap,
                a_reconciler_claim_counts_as_an_order_query,
                concurrent_order_query_claims_have_one_winner,
            }
            orders {
                an_inserted_order_reads_back_and_holds_its_slot,
                a_held_slot_refuses_another_order_and_writes_nothing,
                an_order_number_in_use_is_refused_and_leaves_the_slot_free,
                concurrent_inserts_into_one_slot_have_one_winner,
                the_platform_order_is_recorded_once,
                a_payment_is_applied_once,
                a_payment_of_another_amount_changes_nothing,
                a_late_payment_of_an_ended_order_is_applied_and_marked_late,
                a_payment_after_refunds_leaves_the_money_alone,
                concurrent_payments_have_one_winner,
                only_a_pending_order_ends_unpaid,
                ending_unpaid_racing_a_payment_ends_paid,
            }
            sessions {
                a_session_reads_back_until_it_expires,
                a_session_is_never_overwritten,
                catalog_items_read_back_as_loaded,
                a_session_and_a_catalog_item_read_together,
            }
            settle {
                a_settlement_starts_on_a_paid_order_and_ends_once,
                a_settlement_number_used_before_answers_the_stored_settlement,
                a_success_stays_settled_when_a_later_settlement_fails,
                a_settlement_is_refused_on_unpaid_unknown_busy_or_changed_orders,
                a_settlement_racing_the_end_of_a_refund_never_starts,
                concurrent_settlements_under_one_number_start_once,
            }
            tokens {
                a_lease_is_held_by_one_refresher_until_it_runs_out,
                concurrent_lease_takers_have_one_winner,
                a_saved_token_is_versioned_and_ends_the_lease,
                a_lease_is_not_taken_by_who_looked_before_a_refresh,
                only_the_lease_holder_saves_or_releases,
                a_refused_token_is_expired_only_at_its_version,
            }
            webhooks {
                a_webhook_is_recorded_once_and_queued_in_its_orders_line,
                concurrent_records_of_one_event_have_one_winner,
                a_failed_attempt_is_counted_while_pending,
                a_webhook_ends_once_and_leaves_the_index_and_its_line,
                ending_an_ended_webhook_still_clears_its_line_entry,
                concurrent_ends_of_one_webhook_have_one_winner,
                deliveries_are_listed_by_status_newest_first_a_page_at_a_time,
                a_redelivery_is_recorded_only_as_read,
                concurrent_redeliveries_have_one_winner,
            }
        );
    };
    (@groups $fresh:ident; $($group:ident { $($case:ident),+ $(,)? })+) => {
        $(
            mod $group {
                $(
                    #[tokio::test]
                    async fn $case() {
                        let subject = super::$fresh().await;
                        $crate::store::contract::$group::$case(&subject).await;
                    }
                )+
            }
        )+

        #[test]
        fn every_contract_case_is_run() {
            let mut run = vec![$($(concat!(stringify!($group), "::", stringify!($case)).to_owned()),+),+];
            run.sort();
            assert_eq!(run, $crate::store::contract::case_names());
        }
    };
}
