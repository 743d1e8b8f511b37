//! `deliveries: 0` on every pay and finish control route: the platform changes state
//! but sends no callback (a lost notify), needs no notify URL to do so, and its query
//! APIs report the final state, which is all a reconciling backend has to go on.

mod common;

use common::trade::{self, client_token, developer, request_order, trade_err};
use common::wechat::{self, XmlReceiver, outcome, pay_call, wechat_refund_fields, wechat_sandbox};
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn ecpay_payments_refunds_and_settlements_finish_silently() {
    let receiver = Receiver::start(Duration::ZERO).await;
    let sandbox = sandbox::Sandbox::start(config(Some(receiver.url.clone()))).await;
    create_order(&sandbox, order_fields("SF-1")).await;
    let (status, answer) = post(
        &sandbox,
        "/sandbox/pay",
        &json!({ "out_order_no": "SF-1", "deliveries": 0 }),
    )
    .await;
    assert_eq!((status, answer), (200, json!({ "deliveries": [] })));
    let order = query_order(&sandbox, "SF-1").await;
    assert_eq!(order["payment_info"]["order_status"], "SUCCESS", "{order}");
    assert!(!order["payment_info"]["pay_time"].as_str().unwrap().is_empty());

    ecpay(&sandbox, CREATE_REFUND, refund_fields("SF-1", "SF-1-r", 500)).await;
    let body = json!({ "out_refund_no": "SF-1-r", "status": "SUCCESS", "deliveries": 0 });
    assert_eq!(post(&sandbox, "/sandbox/finish_refund", &body).await.0, 200);
    let refund = ecpay(&sandbox, QUERY_REFUND, json!({ "out_refund_no": "SF-1-r" })).await;
    assert_eq!(refund["refundInfo"]["refund_status"], "SUCCESS", "{refund}");

    assert_eq!(
        post(&sandbox, "/sandbox/orders/SF-1/age", &json!({ "days": 8 }))
            .await
            .0,
        200
    );
    ecpay(&sandbox, SETTLE, settle_fields("SF-1", "SF-1-s", json!([]))).await;
    let body = json!({ "out_settle_no": "SF-1-s", "status": "FAIL", "deliveries": 0 });
    assert_eq!(post(&sandbox, "/sandbox/finish_settle", &body).await.0, 200);
    let settle = ecpay(&sandbox, QUERY_SETTLE, json!({ "out_settle_no": "SF-1-s" })).await;
    assert_eq!(settle["settle_info"]["settle_status"], "FAIL", "{settle}");

    assert!(receiver.bodies().is_empty(), "no callback was sent");
}

#[tokio::test]
async fn ecpay_needs_a_notify_url_only_to_deliver() {
    let sandbox = sandbox().await; // no console notify URL, and the order names none
    create_order(&sandbox, order_fields("SF-2")).await;
    let (status, answer) = post(&sandbox, "/sandbox/pay", &json!({ "out_order_no": "SF-2" })).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("no notify_url"));
    assert_eq!(
        query_order(&sandbox, "SF-2").await["payment_info"]["order_status"],
        "PROCESSING"
    );
    let (status, _) = post(
        &sandbox,
        "/sandbox/pay",
        &json!({ "out_order_no": "SF-2", "deliveries": 0 }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        query_order(&sandbox, "SF-2").await["payment_info"]["order_status"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn trade_payments_refunds_and_settlements_finish_silently() {
    let sandbox = trade::trade_sandbox().await; // no notify URL anywhere
    let order_id = request_order(&sandbox, &trade::order_data("SF-3", 1000, 1));
    let body = json!({ "out_order_no": "SF-3", "deliveries": 0 });
    let (status, answer) = post(&sandbox, "/sandbox/trade/pay", &body).await;
    assert_eq!((status, answer), (200, json!({ "deliveries": [] })));
    let token = client_token(&sandbox).await;
    let order = developer(&sandbox, trade::ORDER_QUERY, &token, &json!({ "out_order_no": "SF-3" })).await;
    assert_eq!(order["data"]["pay_status"], "SUCCESS", "{order}");

    let item_order_id = sandbox.trade_order("SF-3").unwrap().item_orders[0]
        .item_order_id
        .clone();
    let refund = json!({
        "order_id": order_id,
        "out_refund_no": "SF-3-r",
        "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 101, "text": "不想要了" }],
        "item_order_detail": [{ "item_order_id": item_order_id, "refund_amount": 100 }],
    });
    let created = developer(&sandbox, trade::REFUND_CREATE, &token, &refund).await;
    let refund_id = created["data"]["refund_id"].as_str().unwrap();
    let body = json!({ "refund_id": refund_id, "status": "SUCCESS", "deliveries": 0 });
    assert_eq!(post(&sandbox, "/sandbox/trade/finish_refund", &body).await.0, 200);
    let query = developer(
        &sandbox,
        trade::REFUND_QUERY,
        &token,
        &json!({ "refund_id": refund_id }),
    )
    .await;
    assert_eq!(query["data"]["refund_list"][0]["refund_status"], "SUCCESS", "{query}");

    let age = json!({ "days": 8 });
    assert_eq!(post(&sandbox, "/sandbox/trade/orders/SF-3/age", &age).await.0, 200);
    let settle = json!({ "out_order_no": "SF-3", "out_settle_no": "SF-3-s", "settle_desc": "主动结算" });
    assert_eq!(
        trade_err(&developer(&sandbox, trade::SETTLE_CREATE, &token, &settle).await).0,
        0
    );
    let body = json!({ "out_settle_no": "SF-3-s", "status": "SUCCESS", "deliveries": 0 });
    assert_eq!(post(&sandbox, "/sandbox/trade/finish_settle", &body).await.0, 200);
    let query = developer(
        &sandbox,
        trade::SETTLE_QUERY,
        &token,
        &json!({ "out_settle_no": "SF-3-s" }),
    )
    .await;
    assert_eq!(
        (&query["data"][0]["settle_status"], &query["data"][0]["settle_amount"]),
        (&json!("SUCCESS"), &json!(900)),
        "{query}"
    );
}

#[tokio::test]
async fn wechat_payments_and_refunds_finish_silently() {
    let receiver = XmlReceiver::start().await;
    let sandbox = wechat_sandbox().await;
    let mut fields = wechat::wechat_order_fields("SF-4", &sandbox.wechat_openid_of("alice"));
    fields.insert("notify_url".into(), receiver.url.clone());
    assert_eq!(
        outcome(&pay_call(&sandbox, wechat::UNIFIED_ORDER, fields).await),
        "SUCCESS"
    );
    let body = json!({ "out_trade_no": "SF-4", "deliveries": 0 });
    let (status, answer) = post(&sandbox, "/sandbox/wechat/pay", &body).await;
    assert_eq!((status, answer), (200, json!({ "deliveries": [] })));
    assert_eq!(wechat::order_query(&sandbox, "SF-4").await["trade_state"], "SUCCESS");

    for (out_refund_no, status) in [("SF-4-a", "SUCCESS"), ("SF-4-b", "CHANGE")] {
        let mut fields = wechat_refund_fields("SF-4", out_refund_no, 100);
        fields.insert("notify_url".into(), receiver.url.clone());
        pay_call(&sandbox, wechat::REFUND, fields).await;
        let body = json!({ "out_refund_no": out_refund_no, "status": status, "deliveries": 0 });
        assert_eq!(post(&sandbox, "/sandbox/wechat/finish_refund", &body).await.0, 200);
    }
    let answer = wechat::refund_query(&sandbox, "out_trade_no", "SF-4").await;
    assert_eq!(
        (answer["refund_status_0"].as_str(), answer["refund_status_1"].as_str()),
        ("SUCCESS", "CHANGE")
    );
    assert!(answer.contains_key("refund_success_time_0"));
    assert!(receiver.received().is_empty(), "no notify was sent");
}
