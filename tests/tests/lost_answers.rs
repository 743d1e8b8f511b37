//! Lost and unclear answers (CONTRACT.md §8), against moto and the sandbox over real
//! HTTP: the platform does the work and its answer is lost, or its callback never
//! comes. Money stays reserved until its certain word, and one reconcile run finds
//! what the callbacks did not bring.

use aws_sdk_dynamodb::types::AttributeValue;
use harness::money::{Money, money, paid_order, raw_item};
use harness::readback::{OrderView, assert_acknowledged};
use harness::{ADMIN_KEY, Stack, table};
use minipay::domain::order::OrderStatus;
use minipay::service::reconcile::{self, RunReport};
use minipay::store::OrderStore;
use sandbox::{CallbackOptions, Fault, FaultKind, PayOptions, WechatPayOptions, WechatRefundStatus};
use serde_json::json;
use std::time::Duration;

const ECPAY_REFUND: &str = "/api/apps/ecpay/v1/create_refund";
const ECPAY_SETTLE: &str = "/api/apps/ecpay/v1/settle";

/// A stack whose reconciler asks about open items at once.
async fn stack() -> Stack {
    let stack = Stack::start_with(&[("RECONCILE_AFTER_SECONDS", "0")]).await;
    let client = table::client().await;
    table::put_catalog_item(&client, &stack.table, "course", 990, "Rust 进阶课程").await;
    table::put_catalog_item(&client, &stack.table, "wx-course", 880, "微信小程序课程").await;
    stack
}

async fn reconcile_once(stack: &Stack) -> RunReport {
    reconcile::run(&stack.app, Duration::from_secs(60))
        .await
        .expect("reconcile run")
}

fn no_callback() -> CallbackOptions {
    CallbackOptions {
        deliveries: 0,
        ..CallbackOptions::default()
    }
}

/// Both attempts of a call (the client retries once) do the work and lose the answer.
fn answers_lost(path: &str, kind: FaultKind) -> Fault {
    Fault::after(path, kind, 2)
}

fn system_busy() -> FaultKind {
    FaultKind::PlatformError {
        err_no: 1000,
        err_tips: "系统错误".into(),
    }
}

async fn order_json(stack: &Stack, session: &str, no: &str) -> serde_json::Value {
    let answer = stack.client.get(&format!("/orders/{no}"), Some(session)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

fn refund_body(no: &str, refund_no: &str, amount: i64) -> serde_json::Value {
    json!({"out_order_no": no, "out_refund_no": refund_no, "refund_amount": amount, "reason": "用户申请退款"})
}

#[tokio::test]
async fn a_refund_whose_answer_is_lost_stays_reserved_until_the_reconciler_learns_it() {
    let stack = stack().await;
    let api = &stack.client;
    let (session, no) = paid_order(&stack, "lena", "course").await;

    stack.sandbox.set_fault(answers_lost(ECPAY_REFUND, system_busy()));
    let lost = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-LOST", 990))
        .await;
    assert_eq!(
        (lost.status, lost.error_code()),
        (502, "platform_error"),
        "{}",
        lost.text
    );
    assert!(
        stack.sandbox.refund("RF-LOST").is_some(),
        "the platform made the refund"
    );

    // Not FAIL: the money is still reserved, so it cannot be refunded a second time.
    let state = api.get("/refunds/RF-LOST", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "PROCESSING", "{}", state.text);
    let again = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-AGAIN", 990))
        .await;
    assert_eq!((again.status, again.error_code()), (409, "conflict"), "{}", again.text);

    // The platform finishes it and its callback is lost too: one run finds it.
    stack
        .sandbox
        .finish_refund("RF-LOST", true, no_callback())
        .await
        .unwrap();
    let report = reconcile_once(&stack).await;
    assert_eq!((report.refunds_ended, report.errors), (1, 0), "{report:?}");
    let state = api.get("/refunds/RF-LOST", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "SUCCESS", "{}", state.text);
    let order = order_json(&stack, &session, &no).await;
    assert_eq!(
        (order["status"].clone(), order["refunded_amount"].clone()),
        (json!("REFUNDED"), json!(990))
    );
    assert_eq!(
        stack.sandbox.calls(ECPAY_REFUND),
        3,
        "two lost answers, then one resend under the same number"
    );
}

#[tokio::test]
async fn repeating_the_refund_after_a_lost_answer_completes_it_with_the_same_platform_refund() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = paid_order(&stack, "mona", "course").await;
    stack
        .sandbox
        .set_fault(answers_lost(ECPAY_REFUND, FaultKind::Status(502)));
    let lost = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-R", 300))
        .await;
    assert_eq!(
        (lost.status, lost.error_code()),
        (503, "platform_unavailable"),
        "{}",
        lost.text
    );

    let repeated = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-R", 300))
        .await;
    assert_eq!(repeated.status, 200, "{}", repeated.text);
    let platform = stack.sandbox.refund("RF-R").unwrap();
    assert_eq!(repeated.body["refund_no"], json!(platform.refund_no));
    assert_eq!(repeated.body["status"], "PROCESSING");
}

#[tokio::test]
async fn a_certain_refusal_releases_the_amount() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = paid_order(&stack, "nina", "course").await;
    stack.sandbox.set_fault(Fault::before(
        ECPAY_REFUND,
        FaultKind::PlatformError {
            err_no: 2010,
            err_tips: "业务参数错误".into(),
        },
        1,
    ));
    let refused = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-NO", 990))
        .await;
    assert_eq!((refused.status, refused.error_code()), (502, "platform_error"));
    assert_eq!(api.get("/refunds/RF-NO", Some(ADMIN_KEY)).await.body["status"], "FAIL");
    let retry = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-YES", 990))
        .await;
    assert_eq!(
        retry.status, 200,
        "the whole amount is refundable again: {}",
        retry.text
    );
}

#[tokio::test]
async fn a_settlement_whose_answer_is_lost_is_finished_by_the_reconciler() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = paid_order(&stack, "otto", "course").await;
    // Seven days on: the platform settles an order only then.
    stack.sandbox.age_order(&no, 8).unwrap();
    stack.sandbox.set_fault(answers_lost(ECPAY_SETTLE, FaultKind::Garbage));
    let body = json!({"out_order_no": no, "out_settle_no": "ST-LOST", "settle_desc": "课程分账"});
    let lost = api.post("/settle", Some(ADMIN_KEY), &body).await;
    assert_eq!(
        (lost.status, lost.error_code()),
        (503, "platform_unavailable"),
        "{}",
        lost.text
    );
    assert!(
        stack.sandbox.settle("ST-LOST").is_some(),
        "the platform made the settlement"
    );
    let stored = raw_item(&stack, "SETTLE#ST-LOST", "SETTLE").await.unwrap();
    assert_eq!(stored["status"], AttributeValue::S("PROCESSING".into()));

    stack
        .sandbox
        .finish_settle("ST-LOST", true, no_callback())
        .await
        .unwrap();
    let report = reconcile_once(&stack).await;
    assert_eq!((report.settlements_ended, report.errors), (1, 0), "{report:?}");
    let stored = raw_item(&stack, "SETTLE#ST-LOST", "SETTLE").await.unwrap();
    assert_eq!(stored["status"], AttributeValue::S("SUCCESS".into()));
    assert!(
        !stored.contains_key("open_shard"),
        "a finished settlement leaves the open index"
    );
}

#[tokio::test]
async fn a_settlement_waits_for_refunds_in_flight() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = paid_order(&stack, "pia", "course").await;
    // Seven days on: the platform settles an order only then.
    stack.sandbox.age_order(&no, 8).unwrap();
    let refund = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-FLY", 100))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let body = json!({"out_order_no": no, "out_settle_no": "ST-EARLY", "settle_desc": "课程分账"});
    let early = api.post("/settle", Some(ADMIN_KEY), &body).await;
    assert_eq!((early.status, early.error_code()), (409, "conflict"), "{}", early.text);
    assert!(
        stack.sandbox.settle("ST-EARLY").is_none(),
        "nothing reached the platform"
    );

    let done = stack
        .sandbox
        .finish_refund("RF-FLY", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&done);
    assert_eq!(OrderView::read(api, &no).await.refund("RF-FLY"), Some(("SUCCESS", 100)));
    let refunded = Money {
        refunded: 100,
        refunding: 0,
        refundable: 890,
    };
    assert_eq!(money(&stack, &no).await, refunded);
    // 30 % of what is left (890), not of the 990 paid: 267 is too much, 266 fits.
    let receivers = |amount: i64| json!([{"merchant_uid": "m-partner", "amount": amount}]);
    let too_much = json!({"out_order_no": no, "out_settle_no": "ST-1", "settle_desc": "课程分账", "settle_params": receivers(297)});
    let answer = api.post("/settle", Some(ADMIN_KEY), &too_much).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, "invalid_request"),
        "{}",
        answer.text
    );
    let fits = json!({"out_order_no": no, "out_settle_no": "ST-1", "settle_desc": "课程分账", "settle_params": receivers(267)});
    let answer = api.post("/settle", Some(ADMIN_KEY), &fits).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn lost_payment_callbacks_are_found_by_one_reconcile_run() {
    let stack = stack().await;
    let api = &stack.client;
    let session = api.login(&stack.sandbox.login_code("quinn")).await;
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let silent = PayOptions {
        deliveries: 0,
        ..PayOptions::default()
    };
    stack.sandbox.pay(&no, silent).await.unwrap();

    let report = reconcile_once(&stack).await;
    assert_eq!((report.orders_paid, report.errors), (1, 0), "{report:?}");
    let stored = stack.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.late), (OrderStatus::Paid, false));
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert!(!item.contains_key("open_shard"), "a paid order leaves the open index");
    // Nothing left to ask about.
    let next = reconcile_once(&stack).await;
    assert_eq!(next.asked, 0, "{next:?}");
}

#[tokio::test]
async fn twenty_lost_payments_two_runs_and_late_callbacks_pay_each_order_once() {
    let stack = stack().await;
    let api = &stack.client;
    let session = api.login(&stack.sandbox.login_code("rosa")).await;
    let mut orders = Vec::new();
    for quantity in 1..=20 {
        let prepay = api
            .post(
                "/prepay",
                Some(&session),
                &json!({"sku": "course", "quantity": quantity}),
            )
            .await;
        assert_eq!(prepay.status, 200, "{}", prepay.text);
        let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
        let silent = PayOptions {
            deliveries: 0,
            ..PayOptions::default()
        };
        stack.sandbox.pay(&no, silent).await.unwrap();
        orders.push(no);
    }
    let late_callbacks = async {
        for no in &orders {
            assert_acknowledged(&stack.sandbox.pay(no, PayOptions::default()).await.unwrap());
        }
    };
    let (first, second, ()) = tokio::join!(reconcile_once(&stack), reconcile_once(&stack), late_callbacks);
    assert_eq!(first.errors + second.errors, 0, "{first:?} {second:?}");
    assert!(first.orders_paid + second.orders_paid <= 20, "{first:?} {second:?}");
    for no in &orders {
        let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
        assert_eq!(item["status"], AttributeValue::S("PAID".into()), "{no}");
        // Created, platform order recorded, paid: one PENDING -> PAID change, so one
        // order_status 1 push.
        assert_eq!(
            item["version"],
            AttributeValue::N("3".into()),
            "{no} was changed more than once"
        );
    }
}

#[tokio::test]
async fn a_payment_after_the_order_timed_out_is_recorded_paid_and_late() {
    let stack = stack().await;
    let (session, _) = paid_order(&stack, "sam", "course").await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course", "quantity": 2}))
        .await;
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let now = minipay::domain::time::now_secs();
    stack.store.finish_unpaid(&no, OrderStatus::Timeout, now).await.unwrap();

    let deliveries = stack.sandbox.pay(&no, PayOptions::default()).await.unwrap();
    assert_eq!(deliveries[0].status, 200, "{}", deliveries[0].body);
    let stored = stack.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.late), (OrderStatus::Paid, true));
    assert_eq!(order_json(&stack, &session, &no).await["status"], "PAID");
}

/// A WeChat user's session and a new unpaid order of `wx-course`.
async fn wechat_order(stack: &Stack, user: &str) -> (String, String) {
    let code = stack.sandbox.wechat_login_code(user);
    let login = stack
        .client
        .post("/openid", None, &json!({"code": code, "platform": "wechat"}))
        .await;
    let session = login.body["session"].as_str().unwrap().to_owned();
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "wx-course"}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    (session, no)
}

async fn wechat_paid_order(stack: &Stack, user: &str) -> (String, String) {
    let (session, no) = wechat_order(stack, user).await;
    let deliveries = stack
        .sandbox
        .wechat_pay(&no, WechatPayOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&deliveries);
    assert_eq!(OrderView::read(&stack.client, &no).await.status(), "PAID");
    (session, no)
}

#[tokio::test]
async fn a_wechat_refund_without_its_notify_is_learnt_from_refundquery() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = wechat_paid_order(&stack, "tao").await;
    let answer = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "WX-RF", 880))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    stack
        .sandbox
        .wechat_finish_refund("WX-RF", true, no_callback())
        .await
        .unwrap();
    let state = api.get("/refunds/WX-RF", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "SUCCESS", "{}", state.text);
}

#[tokio::test]
async fn a_wechat_refund_change_stays_reserved_and_is_flagged() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = wechat_paid_order(&stack, "uma").await;
    let answer = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "WX-CH", 880))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let deliveries = stack
        .sandbox
        .wechat_finish_refund_as("WX-CH", WechatRefundStatus::Change, CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, 200, "{}", deliveries[0].body);
    let item = raw_item(&stack, "REFUND#WX-CH", "REFUND").await.unwrap();
    assert_eq!(item["status"], AttributeValue::S("PROCESSING".into()));
    assert_eq!(item["attention"], AttributeValue::S("CHANGE".into()));
    let report = reconcile_once(&stack).await;
    assert_eq!(report.needs_attention, 1, "{report:?}");
    let again = api
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "WX-2", 880))
        .await;
    assert_eq!(again.status, 409, "the amount stays reserved: {}", again.text);
}

#[tokio::test]
async fn an_expired_wechat_order_is_closed_on_the_platform_before_it_is_called_closed() {
    let stack = stack().await;
    let (_, no) = wechat_order(&stack, "vic").await;
    // Its pay window has passed; WeChat still says NOTPAY.
    table::client()
        .await
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(format!("ORDER#{no}")))
        .key("sk", AttributeValue::S("ORDER".into()))
        .update_expression("SET pay_deadline = :past")
        .expression_attribute_values(":past", AttributeValue::N("1000".into()))
        .send()
        .await
        .unwrap();

    let report = reconcile_once(&stack).await;
    assert_eq!((report.orders_ended_unpaid, report.errors), (1, 0), "{report:?}");
    assert_eq!(stack.sandbox.calls("/pay/closeorder"), 1);
    assert_eq!(
        stack.store.get_order(&no).await.unwrap().unwrap().status,
        OrderStatus::Closed
    );
    let paid_after_close = stack.sandbox.wechat_pay(&no, WechatPayOptions::default()).await;
    assert!(paid_after_close.is_err(), "a closed order cannot be paid");
}

#[tokio::test]
async fn back_office_refund_numbers_cannot_take_the_user_refund_prefix() {
    let stack = stack().await;
    let (_, no) = paid_order(&stack, "walt", "course").await;
    let answer = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "dyu-123", 10))
        .await;
    assert_eq!((answer.status, answer.error_code()), (400, "invalid_request"));
}

/// What one run costs the table for 1,000 open orders the platform has not seen paid:
/// one index query per 100 items, one claim each (no scan, no read per item).
#[tokio::test]
async fn a_run_over_a_thousand_open_orders_reads_the_index_not_the_table() {
    let stack = stack().await;
    let now = minipay::domain::time::now_secs();
    // Written in batches straight to the table (moto's transactions copy the whole
    // table, which makes 1,000 prepays too slow for a test): items as insert_order
    // writes them, PENDING and in the open index.
    let client = table::client().await;
    let n = |v: i64| AttributeValue::N(v.to_string());
    let text = |v: &str| AttributeValue::S(v.to_owned());
    for batch in 0..40 {
        let mut writes = Vec::new();
        for i in batch * 25..(batch + 1) * 25 {
            let no = format!("OPEN{i:04}");
            let item = std::collections::HashMap::from([
                ("pk".to_owned(), text(&format!("ORDER#{no}"))),
                ("sk".to_owned(), text("ORDER")),
                ("entity".to_owned(), text("ORDER")),
                ("out_order_no".to_owned(), text(&no)),
                ("platform".to_owned(), text("douyin")),
                ("openid".to_owned(), text("bulk")),
                ("sku".to_owned(), text("course")),
                ("quantity".to_owned(), n(1)),
                ("total_amount".to_owned(), n(990)),
                ("subject".to_owned(), text("Rust 进阶课程")),
                ("body".to_owned(), text("")),
                ("status".to_owned(), text("PENDING")),
                ("created_at".to_owned(), n(now - 120)),
                // Not expired, and never accepted by the platform (no platform order),
                // so asking costs no platform call: what is measured is the table.
                ("pay_deadline".to_owned(), n(now + 600)),
                ("refunded_amount".to_owned(), n(0)),
                ("refunding_amount".to_owned(), n(0)),
                ("refundable".to_owned(), n(0)),
                ("updated_at".to_owned(), n(now - 120)),
                ("version".to_owned(), n(1)),
                ("open_shard".to_owned(), text("OPEN")),
                ("due_at".to_owned(), n(now - 120)),
                ("checks".to_owned(), n(0)),
            ]);
            let put = aws_sdk_dynamodb::types::PutRequest::builder()
                .set_item(Some(item))
                .build()
                .unwrap();
            writes.push(
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(put)
                    .build(),
            );
        }
        client
            .batch_write_item()
            .request_items(&stack.table, writes)
            .send()
            .await
            .unwrap();
    }
    let before = stack.store.request_count();
    let report = reconcile_once(&stack).await;
    let requests = stack.store.request_count() - before;
    assert_eq!(
        (report.seen, report.asked, report.errors),
        (1000, 1000, 0),
        "{report:?}"
    );
    println!("reconcile over 1000 open orders: {requests} table requests");
    assert_eq!(
        requests,
        10 + 1 + 1000,
        "10 full index pages, one empty, one claim per order"
    );
    // Each was put off by the first step of the back-off.
    let item = raw_item(&stack, "ORDER#OPEN0999", "ORDER").await.unwrap();
    assert_eq!(item["checks"], AttributeValue::N("1".into()));
    let AttributeValue::N(due) = &item["due_at"] else {
        panic!("due_at")
    };
    assert!(due.parse::<i64>().unwrap() >= now + 5);
}

/// A trade-mode stack whose reconciler asks at once, with a placed (tt.requestOrder)
/// order of 900 fen in three items; returns its session and `out_order_no`.
async fn trade_placed_order(user: &str) -> (Stack, String, String) {
    let stack = Stack::start_with(&[("DOUYIN_PAY_MODE", "trade"), ("RECONCILE_AFTER_SECONDS", "0")]).await;
    table::put_trade_catalog_item(&table::client().await, &stack.table, "course", 300, "Rust 进阶课程").await;
    let session = stack.client.login(&stack.sandbox.login_code(user)).await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course", "quantity": 3}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    let pay = &prepay.body["pay"];
    stack
        .sandbox
        .trade_request_order(
            pay["data"].as_str().unwrap(),
            pay["byteAuthorization"].as_str().unwrap(),
        )
        .expect("tt.requestOrder");
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    (stack, session, no)
}

#[tokio::test]
async fn a_trade_payment_whose_callbacks_stopped_is_found_by_the_reconciler() {
    let (stack, session, no) = trade_placed_order("xena").await;
    let silent = sandbox::TradePayOptions {
        callback: no_callback(),
        ..sandbox::TradePayOptions::default()
    };
    stack.sandbox.trade_pay(&no, silent).await.unwrap();
    let report = reconcile_once(&stack).await;
    assert_eq!((report.orders_paid, report.errors), (1, 0), "{report:?}");
    assert_eq!(order_json(&stack, &session, &no).await["status"], "PAID");
}

#[tokio::test]
async fn a_trade_refund_made_before_under_the_same_number_is_adopted() {
    use minipay::douyin::trade::client::{ItemOrder, TradeRefundRequest};
    let (stack, _, no) = trade_placed_order("yara").await;
    let deliveries = stack
        .sandbox
        .trade_pay(&no, sandbox::TradePayOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&deliveries);
    assert_eq!(OrderView::read(&stack.client, &no).await.status(), "PAID");

    // refund_create does the work twice over and both answers are lost (13000).
    stack.sandbox.set_fault(answers_lost(
        "/api/trade_basic/v1/developer/refund_create/",
        FaultKind::PlatformError {
            err_no: 13000,
            err_tips: "系统错误，请重试".into(),
        },
    ));
    let lost = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "TR-1", 300))
        .await;
    assert_eq!(
        (lost.status, lost.error_code()),
        (502, "platform_error"),
        "{}",
        lost.text
    );
    assert_eq!(
        stack.client.get("/refunds/TR-1", Some(ADMIN_KEY)).await.body["status"],
        "PROCESSING"
    );

    // The reconciler sends it again under the same number and records the platform's id.
    let report = reconcile_once(&stack).await;
    assert_eq!((report.resent, report.errors), (1, 0), "{report:?}");
    let item = raw_item(&stack, "REFUND#TR-1", "REFUND").await.unwrap();
    let AttributeValue::S(refund_id) = item["refund_no"].clone() else {
        panic!("refund_no")
    };
    assert!(stack.sandbox.trade_refund(&refund_id).is_some());

    // Asked with other values under that number, the platform refuses; the client finds
    // the refund it made and adopts it rather than calling the refund refused.
    let placed = stack.sandbox.trade_order(&no).unwrap();
    let other = TradeRefundRequest {
        order_id: placed.order_id.clone(),
        out_refund_no: "TR-1".into(),
        reason: "另一个理由".into(),
        refund_total_amount: 300,
        items: vec![ItemOrder {
            item_order_id: placed.item_orders[0].item_order_id.clone(),
            amount: 300,
        }],
        refund_all: false,
        order_entry_schema: minipay::douyin::trade::request_order::order_entry_schema("pages/order/detail", &no),
    };
    let other = &other;
    let trade = stack.app.trade.as_ref().expect("trade configured");
    let adopted = trade
        .with_client_token(stack.app.store.as_ref(), |api, token| async move {
            api.create_refund(&token, other).await
        })
        .await
        .expect("adopted");
    assert_eq!(adopted, refund_id);
}

#[tokio::test]
async fn kept_callbacks_expire_after_the_retention() {
    let stack = Stack::start_with(&[("CALLBACK_RETENTION_DAYS", "7")]).await;
    table::put_catalog_item(&table::client().await, &stack.table, "course", 990, "Rust 进阶课程").await;
    paid_order(&stack, "zoe", "course").await;
    let kept: Vec<_> = table::all_items(&stack.table)
        .await
        .into_iter()
        .filter(|item| item.get("entity") == Some(&AttributeValue::S("CALLBACK".into())))
        .collect();
    assert_eq!(kept.len(), 1);
    let number = |key: &str| match &kept[0][key] {
        AttributeValue::N(v) => v.parse::<i64>().unwrap(),
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(number("ttl") - number("received_at"), 7 * 86_400);
}
