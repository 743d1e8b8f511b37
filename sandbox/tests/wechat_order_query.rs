//! `POST /pay/orderquery` and `/pay/closeorder` over HTTP: every trade state, the
//! payment fields once paid, unknown orders, and faults in WeChat Pay's shape.

mod common;

use common::wechat::*;
use common::*;
use sandbox::wechat::sign::verifies as verify;
use sandbox::{Fault, FaultKind, TradeState};

#[tokio::test]
async fn an_unpaid_order_reports_notpay_without_payment_fields() {
    let sandbox = wechat_sandbox().await;
    place_order(&sandbox, "Q-1", "alice").await;
    let answer = order_query(&sandbox, "Q-1").await;
    assert_eq!(outcome(&answer), "SUCCESS");
    assert_eq!(answer["trade_state"], "NOTPAY");
    assert_eq!(answer["trade_state_desc"], "订单未支付");
    assert_eq!(
        (answer["out_trade_no"].as_str(), answer["total_fee"].as_str()),
        ("Q-1", "1990")
    );
    assert_eq!(answer["openid"], sandbox.wechat_openid_of("alice"));
    assert_eq!(answer["trade_type"], "JSAPI");
    assert_eq!(answer["attach"], "coupon=A&x=1");
    for field in ["transaction_id", "time_end", "bank_type", "cash_fee"] {
        assert!(!answer.contains_key(field), "{field} before paying");
    }
}

#[tokio::test]
async fn a_paid_order_reports_the_payment() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "Q-2").await;
    let order = sandbox.wechat_order("Q-2").unwrap();
    let answer = order_query(&sandbox, "Q-2").await;
    assert_eq!(answer["trade_state"], "SUCCESS");
    let transaction_id = order.transaction_id.unwrap();
    assert_eq!(answer["transaction_id"], transaction_id);
    assert_eq!(transaction_id.len(), 28);
    assert_eq!(
        (answer["cash_fee"].as_str(), answer["bank_type"].as_str()),
        ("1990", "CMB_DEBIT")
    );
    let paid_at = order.paid_at.unwrap();
    assert_eq!(answer["time_end"], sandbox::clock::beijing_compact(paid_at));
    // The same order by its transaction id, which wins over a wrong out_trade_no.
    let by_id = pay_call(
        &sandbox,
        ORDER_QUERY,
        fields(&[("transaction_id", &transaction_id), ("out_trade_no", "nope")]),
    )
    .await;
    assert_eq!(by_id["out_trade_no"], "Q-2");
}

#[tokio::test]
async fn every_trade_state_is_reported() {
    let sandbox = wechat_sandbox().await;
    for no in ["S-U", "S-F", "S-C", "S-R"] {
        place_order(&sandbox, no, "alice").await;
    }
    sandbox.wechat_user_paying("S-U").unwrap();
    sandbox.wechat_fail("S-F").unwrap();
    sandbox.wechat_close("S-C").unwrap();
    sandbox.wechat_pay("S-R", quiet()).await.unwrap();
    let refund = pay_call(&sandbox, REFUND, wechat_refund_fields("S-R", "S-R-1", 100)).await;
    assert_eq!(outcome(&refund), "SUCCESS");
    for (no, state) in [
        ("S-U", "USERPAYING"),
        ("S-F", "PAYERROR"),
        ("S-C", "CLOSED"),
        ("S-R", "REFUND"),
    ] {
        let answer = order_query(&sandbox, no).await;
        assert_eq!(answer["trade_state"], state, "{no}");
        assert!(!answer["trade_state_desc"].is_empty());
    }
    assert_eq!(sandbox.wechat_order("S-R").unwrap().trade_state, TradeState::Refund);
}

fn quiet() -> sandbox::WechatPayOptions {
    sandbox::WechatPayOptions {
        deliveries: 0,
        ..sandbox::WechatPayOptions::default()
    }
}

#[tokio::test]
async fn unknown_orders_do_not_exist() {
    let sandbox = wechat_sandbox().await;
    let answer = order_query(&sandbox, "NOPE").await;
    assert_eq!(outcome(&answer), "ORDERNOTEXIST");
    assert!(verify(&answer, API_KEY));
    let neither = pay_call(&sandbox, ORDER_QUERY, Fields::new()).await;
    assert_eq!(outcome(&neither), "LACK_PARAMS");
}

#[tokio::test]
async fn closeorder_closes_unpaid_orders_only() {
    let sandbox = wechat_sandbox().await;
    place_order(&sandbox, "C-1", "alice").await;
    let close = |no: &str| fields(&[("out_trade_no", no)]);
    assert_eq!(outcome(&pay_call(&sandbox, CLOSE_ORDER, close("C-1")).await), "SUCCESS");
    assert_eq!(order_query(&sandbox, "C-1").await["trade_state"], "CLOSED");
    assert_eq!(
        outcome(&pay_call(&sandbox, CLOSE_ORDER, close("C-1")).await),
        "ORDERCLOSED"
    );
    paid_wechat_order(&sandbox, "C-2").await;
    assert_eq!(
        outcome(&pay_call(&sandbox, CLOSE_ORDER, close("C-2")).await),
        "ORDERPAID"
    );
    assert_eq!(
        outcome(&pay_call(&sandbox, CLOSE_ORDER, close("C-3")).await),
        "ORDERNOTEXIST"
    );
    assert!(
        sandbox.wechat_pay("C-1", quiet()).await.is_err(),
        "a closed order cannot be paid"
    );
}

#[tokio::test]
async fn a_platform_error_fault_is_a_signed_systemerror() {
    let sandbox = wechat_sandbox().await;
    place_order(&sandbox, "F-1", "alice").await;
    let kind = FaultKind::PlatformError {
        err_no: 0,
        err_tips: "系统超时".into(),
    };
    sandbox.set_fault(Fault::before("/pay/", kind, 1));
    let answer = order_query(&sandbox, "F-1").await;
    assert_eq!(outcome(&answer), "SYSTEMERROR");
    assert_eq!(answer["err_code_des"], "系统超时");
    assert_eq!(order_query(&sandbox, "F-1").await["trade_state"], "NOTPAY");
    sandbox.set_fault(Fault::before("/secapi/", FaultKind::Status(503), 1));
    let (status, _) = post_raw(&sandbox, REFUND, "<xml/>").await;
    assert_eq!(status, 503);
    assert_eq!(sandbox.calls(ORDER_QUERY), 2);
    assert_eq!(sandbox.calls(REFUND), 1);
}
