//! Helpers for the money-side tests: paid orders, admin calls, stream records.

use crate::Stack;
use crate::readback::assert_acknowledged;
use aws_sdk_dynamodb::types::AttributeValue;
use sandbox::PayOptions;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Logs `user` in, orders `sku` and pays it (the callback acknowledged, the order PAID
/// in the table); returns the session and `out_order_no`.
pub async fn paid_order(stack: &Stack, user: &str, sku: &str) -> (String, String) {
    let session = stack.client.login(&stack.sandbox.login_code(user)).await;
    let prepay = stack.client.post("/prepay", Some(&session), &json!({"sku": sku})).await;
    assert_eq!(prepay.status, 200, "prepay: {}", prepay.text);
    let no = prepay.body["out_order_no"].as_str().expect("out_order_no").to_owned();
    let deliveries = stack.sandbox.pay(&no, PayOptions::default()).await.expect("pay");
    assert_acknowledged(&deliveries);
    assert_eq!(s(&order_item(stack, &no).await, "status"), Some("PAID"), "{no}");
    (session, no)
}

/// The money an order holds, as the table keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct Money {
    pub refunded: i64,
    /// Reserved by refunds in flight.
    pub refunding: i64,
    /// What may still be refunded.
    pub refundable: i64,
}

pub async fn money(stack: &Stack, out_order_no: &str) -> Money {
    let item = order_item(stack, out_order_no).await;
    let amount = |key: &str| n(&item, key).unwrap_or_else(|| panic!("{key} of {out_order_no}"));
    Money {
        refunded: amount("refunded_amount"),
        refunding: amount("refunding_amount"),
        refundable: amount("refundable"),
    }
}

/// The raw item of `pk`/`sk` as stored.
pub async fn raw_item(stack: &Stack, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    crate::table::client()
        .await
        .get_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

/// A stream record as Lambda delivers it, from an item's old and new images.
pub fn stream_record(
    sequence: &str,
    old: Option<&HashMap<String, AttributeValue>>,
    new: &HashMap<String, AttributeValue>,
) -> Value {
    let image = |item: &HashMap<String, AttributeValue>| {
        let item: serde_dynamo::Item = item.clone().into();
        serde_json::to_value(item).expect("item as DynamoDB JSON")
    };
    let mut change = json!({
        "ApproximateCreationDateTime": 1_732_240_000.5,
        "Keys": {"pk": image(new)["pk"].clone(), "sk": image(new)["sk"].clone()},
        "NewImage": image(new),
        "SequenceNumber": sequence,
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = old {
        change["OldImage"] = image(old);
    }
    json!({
        "eventID": format!("event-{sequence}"),
        "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-11-22T00:00:00.000",
    })
}

/// A raw table item.
pub type Item = HashMap<String, AttributeValue>;

/// The order item of `out_order_no` as stored.
pub async fn order_item(stack: &Stack, out_order_no: &str) -> Item {
    raw_item(stack, &format!("ORDER#{out_order_no}"), "ORDER")
        .await
        .expect("order item")
}

/// The webhook delivery item of an event as stored.
pub async fn webhook_item(stack: &Stack, event_id: &str) -> Item {
    raw_item(stack, &format!("WEBHOOK#{event_id}"), "WEBHOOK")
        .await
        .expect("webhook item")
}

/// A number attribute of an item.
pub fn n(item: &Item, key: &str) -> Option<i64> {
    match item.get(key) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A string attribute of an item.
pub fn s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}
