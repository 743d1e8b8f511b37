//! Trade-mode rules with the in-memory store and a scripted trade platform.

use crate::app::App;
use crate::config::Config;
use crate::domain::order::{OrderStatus, Platform};
use crate::domain::refund::RefundStatus;
use crate::domain::time::now_secs;
use crate::douyin::fake::FakeDouyin;
use crate::douyin::trade::fake::FakeTrade;
use crate::douyin::trade::keys::{AppKey, callback_message, request_order_message};
use crate::douyin::trade::{PlatformKey, TradeHeaders};
use crate::error::{ErrorCode, PlatformError};
use crate::secret::Secret;
use crate::service::notify_douyin::{DouyinReply, douyin_callback};
use crate::service::{orders, prepay, refund, settle};
use crate::store::{CatalogItem, MemoryStore, OrderStore, RefundStore, Session};
use crate::testing::oracles::{TRADE_APP_PRIVATE, TRADE_APP_PUBLIC, TRADE_PLATFORM_PUBLIC, trade_platform_signature};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The app's key pair and another one that plays the platform's (it signs the callbacks).
const APP_KEY: &str = TRADE_APP_PRIVATE;
const PLATFORM_PUBLIC: &str = TRADE_PLATFORM_PUBLIC;

struct Fixture {
    app: App,
    douyin: Arc<FakeDouyin>,
    trade: Arc<FakeTrade>,
    store: Arc<MemoryStore>,
}

fn config(mode: &str) -> Config {
    // The platform key on one line with \n escapes, as an env file holds it.
    let platform_public = PLATFORM_PUBLIC.replace('\n', "\\n");
    crate::testing::fixtures::config(&[
        ("DOUYIN_PAY_MODE", mode),
        ("DOUYIN_PRIVATE_KEY", APP_KEY),
        ("DOUYIN_PLATFORM_PUBLIC_KEY", &platform_public),
        ("DOUYIN_KEY_VERSION", "3"),
    ])
}

fn fixture_on(store: Arc<MemoryStore>, mode: &str) -> Fixture {
    let douyin = Arc::new(FakeDouyin::default());
    let trade = Arc::new(FakeTrade::default());
    let config = config(mode);
    let mut app = App::assemble(config.clone(), store.clone(), Some(douyin.clone()));
    app.set_trade(App::trade_from_config(&config, trade.clone()).unwrap());
    Fixture {
        app,
        douyin,
        trade,
        store,
    }
}

fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    store.add_catalog_item(CatalogItem {
        sku: "course".into(),
        price: 300,
        subject: "中文课程 \"进阶\"".into(),
        body: String::new(),
        image: "https://example.com/c.png".into(),
        goods_type: Some(401),
        tag_group_id: Some("tag_group_7272625659888041996".into()),
    });
    fixture_on(store, "trade")
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

fn buy(quantity: u32) -> prepay::PrepayRequest {
    prepay::PrepayRequest {
        sku: "course".into(),
        quantity,
    }
}

/// A callback signed the way the platform signs one (with the key that plays the platform's).
async fn deliver(app: &App, kind: &str, msg: Value) -> DouyinReply {
    let body = json!({"version": "3.0", "type": kind, "msg": msg.to_string()}).to_string();
    let headers = TradeHeaders {
        signature: trade_platform_signature("1732240000", "nonce42", body.as_bytes()),
        timestamp: "1732240000".into(),
        nonce: "nonce42".into(),
    };
    douyin_callback(app, Some(&headers), body.as_bytes()).await
}

async fn paid_order(f: &Fixture, quantity: u32) -> String {
    let answer = prepay::prepay(&f.app, &session("u1"), buy(quantity), "127.0.0.1")
        .await
        .unwrap();
    let no = answer.out_order_no;
    let reply = deliver(
        &f.app,
        "payment",
        json!({"out_order_no": no, "order_id": format!("ot-{no}"), "status": "SUCCESS", "total_amount": 300 * i64::from(quantity), "pay_channel": 10}),
    )
    .await;
    assert_eq!(reply.err_no, 0, "{}", reply.err_tips);
    no
}

#[tokio::test]
async fn prepay_signs_data_for_request_order_without_a_platform_call() {
    let f = fixture();
    let answer = prepay::prepay(&f.app, &session("u1"), buy(2), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(*f.douyin.create_calls.lock().unwrap(), 0);
    assert_eq!((answer.status, answer.total_amount), (OrderStatus::Pending, 600));
    let data = answer.pay["data"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(data).unwrap();
    assert_eq!(parsed["outOrderNo"], json!(answer.out_order_no));
    assert_eq!(parsed["totalAmount"], json!(600));
    assert_eq!(parsed["skuList"][0]["type"], json!(401));
    let stored = f.store.get_order(&answer.out_order_no).await.unwrap().unwrap();
    assert_eq!(stored.trade_data.as_deref(), Some(data));

    let header = answer.pay["byteAuthorization"].as_str().unwrap();
    let fields: HashMap<&str, &str> = header
        .strip_prefix("SHA256-RSA2048 ")
        .unwrap()
        .split(',')
        .map(|pair| pair.split_once('=').unwrap())
        .collect();
    assert_eq!((fields["appid"], fields["key_version"]), ("tt1", "3"));
    let timestamp: i64 = fields["timestamp"].parse().unwrap();
    assert!((timestamp - now_secs()).abs() < 5);
    let message = request_order_message(timestamp, fields["nonce_str"], data);
    // The signature field's Base64 may end in '=': split_once kept it whole.
    let app_public = PlatformKey::from_pem(TRADE_APP_PUBLIC).unwrap();
    assert!(app_public.verify(message.as_bytes(), fields["signature"]));
    let platform_public = PlatformKey::from_pem(PLATFORM_PUBLIC).unwrap();
    assert!(!platform_public.verify(message.as_bytes(), fields["signature"]));
}

#[tokio::test]
async fn a_reused_trade_order_keeps_its_data_and_an_ecpay_one_is_not_reused_after_the_switch() {
    let store = Arc::new(MemoryStore::new());
    store.add_catalog_item(CatalogItem {
        sku: "course".into(),
        price: 300,
        subject: "课程".into(),
        body: String::new(),
        image: "https://example.com/c.png".into(),
        goods_type: Some(401),
        tag_group_id: Some("tg".into()),
    });
    let ecpay = fixture_on(store.clone(), "ecpay");
    let before = prepay::prepay(&ecpay.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    assert!(before.pay.get("order_token").is_some());

    let trade = fixture_on(store, "trade");
    let first = prepay::prepay(&trade.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    assert_ne!(first.out_order_no, before.out_order_no);
    let again = prepay::prepay(&trade.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(again.out_order_no, first.out_order_no);
    assert_eq!(again.pay["data"], first.pay["data"]);
}

#[tokio::test]
async fn catalog_entries_without_goods_type_cannot_be_sold_in_trade_mode() {
    let f = fixture();
    f.store.add_catalog_item(CatalogItem {
        sku: "plain".into(),
        price: 1,
        subject: "x".into(),
        body: String::new(),
        image: "https://example.com/c.png".into(),
        goods_type: None,
        tag_group_id: None,
    });
    let request = prepay::PrepayRequest {
        sku: "plain".into(),
        quantity: 1,
    };
    let err = prepay::prepay(&f.app, &session("u1"), request, "127.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal);
    assert!(err.message.contains("goods_type"), "{}", err.message);
}

#[tokio::test]
async fn payment_callbacks_apply_once_and_bad_ones_change_nothing() {
    let f = fixture();
    let answer = prepay::prepay(&f.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    let no = answer.out_order_no.clone();
    let wrong_amount = deliver(
        &f.app,
        "payment",
        json!({"out_order_no": no, "status": "SUCCESS", "total_amount": 1}),
    )
    .await;
    assert_eq!((wrong_amount.status, wrong_amount.err_no), (409, 3));
    assert_eq!(
        f.store.get_order(&no).await.unwrap().unwrap().status,
        OrderStatus::Pending
    );

    // Signed over other bytes, or over these bytes with the app's key instead of the
    // platform's: refused before anything is read.
    let body = json!({"type": "payment", "msg": json!({"out_order_no": no, "status": "SUCCESS", "total_amount": 300}).to_string()}).to_string();
    let app_key = AppKey::from_pem(APP_KEY).unwrap();
    for signature in [
        trade_platform_signature("1", "n", b"something else"),
        app_key.sign_base64(&callback_message("1", "n", body.as_bytes())),
    ] {
        let forged = TradeHeaders {
            signature,
            timestamp: "1".into(),
            nonce: "n".into(),
        };
        let reply = douyin_callback(&f.app, Some(&forged), body.as_bytes()).await;
        assert_eq!((reply.status, reply.err_no), (401, 2));
    }
    assert_eq!(
        f.store.get_order(&no).await.unwrap().unwrap().status,
        OrderStatus::Pending
    );

    let paid = json!({"out_order_no": no, "order_id": "ot1", "status": "SUCCESS", "total_amount": 300, "pay_channel": 10, "event_time": 1_732_240_000_123_i64});
    for _ in 0..2 {
        let reply = deliver(&f.app, "payment", paid.clone()).await;
        assert_eq!((reply.status, reply.err_no), (200, 0));
    }
    let order = f.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    let payment = order.payment.unwrap();
    assert_eq!(
        (payment.paid_at, payment.trade_no.as_str(), payment.channel.as_str()),
        (1_732_240_000, "ot1", "10")
    );
    // A late CANCEL does not undo a payment.
    let cancel = deliver(
        &f.app,
        "payment",
        json!({"out_order_no": no, "status": "CANCEL", "total_amount": 300}),
    )
    .await;
    assert_eq!(cancel.err_no, 0);
    assert_eq!(f.store.get_order(&no).await.unwrap().unwrap().status, OrderStatus::Paid);
}

#[tokio::test]
async fn cancel_closes_an_unpaid_order() {
    let f = fixture();
    let answer = prepay::prepay(&f.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    let reply = deliver(
        &f.app,
        "payment",
        json!({"out_order_no": answer.out_order_no, "status": "CANCEL", "message": "TIME_OUT", "total_amount": 300}),
    )
    .await;
    assert_eq!(reply.err_no, 0);
    let order = f.store.get_order(&answer.out_order_no).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Closed);
}

#[tokio::test]
async fn a_user_refund_is_answered_at_once_recorded_in_flight_and_finished_by_its_callback() {
    let f = fixture();
    let no = paid_order(&f, 1).await;
    let ask = json!({"refund_id": "7300000000001", "out_order_no": no, "order_id": "ot", "refund_total_amount": 100, "refund_reason": ["不想要了"]});
    let first = deliver(&f.app, "pre_create_refund", ask.clone()).await;
    assert_eq!(first.err_no, 0, "{}", first.err_tips);
    let data = first.data.clone().unwrap();
    assert_eq!(data["out_refund_no"], json!("dyu-7300000000001"));
    assert_eq!(data["order_entry_schema"]["path"], json!("pages/order/detail"));
    let params: Value = serde_json::from_str(data["order_entry_schema"]["params"].as_str().unwrap()).unwrap();
    assert_eq!(params, json!({"out_order_no": no}));
    // The platform retries until it has an answer: the same answer, nothing more taken.
    let again = deliver(&f.app, "pre_create_refund", ask).await;
    assert_eq!(again.data, first.data);
    let order = f.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!((order.refunding_amount, order.refundable()), (100, 200));

    // More than is left is refused, and takes nothing.
    let too_much = deliver(
        &f.app,
        "pre_create_refund",
        json!({"refund_id": "7300000000002", "out_order_no": no, "refund_total_amount": 201}),
    )
    .await;
    assert_eq!((too_much.status, too_much.err_no), (409, 3));
    assert!(too_much.data.is_none());

    // The refund callback may leave out_refund_no empty.
    let done = deliver(
        &f.app,
        "refund",
        json!({"refund_id": "7300000000001", "out_refund_no": "", "status": "SUCCESS", "refund_total_amount": 100}),
    )
    .await;
    assert_eq!(done.err_no, 0);
    let order = f.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!(
        (order.refunded_amount, order.refunding_amount, order.status),
        (100, 0, OrderStatus::Paid)
    );
    let stored = f.store.get_refund("dyu-7300000000001").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.refund_no.as_deref()),
        (RefundStatus::Success, Some("7300000000001"))
    );
}

#[tokio::test]
async fn back_office_refunds_name_item_orders_after_earlier_refunds() {
    let f = fixture();
    let no = paid_order(&f, 3).await;
    *f.trade.order_answer.lock().unwrap() = Some(Ok(FakeTrade::paid("ot9", 900, &[300, 300, 300])));
    for (out_refund_no, amount) in [("r1", 400), ("r2", 500)] {
        let answer = refund::refund(
            &f.app,
            refund::RefundRequest {
                out_order_no: no.clone(),
                out_refund_no: out_refund_no.into(),
                refund_amount: amount,
                reason: Some("课程取消".into()),
            },
        )
        .await
        .unwrap();
        assert_eq!(answer.refund_no, format!("rid-{out_refund_no}"));
    }
    let sent = f.trade.refunds.lock().unwrap().clone();
    let split = |i: usize| -> Vec<(String, i64)> {
        sent[i]
            .items
            .iter()
            .map(|p| (p.item_order_id.clone(), p.amount))
            .collect()
    };
    assert_eq!(split(0), [("ot9-item0".to_owned(), 300), ("ot9-item1".to_owned(), 100)]);
    assert_eq!(split(1), [("ot9-item1".to_owned(), 200), ("ot9-item2".to_owned(), 300)]);
    assert_eq!((sent[0].order_id.as_str(), sent[0].refund_all), ("ot9", false));
    // Nothing is left: a third refund is refused here, before the platform.
    let err = refund::refund(
        &f.app,
        refund::RefundRequest {
            out_order_no: no.clone(),
            out_refund_no: "r3".into(),
            refund_amount: 1,
            reason: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    let done = deliver(
        &f.app,
        "refund",
        json!({"refund_id": "rid-r1", "out_refund_no": "r1", "status": "SUCCESS", "refund_total_amount": 400}),
    )
    .await;
    assert_eq!(done.err_no, 0);
    assert_eq!(f.store.get_order(&no).await.unwrap().unwrap().refunded_amount, 400);
}

#[tokio::test]
async fn a_refused_client_token_is_refreshed_once_and_query_records_the_payment() {
    let f = fixture();
    let answer = prepay::prepay(&f.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    // Not placed by the client yet: the platform does not know it; still pending.
    let state = orders::order_status(&f.app, &session("u1"), &answer.out_order_no)
        .await
        .unwrap();
    assert_eq!(state.status, OrderStatus::Pending);
    assert_eq!(*f.trade.tokens_issued.lock().unwrap(), 1);

    f.trade.refused_tokens.lock().unwrap().push("clt.1".into());
    *f.trade.order_answer.lock().unwrap() = Some(Ok(FakeTrade::paid("ot5", 300, &[300])));
    // A poll within the query gap reads the table only.
    let state = orders::order_status(&f.app, &session("u1"), &answer.out_order_no)
        .await
        .unwrap();
    assert_eq!(state.status, OrderStatus::Pending);
    assert_eq!(*f.trade.tokens_issued.lock().unwrap(), 1);
    f.store.forget_queries();
    let state = orders::order_status(&f.app, &session("u1"), &answer.out_order_no)
        .await
        .unwrap();
    assert_eq!(
        (state.status, state.code, state.paid_at),
        (OrderStatus::Paid, 0, Some(1_732_240_000))
    );
    assert_eq!(*f.trade.tokens_issued.lock().unwrap(), 2);
}

#[tokio::test]
async fn an_order_the_platform_never_saw_times_out_after_its_deadline() {
    let f = fixture();
    let answer = prepay::prepay(&f.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    f.store.shift_deadline(&answer.out_order_no, -7200);
    let state = orders::order_status(&f.app, &session("u1"), &answer.out_order_no)
        .await
        .unwrap();
    assert_eq!(state.status, OrderStatus::Timeout);

    let other = fixture();
    let unavailable = prepay::prepay(&other.app, &session("u1"), buy(1), "127.0.0.1")
        .await
        .unwrap();
    *other.trade.order_answer.lock().unwrap() = Some(Err(PlatformError::Unavailable("timed out".into())));
    let err = orders::order_status(&other.app, &session("u1"), &unavailable.out_order_no)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PlatformUnavailable);
}

#[tokio::test]
async fn past_its_deadline_an_order_is_timed_out_only_on_the_platforms_word() {
    // Rate limit, system error, a refused token: none says the order was not paid.
    for refusal in [
        PlatformError::unclear(12001, "too frequent"),
        PlatformError::unclear(13000, "system error"),
        PlatformError::rejected(10000, "bad parameter"),
    ] {
        let f = fixture();
        let answer = prepay::prepay(&f.app, &session("u1"), buy(1), "127.0.0.1")
            .await
            .unwrap();
        f.store.shift_deadline(&answer.out_order_no, -7200);
        *f.trade.order_answer.lock().unwrap() = Some(Err(refusal.clone()));
        let err = orders::order_status(&f.app, &session("u1"), &answer.out_order_no)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::PlatformError, "{refusal}");
        let stored = f.store.get_order(&answer.out_order_no).await.unwrap().unwrap();
        assert_eq!(stored.status, OrderStatus::Pending, "{refusal}");
    }
}

#[tokio::test]
async fn a_refund_the_item_orders_cannot_carry_is_refused_at_once_and_its_amount_released() {
    let f = fixture();
    let no = paid_order(&f, 3).await;
    // The platform lists less in item orders than this refund needs.
    *f.trade.order_answer.lock().unwrap() = Some(Ok(FakeTrade::paid("ot9", 900, &[300, 300])));
    let request = |no: &str, refund_no: &str, amount: i64| refund::RefundRequest {
        out_order_no: no.to_owned(),
        out_refund_no: refund_no.into(),
        refund_amount: amount,
        reason: None,
    };
    let err = refund::refund(&f.app, request(&no, "r-big", 900)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    assert!(
        f.trade.refunds.lock().unwrap().is_empty(),
        "nothing reached the platform"
    );
    let stored = f.store.get_refund("r-big").await.unwrap().unwrap();
    assert_eq!(stored.status, RefundStatus::Fail);
    let order = f.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!((order.refunding_amount, order.refundable()), (0, 900));
    // What the item orders can carry still goes through.
    let answer = refund::refund(&f.app, request(&no, "r-fits", 600)).await.unwrap();
    assert_eq!(answer.status, RefundStatus::Processing);
}

#[tokio::test]
async fn trade_settlements_send_receivers_only_when_there_are_some() {
    let f = fixture();
    let no = paid_order(&f, 1).await;
    let answer = settle::settle(
        &f.app,
        settle::SettleRequest {
            out_order_no: no.clone(),
            out_settle_no: "s1".into(),
            settle_desc: "结算".into(),
            settle_params: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(answer.settle_no, "sid-s1");
    assert_eq!(f.trade.settles.lock().unwrap()[0].settle_params, None);
    let done = deliver(
        &f.app,
        "settle",
        json!({"out_settle_no": "s1", "settle_id": "sid-s1", "status": "SUCCESS"}),
    )
    .await;
    assert_eq!(done.err_no, 0);
    let unknown = deliver(&f.app, "settle", json!({"out_settle_no": "nope", "status": "SUCCESS"})).await;
    assert_eq!(unknown.status, 404);
}

/// A course name of 66 characters (190 bytes): past ecpay's 42 characters, within the
/// trade system's 256 bytes for a sku title.
const LONG_NAME: &str = "一门关于用Rust在云函数上搭建小程序支付后端的完整实战课程含签名回调退款分账与对账以及订单中心推送的全部细节讲解和练习题目附带答案";

fn long_course(store: &MemoryStore) {
    store.add_catalog_item(CatalogItem {
        sku: "long".into(),
        price: 300,
        subject: LONG_NAME.into(),
        body: String::new(),
        image: "https://example.com/c.png".into(),
        goods_type: Some(401),
        tag_group_id: Some("tag_group_7272625659888041996".into()),
    });
}

#[tokio::test]
async fn each_channel_cuts_the_order_title_to_its_own_limit() {
    assert_eq!((LONG_NAME.chars().count(), LONG_NAME.len()), (66, 190));
    let long = || prepay::PrepayRequest {
        sku: "long".into(),
        quantity: 1,
    };
    let trade = fixture();
    long_course(&trade.store);
    let answer = prepay::prepay(&trade.app, &session("u1"), long(), "127.0.0.1")
        .await
        .unwrap();
    let data: Value = serde_json::from_str(answer.pay["data"].as_str().unwrap()).unwrap();
    assert_eq!(
        data["skuList"][0]["title"],
        json!(LONG_NAME),
        "the trade system takes 256 bytes"
    );

    let ecpay = fixture_on(Arc::new(MemoryStore::new()), "ecpay");
    long_course(&ecpay.store);
    let answer = prepay::prepay(&ecpay.app, &session("u1"), long(), "127.0.0.1")
        .await
        .unwrap();
    let order = ecpay.store.get_order(&answer.out_order_no).await.unwrap().unwrap();
    let first_42: String = LONG_NAME.chars().take(42).collect();
    assert_eq!(order.subject, first_42, "ecpay's subject is at most 42 characters");
}

#[test]
fn new_orders_take_the_configured_channel_and_callbacks_the_channel_of_their_shape() {
    use crate::channel::ChannelId;
    use crate::channel::callback::Inbound;
    use lambda_http::http::{HeaderMap, HeaderValue};

    let trade = fixture();
    let ecpay = fixture_on(Arc::new(MemoryStore::new()), "ecpay");
    let chosen = |f: &Fixture| f.app.channels.for_new_order(Platform::Douyin).map(|c| c.id());
    assert_eq!(chosen(&trade).ok(), Some(ChannelId::DouyinTrade));
    assert_eq!(chosen(&ecpay).ok(), Some(ChannelId::DouyinEcpay));
    // Both Douyin channels stay registered: orders made before a mode switch are served.
    for id in [ChannelId::DouyinEcpay, ChannelId::DouyinTrade] {
        assert_eq!(ecpay.app.channels.get(id).map(|c| c.id()).ok(), Some(id));
    }
    let wechat = trade
        .app
        .channels
        .for_new_order(Platform::Wechat)
        .err()
        .expect("not configured");
    assert_eq!(wechat.code, ErrorCode::InvalidRequest);
    assert!(trade.app.channels.get(ChannelId::WechatV2).is_err());

    let mut signed = HeaderMap::new();
    signed.insert("byte-signature", HeaderValue::from_static("c2ln"));
    let unsigned = HeaderMap::new();
    let claimed = |headers: &HeaderMap, platform| {
        let inbound = Inbound { headers, body: b"{}" };
        trade.app.channels.claiming(platform, &inbound).map(|c| c.id())
    };
    assert_eq!(claimed(&signed, Platform::Douyin), Some(ChannelId::DouyinTrade));
    assert_eq!(claimed(&unsigned, Platform::Douyin), Some(ChannelId::DouyinEcpay));
    assert_eq!(claimed(&unsigned, Platform::Wechat), None);
}
