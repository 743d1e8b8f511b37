//! The `/sandbox/` control API, black box, and the `sandbox` binary.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

async fn delete(sandbox: &sandbox::Sandbox, path: &str) -> u16 {
    http()
        .delete(format!("{}{path}", sandbox.base_url))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn login_code_gives_a_working_code_and_its_openid() {
    let sandbox = sandbox().await;
    let (status, issued) = post(&sandbox, "/sandbox/login_code", &json!({ "user": "alice" })).await;
    assert_eq!(status, 200);
    assert_eq!(issued["openid"], sandbox.openid_of("alice"));
    let body = json!({ "appid": APP_ID, "secret": APP_SECRET, "code": issued["code"] });
    let (_, answer) = post(&sandbox, JSCODE2SESSION, &body).await;
    assert_eq!(answer["data"]["openid"], issued["openid"]);
}

#[tokio::test]
async fn pay_fail_and_read_orders() {
    let receiver = Receiver::start(std::time::Duration::ZERO).await;
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("C-1")).await;
    create_order(&sandbox, order_fields("C-2")).await;

    let request = json!({
        "out_order_no": "C-1", "deliveries": 2, "amount": null, "tamper_signature": false, "notify_url": receiver.url,
    });
    let (status, answer) = post(&sandbox, "/sandbox/pay", &request).await;
    assert_eq!(status, 200, "{answer}");
    let deliveries = answer["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == 200 && d["body"] == r#"{"err_no":0,"err_tips":"success"}"#)
    );
    assert_eq!(receiver.bodies().len(), 2);

    // Defaults: one delivery (here to the URL given).
    let (status, answer) = post(
        &sandbox,
        "/sandbox/pay",
        &json!({ "out_order_no": "C-1", "notify_url": receiver.url }),
    )
    .await;
    assert_eq!((status, answer["deliveries"].as_array().unwrap().len()), (200, 1));

    let (status, order) = get(&sandbox, "/sandbox/orders/C-1").await;
    assert_eq!(
        (status, &order["status"], &order["total_amount"]),
        (200, &json!("SUCCESS"), &json!(1990))
    );
    let typed: sandbox::SandboxOrder = serde_json::from_value(order).unwrap();
    assert_eq!(Some(typed), sandbox.order("C-1"));

    let (status, order) = post(&sandbox, "/sandbox/fail_order", &json!({ "out_order_no": "C-2" })).await;
    assert_eq!((status, &order["status"]), (200, &json!("FAIL")));
    let (status, answer) = post(
        &sandbox,
        "/sandbox/pay",
        &json!({ "out_order_no": "C-2", "notify_url": receiver.url }),
    )
    .await;
    assert_eq!(status, 409);
    assert!(answer["error"].as_str().unwrap().contains("FAIL"));

    let (status, answer) = post(&sandbox, "/sandbox/pay", &json!({ "out_order_no": "NOPE" })).await;
    assert_eq!(status, 404);
    assert!(answer["error"].is_string());
    let (status, _) = get(&sandbox, "/sandbox/orders/NOPE").await;
    assert_eq!(status, 404);
    let (status, _) = post(&sandbox, "/sandbox/fail_order", &json!({ "out_order_no": "NOPE" })).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn expire_order_makes_it_time_out() {
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("C-3")).await;
    let (status, order) = post(&sandbox, "/sandbox/expire_order", &json!({ "out_order_no": "C-3" })).await;
    assert_eq!((status, &order["status"]), (200, &json!("TIMEOUT")));
    assert_eq!(
        query_order(&sandbox, "C-3").await["payment_info"]["order_status"],
        "TIMEOUT"
    );
}

#[tokio::test]
async fn faults_are_set_and_cleared_over_http() {
    let sandbox = sandbox().await;
    let kinds = [
        (json!({ "kind": "status", "status": 502 }), 502, None),
        (json!({ "kind": "garbage" }), 200, None),
        (
            json!({ "kind": "platform_error", "err_no": 1001, "err_tips": "busy" }),
            200,
            Some(1001),
        ),
        (json!({ "kind": "hang", "hang_ms": 50 }), 200, Some(2008)),
    ];
    for (mut request, status, err_no) in kinds {
        request["path_prefix"] = json!("/api/apps/ecpay");
        let (set, _) = post(&sandbox, "/sandbox/faults", &request).await;
        assert_eq!(set, 200);
        let (got, text) = post_raw(&sandbox, CREATE_ORDER, r#"{"app_id":"tt_sandbox_test_app"}"#).await;
        assert_eq!(got, status, "{request} -> {text}");
        let parsed = serde_json::from_str::<Value>(&text).ok();
        assert_eq!(
            parsed.map(|v| v["err_no"].as_i64().unwrap()),
            err_no,
            "{request} -> {text}"
        );
    }

    let request = json!({ "path_prefix": "/api", "kind": "status", "status": 500, "times": 3 });
    post(&sandbox, "/sandbox/faults", &request).await;
    assert_eq!(post_raw(&sandbox, CREATE_ORDER, "{}").await.0, 500);
    assert_eq!(delete(&sandbox, "/sandbox/faults").await, 200);
    assert_eq!(post_raw(&sandbox, CREATE_ORDER, "{}").await.0, 200);

    let (status, answer) = post(
        &sandbox,
        "/sandbox/faults",
        &json!({ "path_prefix": "/api", "kind": "explode" }),
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer["error"].is_string());
    let (status, _) = post(
        &sandbox,
        "/sandbox/faults",
        &json!({ "path_prefix": "/api", "kind": "status", "status": 42 }),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn calls_are_reported_per_path() {
    let sandbox = sandbox().await;
    post_raw(&sandbox, CREATE_ORDER, "{}").await;
    post_raw(&sandbox, CREATE_ORDER, "{}").await;
    post_raw(&sandbox, QUERY_ORDER, "{}").await;
    let (status, calls) = get(&sandbox, "/sandbox/calls").await;
    assert_eq!(status, 200);
    assert_eq!(calls[CREATE_ORDER], 2);
    assert_eq!(calls[QUERY_ORDER], 1);
    assert_eq!(calls["/sandbox/calls"], 1);
}

#[tokio::test]
async fn malformed_control_requests_are_400() {
    let sandbox = sandbox().await;
    let (status, text) = post_raw(&sandbox, "/sandbox/pay", "{").await;
    assert_eq!(status, 400);
    assert!(serde_json::from_str::<Value>(&text).unwrap()["error"].is_string());
    let (status, _) = post(&sandbox, "/sandbox/login_code", &json!({ "name": "alice" })).await;
    assert_eq!(status, 400);
    let (status, answer) = get(&sandbox, "/sandbox/nothing").await;
    assert_eq!((status, &answer["err_no"]), (404, &json!(40014)));
}

#[tokio::test]
async fn refunds_and_settlements_are_finished_and_read_over_http() {
    let receiver = Receiver::start(std::time::Duration::ZERO).await;
    let sandbox = sandbox().await;
    paid_order(&sandbox, "C-4").await;
    assert_eq!(
        ecpay(&sandbox, CREATE_REFUND, refund_fields("C-4", "C-R1", 100)).await["err_no"],
        0
    );

    let request = json!({ "out_refund_no": "C-R1", "status": "SUCCESS", "deliveries": 2, "notify_url": receiver.url });
    let (status, answer) = post(&sandbox, "/sandbox/finish_refund", &request).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deliveries"].as_array().unwrap().len(), 2);
    assert!(
        answer["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == 200)
    );
    let (status, refund) = get(&sandbox, "/sandbox/refunds/C-R1").await;
    assert_eq!(
        (status, &refund["status"], &refund["refund_amount"]),
        (200, &json!("SUCCESS"), &json!(100))
    );
    let typed: sandbox::SandboxRefund = serde_json::from_value(refund).unwrap();
    assert_eq!(Some(typed), sandbox.refund("C-R1"));
    // The other outcome now conflicts.
    let request = json!({ "out_refund_no": "C-R1", "status": "FAIL", "notify_url": receiver.url });
    assert_eq!(post(&sandbox, "/sandbox/finish_refund", &request).await.0, 409);

    // Six days after the payment the order cannot be settled yet; eight days after, it can.
    let paid_at = sandbox.order("C-4").unwrap().paid_at.unwrap();
    let (status, aged) = post(&sandbox, "/sandbox/orders/C-4/age", &json!({ "days": 6 })).await;
    assert_eq!((status, &aged["paid_at"]), (200, &json!(paid_at - 6 * 86_400)));
    let early = ecpay(&sandbox, SETTLE, settle_fields("C-4", "C-S0", json!([]))).await;
    assert_eq!(early["err_no"], 2010, "{early}");
    assert!(
        early["err_tips"].as_str().unwrap().contains("7 days after payment"),
        "{early}"
    );
    assert_eq!(
        post(&sandbox, "/sandbox/orders/C-4/age", &json!({ "days": 2 })).await.0,
        200
    );
    assert_eq!(
        ecpay(&sandbox, SETTLE, settle_fields("C-4", "C-S1", json!([]))).await["err_no"],
        0
    );
    assert_eq!(
        post(&sandbox, "/sandbox/orders/NOPE/age", &json!({ "days": 8 }))
            .await
            .0,
        404
    );
    assert_eq!(
        post(&sandbox, "/sandbox/orders/C-4/age", &json!({ "days": 0 })).await.0,
        400
    );
    create_order(&sandbox, order_fields("C-5")).await;
    assert_eq!(
        post(&sandbox, "/sandbox/orders/C-5/age", &json!({ "days": 8 })).await.0,
        409
    );

    let request = json!({ "out_settle_no": "C-S1", "status": "FAIL", "deliveries": 1, "notify_url": receiver.url });
    let (status, answer) = post(&sandbox, "/sandbox/finish_settle", &request).await;
    assert_eq!((status, answer["deliveries"][0]["status"].as_u64()), (200, Some(200)));
    let (status, settle) = get(&sandbox, "/sandbox/settles/C-S1").await;
    assert_eq!(
        (status, &settle["status"], &settle["settle_amount"]),
        (200, &json!("FAIL"), &json!(1890))
    );
    let typed: sandbox::SandboxSettle = serde_json::from_value(settle).unwrap();
    assert_eq!(Some(typed), sandbox.settle("C-S1"));
    let kinds: Vec<Value> = receiver.bodies().iter().map(|b| b["type"].clone()).collect();
    assert_eq!(kinds, [json!("refund"), json!("refund"), json!("settle")]);

    // Unknown numbers, a missing URL, a bad status.
    let (status, answer) = get(&sandbox, "/sandbox/refunds/NOPE").await;
    assert_eq!(status, 404);
    assert!(answer["error"].as_str().unwrap().contains("unknown refund"));
    assert_eq!(get(&sandbox, "/sandbox/settles/NOPE").await.0, 404);
    let request = json!({ "out_settle_no": "NOPE", "status": "SUCCESS" });
    assert_eq!(post(&sandbox, "/sandbox/finish_settle", &request).await.0, 404);
    ecpay(&sandbox, CREATE_REFUND, refund_fields("C-4", "C-R2", 1)).await;
    let request = json!({ "out_refund_no": "C-R2", "status": "SUCCESS" });
    assert_eq!(
        post(&sandbox, "/sandbox/finish_refund", &request).await.0,
        400,
        "no notify URL anywhere"
    );
    let request = json!({ "out_refund_no": "C-R2", "status": "DONE", "notify_url": receiver.url });
    assert_eq!(post(&sandbox, "/sandbox/finish_refund", &request).await.0, 400);
    let request = json!({ "out_refund_no": "C-R2", "notify_url": receiver.url });
    assert_eq!(
        post(&sandbox, "/sandbox/finish_refund", &request).await.0,
        400,
        "status is required"
    );
}

#[tokio::test]
async fn tokens_and_pushes_are_read_and_expired_over_http() {
    let sandbox = sandbox().await;
    let credentials = json!({ "appid": APP_ID, "secret": APP_SECRET, "grant_type": "client_credential" });
    let (_, answer) = post(&sandbox, ACCESS_TOKEN, &credentials).await;
    let token = answer["data"]["access_token"].clone();
    let detail = json!({
        "order_id": "C-5", "create_time": 1_722_769_986, "status": "待支付", "amount": 1, "total_price": 1,
        "detail_url": "pages/order", "item_list": [{ "img": "https://x/i.png", "title": "t", "price": 1 }],
    });
    let push = json!({
        "access_token": token, "app_name": "douyin", "open_id": "_000x", "update_time": 1_722_769_986_000_i64,
        "order_detail": detail.to_string(), "order_type": 0, "order_status": 0,
    });
    assert_eq!(post(&sandbox, ORDER_PUSH, &push).await.1["err_code"], 0);

    let (status, answer) = get(&sandbox, "/sandbox/pushes").await;
    assert_eq!(status, 200);
    assert_eq!(answer["pushes"][0]["order_detail"], detail);
    let typed: Vec<sandbox::PushRecord> = serde_json::from_value(answer["pushes"].clone()).unwrap();
    assert_eq!(typed, sandbox.pushes());

    let (status, answer) = get(&sandbox, "/sandbox/tokens").await;
    assert_eq!(
        (status, &answer["fetches"], &answer["tokens"][0]["access_token"]),
        (200, &json!(1), &token)
    );
    let (status, _) = post(&sandbox, "/sandbox/expire_tokens", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(post(&sandbox, ORDER_PUSH, &push).await.1["err_code"], 40002);
}

/// Kills the sandbox process even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_announces_its_port_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .env("SANDBOX_PORT", "0")
        .env("SANDBOX_APP_ID", APP_ID)
        .env("SANDBOX_APP_SECRET", APP_SECRET)
        .env("SANDBOX_SALT", SALT)
        .env("SANDBOX_TOKEN", TOKEN)
        .env_remove("SANDBOX_NOTIFY_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _child = KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("sandbox listening on ")
        .expect(&line)
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer: Value = runtime.block_on(async {
        let body = json!({ "appid": APP_ID, "secret": "wrong", "code": "x" });
        http()
            .post(format!("{url}{JSCODE2SESSION}"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(answer["err_no"], 40017);
}

#[test]
fn the_binary_refuses_to_start_without_credentials() {
    let output = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .env_clear()
        .env("SANDBOX_PORT", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("SANDBOX_APP_ID must be set"));
    assert!(output.stdout.is_empty());
}

#[test]
fn the_binary_refuses_an_http_console_notify_url_and_half_a_tunnel() {
    let start = |extra: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sandbox"));
        command
            .env_clear()
            .env("SANDBOX_PORT", "0")
            .env("SANDBOX_APP_ID", APP_ID)
            .env("SANDBOX_APP_SECRET", APP_SECRET)
            .env("SANDBOX_SALT", SALT)
            .env("SANDBOX_TOKEN", TOKEN);
        for (name, value) in extra {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let http = start(&[("SANDBOX_NOTIFY_URL", "http://127.0.0.1:9000/notify/douyin")]);
    assert!(http.contains("the console notify URL"), "{http}");
    let half = start(&[("SANDBOX_PUBLIC_ORIGIN", "https://minipay.test")]);
    assert!(half.contains("SANDBOX_LOCAL_ORIGIN"), "{half}");
}

#[tokio::test]
async fn the_tunnel_carries_public_urls_where_it_points() {
    let receiver = Receiver::start(std::time::Duration::ZERO).await;
    let sandbox = sandbox::Sandbox::start(config(Some(receiver.url.clone()))).await;
    create_order(&sandbox, order_fields("C-T")).await;
    let (status, tunnel) = get(&sandbox, "/sandbox/tunnel").await;
    assert_eq!((status, &tunnel["public_origin"]), (200, &json!(hub::PUBLIC_ORIGIN)));

    // The backend moved: bound, but not listening, so each call is refused.
    let moved = tokio::net::TcpSocket::new_v4().unwrap();
    moved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let elsewhere = json!({
        "public_origin": hub::PUBLIC_ORIGIN,
        "local_origin": format!("http://{}", moved.local_addr().unwrap()),
    });
    let put = |body: Value| {
        let sandbox = &sandbox;
        async move {
            let response = http()
                .put(format!("{}/sandbox/tunnel", sandbox.base_url))
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(put(elsewhere.clone()).await, (200, elsewhere));
    let (_, paid) = post(&sandbox, "/sandbox/pay", &json!({ "out_order_no": "C-T" })).await;
    assert_eq!(paid["deliveries"][0]["status"], 0, "{paid}");
    assert!(receiver.bodies().is_empty());

    // Back where it was: the resent callback arrives.
    assert_eq!(put(tunnel.clone()).await.0, 200);
    let (_, paid) = post(&sandbox, "/sandbox/pay", &json!({ "out_order_no": "C-T" })).await;
    assert_eq!(paid["deliveries"][0]["status"], 200, "{paid}");
    assert_eq!(receiver.bodies().len(), 1);

    let (status, refused) =
        put(json!({ "public_origin": "http://minipay.test", "local_origin": "http://127.0.0.1:1" })).await;
    assert_eq!(status, 400);
    assert!(
        refused["error"].as_str().unwrap().contains("public origin"),
        "{refused}"
    );
    assert_eq!(delete(&sandbox, "/sandbox/tunnel").await, 200);
    assert_eq!(get(&sandbox, "/sandbox/tunnel").await.1, Value::Null);
}
