//! Faults with `when: after`: the platform does the work, then the answer is lost. A
//! retry with the same request must then meet what the platform holds (the same refund,
//! an existing settlement, a closed order), as it would in production.

mod common;

use common::trade::{
    self, REFUND_CREATE, SETTLE_CREATE, client_token, developer, paid_trade_order, settleable_trade_order, trade_err,
};
use common::wechat::{
    CLOSE_ORDER, REFUND, fields, outcome, paid_wechat_order, pay_call, place_order, wechat_refund_fields,
    wechat_sandbox,
};
use common::*;
use sandbox::wechat::sign::verifies as verify;
use sandbox::{Fault, FaultKind, Sandbox, TradeState, TransferStatus, WechatRefundStatus};
use serde_json::{Value, json};
use std::time::Duration;

fn platform_error(err_no: i64) -> FaultKind {
    FaultKind::PlatformError {
        err_no,
        err_tips: "系统错误".into(),
    }
}

/// A trade developer call whatever its answer looks like: status and body text.
async fn trade_raw(sandbox: &Sandbox, path: &str, token: &str, body: &Value) -> (u16, String) {
    let response = http()
        .post(format!("{}{path}", sandbox.base_url))
        .header("access-token", token)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn an_ecpay_refund_is_made_though_both_answers_are_lost() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "LA-1").await;
    sandbox.set_fault(Fault::after(CREATE_REFUND, FaultKind::Status(502), 2));
    let body = serde_json::to_vec(&signed(refund_fields("LA-1", "LA-1-r", 500))).unwrap();
    for _ in 0..2 {
        let (status, text) = post_raw(&sandbox, CREATE_REFUND, body.clone()).await;
        assert_eq!((status, text.as_str()), (502, "sandbox fault: HTTP 502"));
    }
    let refund = sandbox.refund("LA-1-r").expect("the first attempt made the refund");
    assert_eq!((refund.refund_amount, refund.status), (500, TransferStatus::Processing));

    // The fault is used up: the same request now gets the first answer back.
    let answer = ecpay(&sandbox, CREATE_REFUND, refund_fields("LA-1", "LA-1-r", 500)).await;
    assert_eq!(
        (&answer["err_no"], &answer["refund_no"]),
        (&json!(0), &json!(refund.refund_no))
    );
    let query = ecpay(&sandbox, QUERY_REFUND, json!({ "out_refund_no": "LA-1-r" })).await;
    assert_eq!(query["refundInfo"]["refund_status"], "PROCESSING");
    assert_eq!(sandbox.calls(CREATE_REFUND), 3);
}

#[tokio::test]
async fn an_ecpay_settlement_is_made_though_the_answer_is_a_platform_error() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "LA-2").await;
    sandbox.set_fault(Fault::after(SETTLE, platform_error(1000), 2));
    for _ in 0..2 {
        let answer = ecpay(&sandbox, SETTLE, settle_fields("LA-2", "LA-2-s", json!([]))).await;
        assert_eq!(answer, json!({ "err_no": 1000, "err_tips": "系统错误" }));
    }
    let settle = sandbox.settle("LA-2-s").expect("the settlement was recorded");
    assert_eq!(settle.status, TransferStatus::Processing);
    let answer = ecpay(&sandbox, SETTLE, settle_fields("LA-2", "LA-2-s", json!([]))).await;
    assert_eq!(
        (&answer["err_no"], &answer["settle_no"]),
        (&json!(0), &json!(settle.settle_no))
    );
}

#[tokio::test]
async fn a_trade_refund_is_made_though_the_answer_is_garbage() {
    let sandbox = trade::trade_sandbox().await;
    let order_id = paid_trade_order(&sandbox, "LA-3", 500, 1).await;
    let item_order_id = sandbox.trade_order("LA-3").unwrap().item_orders[0]
        .item_order_id
        .clone();
    let token = client_token(&sandbox).await;
    let body = json!({
        "order_id": order_id,
        "out_refund_no": "LA-3-r",
        "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 101, "text": "不想要了" }],
        "item_order_detail": [{ "item_order_id": item_order_id, "refund_amount": 200 }],
    });
    sandbox.set_fault(Fault::after(REFUND_CREATE, FaultKind::Garbage, 2));
    for _ in 0..2 {
        let (status, text) = trade_raw(&sandbox, REFUND_CREATE, &token, &body).await;
        assert_eq!(status, 200);
        assert!(text.starts_with("<html>"), "{text}");
    }
    let refund = sandbox.trade_refund_by_out_no("LA-3-r").expect("the refund was made");
    assert_eq!(
        (refund.refund_total_amount, refund.status),
        (200, TransferStatus::Processing)
    );

    let answer = developer(&sandbox, REFUND_CREATE, &token, &body).await;
    assert_eq!(trade_err(&answer).0, 0, "{answer}");
    assert_eq!(answer["data"]["refund_id"], refund.refund_id.as_str());
    let mut other = body.clone();
    other["item_order_detail"][0]["refund_amount"] = json!(100);
    let answer = developer(&sandbox, REFUND_CREATE, &token, &other).await;
    assert_eq!(
        trade_err(&answer),
        (
            10000,
            "out_refund_no LA-3-r is already used by a refund with other parameters".into()
        )
    );
}

#[tokio::test]
async fn a_trade_settlement_is_made_though_the_answer_is_an_error_then_it_exists() {
    let sandbox = trade::trade_sandbox().await;
    settleable_trade_order(&sandbox, "LA-4", 1000, 1).await;
    let token = client_token(&sandbox).await;
    let body = json!({ "out_order_no": "LA-4", "out_settle_no": "LA-4-s", "settle_desc": "主动结算" });
    sandbox.set_fault(Fault::after(SETTLE_CREATE, platform_error(13000), 2));
    for _ in 0..2 {
        let answer = developer(&sandbox, SETTLE_CREATE, &token, &body).await;
        assert_eq!(trade_err(&answer), (13000, "系统错误".into()));
        assert!(answer.get("data").is_none());
    }
    let settle = sandbox.trade_settle("LA-4-s").expect("the settlement was recorded");
    assert_eq!(
        (settle.status, settle.settle_amount),
        (TransferStatus::Processing, 1000)
    );
    // The platform is not idempotent here: the retry learns that the number exists.
    let answer = developer(&sandbox, SETTLE_CREATE, &token, &body).await;
    assert_eq!(trade_err(&answer).0, 23111, "{answer}");
}

#[tokio::test]
async fn a_wechat_refund_is_made_though_the_answer_is_a_systemerror() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "LA-5").await;
    sandbox.set_fault(Fault::after(REFUND, platform_error(0), 2));
    for _ in 0..2 {
        let answer = pay_call(&sandbox, REFUND, wechat_refund_fields("LA-5", "LA-5-r", 500)).await;
        assert_eq!(outcome(&answer), "SYSTEMERROR");
        assert!(verify(&answer, common::wechat::API_KEY), "the error answer is signed");
        assert!(!answer.contains_key("refund_id"), "{answer:?}");
    }
    let refund = sandbox.wechat_refund("LA-5-r").expect("the refund was accepted");
    assert_eq!(refund.status, WechatRefundStatus::Processing);
    let answer = pay_call(&sandbox, REFUND, wechat_refund_fields("LA-5", "LA-5-r", 500)).await;
    assert_eq!(outcome(&answer), "SUCCESS");
    assert_eq!(answer["refund_id"], refund.refund_id);
}

#[tokio::test]
async fn a_closeorder_that_hangs_after_closing_leaves_the_order_closed() {
    let sandbox = wechat_sandbox().await;
    place_order(&sandbox, "LA-6", "alice").await;
    sandbox.set_fault(Fault::after(
        CLOSE_ORDER,
        FaultKind::Hang(Duration::from_millis(600)),
        1,
    ));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let body = common::wechat::signed_xml(
        fields(&[("out_trade_no", "LA-6")]),
        sandbox::wechat::sign::SignType::Md5,
    );
    let result = impatient
        .post(format!("{}{CLOSE_ORDER}", sandbox.base_url))
        .body(body)
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(sandbox.wechat_order("LA-6").unwrap().trade_state, TradeState::Closed);
    let again = pay_call(&sandbox, CLOSE_ORDER, fields(&[("out_trade_no", "LA-6")])).await;
    assert_eq!(outcome(&again), "ORDERCLOSED");
}

#[tokio::test]
async fn a_hang_after_sends_the_real_answer_late() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "LA-7").await;
    sandbox.set_fault(Fault::after(
        CREATE_REFUND,
        FaultKind::Hang(Duration::from_millis(300)),
        1,
    ));
    let started = std::time::Instant::now();
    let answer = ecpay(&sandbox, CREATE_REFUND, refund_fields("LA-7", "LA-7-r", 100)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer["err_no"], 0, "{answer}");
    assert_eq!(
        answer["refund_no"],
        sandbox.refund("LA-7-r").unwrap().refund_no.as_str()
    );
}

#[tokio::test]
async fn a_fault_before_still_does_nothing() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "LA-8").await;
    sandbox.set_fault(Fault::before(CREATE_REFUND, FaultKind::Status(502), 1));
    let (status, _) = post_raw(
        &sandbox,
        CREATE_REFUND,
        signed(refund_fields("LA-8", "LA-8-r", 100)).to_string(),
    )
    .await;
    assert_eq!(status, 502);
    assert!(sandbox.refund("LA-8-r").is_none());
}

#[tokio::test]
async fn the_control_api_takes_when() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "LA-9").await;
    let fault = json!({ "path_prefix": "/api/apps/ecpay/v1/", "kind": "status", "status": 504, "when": "after" });
    let (status, answer) = post(&sandbox, "/sandbox/faults", &fault).await;
    assert_eq!((status, answer), (200, json!({ "ok": true })));
    let body = signed(refund_fields("LA-9", "LA-9-r", 100)).to_string();
    assert_eq!(post_raw(&sandbox, CREATE_REFUND, body.clone()).await.0, 504);
    assert!(sandbox.refund("LA-9-r").is_some());

    let (status, answer) = post(
        &sandbox,
        "/sandbox/faults",
        &json!({ "path_prefix": "/api/", "kind": "garbage", "when": "later" }),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("later"), "{answer}");
    // Without `when`, a fault answers before the platform acts.
    let before = json!({ "path_prefix": CREATE_REFUND, "kind": "status", "status": 503 });
    post(&sandbox, "/sandbox/faults", &before).await;
    let body = signed(refund_fields("LA-9", "LA-9-s", 100)).to_string();
    assert_eq!(post_raw(&sandbox, CREATE_REFUND, body).await.0, 503);
    assert!(sandbox.refund("LA-9-s").is_none());
}
