//! The trade system's callbacks, received by a stand-in backend that verifies
//! `Byte-Signature` with the platform public key: payment, cancel, `pre_create_refund`
//! and its synchronous reply, refund and settle; and the control routes that send them.

mod common;

use common::trade::*;
use common::*;
use sandbox::{CallbackOptions, Sandbox, TradePayOptions, TradePayStatus, TransferStatus};
use serde_json::json;

fn to(receiver: &TradeReceiver) -> CallbackOptions {
    CallbackOptions {
        notify_url: Some(receiver.url.clone()),
        ..CallbackOptions::default()
    }
}

#[tokio::test]
async fn paying_sends_a_payment_callback_signed_by_the_platform() {
    let receiver = TradeReceiver::start().await;
    let sandbox = trade_sandbox().await;
    let mut data = order_data("TC-1", 990, 1);
    data["payNotifyUrl"] = json!(receiver.url);
    let order_id = request_order(&sandbox, &data);

    let deliveries = sandbox.trade_pay("TC-1", TradePayOptions::default()).await.unwrap();
    assert_eq!(
        (deliveries.len(), deliveries[0].status),
        (1, 200),
        "to the order's payNotifyUrl"
    );
    let callback = receiver.last();
    assert!(callback.verified, "Byte-Signature verifies over ts\\nnonce\\nbody\\n");
    assert_eq!(callback.header("content-type"), "application/json");
    assert_eq!(callback.header("byte-identifyname"), "/msg/basic/payment/notify");
    let nonce = callback.header("byte-nonce-str");
    assert!(
        nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{nonce}"
    );
    assert!((callback.header("byte-timestamp").parse::<i64>().unwrap() - now_secs()).abs() < 5);
    assert!(!callback.header("byte-logid").is_empty());
    let envelope = callback.envelope();
    assert_eq!(
        (&envelope["version"], &envelope["type"]),
        (&json!("3.0"), &json!("payment"))
    );
    let msg = callback.msg();
    assert_eq!(
        (&msg["app_id"], &msg["order_id"], &msg["out_order_no"]),
        (&json!(APP_ID), &json!(order_id), &json!("TC-1"))
    );
    assert_eq!(
        (
            &msg["status"],
            &msg["total_amount"],
            &msg["pay_channel"],
            &msg["discount_amount"]
        ),
        (&json!("SUCCESS"), &json!(990), &json!(10), &json!(0))
    );
    let order = sandbox.trade_order("TC-1").unwrap();
    let payment = order.payment.unwrap();
    assert_eq!(
        (&msg["event_time"], &msg["channel_pay_id"]),
        (&json!(payment.pay_time), &json!(payment.channel_pay_id))
    );
    assert_eq!(msg["merchant_uid"], json!(order.merchant_uid));

    // Paying again resends the same msg; a tampered copy does not verify.
    let tampered = TradePayOptions {
        callback: CallbackOptions {
            tamper_signature: true,
            ..CallbackOptions::default()
        },
        ..TradePayOptions::default()
    };
    sandbox.trade_pay("TC-1", tampered).await.unwrap();
    let again = receiver.last();
    assert!(!again.verified);
    assert_eq!(again.envelope()["msg"], envelope["msg"]);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn cancelling_sends_cancel_and_ends_the_order() {
    let receiver = TradeReceiver::start().await;
    let sandbox = trade_sandbox().await;
    request_order(&sandbox, &order_data("TC-2", 100, 1));
    sandbox.trade_cancel("TC-2", "TIME_OUT", to(&receiver)).await.unwrap();
    let callback = receiver.last();
    assert!(callback.verified);
    let msg = callback.msg();
    assert_eq!(
        (&msg["status"], &msg["message"]),
        (&json!("CANCEL"), &json!("TIME_OUT"))
    );
    assert_eq!(sandbox.trade_order("TC-2").unwrap().pay_status, TradePayStatus::Timeout);
    let error = sandbox.trade_pay("TC-2", quiet_pay()).await.unwrap_err();
    assert!(error.contains("cancelled (TIME_OUT)"), "{error}");
    assert!(sandbox.trade_cancel("TC-2", "BORED", quiet()).await.is_err());
    assert!(
        sandbox
            .trade_pay("unknown", quiet_pay())
            .await
            .unwrap_err()
            .contains("unknown order")
    );
    paid_trade_order(&sandbox, "TC-3", 100, 1).await;
    assert!(
        sandbox
            .trade_cancel("TC-3", "USER_CANCEL", quiet())
            .await
            .unwrap_err()
            .contains("is paid")
    );
}

#[tokio::test]
async fn a_user_refund_is_made_only_after_a_good_synchronous_reply() {
    let receiver = TradeReceiver::start().await;
    let sandbox = trade_sandbox().await;
    let order_id = paid_trade_order(&sandbox, "TC-4", 500, 2).await;

    // The default reply has no data: no refund.
    let made = sandbox
        .trade_user_refund("TC-4", 600, "不想要了", to(&receiver))
        .await
        .unwrap();
    assert_eq!((made.out_refund_no, made.deliveries[0].status), (None, 200));
    assert!(sandbox.trade_refund(&made.refund_id).is_none());
    let callback = receiver.last();
    assert!(callback.verified);
    assert_eq!(callback.envelope()["type"], "pre_create_refund");
    let msg = callback.msg();
    assert_eq!(
        (&msg["refund_id"], &msg["order_id"], &msg["refund_total_amount"]),
        (&json!(made.refund_id), &json!(order_id), &json!(600))
    );
    assert_eq!(
        (&msg["refund_reason"], &msg["refund_source"], &msg["need_refund_audit"]),
        (&json!(["不想要了"]), &json!(1), &json!(2))
    );
    assert_eq!(
        msg["refund_item_detail"]["item_order_quantity"], 2,
        "600 spans both item orders of 500"
    );

    // A reply whose schema path starts with '/' is not good either.
    receiver.reply_with(json!({ "err_no": 0, "err_tips": "success", "data": { "out_refund_no": "U-1", "order_entry_schema": { "path": "/pages/r" } } }));
    let made = sandbox
        .trade_user_refund("TC-4", 600, "r", to(&receiver))
        .await
        .unwrap();
    assert_eq!(made.out_refund_no, None);

    receiver.reply_with(json!({
        "err_no": 0, "err_tips": "success",
        "data": { "out_refund_no": "U-1", "order_entry_schema": { "path": "pages/refund", "params": "{\"id\":\"U-1\"}" } },
    }));
    let made = sandbox
        .trade_user_refund("TC-4", 600, "r", to(&receiver))
        .await
        .unwrap();
    assert_eq!(made.out_refund_no.as_deref(), Some("U-1"));
    let refund = sandbox.trade_refund(&made.refund_id).unwrap();
    assert_eq!(
        (refund.out_refund_no.as_str(), refund.refund_total_amount, refund.status),
        ("U-1", 600, TransferStatus::Processing)
    );
    assert_eq!(sandbox.trade_order("TC-4").unwrap().refunding_amount, 600);
    // Only 400 is left now.
    assert!(
        sandbox
            .trade_user_refund("TC-4", 401, "r", to(&receiver))
            .await
            .unwrap_err()
            .contains("400 left")
    );

    // Finishing sends the refund callback (refund_type 1: a user refund).
    sandbox
        .trade_finish_refund(&made.refund_id, true, to(&receiver))
        .await
        .unwrap();
    let callback = receiver.last();
    assert!(callback.verified);
    let msg = callback.msg();
    assert_eq!(
        (
            &msg["status"],
            &msg["out_refund_no"],
            &msg["refund_type"],
            &msg["is_all_settled"]
        ),
        (&json!("SUCCESS"), &json!("U-1"), &json!(1), &json!(false))
    );
    assert_eq!(sandbox.trade_order("TC-4").unwrap().refunded_amount, 600);
    assert!(
        sandbox
            .trade_finish_refund(&made.refund_id, false, quiet())
            .await
            .unwrap_err()
            .contains("cannot become FAIL")
    );
}

#[tokio::test]
async fn control_routes_drive_the_whole_trade_flow() {
    let receiver = TradeReceiver::start().await;
    let sandbox = Sandbox::start(trade_config(Some(receiver.url.clone()))).await;
    let data = order_data("TC-5", 800, 1).to_string();
    let (status, answer) = post(
        &sandbox,
        "/sandbox/trade/request_order",
        &json!({ "data": data, "byteAuthorization": authorization(&data) }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let (status, answer) = post(
        &sandbox,
        "/sandbox/trade/pay",
        &json!({ "out_order_no": "TC-5", "pay_channel": 1, "deliveries": 2 }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deliveries"].as_array().unwrap().len(), 2);
    assert_eq!(receiver.last().msg()["pay_channel"], 1, "to the console notify URL");
    let (status, order) = get(&sandbox, "/sandbox/trade/orders/TC-5").await;
    assert_eq!((status, &order["pay_status"]), (200, &json!("SUCCESS")));

    // A developer refund and a settlement, finished over HTTP.
    let token = client_token(&sandbox).await;
    let item = &order["item_orders"][0]["item_order_id"];
    let body = json!({ "order_id": order["order_id"], "out_refund_no": "R-C", "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 102, "text": "商家" }], "item_order_detail": [{ "item_order_id": item, "refund_amount": 300 }] });
    let refund_id = developer(&sandbox, REFUND_CREATE, &token, &body).await["data"]["refund_id"].clone();
    let (status, _) = post(
        &sandbox,
        "/sandbox/trade/finish_refund",
        &json!({ "refund_id": refund_id, "status": "FAIL" }),
    )
    .await;
    assert_eq!(status, 200);
    let msg = receiver.last().msg();
    assert_eq!(
        (&msg["status"], &msg["refund_type"], &msg["message"]),
        (&json!("FAIL"), &json!(2), &json!("退款失败 (sandbox)"))
    );
    let (status, refund) = get(&sandbox, "/sandbox/trade/refunds_by_out_no/R-C").await;
    assert_eq!((status, &refund["status"]), (200, &json!("FAIL")));
    let (status, _) = get(
        &sandbox,
        &format!("/sandbox/trade/refunds/{}", refund_id.as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200);

    let (status, aged) = post(&sandbox, "/sandbox/trade/orders/TC-5/age", &json!({ "days": 8 })).await;
    assert_eq!((status, &aged["pay_status"]), (200, &json!("SUCCESS")), "{aged}");
    let settle = json!({ "out_order_no": "TC-5", "out_settle_no": "S-C", "settle_desc": "结算" });
    assert_eq!(
        trade_err(&developer(&sandbox, SETTLE_CREATE, &token, &settle).await).0,
        0
    );
    let (status, _) = post(
        &sandbox,
        "/sandbox/trade/finish_settle",
        &json!({ "out_settle_no": "S-C", "status": "SUCCESS" }),
    )
    .await;
    assert_eq!(status, 200);
    let callback = receiver.last();
    assert!(callback.verified);
    let msg = callback.msg();
    assert_eq!(
        (&msg["status"], &msg["settle_amount"], &msg["out_settle_no"]),
        (&json!("SUCCESS"), &json!(800), &json!("S-C"))
    );
    let (_, settle) = get(&sandbox, "/sandbox/trade/settles/S-C").await;
    assert_eq!(settle["status"], "SUCCESS");

    // The user refund route, and the token control routes.
    let (status, answer) = post(
        &sandbox,
        "/sandbox/trade/user_refund",
        &json!({ "out_order_no": "TC-5", "amount": 100, "reason": "r" }),
    )
    .await;
    assert_eq!((status, &answer["out_refund_no"]), (200, &json!(null)), "{answer}");
    let (_, tokens) = get(&sandbox, "/sandbox/trade/client_tokens").await;
    assert_eq!(tokens["fetches"], 1);
    let (status, _) = post(&sandbox, "/sandbox/trade/expire_client_tokens", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        trade_err(&developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": "TC-5" })).await).0,
        28001003
    );

    let (status, _) = post(
        &sandbox,
        "/sandbox/trade/cancel",
        &json!({ "out_order_no": "TC-5", "message": "USER_CANCEL" }),
    )
    .await;
    assert_eq!(status, 409, "a paid order cannot be cancelled");
    let (status, _) = get(&sandbox, "/sandbox/trade/orders/none").await;
    assert_eq!(status, 404);
}

fn good_reply(out_refund_no: &str) -> serde_json::Value {
    json!({
        "err_no": 0, "err_tips": "success",
        "data": { "out_refund_no": out_refund_no, "order_entry_schema": { "path": "pages/refund", "params": "{}" } },
    })
}

#[tokio::test]
async fn a_user_refund_without_a_good_reply_is_retried_with_the_same_msg() {
    let receiver = TradeReceiver::start().await;
    let sandbox = trade_sandbox().await;
    paid_trade_order(&sandbox, "TC-6", 500, 1).await;
    // As a backend that does not know the order as paid yet answers.
    receiver.reply_with(json!({ "err_no": 3, "err_tips": "order is not paid or has less left to refund" }));
    let first = sandbox
        .trade_user_refund("TC-6", 200, "不想要了", to(&receiver))
        .await
        .unwrap();
    assert_eq!(first.out_refund_no, None);
    assert!(sandbox.trade_refund(&first.refund_id).is_none());

    receiver.reply_with(good_reply("U-6"));
    let retried = sandbox
        .trade_retry_user_refund(&first.refund_id, to(&receiver))
        .await
        .unwrap();
    assert_eq!(
        (retried.refund_id.as_str(), retried.out_refund_no.as_deref()),
        (first.refund_id.as_str(), Some("U-6"))
    );
    let [sent, resent] = receiver.received().try_into().unwrap();
    assert!(sent.verified && resent.verified);
    assert_eq!(sent.envelope()["msg"], resent.envelope()["msg"], "the same application");
    let refund = sandbox.trade_refund(&first.refund_id).unwrap();
    assert_eq!(
        (refund.out_refund_no.as_str(), refund.refund_total_amount),
        ("U-6", 200)
    );

    let again = sandbox.trade_retry_user_refund(&first.refund_id, to(&receiver)).await;
    assert!(again.unwrap_err().contains("made already, as U-6"));
    let (status, _) = post(
        &sandbox,
        "/sandbox/trade/retry_user_refund",
        &json!({ "refund_id": "ort0" }),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn callbacks_can_carry_escaped_unicode_and_reordered_keys() {
    let receiver = TradeReceiver::start().await;
    let sandbox = trade_sandbox().await;
    paid_trade_order(&sandbox, "TC-7", 500, 1).await;
    receiver.reply_with(good_reply("U-7"));
    let options = CallbackOptions {
        escape_unicode: true,
        reorder_keys: true,
        ..to(&receiver)
    };
    let made = sandbox
        .trade_user_refund("TC-7", 100, "不想要了", options)
        .await
        .unwrap();
    assert_eq!(made.out_refund_no.as_deref(), Some("U-7"), "{:?}", made.deliveries);
    let callback = receiver.last();
    assert!(callback.verified, "signed over the text as sent");
    let raw_msg = callback.envelope()["msg"].as_str().unwrap().to_owned();
    assert!(raw_msg.is_ascii(), "{raw_msg}");
    assert!(
        raw_msg.contains(r#""refund_reason":["\u4e0d\u60f3\u8981\u4e86"]"#),
        "{raw_msg}"
    );
    assert!(raw_msg.starts_with(r#"{"refund_item_detail":"#), "{raw_msg}");
    assert_eq!(callback.msg()["refund_reason"], json!(["不想要了"]));
}
