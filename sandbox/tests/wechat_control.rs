//! The WeChat control API under `/sandbox/wechat/`, as the demo script uses it.

mod common;

use common::wechat::*;
use common::*;
use sandbox::wechat::req_info::decrypt as decrypt_req_info;
use sandbox::wechat::sign::verifies as verify;
use serde_json::json;

#[tokio::test]
async fn orders_are_paid_failed_closed_and_read_back() {
    let receiver = XmlReceiver::start().await;
    let sandbox = wechat_sandbox().await;
    for no in ["K-1", "K-2", "K-3", "K-4"] {
        place_order(&sandbox, no, "alice").await;
    }
    let body = json!({ "out_trade_no": "K-1", "deliveries": 2, "extra_field": true, "notify_url": receiver.url });
    let (status, answer) = post(&sandbox, "/sandbox/wechat/pay", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deliveries"].as_array().unwrap().len(), 2);
    assert_eq!(answer["deliveries"][0]["status"], 200);
    assert!(verify(&receiver.received()[0].fields(), API_KEY));

    let (status, order) = get(&sandbox, "/sandbox/wechat/orders/K-1").await;
    assert_eq!(status, 200);
    assert_eq!(order["trade_state"], "SUCCESS");
    assert_eq!(order["total_fee"], 1990);
    assert_eq!(order["transaction_id"].as_str().unwrap().len(), 28);

    for (path, no, state) in [
        ("/sandbox/wechat/fail_order", "K-2", "PAYERROR"),
        ("/sandbox/wechat/close_order", "K-3", "CLOSED"),
        ("/sandbox/wechat/user_paying", "K-4", "USERPAYING"),
    ] {
        let (status, order) = post(&sandbox, path, &json!({ "out_trade_no": no })).await;
        assert_eq!((status, &order["trade_state"]), (200, &json!(state)), "{path}");
    }
    let (status, _) = post(
        &sandbox,
        "/sandbox/wechat/close_order",
        &json!({ "out_trade_no": "K-1" }),
    )
    .await;
    assert_eq!(status, 409, "a paid order cannot be closed");
    let (status, _) = get(&sandbox, "/sandbox/wechat/orders/nope").await;
    assert_eq!(status, 404);
    let (status, _) = post(&sandbox, "/sandbox/wechat/pay", &json!({ "deliveries": 1 })).await;
    assert_eq!(status, 400, "out_trade_no is required");
}

#[tokio::test]
async fn refunds_are_finished_and_read_back() {
    let receiver = XmlReceiver::start().await;
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "K-5").await;
    pay_call(&sandbox, REFUND, wechat_refund_fields("K-5", "K-5-a", 990)).await;
    let (status, refund) = get(&sandbox, "/sandbox/wechat/refunds/K-5-a").await;
    assert_eq!((status, &refund["status"]), (200, &json!("PROCESSING")));
    assert_eq!(refund["refund_fee"], 990);

    let body = json!({ "out_refund_no": "K-5-a", "status": "SUCCESS", "notify_url": receiver.url });
    let (status, answer) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deliveries"][0]["status"], 200);
    let info = decrypt_req_info(&receiver.received()[0].fields()["req_info"], API_KEY).unwrap();
    assert_eq!(info["refund_status"], "SUCCESS");
    let (_, refund) = get(&sandbox, "/sandbox/wechat/refunds/K-5-a").await;
    assert_eq!(refund["status"], "SUCCESS");

    let body = json!({ "out_refund_no": "K-5-a", "status": "FAIL", "notify_url": receiver.url });
    let (status, _) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
    assert_eq!(status, 409);
    let body = json!({ "out_refund_no": "K-5-a", "status": "DONE" });
    let (status, _) = post(&sandbox, "/sandbox/wechat/finish_refund", &body).await;
    assert_eq!(status, 400, "a typo is not an outcome");
    let (status, _) = get(&sandbox, "/sandbox/wechat/refunds/nope").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn without_a_wechat_config_control_calls_are_refused() {
    let sandbox = sandbox().await;
    let (status, answer) = post(&sandbox, "/sandbox/wechat/fail_order", &json!({ "out_trade_no": "K" })).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("no WeChat config"));
}
