//! Faults on `/v3/` paths (faults.rs): a 5xx or garbage instead of WeChat's answer, a
//! signed SYSTEM_ERROR, and "work done, answer lost"; and the control routes under
//! `/sandbox/wechat/v3/` over HTTP.

mod common;

use axum::http::StatusCode;
use common::wechat_v3::*;
use common::{get, post};
use sandbox::{Fault, FaultKind, WechatV3Mode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_fault_before_answers_instead_and_changes_nothing() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    sandbox.set_fault(Fault::before(PREPAY, FaultKind::Status(502), 1));
    let lost = prepay(&sandbox, &prepay_body(&sandbox, "FLT-01", "alice")).await;
    assert_eq!(lost.status, 502);
    assert!(sandbox.wechat_v3_order("FLT-01").is_none());
    sandbox.set_fault(Fault::before("/v3/", FaultKind::Garbage, 1));
    let garbage = prepay(&sandbox, &prepay_body(&sandbox, "FLT-01", "alice")).await;
    assert_eq!(garbage.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&garbage.text).is_err());
    assert!(sandbox.wechat_v3_order("FLT-01").is_none());
    assert_eq!(
        prepay(&sandbox, &prepay_body(&sandbox, "FLT-01", "alice")).await.status,
        200
    );
    assert_eq!(sandbox.calls(PREPAY), 3);
}

#[tokio::test]
async fn a_platform_error_is_a_signed_system_error() {
    let sandbox = v3_sandbox(WechatV3Mode::Switching).await;
    let fault = FaultKind::PlatformError {
        err_no: 0,
        err_tips: "系统繁忙，请稍后重试".into(),
    };
    sandbox.set_fault(Fault::before("/v3/pay/", fault, 1));
    let answer = Call {
        wechatpay_serial: Some(keys().public_key_id.clone()),
        ..Call::get(&order_path("FLT-NONE"))
    }
    .send(&sandbox)
    .await;
    assert_eq!((answer.status, answer.code()), (500, "SYSTEM_ERROR".into()));
    assert_eq!(answer.json()["message"], "系统繁忙，请稍后重试");
    assert_eq!(
        answer.header("wechatpay-serial"),
        keys().public_key_id,
        "follows the request serial"
    );
    assert!(answer.verifies_with(&pay_public_key()));
}

#[tokio::test]
async fn a_fault_after_loses_the_answer_of_a_refund_that_was_made() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    paid_order(&sandbox, "FLT-02").await;
    sandbox.set_fault(Fault::after(REFUNDS, FaultKind::Status(504), 1));
    let lost = refund(&sandbox, &refund_body("FLT-02", "FLT-02-a", 500)).await;
    assert_eq!(lost.status, 504);
    let made = sandbox.wechat_v3_refund("FLT-02-a").expect("the work was done");
    // The retry with the same number finds it: idempotent.
    let retry = refund(&sandbox, &refund_body("FLT-02", "FLT-02-a", 500)).await;
    assert_eq!(
        (retry.status, retry.json()["refund_id"].as_str()),
        (200, Some(made.refund_id.as_str()))
    );

    sandbox.set_fault(Fault::after(
        "/v3/pay/transactions/out-trade-no/",
        FaultKind::Hang(Duration::from_secs(3)),
        1,
    ));
    place(&sandbox, "FLT-03", NOWHERE).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let call = Call::post(
        "/v3/pay/transactions/out-trade-no/FLT-03/close",
        &json!({ "mchid": common::wechat::MCH_ID }),
    );
    let timed_out = client
        .post(format!("{}{}", sandbox.base_url, call.path_and_query))
        .header("accept", "application/json")
        .header("user-agent", "t")
        .header("authorization", call.correct_authorization())
        .body(call.body.clone())
        .send()
        .await;
    assert!(timed_out.is_err(), "the client gave up");
    assert_eq!(
        sandbox.wechat_v3_order("FLT-03").unwrap().trade_state,
        sandbox::TradeState::Closed
    );
}

#[tokio::test]
async fn the_control_routes_drive_apiv3() {
    let sandbox = v3_sandbox(WechatV3Mode::Certificate).await;
    let (status, mode) = get(&sandbox, "/sandbox/wechat/v3/mode").await;
    assert_eq!((status, mode), (200, json!({ "mode": "certificate" })));
    let (status, _) = common::put(&sandbox, "/sandbox/wechat/v3/mode", &json!({ "mode": "switching" })).await;
    assert_eq!(status, 200);
    assert_eq!(sandbox.wechat_v3_mode(), WechatV3Mode::Switching);
    let (status, _) = common::put(&sandbox, "/sandbox/wechat/v3/mode", &json!({ "mode": "other" })).await;
    assert_eq!(status, 400);

    let (status, rotated) = post(&sandbox, "/sandbox/wechat/v3/rotate_certificate", &json!({})).await;
    assert_eq!(status, 200);
    let (_, listed) = get(&sandbox, "/sandbox/wechat/v3/certificates").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["serial_no"], rotated["serial_no"]);

    let (status, pending) = post(
        &sandbox,
        "/sandbox/wechat/v3/signatures",
        &json!({ "probe_answers": 2 }),
    )
    .await;
    assert_eq!((status, pending["probe_answers"].as_u64()), (200, Some(2)));
    let (status, _) = post(&sandbox, "/sandbox/wechat/v3/signatures", &json!({ "probes": 2 })).await;
    assert_eq!(status, 400, "a misspelt count is refused, not ignored");
    let (status, key) = common::put(
        &sandbox,
        "/sandbox/wechat/v3/notify_key",
        &json!({ "key": "public_key" }),
    )
    .await;
    assert_eq!((status, key), (200, json!({ "key": "public_key" })));

    let receiver = JsonReceiver::start(StatusCode::OK);
    place(&sandbox, "CTL-01", &receiver.url).await;
    let (status, paid) = post(&sandbox, "/sandbox/wechat/v3/pay", &json!({ "out_trade_no": "CTL-01" })).await;
    assert_eq!((status, paid["deliveries"][0]["status"].as_u64()), (200, Some(200)));
    assert_eq!(receiver.received()[0].serial(), keys().public_key_id);
    let (_, order) = get(&sandbox, "/sandbox/wechat/orders/CTL-01").await;
    assert_eq!(
        (order["api"].as_str(), order["trade_state"].as_str()),
        (Some("v3"), Some("SUCCESS"))
    );

    refund(&sandbox, &refund_body("CTL-01", "CTL-01-a", 10)).await;
    let finish = json!({ "out_refund_no": "CTL-01-a", "status": "ABNORMAL", "deliveries": 0 });
    let (status, _) = post(&sandbox, "/sandbox/wechat/v3/finish_refund", &finish).await;
    assert_eq!(status, 200);
    assert_eq!(
        sandbox.wechat_v3_refund("CTL-01-a").unwrap().status,
        sandbox::WechatRefundStatus::Change
    );
    let v2_route = post(&sandbox, "/sandbox/wechat/pay", &json!({ "out_trade_no": "CTL-01" })).await;
    assert_eq!(v2_route.0, 409, "the v2 pay route refuses a v3 order");

    let plain = sandbox::Sandbox::start(common::wechat::wechat_config(None)).await;
    assert_eq!(get(&plain, "/sandbox/wechat/v3/mode").await.0, 400);
}
