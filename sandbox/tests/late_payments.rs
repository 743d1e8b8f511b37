//! `"late": true` on the pay control routes: the money comes in after the order ended
//! unpaid (timed out, failed, cancelled, closed), as real platforms sometimes take it
//! (wechat-v3-reconcile.md C.1). The callback goes out as for any payment and the
//! queries report the order paid; without `late` such orders are refused as before.

mod common;

use common::trade::{self, TradeReceiver, client_token, developer, request_order};
use common::wechat::{self, XmlReceiver, fields, outcome, pay_call, wechat_sandbox};
use common::*;
use sandbox::Sandbox;
use sandbox::wechat::sign::verifies as verify;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn ecpay_pays_timed_out_and_failed_orders_late() {
    let receiver = Receiver::start(Duration::ZERO).await;
    let sandbox = Sandbox::start(config(Some(receiver.url.clone()))).await;
    for (no, end) in [("LP-1", "/sandbox/expire_order"), ("LP-2", "/sandbox/fail_order")] {
        create_order(&sandbox, order_fields(no)).await;
        assert_eq!(post(&sandbox, end, &json!({ "out_order_no": no })).await.0, 200);
        let (status, answer) = post(&sandbox, "/sandbox/pay", &json!({ "out_order_no": no })).await;
        assert_eq!(status, 409, "{no}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("needs late"), "{answer}");
        assert!(receiver.bodies().iter().all(|body| msg_of(body)["cp_orderno"] != no));

        let (status, answer) = post(&sandbox, "/sandbox/pay", &json!({ "out_order_no": no, "late": true })).await;
        assert_eq!(
            (status, &answer["deliveries"][0]["status"]),
            (200, &json!(200)),
            "{no}: {answer}"
        );
        let callback = receiver.bodies().pop().unwrap();
        assert!(verifies(&callback));
        let msg = msg_of(&callback);
        assert_eq!((&msg["cp_orderno"], &msg["status"]), (&json!(no), &json!("SUCCESS")));
        let order = query_order(&sandbox, no).await;
        assert_eq!(order["payment_info"]["order_status"], "SUCCESS", "{no}: {order}");
    }
}

#[tokio::test]
async fn trade_pays_cancelled_orders_late() {
    let receiver = TradeReceiver::start().await;
    let sandbox = Sandbox::start(trade::trade_config(Some(receiver.url.clone()))).await;
    request_order(&sandbox, &trade::order_data("LP-3", 1000, 1));
    let cancel = json!({ "out_order_no": "LP-3", "message": "TIME_OUT" });
    assert_eq!(post(&sandbox, "/sandbox/trade/cancel", &cancel).await.0, 200);
    let (status, answer) = post(&sandbox, "/sandbox/trade/pay", &json!({ "out_order_no": "LP-3" })).await;
    assert_eq!(status, 409, "{answer}");

    let late = json!({ "out_order_no": "LP-3", "late": true });
    let (status, answer) = post(&sandbox, "/sandbox/trade/pay", &late).await;
    assert_eq!(
        (status, &answer["deliveries"][0]["status"]),
        (200, &json!(200)),
        "{answer}"
    );
    let callback = receiver.last();
    assert!(callback.verified);
    let msg = callback.msg();
    assert_eq!(
        (&msg["status"], &msg["message"]),
        (&json!("SUCCESS"), &json!("")),
        "{msg}"
    );
    assert!(msg["channel_pay_id"].as_str().is_some_and(|id| !id.is_empty()));

    let token = client_token(&sandbox).await;
    let order = developer(&sandbox, trade::ORDER_QUERY, &token, &json!({ "out_order_no": "LP-3" })).await;
    assert_eq!(order["data"]["pay_status"], "SUCCESS", "{order}");
    let (_, order) = get(&sandbox, "/sandbox/trade/orders/LP-3").await;
    assert_eq!(
        order["cancel"]["message"], "TIME_OUT",
        "the end it had is kept: {order}"
    );
    let (status, _) = post(&sandbox, "/sandbox/trade/cancel", &cancel).await;
    assert_eq!(status, 409, "a paid order cannot be cancelled again");
}

/// Places an order whose notifies go to `receiver`.
async fn wechat_order(sandbox: &Sandbox, out_trade_no: &str, receiver: &XmlReceiver) {
    let mut fields = wechat::wechat_order_fields(out_trade_no, &sandbox.wechat_openid_of("alice"));
    fields.insert("notify_url".into(), receiver.url.clone());
    assert_eq!(
        outcome(&pay_call(sandbox, wechat::UNIFIED_ORDER, fields).await),
        "SUCCESS"
    );
}

#[tokio::test]
async fn wechat_pays_closed_and_failed_orders_late() {
    let receiver = XmlReceiver::start().await;
    let sandbox = wechat_sandbox().await;
    wechat_order(&sandbox, "LP-4", &receiver).await;
    let closed = pay_call(&sandbox, wechat::CLOSE_ORDER, fields(&[("out_trade_no", "LP-4")])).await;
    assert_eq!(outcome(&closed), "SUCCESS");
    wechat_order(&sandbox, "LP-5", &receiver).await;
    sandbox.wechat_fail("LP-5").unwrap();

    for (no, ended) in [("LP-4", "CLOSED"), ("LP-5", "PAYERROR")] {
        assert_eq!(wechat::order_query(&sandbox, no).await["trade_state"], ended);
        let (status, answer) = post(&sandbox, "/sandbox/wechat/pay", &json!({ "out_trade_no": no })).await;
        assert_eq!(status, 409, "{no}: {answer}");
        let late = json!({ "out_trade_no": no, "late": true });
        let (status, answer) = post(&sandbox, "/sandbox/wechat/pay", &late).await;
        assert_eq!(
            (status, &answer["deliveries"][0]["status"]),
            (200, &json!(200)),
            "{no}: {answer}"
        );
        let notify = receiver.received().pop().unwrap().fields();
        assert!(verify(&notify, wechat::API_KEY));
        assert_eq!(
            (notify["out_trade_no"].as_str(), notify["result_code"].as_str()),
            (no, "SUCCESS")
        );
        let order = wechat::order_query(&sandbox, no).await;
        assert_eq!(order["trade_state"], "SUCCESS", "{no}");
        assert_eq!(order["transaction_id"], notify["transaction_id"]);
    }
    // The merchant's close now meets a paid order.
    let close = pay_call(&sandbox, wechat::CLOSE_ORDER, fields(&[("out_trade_no", "LP-4")])).await;
    assert_eq!(outcome(&close), "ORDERPAID");
}

#[tokio::test]
async fn the_rust_api_pays_late_too() {
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("LP-6")).await;
    sandbox.expire_order("LP-6").unwrap();
    let quiet = sandbox::PayOptions {
        deliveries: 0,
        late: true,
        ..sandbox::PayOptions::default()
    };
    assert_eq!(sandbox.pay("LP-6", quiet).await.unwrap(), vec![]);
    let order: Value = query_order(&sandbox, "LP-6").await;
    assert_eq!(order["payment_info"]["order_status"], "SUCCESS");
}
