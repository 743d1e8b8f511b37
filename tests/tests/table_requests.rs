//! What the hot routes cost in DynamoDB requests, counted on the functions' table client
//! as each request goes to moto (retries included), and pinned (issue 13 item 3).

use harness::readback::assert_acknowledged;
use harness::requests::writes;
use harness::{ADMIN_KEY, Stack, table};
use sandbox::{CallbackOptions, PayOptions};
use serde_json::json;

#[tokio::test]
async fn the_hot_routes_cost_what_they_should_in_table_requests() {
    let stack = Stack::start().await;
    table::put_catalog_item(&table::client().await, &stack.table, "course", 1000, "Rust 进阶课程").await;
    let counted = &stack.table_requests;
    let session = stack.client.login(&stack.sandbox.login_code("tina")).await;

    let (prepay, sent) = counted
        .of(stack.client.post("/prepay", Some(&session), &json!({"sku": "course"})))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    println!("prepay: {sent:?}");
    // The session and the catalog entry together; the order into its reuse slot; the
    // platform's order recorded after the platform made it.
    assert_eq!(sent, ["BatchGetItem", "TransactWriteItems", "UpdateItem"]);
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();

    let (deliveries, sent) = counted.of(stack.sandbox.pay(&no, PayOptions::default())).await;
    assert_acknowledged(&deliveries.unwrap());
    println!("payment callback: {sent:?}");
    assert_eq!(sent, ["TransactWriteItems"], "a payment callback is one write request");

    let (deliveries, sent) = counted.of(stack.sandbox.pay(&no, PayOptions::default())).await;
    assert_acknowledged(&deliveries.unwrap());
    println!("duplicate payment callback: {sent:?}");
    assert_eq!(sent, ["TransactWriteItems"], "a duplicate is recognised in one request");

    let body = json!({"out_order_no": no, "out_refund_no": "TR-1", "refund_amount": 300});
    let (refund, sent) = counted.of(stack.client.post("/refund", Some(ADMIN_KEY), &body)).await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    println!("refund: {sent:?}");
    // The order; the refund reserved with it; the platform's refund number recorded.
    assert_eq!(sent, ["GetItem", "TransactWriteItems", "UpdateItem"]);

    let (deliveries, sent) = counted
        .of(stack.sandbox.finish_refund("TR-1", true, CallbackOptions::default()))
        .await;
    assert_acknowledged(&deliveries.unwrap());
    println!("refund callback: {sent:?}");
    // The refund read for its order's number, then one transaction: its end, the
    // order's money moved by the refund's amount, and the audit record.
    assert_eq!(sent, ["GetItem", "TransactWriteItems"]);
    assert_eq!(writes(&sent), 1);

    // A refund of the rest: its callback makes the order REFUNDED, which the first
    // transaction cannot decide; the order it returns is judged and written exactly.
    let body = json!({"out_order_no": no, "out_refund_no": "TR-2", "refund_amount": 700});
    let refund = stack.client.post("/refund", Some(ADMIN_KEY), &body).await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let (deliveries, sent) = counted
        .of(stack.sandbox.finish_refund("TR-2", true, CallbackOptions::default()))
        .await;
    assert_acknowledged(&deliveries.unwrap());
    println!("refund callback, the rest: {sent:?}");
    assert_eq!(sent, ["GetItem", "TransactWriteItems", "TransactWriteItems"]);
    let (deliveries, sent) = counted
        .of(stack.sandbox.finish_refund("TR-2", true, CallbackOptions::default()))
        .await;
    assert_acknowledged(&deliveries.unwrap());
    println!("refund callback, duplicate: {sent:?}");
    assert_eq!(sent, ["GetItem"], "a redelivery of an ended refund writes nothing");
    let order = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(order.body["status"], "REFUNDED", "{}", order.text);
}
