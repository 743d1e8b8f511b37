//! End to end: the real Lambda binaries under `cargo lambda watch`, a real DynamoDB API
//! (moto) and the sandbox, wired only through environment variables.

use harness::client::{ApiClient, Routing};
use harness::watch::{Watch, free_port};
use harness::{ADMIN_KEY, APP_ID, APP_SECRET, SALT, TOKEN, flows, table};
use sandbox::{CallbackOptions, Sandbox};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_douyin_payment_through_the_lambda_binaries() {
    let table = table::create_fresh_table().await;
    table::put_catalog_item(&table::client().await, &table, "course-trial", 1, "试听课").await;
    let sandbox = Sandbox::start(harness::sandbox_config()).await;
    let port = free_port();
    let api = ApiClient::new(format!("http://127.0.0.1:{port}"), Routing::LambdaUrl);
    let env: Vec<(String, String)> = [
        ("TABLE_NAME", table.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", table::endpoint()),
        ("DOUYIN_APP_ID", APP_ID.into()),
        ("DOUYIN_APP_SECRET", APP_SECRET.into()),
        ("DOUYIN_SALT", SALT.into()),
        ("DOUYIN_TOKEN", TOKEN.into()),
        ("DOUYIN_API_BASE", sandbox.base_url.clone()),
        ("DOUYIN_NOTIFY_URL", api.url("/notify/douyin")),
        ("ADMIN_API_KEY", ADMIN_KEY.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let watch = Watch::start(port, &env).await;

    let order = flows::pay_one_order(&api, &sandbox, "e2e-user", "course-trial").await;
    assert_eq!(order["status"], "PAID", "watch log:\n{}", watch.log_text());
    assert_eq!(order["code"], 0);
    assert_eq!(order["total_amount"], 1);
    assert!(order["paid_at"].as_i64().is_some());
    let no = order["out_order_no"].as_str().unwrap().to_owned();

    // The back office refunds part of it through the refund function.
    let refund = json!({"out_order_no": no, "out_refund_no": "E2E-RF-1", "refund_amount": 1, "reason": "e2e"});
    let answer = api.post("/refund", Some(ADMIN_KEY), &refund).await;
    assert_eq!(answer.status, 200, "{}\nwatch log:\n{}", answer.text, watch.log_text());
    let deliveries = stack_refund(&sandbox).await;
    assert_eq!(deliveries, [200]);

    // The table's stream, fed to the push function, keeps the order center in step.
    let _pump = harness::watch::StreamPump::start(&table, &watch.base_url).await;
    let wanted: BTreeSet<i64> = [0, 1, 5, 6].into();
    let started = Instant::now();
    let seen = loop {
        let seen: BTreeSet<i64> = sandbox
            .pushes()
            .iter()
            .filter(|p| p.order_detail["order_id"] == json!(no))
            .map(|p| p.order_status)
            .collect();
        if seen == wanted || started.elapsed() > Duration::from_secs(90) {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(
        seen,
        wanted,
        "created, paid, refunding, refunded\nwatch log:\n{}",
        watch.log_text()
    );
    assert_eq!(sandbox.token_fetches(), 1);

    // The real binaries logged the whole flow, and no secret with it.
    let log = watch.log_text();
    assert!(log.contains("order paid"), "the functions' logs are captured");
    for secret in harness::SECRETS {
        assert!(!log.contains(secret), "a secret reached the functions' logs");
    }
}

async fn stack_refund(sandbox: &Sandbox) -> Vec<u16> {
    let deliveries = sandbox
        .finish_refund("E2E-RF-1", true, CallbackOptions::default())
        .await
        .unwrap();
    deliveries.iter().map(|d| d.status).collect()
}
