//! `pay` and `fail_order`: state changes and signed callbacks delivered to a receiver.

mod common;

use common::*;
use sandbox::{OrderStatus, PayOptions, Sandbox};
use serde_json::{Value, json};
use std::time::Duration;

/// A sandbox whose console notify URL is a fresh receiver, and one order on it.
async fn paid_setup(delay: Duration) -> (Sandbox, Receiver) {
    let receiver = Receiver::start(delay).await;
    let sandbox = Sandbox::start(config(Some(receiver.url.clone()))).await;
    create_order(&sandbox, order_fields("PAY-1")).await;
    (sandbox, receiver)
}

fn msg_of(envelope: &Value) -> Value {
    serde_json::from_str(envelope["msg"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn pay_delivers_a_callback_that_verifies() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    let deliveries = sandbox.pay("PAY-1", PayOptions::default()).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, 200);
    assert_eq!(deliveries[0].body, r#"{"err_no":0,"err_tips":"success"}"#);

    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let envelope = &bodies[0];
    assert!(verifies(envelope));
    assert_eq!(envelope["type"], "payment");
    assert!(envelope["timestamp"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(envelope["nonce"].as_str().unwrap().bytes().all(|b| b.is_ascii_digit()));

    let order = sandbox.order("PAY-1").unwrap();
    assert_eq!(order.status, OrderStatus::Success);
    let msg = msg_of(envelope);
    assert_eq!(msg["appid"], APP_ID);
    assert_eq!(msg["cp_orderno"], "PAY-1");
    assert_eq!(msg["total_amount"], 1990);
    assert_eq!(msg["status"], "SUCCESS");
    assert_eq!(msg["way"], "2");
    assert_eq!(msg["order_id"], json!(order.order_id));
    assert_eq!(msg["paid_at"], json!(order.paid_at.unwrap()));
}

#[tokio::test]
async fn deliveries_are_concurrent_duplicates() {
    let (sandbox, receiver) = paid_setup(Duration::from_millis(300)).await;
    let options = PayOptions {
        deliveries: 4,
        ..PayOptions::default()
    };
    let deliveries = sandbox.pay("PAY-1", options).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| d.status).collect::<Vec<_>>(), [200; 4]);
    assert!(receiver.max_in_flight() >= 2, "deliveries ran one after another");
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 4);
    assert!(bodies.iter().all(|b| b["msg"] == bodies[0]["msg"] && verifies(b)));
}

#[tokio::test]
async fn a_tampered_signature_does_not_verify() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    let options = PayOptions {
        tamper_signature: true,
        ..PayOptions::default()
    };
    let deliveries = sandbox.pay("PAY-1", options).await.unwrap();
    assert_eq!(deliveries[0].status, 400);
    assert!(!verifies(&receiver.bodies()[0]));
}

#[tokio::test]
async fn the_amount_override_changes_only_the_callback() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    let options = PayOptions {
        amount: Some(1),
        ..PayOptions::default()
    };
    sandbox.pay("PAY-1", options).await.unwrap();
    assert_eq!(msg_of(&receiver.bodies()[0])["total_amount"], 1);
    assert_eq!(sandbox.order("PAY-1").unwrap().total_amount, 1990);
    assert_eq!(query_order(&sandbox, "PAY-1").await["payment_info"]["total_fee"], 1990);
}

#[tokio::test]
async fn callbacks_go_to_the_override_then_the_order_then_the_console_url() {
    let console = Receiver::start(Duration::ZERO).await;
    let own = Receiver::start(Duration::ZERO).await;
    let adhoc = Receiver::start(Duration::ZERO).await;
    let sandbox = Sandbox::start(config(Some(console.url.clone()))).await;
    let mut fields = order_fields("PAY-2");
    fields["notify_url"] = json!(own.url);
    create_order(&sandbox, fields).await;
    create_order(&sandbox, order_fields("PAY-3")).await;

    sandbox.pay("PAY-2", PayOptions::default()).await.unwrap();
    sandbox.pay("PAY-3", PayOptions::default()).await.unwrap();
    let options = PayOptions {
        notify_url: Some(adhoc.url.clone()),
        ..PayOptions::default()
    };
    sandbox.pay("PAY-3", options).await.unwrap();
    assert_eq!(msg_of(&own.bodies()[0])["cp_orderno"], "PAY-2");
    assert_eq!(msg_of(&console.bodies()[0])["cp_orderno"], "PAY-3");
    assert_eq!(msg_of(&adhoc.bodies()[0])["cp_orderno"], "PAY-3");
    assert_eq!(
        (own.bodies().len(), console.bodies().len(), adhoc.bodies().len()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn paying_again_resends_without_changing_the_order() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    sandbox.pay("PAY-1", PayOptions::default()).await.unwrap();
    // A day passes: paying again now must not restamp the payment.
    let paid = sandbox.age_order("PAY-1", 1).unwrap();
    sandbox.pay("PAY-1", PayOptions::default()).await.unwrap();
    assert_eq!(sandbox.order("PAY-1").unwrap(), paid);
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);
    let (first, again) = (msg_of(&bodies[0]), msg_of(&bodies[1]));
    assert_eq!(again["paid_at"], json!(paid.paid_at.unwrap()), "the aged payment time");
    assert_eq!(first["paid_at"].as_i64().unwrap() - 86_400, paid.paid_at.unwrap());
    assert_eq!(
        (&first["payment_order_no"], &first["order_id"]),
        (&again["payment_order_no"], &again["order_id"])
    );
}

#[tokio::test]
async fn zero_deliveries_pay_without_a_callback() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    let deliveries = sandbox
        .pay(
            "PAY-1",
            PayOptions {
                deliveries: 0,
                ..PayOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(deliveries.is_empty());
    assert!(receiver.bodies().is_empty());
    assert_eq!(sandbox.order("PAY-1").unwrap().status, OrderStatus::Success);
}

#[tokio::test]
async fn failed_orders_get_no_callback_and_cannot_be_paid() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    sandbox.fail_order("PAY-1").unwrap();
    assert_eq!(sandbox.order("PAY-1").unwrap().status, OrderStatus::Fail);
    assert!(
        sandbox
            .pay("PAY-1", PayOptions::default())
            .await
            .unwrap_err()
            .contains("FAIL")
    );
    assert!(receiver.bodies().is_empty());
}

#[tokio::test]
async fn refused_payments() {
    let sandbox = sandbox().await; // no console notify URL
    assert!(
        sandbox
            .pay("NOPE", PayOptions::default())
            .await
            .unwrap_err()
            .contains("unknown order")
    );
    assert!(sandbox.fail_order("NOPE").is_err());
    create_order(&sandbox, order_fields("PAY-4")).await;
    assert!(
        sandbox
            .pay("PAY-4", PayOptions::default())
            .await
            .unwrap_err()
            .contains("notify_url")
    );
    assert_eq!(sandbox.order("PAY-4").unwrap().status, OrderStatus::Processing);

    sandbox
        .pay(
            "PAY-4",
            PayOptions {
                deliveries: 0,
                notify_url: Some("http://x".into()),
                ..PayOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(sandbox.fail_order("PAY-4").unwrap_err().contains("SUCCESS"));
}

#[tokio::test]
async fn an_unreachable_notify_url_is_reported_as_status_0() {
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("PAY-5")).await;
    // Bound but not listening: the port stays ours, and every connection is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let options = PayOptions {
        notify_url: Some(format!("http://127.0.0.1:{port}/notify")),
        ..PayOptions::default()
    };
    let deliveries = sandbox.pay("PAY-5", options).await.unwrap();
    assert_eq!(deliveries[0].status, 0);
    assert!(deliveries[0].body.contains("delivery failed"), "{}", deliveries[0].body);
    drop(socket);
}

#[tokio::test]
async fn callbacks_can_carry_escaped_unicode_and_reordered_keys() {
    let (sandbox, receiver) = paid_setup(Duration::ZERO).await;
    let options = PayOptions {
        reorder_keys: true,
        escape_unicode: true,
        ..PayOptions::default()
    };
    assert_eq!(
        sandbox.pay("PAY-1", options).await.unwrap()[0].status,
        200,
        "it verifies"
    );
    let raw_msg = receiver.bodies()[0]["msg"].as_str().unwrap().to_owned();
    assert!(raw_msg.starts_with(r#"{"order_id":"#), "{raw_msg}");
    assert_eq!(msg_of(&receiver.bodies()[0])["cp_orderno"], "PAY-1");

    // A refund that fails says so in Chinese: escaped, and signed over the escapes.
    ecpay(&sandbox, CREATE_REFUND, refund_fields("PAY-1", "PAY-1-r", 100)).await;
    let options = sandbox::CallbackOptions {
        escape_unicode: true,
        ..sandbox::CallbackOptions::default()
    };
    let deliveries = sandbox.finish_refund("PAY-1-r", false, options).await.unwrap();
    assert_eq!(deliveries[0].status, 200, "it verifies");
    let refund = receiver.bodies()[1].clone();
    let raw_msg = refund["msg"].as_str().unwrap();
    assert!(
        raw_msg.is_ascii() && raw_msg.contains(r#""message":"\u9000\u6b3e\u5931\u8d25"#),
        "{raw_msg}"
    );
    assert_eq!(msg_of(&refund)["message"], "退款失败 (sandbox)");
}
