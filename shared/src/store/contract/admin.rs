//! What the back office reads: orders newest first a page at a time, by filter, and
//! one order with everything that hangs off it.

use super::{
    Subject, T0, insert, paid_order, pending_order, recorded_webhook, refund, settlement, started_refund,
    started_settlement, webhook,
};
use crate::domain::order::{Order, OrderStatus, Platform};
use crate::domain::timeline::CallbackReceived;
use crate::secret::Secret;
use crate::store::admin::{OrderCursor, OrderFilter};
use crate::store::{Session, Store, WebhookStatus};

/// Every order matching `filter`, read `limit` at a time: their numbers in the order
/// read. Pages keep their limit, and only the last has no cursor.
async fn listed(store: &dyn Store, filter: &OrderFilter, limit: usize) -> Vec<String> {
    let mut orders: Vec<Order> = Vec::new();
    let mut cursor: Option<OrderCursor> = None;
    loop {
        let page = store.list_orders(filter, limit, cursor.as_ref()).await.unwrap();
        assert!(page.orders.len() <= limit, "{filter:?}: page over its limit");
        orders.extend(page.orders);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let times: Vec<i64> = orders.iter().map(|o| o.created_at).collect();
    assert!(times.iter().rev().is_sorted(), "{filter:?}: newest first: {times:?}");
    orders.into_iter().map(|o| o.out_order_no).collect()
}

fn sorted(mut numbers: Vec<String>) -> Vec<String> {
    numbers.sort();
    numbers
}

/// An order of `openid` on `platform` made at `created_at`, moved to `status`.
async fn order_in(store: &dyn Store, no: &str, openid: &str, platform: Platform, created_at: i64, status: OrderStatus) {
    let order = Order {
        openid: openid.to_owned(),
        platform,
        created_at,
        updated_at: created_at,
        pay_deadline: created_at + 900,
        ..pending_order(no, 1000)
    };
    insert(store, &order).await;
    match status {
        OrderStatus::Pending => {}
        OrderStatus::Paid | OrderStatus::Refunded => {
            store
                .mark_paid(no, &super::payment(1000), created_at + 10)
                .await
                .unwrap();
            if status == OrderStatus::Refunded {
                let all = started_refund(store, &refund(&format!("r-{no}"), no, 1000, created_at + 20)).await;
                store.finish_refund(&all, true, created_at + 30).await.unwrap();
            }
        }
        ended => {
            store.finish_unpaid(no, ended, created_at + 900).await.unwrap();
        }
    }
}

pub async fn orders_are_listed_newest_first_a_page_at_a_time(subject: &dyn Subject) {
    let store = subject.store();
    // Ties on the creation time, as orders made in the same second have; and items
    // that are not orders but share the indexes' attributes.
    let times = [T0, T0 + 1, T0 + 1, T0 + 1, T0 + 2, T0 + 3, T0 + 3];
    for (i, at) in times.into_iter().enumerate() {
        order_in(
            store,
            &format!("o-{i}"),
            "openid-1",
            Platform::Douyin,
            at,
            OrderStatus::Paid,
        )
        .await;
    }
    started_refund(store, &refund("r-1", "o-0", 100, T0 + 50)).await;
    started_settlement(store, &settlement("s-1", "o-1", T0 + 50), 0).await;
    recorded_webhook(store, &webhook("evt_1", "o-2", T0 + 50, 1), T0 + 50).await;
    let session = Session {
        openid: "openid-1".to_owned(),
        unionid: None,
        platform: Platform::Douyin,
        session_key: Secret::new("key"),
        expires_at: T0 + 3600,
    };
    store.put_session("hash-1", &session).await.unwrap();

    let all: Vec<String> = (0..7).map(|i| format!("o-{i}")).collect();
    for limit in [1, 2, 3, 7, 100] {
        let read = listed(store, &OrderFilter::default(), limit).await;
        assert_eq!(read.len(), 7, "each order once, limit {limit}: {read:?}");
        assert_eq!(sorted(read), all, "limit {limit}");
    }
    let first = store.list_orders(&OrderFilter::default(), 2, None).await.unwrap();
    let numbers: Vec<&str> = first.orders.iter().map(|o| o.out_order_no.as_str()).collect();
    assert_eq!(
        sorted(numbers.iter().map(|n| (*n).to_owned()).collect()),
        ["o-5", "o-6"]
    );
    assert_eq!(first.next_cursor, first.orders.last().map(OrderCursor::after));
    // A last page exactly full says it is the last.
    let whole = store.list_orders(&OrderFilter::default(), 7, None).await.unwrap();
    assert_eq!((whole.orders.len(), whole.next_cursor), (7, None));
    assert_eq!(
        whole.orders[6],
        store.get_order("o-0").await.unwrap().unwrap(),
        "orders as stored"
    );
}

pub async fn every_filter_narrows_the_order_list(subject: &dyn Subject) {
    let store = subject.store();
    let made = [
        ("o-a", "openid-1", Platform::Douyin, T0, OrderStatus::Paid),
        ("o-b", "openid-1", Platform::Wechat, T0 + 10, OrderStatus::Pending),
        ("o-c", "openid-2", Platform::Douyin, T0 + 20, OrderStatus::Refunded),
        ("o-d", "openid-2", Platform::Wechat, T0 + 30, OrderStatus::Paid),
        ("o-e", "openid-1", Platform::Douyin, T0 + 40, OrderStatus::Timeout),
        ("o-f", "openid-3", Platform::Douyin, T0 + 50, OrderStatus::Paid),
    ];
    for (no, openid, platform, at, status) in made {
        order_in(store, no, openid, platform, at, status).await;
    }
    let by = |filter: OrderFilter, wanted: &[&str]| {
        let wanted: Vec<String> = wanted.iter().map(|w| (*w).to_owned()).collect();
        async move {
            for limit in [1, 2, 10] {
                assert_eq!(listed(store, &filter, limit).await, wanted, "{filter:?}, limit {limit}");
            }
        }
    };
    let none = OrderFilter::default();
    by(none.clone(), &["o-f", "o-e", "o-d", "o-c", "o-b", "o-a"]).await;
    let paid = OrderFilter {
        status: Some(OrderStatus::Paid),
        ..none.clone()
    };
    by(paid.clone(), &["o-f", "o-d", "o-a"]).await;
    by(
        OrderFilter {
            status: Some(OrderStatus::Refunded),
            ..none.clone()
        },
        &["o-c"],
    )
    .await;
    by(
        OrderFilter {
            status: Some(OrderStatus::Closed),
            ..none.clone()
        },
        &[],
    )
    .await;
    let wechat = OrderFilter {
        platform: Some(Platform::Wechat),
        ..none.clone()
    };
    by(wechat.clone(), &["o-d", "o-b"]).await;
    let user = OrderFilter {
        openid: Some("openid-1".to_owned()),
        ..none.clone()
    };
    by(user.clone(), &["o-e", "o-b", "o-a"]).await;
    by(
        OrderFilter {
            from: Some(T0 + 10),
            to: Some(T0 + 40),
            ..none.clone()
        },
        &["o-e", "o-d", "o-c", "o-b"],
    )
    .await;
    by(
        OrderFilter {
            from: Some(T0 + 41),
            ..none.clone()
        },
        &["o-f"],
    )
    .await;
    by(
        OrderFilter {
            to: Some(T0 + 9),
            ..none.clone()
        },
        &["o-a"],
    )
    .await;
    by(
        OrderFilter {
            platform: Some(Platform::Wechat),
            ..paid.clone()
        },
        &["o-d"],
    )
    .await;
    by(
        OrderFilter {
            status: Some(OrderStatus::Paid),
            platform: Some(Platform::Douyin),
            openid: Some("openid-1".to_owned()),
            from: Some(T0),
            to: Some(T0 + 50),
        },
        &["o-a"],
    )
    .await;
    by(
        OrderFilter {
            openid: Some("openid-unknown".to_owned()),
            ..none
        },
        &[],
    )
    .await;
}

pub async fn an_order_comes_with_everything_that_hangs_off_it(subject: &dyn Subject) {
    let store = subject.store();
    paid_order(store, "o-1", 1000).await;
    paid_order(store, "o-2", 1000).await;
    let first = started_refund(store, &refund("r-1", "o-1", 100, T0 + 100)).await;
    store.finish_refund(&first, false, T0 + 150).await.unwrap();
    started_settlement(store, &settlement("s-other", "o-2", T0 + 50), 0).await;
    started_refund(store, &refund("r-other", "o-2", 200, T0 + 200)).await;
    started_settlement(store, &settlement("s-1", "o-1", T0 + 160), 0).await;
    store
        .finish_settle("s-1", crate::domain::refund::SettleStatus::Success, T0 + 170)
        .await
        .unwrap();
    started_refund(store, &refund("r-2", "o-1", 200, T0 + 200)).await;
    store
        .keep_callback(Platform::Douyin, "payment", b"pay o-1", Some("o-1"), T0 + 30)
        .await
        .unwrap();
    store
        .keep_callback(Platform::Douyin, "settle", b"settle o-1", Some("o-1"), T0 + 70)
        .await
        .unwrap();
    store
        .keep_callback(Platform::Douyin, "payment", b"pay o-2", Some("o-2"), T0 + 30)
        .await
        .unwrap();
    store
        .keep_callback(Platform::Douyin, "payment", b"unnamed", None, T0 + 30)
        .await
        .unwrap();
    let delivered = recorded_webhook(store, &webhook("evt_1", "o-1", T0 + 30, 1), T0 + 30).await;
    store
        .end_webhook(&delivered, WebhookStatus::Delivered, None, T0 + 35)
        .await
        .unwrap();
    recorded_webhook(store, &webhook("evt_2", "o-1", T0 + 100, 3), T0 + 100).await;
    recorded_webhook(store, &webhook("evt_3", "o-2", T0 + 30, 1), T0 + 30).await;

    let children = store.order_with_children("o-1").await.unwrap().expect("o-1 exists");
    assert_eq!(Some(children.order), store.get_order("o-1").await.unwrap());
    let mut refunds = Vec::new();
    for no in ["r-1", "r-2"] {
        refunds.push(store.get_refund(no).await.unwrap().unwrap());
    }
    assert_eq!(children.refunds, refunds, "oldest first, as stored");
    assert_eq!(
        children.settlements,
        [store.get_settlement("s-1").await.unwrap().unwrap()]
    );
    let received = |kind: &str, at: i64| CallbackReceived {
        platform: Platform::Douyin,
        kind: kind.to_owned(),
        received_at: at,
    };
    assert_eq!(
        children.callbacks,
        [received("payment", T0 + 30), received("settle", T0 + 70)]
    );
    let mut webhooks = Vec::new();
    for id in ["evt_1", "evt_2"] {
        webhooks.push(store.get_webhook(id).await.unwrap().unwrap());
    }
    assert_eq!(children.webhooks, webhooks, "oldest first, as stored");
    assert_eq!(children.webhooks[1].due_at, Some(T0 + 100));

    let bare = insert_bare(store).await;
    let children = store.order_with_children("o-bare").await.unwrap().unwrap();
    assert_eq!(
        (
            children.order,
            children.refunds.len(),
            children.settlements.len(),
            children.callbacks.len(),
            children.webhooks.len()
        ),
        (bare, 0, 0, 0, 0)
    );
    assert_eq!(store.order_with_children("o-unknown").await, Ok(None));
}

async fn insert_bare(store: &dyn Store) -> Order {
    let order = pending_order("o-bare", 990);
    insert(store, &order).await;
    order
}
