//! End to end: the real Lambda binaries under `cargo lambda watch`, a real DynamoDB API
//! (moto) and the sandbox, wired only through environment variables.

use harness::client::{ApiClient, Routing};
use harness::watch::{Watch, free_port};
use harness::{APP_ID, APP_SECRET, SALT, TOKEN, flows, table};
use sandbox::{Sandbox, SandboxConfig};

#[tokio::test]
async fn a_douyin_payment_through_the_lambda_binaries() {
    let table = table::create_fresh_table().await;
    table::put_catalog_item(&table::client().await, &table, "course-trial", 1, "试听课").await;
    let sandbox = Sandbox::start(SandboxConfig {
        app_id: APP_ID.into(),
        app_secret: APP_SECRET.into(),
        salt: SALT.into(),
        token: TOKEN.into(),
        notify_url: None,
    })
    .await;
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
}
