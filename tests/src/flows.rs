//! Whole flows as a mini-program drives them, shared by the in-process and the
//! `cargo lambda watch` tests.

use crate::client::ApiClient;
use sandbox::{PayOptions, Sandbox};
use serde_json::{Value, json};

/// Logs in, orders `sku`, pays in the sandbox (which calls notify) and returns the
/// order as the mini-program finally sees it.
pub async fn pay_one_order(api: &ApiClient, sandbox: &Sandbox, user: &str, sku: &str) -> Value {
    let session = api.login(&sandbox.login_code(user)).await;
    let prepay = api
        .post("/prepay", Some(&session), &json!({"sku": sku, "quantity": 1}))
        .await;
    assert_eq!(prepay.status, 200, "prepay: {}", prepay.text);
    let out_order_no = prepay.body["out_order_no"].as_str().expect("out_order_no").to_owned();
    assert!(
        prepay.body["pay"]["order_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let pending = api.get(&format!("/orders/{out_order_no}"), Some(&session)).await;
    assert_eq!(pending.status, 200, "query: {}", pending.text);
    assert_eq!(pending.body["status"], "PENDING");

    let deliveries = sandbox
        .pay(&out_order_no, PayOptions::default())
        .await
        .expect("sandbox pays");
    assert_eq!(deliveries[0].status, 200, "notify: {}", deliveries[0].body);

    let paid = api.get(&format!("/orders/{out_order_no}"), Some(&session)).await;
    assert_eq!(paid.status, 200, "query: {}", paid.text);
    paid.body
}
