//! The Douyin ecpay slice against a real DynamoDB API (moto) and the sandbox over HTTP.

use harness::gate::Gate;
use harness::readback::assert_acknowledged;
use harness::table;
use harness::{Stack, StackOptions};
use sandbox::{Fault, FaultKind, PayOptions};
use serde_json::json;
use std::time::{Duration, Instant};

const CREATE_ORDER: &str = "/api/apps/ecpay/v1/create_order";

async fn stack_with_course(price: i64) -> Stack {
    with_course(Stack::start().await, price).await
}

/// A stack whose table has `gate` in front.
async fn gated_stack_with_course(gate: &std::sync::Arc<Gate>, price: i64) -> Stack {
    let options = StackOptions {
        wrap_store: Some(gate.in_front()),
        ..StackOptions::default()
    };
    with_course(Stack::start_custom(options).await, price).await
}

async fn with_course(stack: Stack, price: i64) -> Stack {
    let client = table::client().await;
    table::put_catalog_item(&client, &stack.table, "course", price, "Rust 入门课程").await;
    stack
}

async fn session_for(stack: &Stack, user: &str) -> String {
    stack.client.login(&stack.sandbox.login_code(user)).await
}

#[tokio::test]
async fn a_douyin_payment_runs_end_to_end() {
    let stack = stack_with_course(990).await;
    let api = &stack.client;

    let login = api
        .post("/openid", None, &json!({"code": stack.sandbox.login_code("alice")}))
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["openid"], json!(stack.sandbox.openid_of("alice")));
    assert!(login.body["expires_in"].as_i64().unwrap() > 0);
    assert!(
        login.body.get("session_key").is_none(),
        "session_key must stay on the server"
    );
    let session = login.body["session"].as_str().unwrap().to_owned();
    assert_eq!(session.len(), 32);

    let prepay = api
        .post("/prepay", Some(&session), &json!({"sku": "course", "quantity": 2}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    assert_eq!(prepay.body["status"], "PENDING");
    assert_eq!(prepay.body["platform"], "douyin");
    assert_eq!(prepay.body["total_amount"], 1980);
    let out_order_no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let platform_order = stack
        .sandbox
        .order(&out_order_no)
        .expect("the platform holds the order");
    assert_eq!(prepay.body["pay"]["order_id"], json!(platform_order.order_id));
    assert_eq!(prepay.body["pay"]["order_token"], json!(platform_order.order_token));
    assert_eq!(platform_order.total_amount, 1980);

    let pending = api.get(&format!("/orders/{out_order_no}"), Some(&session)).await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    assert_eq!(
        (pending.body["status"].clone(), pending.body["code"].clone()),
        (json!("PENDING"), json!(9))
    );

    let deliveries = stack.sandbox.pay(&out_order_no, PayOptions::default()).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, 200, "{}", deliveries[0].body);
    let reply: serde_json::Value = serde_json::from_str(&deliveries[0].body).unwrap();
    assert_eq!(reply, json!({"err_no": 0, "err_tips": "success"}));

    let paid = api.get(&format!("/orders/{out_order_no}"), Some(&session)).await;
    assert_eq!(paid.status, 200);
    assert_eq!(paid.body["status"], "PAID");
    assert_eq!(paid.body["code"], 0);
    assert_eq!(paid.body["total_amount"], 1980);
    assert_eq!(paid.body["refunded_amount"], 0);
    assert!(paid.body["paid_at"].as_i64().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn every_duplicate_and_concurrent_callback_is_acknowledged_and_applied_once() {
    // The five deliveries meet at the conditional write that marks the order paid.
    let gate = Gate::new("pay_by_callback", 5);
    let stack = gated_stack_with_course(&gate, 100).await;
    let session = session_for(&stack, "bob").await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    let out_order_no = prepay.body["out_order_no"].as_str().unwrap().to_owned();

    let options = PayOptions {
        deliveries: 5,
        ..PayOptions::default()
    };
    let deliveries = stack.sandbox.pay(&out_order_no, options).await.unwrap();
    gate.assert_met();
    assert_eq!(deliveries.len(), 5);
    for d in &deliveries {
        assert_eq!(d.status, 200, "{}", d.body);
    }
    // The platform retries later too.
    let again = stack.sandbox.pay(&out_order_no, PayOptions::default()).await.unwrap();
    assert_acknowledged(&again);

    let item = raw_order(&stack, &out_order_no).await;
    // Written three times: created, platform order recorded, paid. Never paid twice.
    assert_eq!(item["version"].as_n().unwrap(), "3");
    assert_eq!(item["status"].as_s().unwrap(), "PAID");
}

async fn raw_order(
    stack: &Stack,
    out_order_no: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    table::client()
        .await
        .get_item()
        .table_name(&stack.table)
        .key("pk", V::S(format!("ORDER#{out_order_no}")))
        .key("sk", V::S("ORDER".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("order item")
}

#[tokio::test]
async fn forged_or_wrong_amount_callbacks_change_nothing() {
    let stack = stack_with_course(100).await;
    let session = session_for(&stack, "carol").await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    let out_order_no = prepay.body["out_order_no"].as_str().unwrap().to_owned();

    let forged = PayOptions {
        tamper_signature: true,
        ..PayOptions::default()
    };
    let d = stack.sandbox.pay(&out_order_no, forged).await.unwrap();
    assert!(d[0].status >= 400, "forged callback answered {}", d[0].status);
    assert_ne!(
        serde_json::from_str::<serde_json::Value>(&d[0].body).unwrap()["err_no"],
        0
    );

    let cheaper = PayOptions {
        amount: Some(1),
        ..PayOptions::default()
    };
    let d = stack.sandbox.pay(&out_order_no, cheaper).await.unwrap();
    assert!(d[0].status >= 400, "wrong amount answered {}", d[0].status);

    let item = raw_order(&stack, &out_order_no).await;
    assert_eq!(item["status"].as_s().unwrap(), "PENDING");

    for body in ["", "{", "{\"msg\": 1}", "[]"] {
        let answer = stack
            .client
            .send("POST", "/notify/douyin", None, Some(body.as_bytes().to_vec()))
            .await;
        assert!(answer.status >= 400, "{body:?} answered {}", answer.status);
        assert_ne!(answer.body["err_no"], 0);
    }
}

#[tokio::test]
async fn an_unpaid_order_is_reused_and_a_paid_one_is_not() {
    let stack = stack_with_course(100).await;
    let session = session_for(&stack, "dave").await;
    let first = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course", "quantity": 1}))
        .await;
    let second = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(first.body["out_order_no"], second.body["out_order_no"]);
    assert_eq!(first.body["pay"], second.body["pay"]);
    assert_eq!(stack.sandbox.calls(CREATE_ORDER), 1, "no second platform order");

    let other_quantity = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course", "quantity": 3}))
        .await;
    assert_ne!(other_quantity.body["out_order_no"], first.body["out_order_no"]);

    let other_user = session_for(&stack, "erin").await;
    let theirs = stack
        .client
        .post("/prepay", Some(&other_user), &json!({"sku": "course"}))
        .await;
    assert_ne!(theirs.body["out_order_no"], first.body["out_order_no"]);

    let no = first.body["out_order_no"].as_str().unwrap();
    assert_acknowledged(&stack.sandbox.pay(no, PayOptions::default()).await.unwrap());
    assert_eq!(raw_order(&stack, no).await["status"].as_s().unwrap(), "PAID");
    let after_paying = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(after_paying.status, 200);
    assert_ne!(after_paying.body["out_order_no"], first.body["out_order_no"]);
}

#[tokio::test]
async fn concurrent_prepays_of_one_user_make_one_order() {
    // The eight meet at the write that takes the user's order slot.
    let gate = Gate::new("insert_order", 8);
    let stack = gated_stack_with_course(&gate, 100).await;
    let session = session_for(&stack, "frank").await;
    let body = json!({"sku": "course"});
    let calls = (0..8).map(|_| stack.client.post("/prepay", Some(&session), &body));
    let answers = futures::future::join_all(calls).await;
    gate.assert_met();
    let numbers: std::collections::HashSet<_> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{}", a.text);
            a.body["out_order_no"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    let order_ids: std::collections::HashSet<_> = answers.iter().map(|a| a.body["pay"]["order_id"].clone()).collect();
    assert_eq!(order_ids.len(), 1);
}

#[tokio::test]
async fn query_records_a_failed_payment_the_platform_reports() {
    let stack = stack_with_course(100).await;
    let session = session_for(&stack, "grace").await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    stack.sandbox.fail_order(&no).unwrap();
    let answer = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (answer.body["status"].clone(), answer.body["code"].clone()),
        (json!("FAILED"), json!(2))
    );
    assert_eq!(raw_order(&stack, &no).await["status"].as_s().unwrap(), "FAILED");
    // Recorded: the platform is not asked again.
    let queries = stack.sandbox.calls("/api/apps/ecpay/v1/query_order");
    stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(stack.sandbox.calls("/api/apps/ecpay/v1/query_order"), queries);
}

#[tokio::test]
async fn platform_faults_answer_the_envelope_and_clear() {
    let stack = stack_with_course(100).await;
    let session = session_for(&stack, "heidi").await;
    let prepay = |s: &str| {
        let s = s.to_owned();
        let client = stack.client.clone();
        async move { client.post("/prepay", Some(&s), &json!({"sku": "course"})).await }
    };

    // A 5xx on both attempts: unavailable, and the order waits for the repeat.
    stack.sandbox.set_fault(Fault {
        when: sandbox::faults::FaultWhen::Before,
        path_prefix: CREATE_ORDER.into(),
        kind: FaultKind::Status(500),
        times: 2,
    });
    let failed = prepay(&session).await;
    assert_eq!(
        (failed.status, failed.error_code()),
        (503, "platform_unavailable"),
        "{}",
        failed.text
    );
    let recovered = prepay(&session).await;
    assert_eq!(recovered.status, 200, "{}", recovered.text);

    // Garbage is unavailability too.
    let session2 = session_for(&stack, "ivan").await;
    stack.sandbox.set_fault(Fault {
        when: sandbox::faults::FaultWhen::Before,
        path_prefix: CREATE_ORDER.into(),
        kind: FaultKind::Garbage,
        times: 2,
    });
    let garbage = prepay(&session2).await;
    assert_eq!((garbage.status, garbage.error_code()), (503, "platform_unavailable"));
    let first_try = stack.sandbox.calls(CREATE_ORDER);
    let ok = prepay(&session2).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(stack.sandbox.calls(CREATE_ORDER), first_try + 1);

    // A hang past the timeout answers in bounded time.
    let session3 = session_for(&stack, "judy").await;
    stack.sandbox.set_fault(Fault {
        when: sandbox::faults::FaultWhen::Before,
        path_prefix: CREATE_ORDER.into(),
        kind: FaultKind::Hang(Duration::from_secs(20)),
        times: 2,
    });
    let started = Instant::now();
    let hung = prepay(&session3).await;
    assert_eq!((hung.status, hung.error_code()), (503, "platform_unavailable"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );

    // A business error is the platform's answer, with its code, and retires the number.
    let session4 = session_for(&stack, "ken").await;
    stack.sandbox.set_fault(Fault {
        when: sandbox::faults::FaultWhen::Before,
        path_prefix: CREATE_ORDER.into(),
        kind: FaultKind::PlatformError {
            err_no: 2010,
            err_tips: "参数错误".into(),
        },
        times: 1,
    });
    let rejected = prepay(&session4).await;
    assert_eq!((rejected.status, rejected.error_code()), (502, "platform_error"));
    assert!(rejected.body["error"]["message"].as_str().unwrap().contains("2010"));
    let fresh = prepay(&session4).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    stack.sandbox.clear_faults();
}

#[tokio::test]
async fn bad_requests_get_the_error_envelope() {
    let stack = stack_with_course(100).await;
    let api = &stack.client;
    let session = session_for(&stack, "leo").await;

    let code = stack.sandbox.login_code("mallory");
    assert_eq!(api.post("/openid", None, &json!({"code": code})).await.status, 200);
    let reused = api.post("/openid", None, &json!({"code": code})).await;
    assert_eq!(
        (reused.status, reused.error_code()),
        (401, "invalid_code"),
        "{}",
        reused.text
    );

    // (method, path, bearer, body, expected status, expected error code)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("POST", "/openid", None, b"{".to_vec(), 400, "invalid_request"),
        (
            "POST",
            "/openid",
            None,
            br#"{"code": 5}"#.to_vec(),
            400,
            "invalid_request",
        ),
        ("POST", "/openid", None, br#"{}"#.to_vec(), 400, "invalid_request"),
        (
            "POST",
            "/openid",
            None,
            br#"{"code":"x","platform":"alipay"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/openid",
            None,
            b"\xff\xfe\x00".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/prepay",
            None,
            br#"{"sku":"course"}"#.to_vec(),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/prepay",
            Some("0123456789abcdef0123456789abcdef"),
            br#"{"sku":"course"}"#.to_vec(),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            br#"{"sku":"nope"}"#.to_vec(),
            404,
            "not_found",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            br#"{"sku":"course","quantity":0}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            br#"{"sku":"course","quantity":100}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            br#"{"sku":"course","quantity":"1"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            br#"{"sku":"course","quantity":1.5}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            br#"{"sku":"course","amount":1}"#.to_vec(),
            200,
            "",
        ),
        (
            "POST",
            "/prepay",
            Some(&session),
            vec![b' '; 70_000],
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/orders/does-not-exist",
            Some(&session),
            vec![],
            404,
            "not_found",
        ),
        ("GET", "/orders/bad*id", Some(&session), vec![], 400, "invalid_request"),
        ("GET", "/orders/x", None, vec![], 401, "unauthorized"),
        ("DELETE", "/orders/x", Some(&session), vec![], 404, "not_found"),
        ("GET", "/openid", None, vec![], 404, "not_found"),
    ];
    for (method, path, bearer, body, status, code) in cases {
        let answer = api.send(method, path, bearer, (!body.is_empty()).then_some(body)).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.text);
        assert_eq!(answer.error_code(), code, "{method} {path}: {}", answer.text);
        if status >= 400 {
            assert!(answer.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    // Another user's order is not found.
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    let no = prepay.body["out_order_no"].as_str().unwrap();
    let other = session_for(&stack, "nina").await;
    let answer = api.get(&format!("/orders/{no}"), Some(&other)).await;
    assert_eq!((answer.status, answer.error_code()), (404, "not_found"));
}

#[tokio::test]
async fn sessions_are_stored_by_hash_and_answers_hold_no_secret() {
    let stack = stack_with_course(100).await;
    let login = stack
        .client
        .post("/openid", None, &json!({"code": stack.sandbox.login_code("olga")}))
        .await;
    let token = login.body["session"].as_str().unwrap();
    let items = table::all_items(&stack.table).await;
    let dump = format!("{:?}", items);
    assert!(!dump.contains(token), "the raw session token is stored");
    assert!(dump.contains("session_key"), "session_key kept server-side");
    for secret in harness::SECRETS {
        assert!(!login.text.contains(secret));
    }
}
