//! Refunds, settlement, the shared access token and the order-center push, against
//! moto and the sandbox over real HTTP.

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::AttributeValue;
use harness::gate::Gate;
use harness::money::{Money, money, paid_order, raw_item, stream_record};
use harness::readback::{OrderView, assert_acknowledged};
use harness::{ADMIN_KEY, Stack, StackOptions, table};
use minipay::App;
use sandbox::{CallbackOptions, PayOptions};
use serde_json::json;
use std::sync::Arc;

async fn stack_with(price: i64) -> Stack {
    with_course(Stack::start().await, price).await
}

async fn with_course(stack: Stack, price: i64) -> Stack {
    table::put_catalog_item(&table::client().await, &stack.table, "course", price, "Rust 进阶课程").await;
    stack
}

fn refund_body(no: &str, refund_no: &str, amount: i64) -> serde_json::Value {
    json!({"out_order_no": no, "out_refund_no": refund_no, "refund_amount": amount, "reason": "用户申请退款"})
}

#[tokio::test]
async fn partial_then_full_refund() {
    let stack = stack_with(990).await;
    let api = &stack.client;
    let (session, no) = paid_order(&stack, "rita", "course").await;

    let first = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-1", 300))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["status"], "PROCESSING");
    assert_eq!(first.body["refund_amount"], 300);
    let refund_no = first.body["refund_no"].as_str().unwrap().to_owned();
    assert!(!refund_no.is_empty());
    let platform = stack.sandbox.refund("RF-1").expect("the platform has the refund");
    assert_eq!(
        (platform.refund_amount, platform.refund_no.as_str()),
        (300, refund_no.as_str())
    );

    let again = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-1", 300))
        .await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    let other = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-1", 301))
        .await;
    assert_eq!((other.status, other.error_code()), (409, "conflict"));

    let state = api.get("/refunds/RF-1", Some(ADMIN_KEY)).await;
    assert_eq!(state.status, 200, "{}", state.text);
    assert_eq!(
        state.body,
        json!({"out_refund_no": "RF-1", "out_order_no": no, "refund_amount": 300, "status": "PROCESSING"})
    );

    let deliveries = stack
        .sandbox
        .finish_refund("RF-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, 200, "{}", deliveries[0].body);
    let order = api.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (order.body["status"].clone(), order.body["refunded_amount"].clone()),
        (json!("PAID"), json!(300))
    );
    assert_eq!(
        api.get("/refunds/RF-1", Some(ADMIN_KEY)).await.body["status"],
        "SUCCESS"
    );
    let moved = Money {
        refunded: 300,
        refunding: 0,
        refundable: 690,
    };
    assert_eq!(money(&stack, &no).await, moved, "the reserved 300 moved to refunded");

    let rest = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-2", 690))
        .await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    let deliveries = stack
        .sandbox
        .finish_refund("RF-2", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&deliveries);
    let order = api.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(order.body["status"], "REFUNDED");
    assert_eq!(order.body["refunded_amount"], 990);
    assert_eq!(order.body["code"], 0);
    let view = OrderView::read(api, &no).await;
    assert_eq!(
        (view.refund("RF-1"), view.refund("RF-2")),
        (Some(("SUCCESS", 300)), Some(("SUCCESS", 690)))
    );
    let all_refunded = Money {
        refunded: 990,
        refunding: 0,
        refundable: 0,
    };
    assert_eq!(money(&stack, &no).await, all_refunded);

    let more = api.post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-3", 1)).await;
    assert_eq!((more.status, more.error_code()), (409, "conflict"));
}

#[tokio::test]
async fn racing_refunds_never_exceed_the_paid_amount() {
    // All ten meet at the conditional write that reserves the money, each having read
    // the whole amount as refundable.
    let gate = Gate::new("begin_refund", 10);
    let options = StackOptions {
        wrap_store: Some(gate.in_front()),
        ..StackOptions::default()
    };
    let stack = with_course(Stack::start_custom(options).await, 1000).await;
    let (_, no) = paid_order(&stack, "sam", "course").await;
    let bodies: Vec<_> = (0..10).map(|i| refund_body(&no, &format!("RACE-{i}"), 300)).collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|b| stack.client.post("/refund", Some(ADMIN_KEY), b))).await;
    gate.assert_met();
    let accepted = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == 409 && a.error_code() == "conflict")
        .count();
    assert_eq!(
        (accepted, refused),
        (3, 7),
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(item["refunding_amount"], AttributeValue::N("900".into()));
    assert_eq!(item["refundable"], AttributeValue::N("100".into()));
}

#[tokio::test]
async fn a_failed_refund_gives_the_amount_back_and_duplicate_callbacks_apply_once() {
    let stack = stack_with(1000).await;
    let (session, no) = paid_order(&stack, "tina", "course").await;
    let api = &stack.client;
    assert_eq!(
        api.post("/refund", Some(ADMIN_KEY), &refund_body(&no, "F-1", 600))
            .await
            .status,
        200
    );
    let fail = CallbackOptions {
        deliveries: 3,
        ..CallbackOptions::default()
    };
    assert_acknowledged(&stack.sandbox.finish_refund("F-1", false, fail).await.unwrap());
    assert_eq!(api.get("/refunds/F-1", Some(ADMIN_KEY)).await.body["status"], "FAIL");
    let given_back = Money {
        refunded: 0,
        refunding: 0,
        refundable: 1000,
    };
    assert_eq!(
        money(&stack, &no).await,
        given_back,
        "a failed refund releases its amount"
    );
    let retry = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "F-2", 600))
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text);

    let five = CallbackOptions {
        deliveries: 5,
        ..CallbackOptions::default()
    };
    assert_acknowledged(&stack.sandbox.finish_refund("F-2", true, five).await.unwrap());
    let order = api.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(order.body["refunded_amount"], 600, "{}", order.text);
    assert_eq!(api.get("/refunds/F-2", Some(ADMIN_KEY)).await.body["status"], "SUCCESS");
    let once = Money {
        refunded: 600,
        refunding: 0,
        refundable: 400,
    };
    assert_eq!(money(&stack, &no).await, once, "five deliveries, applied once");
}

/// Platform encoders escape non-ASCII text and order keys as they like; the signature
/// covers the text as sent, so the backend must verify the raw `msg`, then parse it.
#[tokio::test]
async fn callbacks_with_escaped_unicode_and_reordered_keys_verify_and_apply() {
    let stack = stack_with(1000).await;
    let api = &stack.client;
    let session = api.login(&stack.sandbox.login_code("uli")).await;
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let styled = PayOptions {
        escape_unicode: true,
        reorder_keys: true,
        ..PayOptions::default()
    };
    let paid = stack.sandbox.pay(&no, styled).await.unwrap();
    assert_eq!(paid[0].status, 200, "{}", paid[0].body);
    let order = api.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (&order.body["status"], &order.body["total_amount"]),
        (&json!("PAID"), &json!(1000))
    );

    assert_eq!(
        api.post("/refund", Some(ADMIN_KEY), &refund_body(&no, "U-1", 400))
            .await
            .status,
        200
    );
    // The failure message is Chinese: every character of it arrives as a \u escape.
    let styled = CallbackOptions {
        escape_unicode: true,
        reorder_keys: true,
        ..CallbackOptions::default()
    };
    let failed = stack.sandbox.finish_refund("U-1", false, styled).await.unwrap();
    assert_eq!(failed[0].status, 200, "{}", failed[0].body);
    assert_eq!(api.get("/refunds/U-1", Some(ADMIN_KEY)).await.body["status"], "FAIL");
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(item["refundable"], AttributeValue::N("1000".into()));
}

#[tokio::test]
async fn admin_routes_refuse_without_the_key_and_unpaid_orders_are_conflicts() {
    let stack = stack_with(100).await;
    let api = &stack.client;
    let session = api.login(&stack.sandbox.login_code("uma")).await;
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let no = prepay.body["out_order_no"].as_str().unwrap();
    for key in [None, Some("wrong-key"), Some(session.as_str())] {
        let answer = api.post("/refund", key, &refund_body(no, "K-1", 10)).await;
        assert_eq!((answer.status, answer.error_code()), (401, "unauthorized"));
        let answer = api.get("/refunds/K-1", key).await;
        assert_eq!((answer.status, answer.error_code()), (401, "unauthorized"));
        let settle = json!({"out_order_no": no, "out_settle_no": "S-1", "settle_desc": "分账"});
        assert_eq!(api.post("/settle", key, &settle).await.status, 401);
    }
    let unpaid = api.post("/refund", Some(ADMIN_KEY), &refund_body(no, "K-1", 10)).await;
    assert_eq!((unpaid.status, unpaid.error_code()), (409, "conflict"));
    let unpaid = api
        .post(
            "/settle",
            Some(ADMIN_KEY),
            &json!({"out_order_no": no, "out_settle_no": "S-1", "settle_desc": "分账"}),
        )
        .await;
    assert_eq!((unpaid.status, unpaid.error_code()), (409, "conflict"));
    let unknown = api.get("/refunds/NOPE", Some(ADMIN_KEY)).await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "not_found"));
    let bad = api
        .post(
            "/refund",
            Some(ADMIN_KEY),
            &json!({"out_order_no": no, "out_refund_no": "x", "refund_amount": "10"}),
        )
        .await;
    assert_eq!((bad.status, bad.error_code()), (400, "invalid_request"));
}

#[tokio::test]
async fn a_settled_order_is_refunded_from_the_settled_balance() {
    let stack = stack_with(1000).await;
    let api = &stack.client;
    let (_, no) = paid_order(&stack, "vic", "course").await;
    // Seven days on: the platform settles an order only then.
    stack.sandbox.age_order(&no, 8).unwrap();
    let settle = json!({"out_order_no": no, "out_settle_no": "ST-1", "settle_desc": "课程分账",
                        "settle_params": [{"merchant_uid": "7011234567890123456", "amount": 100}]});
    let answer = api.post("/settle", Some(ADMIN_KEY), &settle).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "PROCESSING");
    assert!(!answer.body["settle_no"].as_str().unwrap().is_empty());
    assert_eq!(api.post("/settle", Some(ADMIN_KEY), &settle).await.body, answer.body);
    let platform = stack.sandbox.settle("ST-1").unwrap();
    assert_eq!(
        platform.settle_params,
        json!([{"merchant_uid": "7011234567890123456", "amount": 100}])
    );

    let too_much = json!({"out_order_no": no, "out_settle_no": "ST-2", "settle_desc": "x",
                          "settle_params": [{"merchant_uid": "1", "amount": 301}]});
    assert_eq!(api.post("/settle", Some(ADMIN_KEY), &too_much).await.status, 400);

    let view = OrderView::read(api, &no).await;
    assert_eq!(view.settlement("ST-1"), Some("PROCESSING"));
    let deliveries = stack
        .sandbox
        .finish_settle("ST-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&deliveries);
    let view = OrderView::read(api, &no).await;
    assert_eq!((view.status(), view.settlement("ST-1")), ("PAID", Some("SUCCESS")));
    let settled = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(settled["settle_status"], AttributeValue::S("SUCCESS".into()));
    let refund = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "AFTER-SETTLE", 100))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert!(
        stack.sandbox.refund("AFTER-SETTLE").unwrap().all_settle,
        "all_settle=1 after settlement"
    );
}

#[tokio::test]
async fn every_verified_callback_is_kept_for_audit() {
    let stack = stack_with(100).await;
    let (_, no) = paid_order(&stack, "wes", "course").await;
    let refund = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "AUD-1", 100))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let deliveries = stack
        .sandbox
        .finish_refund("AUD-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&deliveries);
    let view = OrderView::read(&stack.client, &no).await;
    assert_eq!(
        (view.status(), view.refund("AUD-1")),
        ("REFUNDED", Some(("SUCCESS", 100)))
    );
    let items = table::all_items(&stack.table).await;
    let kinds: Vec<String> = items
        .iter()
        .filter(|i| i.get("entity") == Some(&AttributeValue::S("CALLBACK".into())))
        .map(|i| i["kind"].as_s().unwrap().clone())
        .collect();
    assert!(
        kinds.contains(&"payment".to_owned()) && kinds.contains(&"refund".to_owned()),
        "{kinds:?}"
    );
    for item in items
        .iter()
        .filter(|i| i.get("entity") == Some(&AttributeValue::S("CALLBACK".into())))
    {
        assert!(item["body"].as_s().unwrap().contains("msg_signature"), "raw body kept");
    }
}

#[tokio::test]
async fn fifty_cold_instances_share_one_token_fetch() {
    let stack = stack_with(100).await;
    // All fifty find no token and ask for the lease at once.
    let gate = Gate::new("take_lease", 50);
    let instances: Vec<Arc<App>> = (0..50)
        .map(|_| {
            let store = Arc::new(gate.around(stack.store.clone()));
            Arc::new(App::with_store(stack.app.config.clone(), store).unwrap())
        })
        .collect();
    let tokens = futures::future::join_all(instances.iter().map(|app| async move {
        app.douyin_access_token()
            .await
            .expect("token")
            .token
            .expose()
            .to_owned()
    }))
    .await;
    gate.assert_met();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(stack.sandbox.token_fetches(), 1);
}

#[tokio::test]
async fn a_push_batch_reports_only_its_failing_record() {
    let stack = stack_with(500).await;
    let (_, paid) = paid_order(&stack, "xia", "course").await;
    let (_, orphan) = paid_order(&stack, "yan", "course").await;
    let paid_item = raw_item(&stack, &format!("ORDER#{paid}"), "ORDER").await.unwrap();
    let mut orphan_item = raw_item(&stack, &format!("ORDER#{orphan}"), "ORDER").await.unwrap();
    // An order whose catalog entry was deleted cannot be shown: that record fails.
    orphan_item.insert("sku".into(), AttributeValue::S("deleted-sku".into()));
    let mut pending = paid_item.clone();
    pending.insert("status".into(), AttributeValue::S("PENDING".into()));
    let mut not_an_order = paid_item.clone();
    not_an_order.insert("entity".into(), AttributeValue::S("SESSION".into()));

    let event: Event = serde_json::from_value(json!({"Records": [
        stream_record("100", None, &pending),
        stream_record("200", Some(&pending), &orphan_item),
        stream_record("300", Some(&pending), &paid_item),
        stream_record("400", None, &not_an_order),
    ]}))
    .unwrap();
    let answer = minipay::service::push::push_batch(&stack.app, event).await;
    let failed: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["200"]);

    let pushes = stack.sandbox.pushes();
    let statuses: Vec<_> = pushes.iter().map(|p| p.order_status).collect();
    assert_eq!(statuses, [0, 1], "created, then paid");
    let detail = &pushes[1].order_detail;
    assert_eq!(detail["order_id"], json!(paid));
    assert_eq!(detail["total_price"], 500);
    assert_eq!(detail["item_list"][0]["img"], "https://example.com/course.png");
    assert_eq!(pushes[1].open_id, stack.sandbox.openid_of("xia"));
    assert_eq!(stack.sandbox.token_fetches(), 1, "one token for the whole batch");
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_push_goes_through() {
    let stack = stack_with(500).await;
    let (_, no) = paid_order(&stack, "zoe", "course").await;
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    let event =
        |seq: &str| -> Event { serde_json::from_value(json!({"Records": [stream_record(seq, None, &item)]})).unwrap() };
    assert!(
        minipay::service::push::push_batch(&stack.app, event("1"))
            .await
            .batch_item_failures
            .is_empty()
    );
    stack.sandbox.expire_tokens();
    assert!(
        minipay::service::push::push_batch(&stack.app, event("2"))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(stack.sandbox.token_fetches(), 2);
    assert_eq!(stack.sandbox.pushes().len(), 2);
}
