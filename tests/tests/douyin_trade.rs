//! The Douyin general trade system end to end: prepay signs data for tt.requestOrder,
//! the sandbox places and pays the order and sends RSA-signed callbacks, and refunds
//! (also the user's own, via pre_create_refund) and settlement go through trade_basic.
//! Against moto and the sandbox over real HTTP.

use aws_lambda_events::event::dynamodb::Event;
use harness::client::ApiClient;
use harness::gate::Gate;
use harness::money::{raw_item, stream_record};
use harness::readback::{OrderView, assert_acknowledged};
use harness::{ADMIN_KEY, Stack, StackOptions, table, trade_keys};
use sandbox::{CallbackOptions, PayOptions, Sandbox, TradePayOptions, TradePayStatus, TransferStatus};
use serde_json::{Value, json};

async fn trade_stack(price: i64) -> Stack {
    trade_stack_with(price, None).await
}

/// A trade-mode stack, its table behind `wrap_store` if given.
async fn trade_stack_with(price: i64, wrap_store: Option<harness::StoreWrapper>) -> Stack {
    let stack = Stack::start_custom(StackOptions {
        overrides: vec![("DOUYIN_PAY_MODE".into(), "trade".into())],
        wrap_store,
        ..StackOptions::default()
    })
    .await;
    table::put_trade_catalog_item(&table::client().await, &stack.table, "course", price, "Rust 进阶课程").await;
    stack
}

/// What the mini-program does: log in, prepay, and hand `data` and `byteAuthorization`
/// to tt.requestOrder. Returns the session, `out_order_no` and the platform order id.
async fn placed_order(api: &ApiClient, sandbox: &Sandbox, user: &str, quantity: u32) -> (String, String, String) {
    let session = api.login(&sandbox.login_code(user)).await;
    let prepay = api
        .post(
            "/prepay",
            Some(&session),
            &json!({"sku": "course", "quantity": quantity}),
        )
        .await;
    assert_eq!(prepay.status, 200, "prepay: {}", prepay.text);
    assert_eq!(prepay.body["status"], "PENDING");
    let pay = &prepay.body["pay"];
    assert!(
        pay.get("order_token").is_none(),
        "trade mode makes no ecpay order: {pay}"
    );
    let order_id = sandbox
        .trade_request_order(
            pay["data"].as_str().expect("data"),
            pay["byteAuthorization"].as_str().expect("byteAuthorization"),
        )
        .expect("tt.requestOrder accepts what prepay signed");
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    (session, no, order_id)
}

async fn order(api: &ApiClient, session: &str, no: &str) -> Value {
    let answer = api.get(&format!("/orders/{no}"), Some(session)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

#[tokio::test]
async fn payment_refunds_and_settlement_run_through_the_trade_system() {
    // The three payment callbacks meet at the conditional write that marks it paid.
    let gate = Gate::new("pay_by_callback", 3);
    let stack = trade_stack_with(990, Some(gate.in_front())).await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);
    let (session, no, order_id) = placed_order(api, sandbox, "tina", 2).await;
    let placed = sandbox.trade_order(&no).unwrap();
    assert_eq!(
        (placed.total_amount, placed.goods_type, placed.quantity),
        (1980, 401, 2)
    );
    // Placed but unpaid: order_query says PROCESS, the order stays pending.
    assert_eq!(order(api, &session, &no).await["status"], "PENDING");

    // The platform delivers the payment three times at once: applied once.
    let options = TradePayOptions {
        callback: CallbackOptions {
            deliveries: 3,
            ..CallbackOptions::default()
        },
        ..TradePayOptions::default()
    };
    let deliveries = sandbox.trade_pay(&no, options).await.unwrap();
    gate.assert_met();
    for delivery in deliveries {
        assert_eq!(
            (delivery.status, delivery.body.as_str()),
            (200, r#"{"err_no":0,"err_tips":"success"}"#)
        );
    }
    let paid = order(api, &session, &no).await;
    assert_eq!(
        (paid["status"].clone(), paid["code"].clone()),
        (json!("PAID"), json!(0))
    );
    assert!(paid["paid_at"].as_i64().is_some());
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(item["trade_no"].as_s().unwrap(), &order_id);

    // A back-office refund goes through refund_create with the item orders.
    let refund = api
        .post(
            "/refund",
            Some(ADMIN_KEY),
            &json!({"out_order_no": no, "out_refund_no": "TR-1", "refund_amount": 1200, "reason": "课程取消"}),
        )
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert_eq!(refund.body["status"], "PROCESSING");
    let at_platform = sandbox
        .trade_refund_by_out_no("TR-1")
        .expect("refund_create reached the platform");
    assert_eq!(refund.body["refund_no"], json!(at_platform.refund_id));
    let split: i64 = at_platform.item_order_detail.iter().map(|i| i.refund_amount).sum();
    assert_eq!((split, at_platform.item_order_detail.len()), (1200, 2));
    let again = api
        .post(
            "/refund",
            Some(ADMIN_KEY),
            &json!({"out_order_no": no, "out_refund_no": "TR-1", "refund_amount": 1200, "reason": "课程取消"}),
        )
        .await;
    assert_eq!(again.body, refund.body);
    let state = api.get("/refunds/TR-1", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "PROCESSING", "{}", state.text);
    let done = sandbox
        .trade_finish_refund(&at_platform.refund_id, true, CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(done[0].status, 200, "{}", done[0].body);
    assert_eq!(
        api.get("/refunds/TR-1", Some(ADMIN_KEY)).await.body["status"],
        "SUCCESS"
    );
    assert_eq!(order(api, &session, &no).await["refunded_amount"], 1200);

    // The user asks for the rest on the platform's order page.
    let asked = sandbox
        .trade_user_refund(&no, 780, "不想要了", CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(asked.deliveries[0].status, 200, "{}", asked.deliveries[0].body);
    let out_refund_no = asked
        .out_refund_no
        .expect("the backend answered with its refund number");
    let recorded = api.get(&format!("/refunds/{out_refund_no}"), Some(ADMIN_KEY)).await;
    assert_eq!(
        (recorded.body["refund_amount"].clone(), recorded.body["status"].clone()),
        (json!(780), json!("PROCESSING"))
    );
    // In flight, it counts against what the back office may still refund.
    let over = api
        .post(
            "/refund",
            Some(ADMIN_KEY),
            &json!({"out_order_no": no, "out_refund_no": "TR-2", "refund_amount": 1, "reason": "多退"}),
        )
        .await;
    assert_eq!((over.status, over.error_code()), (409, "conflict"));
    assert!(sandbox.trade_refund_by_out_no("TR-2").is_none());
    let done = sandbox
        .trade_finish_refund(&asked.refund_id, true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&done);
    let refunded = order(api, &session, &no).await;
    assert_eq!(
        (refunded["status"].clone(), refunded["refunded_amount"].clone()),
        (json!("REFUNDED"), json!(1980))
    );
    let view = OrderView::read(api, &no).await;
    assert_eq!(
        (view.refund("TR-1"), view.refund(&out_refund_no)),
        (Some(("SUCCESS", 1200)), Some(("SUCCESS", 780)))
    );
    assert_eq!(sandbox.trade_order(&no).unwrap().refunded_amount, 1980);

    // One client token served every trade_basic call.
    assert_eq!(sandbox.client_token_fetches(), 1);
}

#[tokio::test]
async fn settlement_is_asked_once_and_finished_by_its_callback() {
    let stack = trade_stack(500).await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);
    let (_, no, _) = placed_order(api, sandbox, "sam", 1).await;
    assert_acknowledged(&sandbox.trade_pay(&no, TradePayOptions::default()).await.unwrap());
    assert_eq!(OrderView::read(api, &no).await.status(), "PAID");
    // Seven days on: the platform settles a content-recharge order only then.
    sandbox.trade_age_order(&no, 8).unwrap();
    let body = json!({"out_order_no": no, "out_settle_no": "TS-1", "settle_desc": "课程结算"});
    let settled = api.post("/settle", Some(ADMIN_KEY), &body).await;
    assert_eq!(settled.status, 200, "{}", settled.text);
    let at_platform = sandbox.trade_settle("TS-1").unwrap();
    assert_eq!(settled.body["settle_no"], json!(at_platform.settle_id));
    assert!(at_platform.receivers.is_empty());
    // The platform refuses a second settle_create with the number; ours answers the same.
    assert_eq!(api.post("/settle", Some(ADMIN_KEY), &body).await.body, settled.body);
    let done = sandbox
        .trade_finish_settle("TS-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&done);
    let item = raw_item(&stack, "SETTLE#TS-1", "SETTLE").await.unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "SUCCESS");
    let view = OrderView::read(api, &no).await;
    assert_eq!((view.status(), view.settlement("TS-1")), ("PAID", Some("SUCCESS")));
}

#[tokio::test]
async fn forged_cancelled_and_lost_payments_come_out_right() {
    let stack = trade_stack(300).await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);

    // A forged callback changes nothing; the platform retries and a lost callback is
    // recovered by the mini-program's polling through order_query.
    let (session, forged, _) = placed_order(api, sandbox, "fay", 1).await;
    let options = TradePayOptions {
        callback: CallbackOptions {
            tamper_signature: true,
            ..CallbackOptions::default()
        },
        ..TradePayOptions::default()
    };
    let refused = sandbox.trade_pay(&forged, options).await.unwrap();
    assert_eq!(refused[0].status, 401, "{}", refused[0].body);
    let item = raw_item(&stack, &format!("ORDER#{forged}"), "ORDER").await.unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "PENDING");
    assert_eq!(
        order(api, &session, &forged).await["status"],
        "PAID",
        "order_query tells the truth"
    );

    // The user gives up: the CANCEL callback closes the order for good.
    let session = api.login(&sandbox.login_code("gus")).await;
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let pay = &prepay.body["pay"];
    sandbox
        .trade_request_order(
            pay["data"].as_str().unwrap(),
            pay["byteAuthorization"].as_str().unwrap(),
        )
        .unwrap();
    let no = prepay.body["out_order_no"].as_str().unwrap();
    let cancelled = sandbox
        .trade_cancel(no, "USER_CANCEL", CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(cancelled[0].status, 200, "{}", cancelled[0].body);
    let closed = order(api, &session, no).await;
    assert_eq!(
        (closed["status"].clone(), closed["code"].clone()),
        (json!("CLOSED"), json!(3))
    );
    assert_eq!(sandbox.trade_order(no).unwrap().pay_status, TradePayStatus::Timeout);
    // A new prepay for the same thing makes a new order rather than the closed one.
    let next = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    assert_ne!(next.body["out_order_no"], prepay.body["out_order_no"]);
}

#[tokio::test]
async fn the_same_user_gets_the_same_trade_order_back_and_the_platform_accepts_it_again() {
    let stack = trade_stack(300).await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);
    let session = api.login(&sandbox.login_code("amy")).await;
    let first = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let second = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    assert_eq!(first.body["out_order_no"], second.body["out_order_no"]);
    assert_eq!(first.body["pay"]["data"], second.body["pay"]["data"]);
    let place = |answer: &Value| {
        sandbox.trade_request_order(
            answer["pay"]["data"].as_str().unwrap(),
            answer["pay"]["byteAuthorization"].as_str().unwrap(),
        )
    };
    assert_eq!(place(&first.body).unwrap(), place(&second.body).unwrap());
    // No secret of the trade system reaches the client.
    let key_body: String = trade_keys().app_private_pem.lines().nth(1).unwrap().to_owned();
    assert!(!first.text.contains(&key_body));
}

#[tokio::test]
async fn an_expired_client_token_is_refreshed_once() {
    // The mini-program polls twice in a row here: every poll asks the platform.
    let stack = Stack::start_with(&[("DOUYIN_PAY_MODE", "trade"), ("ORDER_QUERY_GAP_SECONDS", "0")]).await;
    table::put_trade_catalog_item(&table::client().await, &stack.table, "course", 300, "Rust 进阶课程").await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);
    let (session, no, _) = placed_order(api, sandbox, "kai", 1).await;
    assert_eq!(order(api, &session, &no).await["status"], "PENDING");
    assert_eq!(sandbox.client_token_fetches(), 1);
    sandbox.expire_client_tokens();
    sandbox
        .trade_pay(
            &no,
            TradePayOptions {
                callback: CallbackOptions {
                    deliveries: 0,
                    ..CallbackOptions::default()
                },
                ..TradePayOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(order(api, &session, &no).await["status"], "PAID");
    assert_eq!(sandbox.client_token_fetches(), 2);
}

#[tokio::test]
async fn catalog_entries_without_goods_type_are_refused_in_trade_mode() {
    let stack = Stack::start_with(&[("DOUYIN_PAY_MODE", "trade")]).await;
    table::put_catalog_item(&table::client().await, &stack.table, "plain", 100, "无类型").await;
    let session = stack.client.login(&stack.sandbox.login_code("lee")).await;
    let answer = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "plain"}))
        .await;
    assert_eq!((answer.status, answer.error_code()), (500, "internal"));
    assert!(answer.body["error"]["message"].as_str().unwrap().contains("goods_type"));
}

#[tokio::test]
async fn ecpay_orders_made_before_the_switch_still_complete_and_trade_orders_are_not_pushed() {
    // Before: an ecpay deployment takes an order that is not paid yet.
    let before = Stack::start().await;
    table::put_trade_catalog_item(&table::client().await, &before.table, "course", 800, "课程").await;
    let session = before.client.login(&before.sandbox.login_code("eve")).await;
    let prepay = before
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert!(prepay.body["pay"]["order_token"].is_string(), "{}", prepay.text);
    let ecpay_no = prepay.body["out_order_no"].as_str().unwrap().to_owned();

    // The operator switches to the trade system: a new cold start on the same table.
    let Stack { sandbox, table, .. } = before;
    let after = Stack::start_custom(StackOptions {
        overrides: vec![("DOUYIN_PAY_MODE".into(), "trade".into())],
        reuse: Some((sandbox, table)),
        ..StackOptions::default()
    })
    .await;
    let (api, sandbox) = (&after.client, &after.sandbox);
    // The order's public notify URL now leads to the new deployment (the tunnel moved).
    let paid = sandbox.pay(&ecpay_no, PayOptions::default()).await.unwrap();
    assert_eq!(paid[0].status, 200, "{}", paid[0].body);
    assert_eq!(order(api, &session, &ecpay_no).await["status"], "PAID");
    // Its refund still goes to ecpay, and its callback is still verified with the Token.
    let refund = api
        .post(
            "/refund",
            Some(ADMIN_KEY),
            &json!({"out_order_no": ecpay_no, "out_refund_no": "ER-1", "refund_amount": 800}),
        )
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert!(sandbox.refund("ER-1").is_some(), "ecpay create_refund");
    assert!(sandbox.trade_refund_by_out_no("ER-1").is_none());
    let done = sandbox
        .finish_refund("ER-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&done);
    assert_eq!(order(api, &session, &ecpay_no).await["status"], "REFUNDED");
    assert_eq!(
        OrderView::read(api, &ecpay_no).await.refund("ER-1"),
        Some(("SUCCESS", 800))
    );

    // New orders are trade orders, and the push function leaves them to the platform.
    let (_, trade_no, _) = placed_order(api, sandbox, "eve", 1).await;
    assert_acknowledged(&sandbox.trade_pay(&trade_no, TradePayOptions::default()).await.unwrap());
    assert_eq!(OrderView::read(api, &trade_no).await.status(), "PAID");
    let pushes_before = sandbox.pushes().len();
    let trade_item = raw_item(&after, &format!("ORDER#{trade_no}"), "ORDER").await.unwrap();
    let ecpay_item = raw_item(&after, &format!("ORDER#{ecpay_no}"), "ORDER").await.unwrap();
    let event: Event = serde_json::from_value(json!({"Records": [
        stream_record("1", None, &trade_item),
        stream_record("2", None, &ecpay_item),
    ]}))
    .unwrap();
    let answer = minipay::service::push::push_batch(&after.app, event).await;
    assert!(answer.batch_item_failures.is_empty());
    let pushed: Vec<_> = sandbox.pushes()[pushes_before..].to_vec();
    assert_eq!(pushed.len(), 1, "only the ecpay order is pushed");
    assert!(format!("{:?}", pushed[0]).contains(&ecpay_no));
    assert_eq!(TransferStatus::Success, sandbox.refund("ER-1").unwrap().status);
}

fn quiet_pay() -> TradePayOptions {
    TradePayOptions {
        callback: CallbackOptions {
            deliveries: 0,
            ..CallbackOptions::default()
        },
        ..TradePayOptions::default()
    }
}

/// A bad day: the user asks for a refund on the platform before the payment callback
/// reached the backend. The backend must answer so that the platform asks again (not
/// take it for an unpaid order's refund, not lose it), and take it once it knows.
#[tokio::test]
async fn a_user_refund_before_the_payment_callback_is_refused_then_taken_on_the_retry() {
    let stack = trade_stack(600).await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);
    // No GET /orders here: a query of a pending order asks the platform and finds it paid.
    let (_, no, _) = placed_order(api, sandbox, "rio", 1).await;
    sandbox.trade_pay(&no, quiet_pay()).await.unwrap();
    let stored = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(
        stored["status"],
        aws_sdk_dynamodb::types::AttributeValue::S("PENDING".into())
    );

    let asked = sandbox
        .trade_user_refund(&no, 600, "不想要了", CallbackOptions::default())
        .await
        .unwrap();
    let answer = &asked.deliveries[0];
    assert_ne!(answer.status, 200, "a 200 would be taken as an answer: {}", answer.body);
    assert_eq!(asked.out_refund_no, None, "no refund without the backend's number");
    let no_refund = minipay::domain::refund::user_refund_no(&asked.refund_id);
    assert_eq!(
        api.get(&format!("/refunds/{no_refund}"), Some(ADMIN_KEY)).await.status,
        404
    );

    // The payment callback arrives (the platform resends it), then the platform asks again.
    let paid = sandbox.trade_pay(&no, TradePayOptions::default()).await.unwrap();
    assert_eq!(paid[0].status, 200, "{}", paid[0].body);
    let retried = sandbox
        .trade_retry_user_refund(&asked.refund_id, CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(retried.deliveries[0].status, 200, "{}", retried.deliveries[0].body);
    let out_refund_no = retried.out_refund_no.expect("taken this time");
    assert_eq!(out_refund_no, no_refund);
    let recorded = api.get(&format!("/refunds/{out_refund_no}"), Some(ADMIN_KEY)).await;
    assert_eq!(
        (&recorded.body["refund_amount"], &recorded.body["status"]),
        (&json!(600), &json!("PROCESSING"))
    );
    assert_eq!(
        sandbox.trade_refund(&asked.refund_id).unwrap().out_refund_no,
        out_refund_no
    );
}

/// Platform encoders escape non-ASCII text and order keys as they like; the signature
/// covers the body as sent, so the backend must verify the raw bytes, then parse them.
#[tokio::test]
async fn callbacks_with_escaped_unicode_and_reordered_keys_verify_and_apply() {
    let stack = trade_stack(600).await;
    let (api, sandbox) = (&stack.client, &stack.sandbox);
    let (session, no, _) = placed_order(api, sandbox, "ivy", 1).await;
    let styled = CallbackOptions {
        escape_unicode: true,
        reorder_keys: true,
        ..CallbackOptions::default()
    };
    let pay = TradePayOptions {
        callback: styled.clone(),
        ..TradePayOptions::default()
    };
    let paid = sandbox.trade_pay(&no, pay).await.unwrap();
    assert_eq!(paid[0].status, 200, "{}", paid[0].body);
    assert_eq!(order(api, &session, &no).await["status"], "PAID");

    let asked = sandbox.trade_user_refund(&no, 200, "不想要了", styled).await.unwrap();
    assert_eq!(asked.deliveries[0].status, 200, "{}", asked.deliveries[0].body);
    let out_refund_no = asked.out_refund_no.expect("the backend answered with its number");
    let stored = raw_item(&stack, &format!("REFUND#{out_refund_no}"), "REFUND")
        .await
        .unwrap();
    assert_eq!(
        stored["reason"],
        aws_sdk_dynamodb::types::AttributeValue::S("不想要了".into()),
        "the escaped reason, decoded"
    );
}
