//! What `tt.requestOrder` checks, over the control API and the Rust method: the
//! `byteAuthorization` (signed here with the generated app key), `data`'s fields, and
//! idempotency on `outOrderNo`.

mod common;

use common::trade::*;
use common::*;
use sandbox::TradePayStatus;
use serde_json::{Value, json};

/// A change that breaks one field of a good `data`.
type Edit = fn(&mut Value);

const REQUEST_ORDER: &str = "/sandbox/trade/request_order";

async fn over_http(sandbox: &sandbox::Sandbox, data: &str, byte_authorization: &str) -> (u16, Value) {
    post(
        sandbox,
        REQUEST_ORDER,
        &json!({ "data": data, "byteAuthorization": byte_authorization }),
    )
    .await
}

#[tokio::test]
async fn a_correctly_signed_order_is_made() {
    let sandbox = trade_sandbox().await;
    let data = order_data("TO-1", 990, 2).to_string();
    let (status, answer) = over_http(&sandbox, &data, &authorization(&data)).await;
    assert_eq!(status, 200, "{answer}");
    let order_id = answer["orderId"].as_str().unwrap();
    assert!(order_id.starts_with("motb"), "{order_id}");

    let order = sandbox.trade_order("TO-1").unwrap();
    assert_eq!((order.order_id.as_str(), order.total_amount), (order_id, 1980));
    assert_eq!(
        (order.pay_status, order.item_orders.len()),
        (TradePayStatus::Process, 2)
    );
    assert_eq!(order.expires_at - order.trade_time, 900_000);
    assert_eq!(order.data, data, "kept exactly as signed");

    // Quoted values (the overview page's style), in another order, are accepted too.
    let data = order_data("TO-2", 100, 1).to_string();
    let timestamp = now_secs();
    let signature = rsa_sign(
        &keys().app_private_pem,
        &format!("POST\n/requestOrder\n{timestamp}\nabc\n{data}\n"),
    );
    let quoted = format!(
        r#"SHA256-RSA2048 key_version="1",signature="{signature}",timestamp="{timestamp}",nonce_str="abc",appid="{APP_ID}""#
    );
    assert!(sandbox.trade_request_order(&data, &quoted).is_ok());
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let sandbox = trade_sandbox().await;
    let data = order_data("TO-3", 990, 1).to_string();
    let app_key = &keys().app_private_pem;
    let refusals = [
        // Signed with another key (the platform's private key).
        (
            authorization_with(&data, now_secs(), "1", &keys().platform_private_pem),
            "does not verify",
        ),
        // Signed over other bytes than those sent.
        (
            authorization(&order_data("TO-3", 990, 2).to_string()),
            "does not verify",
        ),
        (authorization_with(&data, now_secs(), "2", app_key), "key_version 2"),
        (
            authorization_with(&data, now_secs() - 3700, "1", app_key),
            "more than an hour",
        ),
        (
            authorization_with(&data, now_secs() + 3700, "1", app_key),
            "more than an hour",
        ),
        (
            authorization(&data).replace("SHA256-RSA2048 ", "RSA "),
            "must start with",
        ),
        (authorization(&data).replace(APP_ID, "tt_other"), "appid tt_other"),
    ];
    for (byte_authorization, needle) in refusals {
        let (status, answer) = over_http(&sandbox, &data, &byte_authorization).await;
        let error = answer["error"].as_str().unwrap();
        assert_eq!(status, 400, "{error}");
        assert!(error.contains(needle), "{error:?} should mention {needle:?}");
    }
    assert!(sandbox.trade_order("TO-3").is_none(), "nothing was made");
    // A timestamp just within the hour passes.
    assert!(
        sandbox
            .trade_request_order(&data, &authorization_with(&data, now_secs() - 3500, "1", app_key))
            .is_ok()
    );
}

#[tokio::test]
async fn bad_fields_are_refused_even_when_signed() {
    let sandbox = trade_sandbox().await;
    let edits: [(Edit, &str); 6] = [
        (
            |d| d["skuList"][0]["price"] = json!("990"),
            "skuList[0].price must be an integer, not a string",
        ),
        (|d| d["skuList"][0]["imageList"] = json!([]), "imageList has 0 URLs"),
        (
            |d| d["totalAmount"] = json!(1000),
            "totalAmount 1000 is not price 990 × quantity 1",
        ),
        (
            |d| d["orderEntrySchema"]["path"] = json!("/pages/order"),
            "must not start with '/'",
        ),
        (|d| d["out_order_no"] = json!("x"), "out_order_no is not a data field"),
        (
            |d| d["orderEntrySchema"]["params"] = json!({ "no": 1 }),
            "params must be a string",
        ),
    ];
    for (edit, needle) in edits {
        let mut data = order_data("TO-4", 990, 1);
        edit(&mut data);
        let data = data.to_string();
        let error = sandbox.trade_request_order(&data, &authorization(&data)).unwrap_err();
        assert!(error.contains(needle), "{error:?} should mention {needle:?}");
    }
    assert!(sandbox.trade_order("TO-4").is_none());
}

#[tokio::test]
async fn request_order_is_idempotent_on_the_same_data() {
    let sandbox = trade_sandbox().await;
    let data = order_data("TO-5", 500, 1);
    let first = request_order(&sandbox, &data);
    // Signed again a minute later (another timestamp, the same bytes): the same order.
    let text = data.to_string();
    let later = authorization_with(&text, now_secs() + 60, "1", &keys().app_private_pem);
    assert_ne!(later, authorization(&text));
    assert_eq!(sandbox.trade_request_order(&text, &later).unwrap(), first);

    let other = order_data("TO-5", 600, 1).to_string();
    let error = sandbox.trade_request_order(&other, &authorization(&other)).unwrap_err();
    assert!(error.contains("outOrderNo TO-5 already has an order"), "{error}");
    assert_eq!(sandbox.trade_order("TO-5").unwrap().total_amount, 500);
}

#[tokio::test]
async fn without_a_trade_config_request_order_is_refused() {
    let sandbox = sandbox().await;
    let data = order_data("TO-6", 500, 1).to_string();
    let (status, answer) = over_http(&sandbox, &data, &authorization(&data)).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("no trade config"),
        "{answer}"
    );
}
