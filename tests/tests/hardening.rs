//! The worst day: duplicate callback storms, a table outage, a failure between the
//! platform accepting an order and the table recording it, expired sessions, and no
//! secret in any log line or answer.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;
use harness::money::raw_item;
use harness::moto::Moto;
use harness::readback::{OrderView, assert_acknowledged};
use harness::{ADMIN_KEY, SECRETS, Stack, StackOptions, table};
use minipay::domain::ids::session_key_of;
use sandbox::{CallbackOptions, PayOptions};
use serde_json::json;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

async fn stack_with_course(stack: Stack) -> Stack {
    table::put_catalog_item(&table::client().await, &stack.table, "course", 500, "并发课程").await;
    stack
}

#[tokio::test]
async fn a_hundred_orders_each_delivered_five_times_are_paid_exactly_once() {
    let stack = stack_with_course(Stack::start().await).await;
    let stack = &stack;
    let orders: Vec<String> = futures::stream::iter(0..100)
        .map(|i| async move {
            let session = stack
                .client
                .login(&stack.sandbox.login_code(&format!("storm-{i}")))
                .await;
            let prepay = stack
                .client
                .post("/prepay", Some(&session), &json!({"sku": "course"}))
                .await;
            assert_eq!(prepay.status, 200, "{}", prepay.text);
            prepay.body["out_order_no"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let deliveries: Vec<u16> = futures::stream::iter(orders.iter())
        .map(|no| async move {
            let options = PayOptions {
                deliveries: 5,
                ..PayOptions::default()
            };
            stack
                .sandbox
                .pay(no, options)
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.status)
                .collect::<Vec<_>>()
        })
        .buffer_unordered(20)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(deliveries.len(), 500);
    assert!(
        deliveries.iter().all(|s| *s == 200),
        "every delivery acknowledged: {deliveries:?}"
    );
    for no in &orders {
        let item = raw_item(stack, &format!("ORDER#{no}"), "ORDER")
            .await
            .expect("order kept");
        assert_eq!(item["status"], AttributeValue::S("PAID".into()));
        assert_eq!(
            item["version"],
            AttributeValue::N("3".into()),
            "{no} changed more than once"
        );
    }
}

#[tokio::test]
async fn a_table_outage_answers_the_envelope_in_bounded_time_and_clears() {
    let mut moto = Moto::start().await;
    let options = StackOptions {
        endpoint: Some(moto.endpoint()),
        ..StackOptions::default()
    };
    let stack = Stack::start_custom(options).await;
    let client = table::client_at(&moto.endpoint()).await;
    table::put_catalog_item(&client, &stack.table, "course", 500, "课程").await;
    let session = stack.client.login(&stack.sandbox.login_code("outage")).await;
    let paid = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    let no = paid.body["out_order_no"].as_str().unwrap().to_owned();

    moto.stop();
    let calls = [
        (
            "POST",
            "/openid".to_owned(),
            None,
            Some(json!({"code": stack.sandbox.login_code("outage")})),
        ),
        (
            "POST",
            "/prepay".to_owned(),
            Some(session.clone()),
            Some(json!({"sku": "course"})),
        ),
        ("GET", format!("/orders/{no}"), Some(session.clone()), None),
        (
            "POST",
            "/refund".to_owned(),
            Some(ADMIN_KEY.to_owned()),
            Some(json!({"out_order_no": no, "out_refund_no": "R1", "refund_amount": 1})),
        ),
        ("GET", "/refunds/R1".to_owned(), Some(ADMIN_KEY.to_owned()), None),
        ("GET", "/admin/orders".to_owned(), Some(ADMIN_KEY.to_owned()), None),
        ("GET", format!("/admin/orders/{no}"), Some(ADMIN_KEY.to_owned()), None),
        ("GET", "/admin/orders.csv".to_owned(), Some(ADMIN_KEY.to_owned()), None),
        (
            "POST",
            "/settle".to_owned(),
            Some(ADMIN_KEY.to_owned()),
            Some(json!({"out_order_no": no, "out_settle_no": "S1", "settle_desc": "x"})),
        ),
    ];
    for (method, path, bearer, body) in &calls {
        let started = Instant::now();
        let body = body.as_ref().map(|b| serde_json::to_vec(b).unwrap());
        let answer = stack.client.send(method, path, bearer.as_deref(), body).await;
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "{path} took {:?}",
            started.elapsed()
        );
        assert_eq!(
            (answer.status, answer.error_code()),
            (500, "internal"),
            "{path}: {}",
            answer.text
        );
        assert!(
            !answer.text.contains("127.0.0.1"),
            "no internals in the message: {}",
            answer.text
        );
    }
    let started = Instant::now();
    let deliveries = stack.sandbox.pay(&no, PayOptions::default()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the callback is answered within Douyin's 5 s budget"
    );
    assert_eq!(
        deliveries[0].status, 500,
        "the platform will retry: {}",
        deliveries[0].body
    );

    // The emulator comes back (empty, as after an outage of a local emulator).
    moto.restart().await;
    table::create_table(&client, &stack.table).await;
    table::put_catalog_item(&client, &stack.table, "course", 500, "课程").await;
    let session = stack.client.login(&stack.sandbox.login_code("after-outage")).await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
}

#[tokio::test]
async fn an_order_the_platform_accepted_but_the_table_missed_is_completed_by_the_repeat() {
    let options = StackOptions {
        wrap_store: Some(Box::new(|inner| Arc::new(harness::flaky::failing_records(inner, 1)))),
        ..StackOptions::default()
    };
    let stack = stack_with_course(Stack::start_custom(options).await).await;
    let session = stack.client.login(&stack.sandbox.login_code("repeat")).await;
    let first = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!((first.status, first.error_code()), (500, "internal"), "{}", first.text);
    let second = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let no = second.body["out_order_no"].as_str().unwrap();
    let platform = stack.sandbox.order(no).expect("the platform's order");
    assert_eq!(
        second.body["pay"]["order_id"],
        json!(platform.order_id),
        "the platform's order id is kept"
    );
    assert_eq!(
        stack.sandbox.calls("/api/apps/ecpay/v1/create_order"),
        2,
        "asked twice, ..."
    );
    let items = table::all_items(&stack.table).await;
    let orders = items
        .iter()
        .filter(|i| i.get("entity") == Some(&AttributeValue::S("ORDER".into())))
        .count();
    assert_eq!(orders, 1, "... and one order on both sides");
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let stack = stack_with_course(Stack::start().await).await;
    let session = stack.client.login(&stack.sandbox.login_code("sleepy")).await;
    assert_eq!(session.len(), 32, "128 random bits");
    table::client()
        .await
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(format!("SESSION#{}", session_key_of(&session))))
        .key("sk", AttributeValue::S("SESSION".into()))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let answer = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!((answer.status, answer.error_code()), (401, "unauthorized"));
}

/// Every log line of this test binary, at DEBUG and above.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber as subscriber;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let writer = move || Capture(sink.clone());
        let _ = subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(writer)
            .with_ansi(false)
            .try_init();
        logs
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_or_an_answer() {
    let logs = captured_logs();
    let stack = stack_with_course(Stack::start().await).await;
    let api = &stack.client;
    let mut answers = Vec::new();

    let login = api
        .post("/openid", None, &json!({"code": stack.sandbox.login_code("secretive")}))
        .await;
    let session = login.body["session"].as_str().unwrap().to_owned();
    answers.push(login.text);
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    answers.push(prepay.text);
    let paid = stack
        .sandbox
        .pay(
            &no,
            PayOptions {
                deliveries: 2,
                ..PayOptions::default()
            },
        )
        .await
        .unwrap();
    assert_acknowledged(&paid);
    answers.extend(paid.into_iter().map(|d| d.body));
    let forged = stack
        .sandbox
        .pay(
            &no,
            PayOptions {
                tamper_signature: true,
                ..PayOptions::default()
            },
        )
        .await
        .unwrap();
    answers.push(forged[0].body.clone());
    answers.push(api.get(&format!("/orders/{no}"), Some(&session)).await.text);
    let refund = json!({"out_order_no": no, "out_refund_no": "SEC-1", "refund_amount": 100});
    answers.push(api.post("/refund", Some(ADMIN_KEY), &refund).await.text);
    let refunded = stack
        .sandbox
        .finish_refund("SEC-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&refunded);
    answers.extend(refunded.into_iter().map(|d| d.body));
    let view = OrderView::read(api, &no).await;
    assert_eq!((view.status(), view.refund("SEC-1")), ("PAID", Some(("SUCCESS", 100))));
    answers.push(api.get("/refunds/SEC-1", Some(ADMIN_KEY)).await.text);
    answers.push(api.post("/refund", Some("wrong"), &refund).await.text);
    let settle = json!({"out_order_no": no, "out_settle_no": "SEC-S", "settle_desc": "分账"});
    answers.push(api.post("/settle", Some(ADMIN_KEY), &settle).await.text);
    answers.push(api.post("/openid", None, &json!({"code": "used-or-bad"})).await.text);
    answers.push(
        minipay::service::push::push_batch(&stack.app, serde_json::from_value(json!({"Records": []})).unwrap())
            .await
            .batch_item_failures
            .len()
            .to_string(),
    );
    let _ = stack.app.douyin_access_token().await;

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(!logs.is_empty(), "the capture works");
    for secret in SECRETS {
        assert!(!logs.contains(secret), "a secret reached the logs");
        for answer in &answers {
            assert!(!answer.contains(secret), "a secret reached an answer: {answer}");
        }
    }
    assert!(!logs.contains(&session), "a session token reached the logs");
}
