//! The table's stream to the Douyin order center: each order change the contract names
//! is pushed; records that fail are reported so that only they are retried.

use crate::app::App;
use crate::domain::order::Order;
use crate::domain::push::{PushStatus, push_status, update_time};
use crate::douyin::order_center::OrderPush;
use crate::store::Store;
use crate::store::dynamo::order_from_item;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use std::collections::HashMap;

pub async fn push_batch<S: Store + ?Sized>(app: &App<S>, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        if let Err(why) = push_record(app, record).await {
            tracing::warn!(event_id = %record.event_id, error = %why, "order push failed; the record will be retried");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The order in a stream image and its version, or `None` for other items.
fn order_image(image: &serde_dynamo::Item) -> Result<Option<(Order, i64)>, String> {
    let item: HashMap<String, AttributeValue> = image.clone().into();
    let is_order = matches!(item.get("entity"), Some(AttributeValue::S(e)) if e == "ORDER");
    if !is_order {
        return Ok(None);
    }
    let version = match item.get("version") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    };
    order_from_item(&item)
        .map(|order| Some((order, version)))
        .map_err(|e| e.to_string())
}

async fn push_record<S: Store + ?Sized>(app: &App<S>, record: &EventRecord) -> Result<(), String> {
    let Some((new, version)) = order_image(&record.change.new_image)? else {
        return Ok(());
    };
    let old = order_image(&record.change.old_image)?.map(|(order, _)| order);
    let Some(status) = push_status(old.as_ref(), &new) else {
        return Ok(());
    };
    let push = OrderPush {
        open_id: new.openid.clone(),
        update_time: update_time(new.updated_at, version),
        order_detail: order_detail(app, &new, status).await?,
        order_status: status.code,
    };
    let push = &push;
    app.with_access_token(|douyin, token| async move { douyin.push_order(push, &token).await })
        .await
        .map_err(|e| e.to_string())
}

/// The `order_detail` JSON string: the order with its catalog item's picture and title.
async fn order_detail<S: Store + ?Sized>(app: &App<S>, order: &Order, status: PushStatus) -> Result<String, String> {
    let item = app
        .store
        .get_catalog_item(&order.sku)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "catalog entry {} is missing: the order center needs its image",
                order.sku
            )
        })?;
    let detail = json!({
        "order_id": order.out_order_no,
        "create_time": order.created_at,
        "status": status.text,
        "amount": order.quantity,
        "total_price": order.total_amount,
        "detail_url": format!("{}?out_order_no={}", app.config.order_entry_page, order.out_order_no),
        "item_list": [{
            "item_code": order.sku,
            "img": item.image,
            "title": item.subject,
            "amount": order.quantity,
            "price": order.total_amount,
        }],
    });
    Ok(detail.to_string())
}
