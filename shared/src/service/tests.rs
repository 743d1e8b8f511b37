//! Service rules with the in-memory store and a scripted platform.

use crate::app::App;
use crate::domain::order::{OrderStatus, Platform};
use crate::domain::time::now_secs;
use crate::douyin::fake::FakeDouyin;
use crate::douyin::{EcpayOrderState, OrderQuery};
use crate::error::{ErrorCode, PlatformError};
use crate::secret::Secret;
use crate::service::{login, orders, prepay};
use crate::store::{CatalogItem, MemoryStore, OrderStore, Session};
use std::sync::Arc;

fn app(douyin: Arc<FakeDouyin>, store: Arc<MemoryStore>) -> App {
    App::assemble(crate::testing::fixtures::config(&[]), store, Some(douyin))
}

fn setup() -> (App, Arc<FakeDouyin>, Arc<MemoryStore>) {
    let douyin = Arc::new(FakeDouyin::default());
    let store = Arc::new(MemoryStore::new());
    store.add_catalog_item(CatalogItem {
        sku: "course".into(),
        price: 300,
        subject: "一门很长很长的课程名称".repeat(6),
        body: String::new(),
        image: "https://example.com/c.png".into(),
        goods_type: None,
        tag_group_id: None,
    });
    (app(douyin.clone(), store.clone()), douyin, store)
}

fn session(openid: &str) -> Session {
    Session {
        openid: openid.into(),
        unionid: None,
        platform: Platform::Douyin,
        session_key: Secret::new("k"),
        expires_at: now_secs() + 60,
    }
}

fn request(sku: &str, quantity: u32) -> prepay::PrepayRequest {
    prepay::PrepayRequest {
        sku: sku.into(),
        quantity,
    }
}

#[tokio::test]
async fn prepay_prices_from_the_catalog_and_cuts_text_to_the_limits() {
    let (app, douyin, _) = setup();
    let answer = prepay::prepay(&app, &session("u1"), request("course", 3), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(answer.total_amount, 900);
    let created = douyin.created.lock().unwrap();
    let sent = created.get(&answer.out_order_no).unwrap();
    assert_eq!(sent.total_amount, 900);
    assert_eq!(sent.subject.chars().count(), 42);
    assert!(sent.subject.len() <= 128);
    assert_eq!(sent.body, sent.subject, "an empty body falls back to the subject");
    assert_eq!(sent.valid_time, 900);
}

#[tokio::test]
async fn a_rejected_order_number_is_retired_and_an_unavailable_one_is_retried() {
    let (app, douyin, store) = setup();
    douyin
        .create_failures
        .lock()
        .unwrap()
        .push(PlatformError::Unavailable("timed out".into()));
    let err = prepay::prepay(&app, &session("u2"), request("course", 1), "127.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PlatformUnavailable);
    let answer = prepay::prepay(&app, &session("u2"), request("course", 1), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(store.order_count(), 1, "the repeat completes the same order");
    assert_eq!(*douyin.create_calls.lock().unwrap(), 2);
    assert_eq!(answer.pay["order_id"], format!("id-{}", answer.out_order_no));

    douyin
        .create_failures
        .lock()
        .unwrap()
        .push(PlatformError::rejected(2010, "bad param"));
    let err = prepay::prepay(&app, &session("u3"), request("course", 1), "127.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PlatformError);
    let answer = prepay::prepay(&app, &session("u3"), request("course", 1), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(store.order_count(), 3, "a rejected number is never used again");
    let retired: Vec<_> = statuses_of_other_u3_orders(&store, &answer.out_order_no).await;
    assert_eq!(retired, [OrderStatus::Failed]);
}

/// The statuses of user u3's orders other than `except`.
async fn statuses_of_other_u3_orders(store: &MemoryStore, except: &str) -> Vec<OrderStatus> {
    let mut statuses = Vec::new();
    for no in store.order_numbers() {
        if no != except {
            let order = store.get_order(&no).await.unwrap().unwrap();
            if order.openid == "u3" {
                statuses.push(order.status);
            }
        }
    }
    statuses
}

#[tokio::test]
async fn query_maps_every_platform_state() {
    let cases = [
        (EcpayOrderState::Processing, OrderStatus::Pending),
        (EcpayOrderState::Success, OrderStatus::Paid),
        (EcpayOrderState::Fail, OrderStatus::Failed),
        (EcpayOrderState::Timeout, OrderStatus::Timeout),
    ];
    for (state, expected) in cases {
        let (app, douyin, _) = setup();
        let placed = prepay::prepay(&app, &session("q"), request("course", 1), "127.0.0.1")
            .await
            .unwrap();
        *douyin.query_answer.lock().unwrap() = Some(Ok(Some(OrderQuery {
            state,
            total_fee: Some(300),
            order_id: "7398".into(),
            paid_at: Some(1_722_769_986),
            way: "10".into(),
        })));
        let answer = orders::order_status(&app, &session("q"), &placed.out_order_no)
            .await
            .unwrap();
        assert_eq!(answer.status, expected, "{state:?}");
        assert_eq!(answer.code, expected.get_order_status_code());
        assert_eq!(answer.paid_at.is_some(), expected == OrderStatus::Paid);
    }
}

#[tokio::test]
async fn query_keeps_pending_when_the_platform_reports_another_amount() {
    let (app, douyin, _) = setup();
    let placed = prepay::prepay(&app, &session("q2"), request("course", 1), "127.0.0.1")
        .await
        .unwrap();
    *douyin.query_answer.lock().unwrap() = Some(Ok(Some(OrderQuery {
        state: EcpayOrderState::Success,
        total_fee: Some(1),
        order_id: "x".into(),
        paid_at: None,
        way: String::new(),
    })));
    let answer = orders::order_status(&app, &session("q2"), &placed.out_order_no)
        .await
        .unwrap();
    assert_eq!(answer.status, OrderStatus::Pending);
}

#[tokio::test]
async fn an_order_the_platform_never_saw_times_out_after_its_deadline() {
    let (app, _, store) = setup();
    let placed = prepay::prepay(&app, &session("t"), request("course", 1), "127.0.0.1")
        .await
        .unwrap();
    store.shift_deadline(&placed.out_order_no, -10_000);
    let answer = orders::order_status(&app, &session("t"), &placed.out_order_no)
        .await
        .unwrap();
    assert_eq!((answer.status, answer.code), (OrderStatus::Timeout, 1));
}

#[tokio::test]
async fn platform_outages_during_query_are_reported() {
    let (app, douyin, _) = setup();
    let placed = prepay::prepay(&app, &session("o"), request("course", 1), "127.0.0.1")
        .await
        .unwrap();
    *douyin.query_answer.lock().unwrap() = Some(Err(PlatformError::Unavailable("timed out".into())));
    let err = orders::order_status(&app, &session("o"), &placed.out_order_no)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PlatformUnavailable);
}

#[tokio::test]
async fn login_refuses_bad_codes_and_keeps_the_session_key() {
    let (app, _, _) = setup();
    let bad = login::login(
        &app,
        login::LoginRequest {
            code: "bad".into(),
            anonymous_code: None,
            platform: None,
        },
    )
    .await;
    assert_eq!(bad.unwrap_err().code, ErrorCode::InvalidCode);
    let empty = login::login(
        &app,
        login::LoginRequest {
            code: " ".into(),
            anonymous_code: None,
            platform: None,
        },
    )
    .await;
    assert_eq!(empty.unwrap_err().code, ErrorCode::InvalidRequest);
    let ok = login::login(
        &app,
        login::LoginRequest {
            code: "c1".into(),
            anonymous_code: None,
            platform: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(ok.openid, "openid-c1");
    assert!(!serde_json::to_string(&ok).unwrap().contains("fake-session-key"));
}
