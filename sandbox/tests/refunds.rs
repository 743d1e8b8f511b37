//! `create_refund`, `query_refund` and the refund callback over HTTP: the order's
//! state and amount, settled orders, idempotency, strict parameters, signed callbacks.

mod common;

use common::*;
use sandbox::{CallbackOptions, Sandbox, TransferStatus};
use serde_json::{Value, json};
use std::time::Duration;

async fn create_refund(sandbox: &Sandbox, fields: Value) -> Value {
    ecpay(sandbox, CREATE_REFUND, fields).await
}

async fn query_refund(sandbox: &Sandbox, out_refund_no: &str) -> Value {
    ecpay(sandbox, QUERY_REFUND, json!({ "out_refund_no": out_refund_no })).await
}

fn assert_refused(answer: &Value, needle: &str) {
    let (err_no, tips) = err(answer);
    assert_eq!(err_no, 2010, "{answer}");
    assert!(tips.contains(needle), "{tips:?} should mention {needle:?}");
}

#[tokio::test]
async fn a_refund_of_a_paid_order_is_accepted_as_processing() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RO-1").await;
    let answer = create_refund(&sandbox, refund_fields("RO-1", "RF-1", 500)).await;
    assert_eq!(answer.as_object().unwrap().len(), 3, "{answer}");
    assert_eq!(
        (&answer["err_no"], &answer["err_tips"]),
        (&json!(0), &json!("受理成功"))
    );
    let refund_no = answer["refund_no"].as_str().unwrap();
    assert!(!refund_no.is_empty() && refund_no.bytes().all(|b| b.is_ascii_digit()));

    let refund = sandbox.refund("RF-1").unwrap();
    assert_eq!(refund.refund_no, refund_no);
    assert_eq!((refund.out_order_no.as_str(), refund.refund_amount), ("RO-1", 500));
    assert_eq!((refund.reason.as_str(), refund.all_settle), ("用户申请退款", false));
    assert_eq!((refund.status, refund.refunded_at), (TransferStatus::Processing, None));
    assert_eq!(refund.order_id, sandbox.order("RO-1").unwrap().order_id);

    let answer = query_refund(&sandbox, "RF-1").await;
    assert_eq!((&answer["err_no"], &answer["err_tips"]), (&json!(0), &json!("")));
    assert_eq!(
        answer["refundInfo"],
        json!({
            "refund_no": refund_no, "refund_amount": 500, "refund_status": "PROCESSING", "refunded_at": 0,
            "is_all_settled": false, "cp_extra": "", "msg": "",
        })
    );
    assert!(answer.get("refund_info").is_none(), "the key is camelCase");
}

#[tokio::test]
async fn refunds_of_unpaid_unknown_or_failed_orders_are_refused() {
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("RO-2")).await;
    assert_refused(
        &create_refund(&sandbox, refund_fields("RO-2", "RF-2", 1)).await,
        "not paid",
    );
    assert_refused(
        &create_refund(&sandbox, refund_fields("NOPE", "RF-3", 1)).await,
        "out_order_no",
    );
    create_order(&sandbox, order_fields("RO-3")).await;
    sandbox.fail_order("RO-3").unwrap();
    assert_refused(&create_refund(&sandbox, refund_fields("RO-3", "RF-4", 1)).await, "FAIL");
    for no in ["RF-2", "RF-3", "RF-4"] {
        assert!(sandbox.refund(no).is_none());
    }
}

#[tokio::test]
async fn refunds_cannot_exceed_the_order_total() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RO-4").await; // total 1990
    assert_refused(
        &create_refund(&sandbox, refund_fields("RO-4", "RF-5", 1991)).await,
        "refund amount exceeds",
    );
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-4", "RF-6", 1000)).await["err_no"],
        0
    );
    // A PROCESSING refund counts: only 990 are left.
    let over = create_refund(&sandbox, refund_fields("RO-4", "RF-7", 991)).await;
    assert_refused(&over, "refund amount exceeds");
    assert_refused(&over, "refund_amount");
    // A failed refund gives its amount back.
    sandbox.finish_refund("RF-6", false, no_callback()).await.unwrap();
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-4", "RF-8", 1990)).await["err_no"],
        0
    );
    assert_refused(
        &create_refund(&sandbox, refund_fields("RO-4", "RF-9", 1)).await,
        "refund amount exceeds",
    );
}

/// Finishes without sending anything (the URL is never called with 0 deliveries).
fn no_callback() -> CallbackOptions {
    CallbackOptions {
        deliveries: 0,
        notify_url: Some(hub::NOWHERE.into()),
        ..CallbackOptions::default()
    }
}

#[tokio::test]
async fn a_settled_order_is_refunded_only_with_all_settle() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "RO-5").await;
    assert_eq!(
        ecpay(&sandbox, SETTLE, settle_fields("RO-5", "ST-1", json!([]))).await["err_no"],
        0
    );

    // Being settled (PROCESSING) is enough.
    let answer = create_refund(&sandbox, refund_fields("RO-5", "RF-10", 100)).await;
    assert_refused(&answer, "order settled: use all_settle=1");
    let mut fields = refund_fields("RO-5", "RF-11", 100);
    fields["all_settle"] = json!(0);
    assert_refused(&create_refund(&sandbox, fields).await, "all_settle");

    let mut fields = refund_fields("RO-5", "RF-12", 100);
    fields["all_settle"] = json!(1);
    assert_eq!(create_refund(&sandbox, fields).await["err_no"], 0);
    assert!(sandbox.refund("RF-12").unwrap().all_settle);
    assert_eq!(
        query_refund(&sandbox, "RF-12").await["refundInfo"]["is_all_settled"],
        true
    );

    // A failed settlement leaves the order unsettled again.
    sandbox.finish_settle("ST-1", false, no_callback()).await.unwrap();
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-5", "RF-13", 100)).await["err_no"],
        0
    );

    // all_settle=1 on an order not settled is fine.
    paid_order(&sandbox, "RO-6").await;
    let mut fields = refund_fields("RO-6", "RF-14", 100);
    fields["all_settle"] = json!(1);
    assert_eq!(create_refund(&sandbox, fields).await["err_no"], 0);
}

#[tokio::test]
async fn create_refund_replays_the_first_answer() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RO-7").await;
    let first = create_refund(&sandbox, refund_fields("RO-7", "RF-15", 300)).await;
    let mut changed = refund_fields("RO-7", "RF-15", 900);
    changed["reason"] = json!("another reason");
    assert_eq!(create_refund(&sandbox, changed).await, first);
    let refund = sandbox.refund("RF-15").unwrap();
    assert_eq!((refund.refund_amount, refund.reason.as_str()), (300, "用户申请退款"));
    // Only the first one counts against the order: 1690 are left.
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-7", "RF-16", 1690)).await["err_no"],
        0
    );

    // A first call that failed keeps failing, with the same answer, even when fixed.
    let refused = create_refund(&sandbox, refund_fields("RO-7", "RF-17", 5000)).await;
    assert_refused(&refused, "refund amount exceeds");
    let mut fields = refund_fields("RO-7", "RF-18", 1);
    fields["reason"] = json!("");
    let bad_reason = create_refund(&sandbox, fields).await;
    assert_refused(&bad_reason, "reason");
    sandbox.finish_refund("RF-16", false, no_callback()).await.unwrap(); // room again
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-7", "RF-17", 1)).await,
        refused
    );
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-7", "RF-18", 1)).await,
        bad_reason
    );
    assert!(sandbox.refund("RF-17").is_none() && sandbox.refund("RF-18").is_none());
    assert_eq!(sandbox.calls(CREATE_REFUND), 7);
}

#[tokio::test]
async fn refund_parameters_are_strict() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RO-8").await;
    let cases: [(&str, Value); 13] = [
        ("refund_amount", json!(0)),
        ("refund_amount", json!(10.0)),
        ("refund_amount", json!("10")),
        ("reason", json!("")),
        ("reason", json!("字".repeat(101))),
        ("reason", json!(5)),
        ("all_settle", json!(2)),
        ("all_settle", json!("1")),
        ("cp_extra", json!("x".repeat(2049))),
        ("notify_url", json!(format!("https://x/{}", "a".repeat(256)))),
        ("notify_url", json!("http://127.0.0.1:9000/notify/douyin")),
        ("disable_msg", json!("0")),
        ("msg_page", json!(1)),
    ];
    for (index, (field, value)) in cases.into_iter().enumerate() {
        let mut fields = refund_fields("RO-8", &format!("RF-P{index}"), 10);
        fields[field] = value.clone();
        assert_refused(&create_refund(&sandbox, fields).await, field);
    }
    let mut fields = refund_fields("RO-8", "RF 1", 10);
    assert_refused(&create_refund(&sandbox, fields.clone()).await, "out_refund_no");
    fields["out_refund_no"] = json!("R".repeat(65));
    assert_refused(&create_refund(&sandbox, fields).await, "out_refund_no");
    let mut fields = refund_fields("RO-8", "RF-P", 10);
    fields.as_object_mut().unwrap().remove("out_order_no");
    assert_refused(&create_refund(&sandbox, fields).await, "out_order_no");

    // 100 characters of reason and every optional field at its limit are fine.
    let mut fields = refund_fields("RO-8", "RF-OK", 10);
    fields["reason"] = json!("字".repeat(100));
    fields["cp_extra"] = json!("x".repeat(2048));
    fields["disable_msg"] = json!(0);
    fields["msg_page"] = json!("pages/order");
    fields["all_settle"] = json!(0);
    assert_eq!(create_refund(&sandbox, fields).await["err_no"], 0);
    assert_eq!(sandbox.refund("RF-OK").unwrap().cp_extra.len(), 2048);
}

#[tokio::test]
async fn refund_calls_check_app_id_then_sign() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RO-9").await;
    for path in [CREATE_REFUND, QUERY_REFUND] {
        let mut body = signed(refund_fields("RO-9", "RF-19", 10));
        body["sign"] = json!("0123456789abcdef0123456789abcdef");
        assert_eq!(err(&post(&sandbox, path, &body).await.1), (2008, "验签异常".into()));
        // Signed, then a value changed; and a business error behind a bad sign.
        let mut body = signed(refund_fields("RO-9", "RF-19", 0));
        body["refund_amount"] = json!(10);
        assert_eq!(post(&sandbox, path, &body).await.1["err_no"], 2008);
        let mut body = signed(refund_fields("RO-9", "RF-19", 10));
        body["app_id"] = json!("tt_other");
        assert_eq!(post(&sandbox, path, &body).await.1["err_no"], 2042);
    }
    // Refused before any business check: the number is still free.
    assert_eq!(
        create_refund(&sandbox, refund_fields("RO-9", "RF-19", 10)).await["err_no"],
        0
    );
    let (status, text) = post_raw(&sandbox, CREATE_REFUND, "refund_amount=1").await;
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["err_no"], 2010);
}

#[tokio::test]
async fn an_unknown_refund_is_not_found() {
    let sandbox = sandbox().await;
    let answer = query_refund(&sandbox, "NOPE").await;
    assert_eq!(err(&answer), (2010, "refund not found".into()));
    let answer = ecpay(&sandbox, QUERY_REFUND, json!({ "out_refund_no": "has space" })).await;
    assert_refused(&answer, "out_refund_no");
}

#[tokio::test]
async fn a_finished_refund_calls_back_with_a_verifiable_signature() {
    let receiver = Receiver::start(Duration::ZERO).await;
    let sandbox = Sandbox::start(config(Some(receiver.url.clone()))).await;
    paid_order(&sandbox, "RO-10").await;
    let mut fields = refund_fields("RO-10", "RF-20", 700);
    fields["cp_extra"] = json!("extra-20");
    let refund_no = create_refund(&sandbox, fields).await["refund_no"].clone();

    let deliveries = sandbox
        .finish_refund("RF-20", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        (deliveries[0].status, deliveries[0].body.as_str()),
        (200, r#"{"err_no":0,"err_tips":"success"}"#)
    );
    let envelope = &receiver.bodies()[0];
    assert!(verifies(envelope));
    assert_eq!(envelope["type"], "refund");
    assert_eq!(
        msg_keys(envelope),
        [
            "appid",
            "cp_refundno",
            "cp_extra",
            "status",
            "refund_amount",
            "is_all_settled",
            "refunded_at",
            "message",
            "order_id",
            "refund_no"
        ]
    );
    let refund = sandbox.refund("RF-20").unwrap();
    assert_eq!(refund.status, TransferStatus::Success);
    let refunded_at = refund.refunded_at.unwrap();
    assert_eq!(
        msg_of(envelope),
        json!({
            "appid": APP_ID, "cp_refundno": "RF-20", "cp_extra": "extra-20", "status": "SUCCESS",
            "refund_amount": 700, "is_all_settled": false, "refunded_at": refunded_at, "message": "",
            "order_id": sandbox.order("RO-10").unwrap().order_id, "refund_no": refund_no,
        })
    );
    let info = &query_refund(&sandbox, "RF-20").await["refundInfo"];
    assert_eq!(
        (&info["refund_status"], &info["refunded_at"]),
        (&json!("SUCCESS"), &json!(refunded_at))
    );

    // Once: a repeat resends the same result, the other outcome is refused.
    sandbox
        .finish_refund("RF-20", true, CallbackOptions::default())
        .await
        .unwrap();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["msg"], bodies[1]["msg"]);
    let refused = sandbox.finish_refund("RF-20", false, CallbackOptions::default()).await;
    assert!(refused.unwrap_err().contains("SUCCESS"));
    assert_eq!(receiver.bodies().len(), 2);
}

#[tokio::test]
async fn a_failed_refund_calls_back_fail_and_callbacks_can_be_tampered() {
    let receiver = Receiver::start(Duration::from_millis(200)).await;
    let sandbox = Sandbox::start(config(Some(receiver.url.clone()))).await;
    paid_order(&sandbox, "RO-11").await;
    create_refund(&sandbox, refund_fields("RO-11", "RF-21", 100)).await;
    let options = CallbackOptions {
        deliveries: 3,
        ..CallbackOptions::default()
    };
    let deliveries = sandbox.finish_refund("RF-21", false, options).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| d.status).collect::<Vec<_>>(), [200; 3]);
    assert!(receiver.max_in_flight() >= 2, "deliveries ran one after another");
    let msg = msg_of(&receiver.bodies()[0]);
    assert_eq!((&msg["status"], &msg["refunded_at"]), (&json!("FAIL"), &json!(0)));
    assert_eq!(
        query_refund(&sandbox, "RF-21").await["refundInfo"]["refund_status"],
        "FAIL"
    );

    let tampered = CallbackOptions {
        tamper_signature: true,
        ..CallbackOptions::default()
    };
    let deliveries = sandbox.finish_refund("RF-21", false, tampered).await.unwrap();
    assert_eq!(deliveries[0].status, 400);
    assert!(!verifies(receiver.bodies().last().unwrap()));
}

#[tokio::test]
async fn refund_callbacks_go_to_the_refund_then_the_order_then_the_console_url() {
    let console = Receiver::start(Duration::ZERO).await;
    let of_order = Receiver::start(Duration::ZERO).await;
    let of_refund = Receiver::start(Duration::ZERO).await;
    let sandbox = Sandbox::start(config(Some(console.url.clone()))).await;
    let mut fields = order_fields("RO-12");
    fields["notify_url"] = json!(of_order.url);
    create_order(&sandbox, fields).await;
    sandbox.pay("RO-12", sandbox::PayOptions::default()).await.unwrap();
    paid_order(&sandbox, "RO-13").await;

    let mut fields = refund_fields("RO-12", "RF-22", 1);
    fields["notify_url"] = json!(of_refund.url);
    create_refund(&sandbox, fields).await;
    create_refund(&sandbox, refund_fields("RO-12", "RF-23", 1)).await;
    create_refund(&sandbox, refund_fields("RO-13", "RF-24", 1)).await;
    for no in ["RF-22", "RF-23", "RF-24"] {
        sandbox
            .finish_refund(no, true, CallbackOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(sandbox.refund("RF-22").unwrap().notify_url, Some(of_refund.url.clone()));
    assert_eq!(msg_of(&of_refund.bodies()[0])["cp_refundno"], "RF-22");
    // The order's payment callback went there too, first.
    assert_eq!(msg_of(&of_order.bodies()[1])["cp_refundno"], "RF-23");
    assert_eq!(msg_of(&console.bodies()[0])["cp_refundno"], "RF-24");
}

#[tokio::test]
async fn finishing_refuses_unknown_refunds_and_missing_urls() {
    let sandbox = sandbox().await; // no console URL
    let unknown = sandbox.finish_refund("NOPE", true, CallbackOptions::default()).await;
    assert!(unknown.unwrap_err().contains("unknown refund"));
    paid_order(&sandbox, "RO-14").await; // created without a notify_url
    create_refund(&sandbox, refund_fields("RO-14", "RF-25", 1)).await;
    let nowhere = sandbox.finish_refund("RF-25", true, CallbackOptions::default()).await;
    assert!(nowhere.unwrap_err().contains("notify_url"));
    assert_eq!(sandbox.refund("RF-25").unwrap().status, TransferStatus::Processing);
}
