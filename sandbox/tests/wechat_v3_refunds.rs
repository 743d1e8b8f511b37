//! `POST /v3/refund/domestic/refunds` and the refund query (A.1), then the REFUND.*
//! notifies (A.5): paid orders only, never more than the total, idempotent on
//! `out_refund_no`, and a notify whose resource opens with the APIv3 key.

mod common;

use axum::http::StatusCode;
use common::wechat::MCH_ID;
use common::wechat_v3::*;
use sandbox::{WechatRefundStatus, WechatV3Mode, WechatV3NotifyOptions, WechatV3RefundOutcome};
use serde_json::json;

async fn sandbox() -> sandbox::Sandbox {
    v3_sandbox(WechatV3Mode::PublicKey).await
}

fn quiet() -> WechatV3NotifyOptions {
    WechatV3NotifyOptions {
        deliveries: 0,
        ..WechatV3NotifyOptions::default()
    }
}

#[tokio::test]
async fn a_refund_is_accepted_as_processing_and_queried() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RFD-01").await;
    let answer = refund(&sandbox, &refund_body("RFD-01", "RFD-01-a", 500)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.verifies_with(&pay_public_key()));
    let accepted = answer.json();
    assert_eq!(accepted["status"], "PROCESSING");
    assert_eq!(accepted["amount"]["refund"], 500);
    assert_eq!(accepted["amount"]["total"], 1990);
    let held = sandbox.wechat_v3_refund("RFD-01-a").unwrap();
    assert_eq!(accepted["refund_id"], held.refund_id);
    assert_eq!(held.refund_desc.as_deref(), Some("用户申请退款"));
    assert_eq!(query_order(&sandbox, "RFD-01").await.json()["trade_state"], "REFUND");

    let queried = Call::get("/v3/refund/domestic/refunds/RFD-01-a").send(&sandbox).await;
    assert_eq!(queried.status, 200);
    assert_eq!(queried.json()["refund_id"], accepted["refund_id"]);
    let unknown = Call::get("/v3/refund/domestic/refunds/NOPE").send(&sandbox).await;
    assert_eq!((unknown.status, unknown.code()), (404, "RESOURCE_NOT_EXISTS".into()));

    // By transaction_id as well.
    let transaction_id = sandbox.wechat_v3_order("RFD-01").unwrap().transaction_id.unwrap();
    let mut by_transaction = refund_body("RFD-01", "RFD-01-b", 100);
    by_transaction.as_object_mut().unwrap().remove("out_trade_no");
    by_transaction["transaction_id"] = json!(transaction_id);
    assert_eq!(refund(&sandbox, &by_transaction).await.status, 200);
}

#[tokio::test]
async fn refunds_are_idempotent_on_their_number() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RFD-02").await;
    let first = refund(&sandbox, &refund_body("RFD-02", "RFD-02-a", 500)).await.json();
    let again = refund(&sandbox, &refund_body("RFD-02", "RFD-02-a", 500)).await;
    assert_eq!(
        (again.status, again.json()["refund_id"].clone()),
        (200, first["refund_id"].clone())
    );
    let changed = refund(&sandbox, &refund_body("RFD-02", "RFD-02-a", 600)).await;
    assert_eq!((changed.status, changed.code()), (400, "INVALID_REQUEST".into()));
    assert_eq!(sandbox.wechat_v3_refund("RFD-02-a").unwrap().refund_fee, 500);
}

#[tokio::test]
async fn refunds_never_exceed_the_paid_total() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RFD-03").await;
    assert_eq!(refund(&sandbox, &refund_body("RFD-03", "a", 1500)).await.status, 200);
    let over = refund(&sandbox, &refund_body("RFD-03", "b", 491)).await;
    assert_eq!((over.status, over.code()), (400, "INVALID_REQUEST".into()));
    assert!(sandbox.wechat_v3_refund("b").is_none());
    assert_eq!(refund(&sandbox, &refund_body("RFD-03", "c", 490)).await.status, 200);
    // A closed refund gives its amount back.
    sandbox
        .wechat_v3_finish_refund("a", WechatV3RefundOutcome::Closed, quiet())
        .await
        .unwrap();
    assert_eq!(refund(&sandbox, &refund_body("RFD-03", "d", 1500)).await.status, 200);
    // The total must be the order's.
    let mut wrong_total = refund_body("RFD-03", "e", 1);
    wrong_total["amount"]["total"] = json!(1991);
    assert_eq!(refund(&sandbox, &wrong_total).await.code(), "INVALID_REQUEST");
}

#[tokio::test]
async fn only_known_paid_orders_are_refunded_with_valid_fields() {
    let sandbox = sandbox().await;
    place(&sandbox, "RFD-04", NOWHERE).await;
    let unpaid = refund(&sandbox, &refund_body("RFD-04", "RFD-04-a", 1)).await;
    assert_eq!((unpaid.status, unpaid.code()), (400, "INVALID_REQUEST".into()));
    let unknown = refund(&sandbox, &refund_body("RFD-XX", "RFD-XX-a", 1)).await;
    assert_eq!((unknown.status, unknown.code()), (404, "RESOURCE_NOT_EXISTS".into()));
    paid_order(&sandbox, "RFD-05").await;
    let param = |answer: V3Answer| (answer.status, answer.json()["detail"]["field"].clone());
    let mut zero = refund_body("RFD-05", "z", 0);
    assert_eq!(param(refund(&sandbox, &zero).await), (400, json!("amount.refund")));
    zero["amount"]["refund"] = json!(1);
    zero["amount"]["currency"] = json!("USD");
    assert_eq!(param(refund(&sandbox, &zero).await), (400, json!("amount.currency")));
    let mut url = refund_body("RFD-05", "u", 1);
    url["notify_url"] = json!("http://minipay.test/n");
    assert_eq!(param(refund(&sandbox, &url).await), (400, json!("notify_url")));
    let mut reason = refund_body("RFD-05", "r", 1);
    reason["reason"] = json!("退".repeat(81));
    assert_eq!(param(refund(&sandbox, &reason).await), (400, json!("reason")));
    assert!(sandbox.wechat_v3_refund("u").is_none());
}

#[tokio::test]
async fn finished_refunds_notify_with_an_encrypted_refund() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RFD-06").await;
    let receiver = JsonReceiver::start(StatusCode::OK);
    let mut body = refund_body("RFD-06", "RFD-06-a", 700);
    body["notify_url"] = json!(receiver.url);
    refund(&sandbox, &body).await;
    let deliveries = sandbox
        .wechat_v3_finish_refund(
            "RFD-06-a",
            WechatV3RefundOutcome::Success,
            WechatV3NotifyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, 200);
    let notifies = receiver.received();
    let notify = &notifies[0];
    assert!(notify.verifies_with(&pay_public_key()));
    let envelope = notify.json();
    assert_eq!(envelope["event_type"], "REFUND.SUCCESS");
    assert_eq!(envelope["resource"]["original_type"], "refund");
    let resource = notify.resource();
    let held = sandbox.wechat_v3_refund("RFD-06-a").unwrap();
    assert_eq!(held.status, WechatRefundStatus::Success);
    assert_eq!(resource["refund_status"], "SUCCESS");
    assert_eq!(resource["mchid"], MCH_ID);
    assert_eq!(resource["refund_id"], held.refund_id);
    assert_eq!(resource["out_trade_no"], "RFD-06");
    assert_eq!(
        resource["amount"],
        json!({"total": 1990, "refund": 700, "payer_total": 1990, "payer_refund": 700})
    );
    assert!(resource["success_time"].as_str().unwrap().ends_with("+08:00"));
    let queried = Call::get("/v3/refund/domestic/refunds/RFD-06-a")
        .send(&sandbox)
        .await
        .json();
    assert_eq!(queried["status"], "SUCCESS");
}

#[tokio::test]
async fn refunds_can_close_or_go_abnormal_once() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "RFD-07").await;
    let receiver = JsonReceiver::start(StatusCode::NO_CONTENT);
    for (no, outcome, event, status) in [
        ("RFD-07-a", WechatV3RefundOutcome::Closed, "REFUND.CLOSED", "CLOSED"),
        (
            "RFD-07-b",
            WechatV3RefundOutcome::Abnormal,
            "REFUND.ABNORMAL",
            "ABNORMAL",
        ),
    ] {
        refund(&sandbox, &refund_body("RFD-07", no, 100)).await;
        let options = WechatV3NotifyOptions {
            notify_url: Some(receiver.url.clone()),
            ..WechatV3NotifyOptions::default()
        };
        let deliveries = sandbox.wechat_v3_finish_refund(no, outcome, options).await.unwrap();
        assert_eq!(deliveries[0].status, 204, "204 acknowledges too");
        let notify = receiver.received().pop().unwrap();
        assert_eq!(notify.json()["event_type"], event);
        assert_eq!(notify.resource()["refund_status"], status);
        assert!(notify.resource().get("success_time").is_none());
        let queried = Call::get(&format!("/v3/refund/domestic/refunds/{no}"))
            .send(&sandbox)
            .await
            .json();
        assert_eq!(queried["status"], status);
        let other = sandbox
            .wechat_v3_finish_refund(no, WechatV3RefundOutcome::Success, quiet())
            .await
            .unwrap_err();
        assert!(other.contains("cannot become"), "{other}");
    }
}
