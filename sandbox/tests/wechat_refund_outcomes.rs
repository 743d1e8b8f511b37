//! The ways a WeChat refund ends, through `/sandbox/wechat/finish_refund`: SUCCESS,
//! REFUNDCLOSE (FAIL is the same) and CHANGE, each in the notify's `req_info` and in
//! `refundquery`.

mod common;

use common::wechat::*;
use common::{get, post};
use sandbox::wechat::req_info::decrypt as decrypt_req_info;
use sandbox::{CallbackOptions, WechatRefundStatus};
use serde_json::json;

#[tokio::test]
async fn a_change_refund_is_notified_and_stays_change() {
    let receiver = XmlReceiver::start().await;
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RO-1").await;
    pay_call(&sandbox, REFUND, wechat_refund_fields("RO-1", "RO-1-a", 1990)).await;

    let body = json!({ "out_refund_no": "RO-1-a", "status": "CHANGE", "notify_url": receiver.url });
    let (status, answer) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
    assert_eq!(
        (status, &answer["deliveries"][0]["status"]),
        (200, &json!(200)),
        "{answer}"
    );
    let info = decrypt_req_info(&receiver.received()[0].fields()["req_info"], API_KEY).unwrap();
    assert_eq!(info["refund_status"], "CHANGE");
    assert!(!info.contains_key("success_time"), "the money did not go back");

    let (_, refund) = get(&sandbox, "/sandbox/wechat/refunds/RO-1-a").await;
    assert_eq!(refund["status"], "CHANGE");
    let answer = refund_query(&sandbox, "out_refund_no", "RO-1-a").await;
    assert_eq!(answer["refund_status_0"], "CHANGE");
    assert!(!answer.contains_key("refund_success_time_0"));

    // Once ended, it stays so: the same outcome only resends, another is refused.
    let (status, _) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
    assert_eq!(status, 200);
    assert_eq!(receiver.received().len(), 2);
    let success = json!({ "out_refund_no": "RO-1-a", "status": "SUCCESS", "notify_url": receiver.url });
    let (status, answer) = post(&sandbox, "/sandbox/wechat/finish_refund", &success).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        refund_query(&sandbox, "out_refund_no", "RO-1-a").await["refund_status_0"],
        "CHANGE"
    );
    // The money is still owed to the payer: it is not refundable again.
    let again = pay_call(&sandbox, REFUND, wechat_refund_fields("RO-1", "RO-1-b", 1)).await;
    assert_eq!(outcome(&again), "INVALID_REQUEST");
}

#[tokio::test]
async fn refundclose_and_fail_both_close_the_refund() {
    let receiver = XmlReceiver::start().await;
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RO-2").await;
    for (out_refund_no, status) in [("RO-2-a", "REFUNDCLOSE"), ("RO-2-b", "FAIL")] {
        pay_call(&sandbox, REFUND, wechat_refund_fields("RO-2", out_refund_no, 100)).await;
        let body = json!({ "out_refund_no": out_refund_no, "status": status, "notify_url": receiver.url });
        let (code, answer) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
        assert_eq!(code, 200, "{status}: {answer}");
        let info = decrypt_req_info(&receiver.received().last().unwrap().fields()["req_info"], API_KEY).unwrap();
        assert_eq!(info["refund_status"], "REFUNDCLOSE", "{status}");
        assert_eq!(
            refund_query(&sandbox, "out_refund_no", out_refund_no).await["refund_status_0"],
            "REFUNDCLOSE"
        );
    }
    let body = json!({ "out_refund_no": "RO-2-a", "status": "PROCESSING" });
    let (status, _) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
    assert_eq!(status, 400, "PROCESSING is not an end");
}

#[tokio::test]
async fn the_rust_api_finishes_with_any_end() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RO-3").await;
    pay_call(&sandbox, REFUND, wechat_refund_fields("RO-3", "RO-3-a", 100)).await;
    let quiet = CallbackOptions {
        deliveries: 0,
        notify_url: Some(NOWHERE.into()),
        ..CallbackOptions::default()
    };
    let processing = sandbox
        .wechat_finish_refund_as("RO-3-a", WechatRefundStatus::Processing, quiet.clone())
        .await;
    assert!(processing.unwrap_err().contains("not PROCESSING"));
    let sent = sandbox
        .wechat_finish_refund_as("RO-3-a", WechatRefundStatus::Change, quiet)
        .await
        .unwrap();
    assert!(sent.is_empty());
    assert_eq!(
        sandbox.wechat_refund("RO-3-a").unwrap().status,
        WechatRefundStatus::Change
    );
}
