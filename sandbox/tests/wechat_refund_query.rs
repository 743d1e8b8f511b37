//! `POST /pay/refundquery` over HTTP: by any of its four keys in WeChat's priority,
//! each refund's fields indexed `_$n`, REFUNDNOTEXIST when nothing matches, `offset`.

mod common;

use common::wechat::*;
use sandbox::clock::beijing_datetime;
use sandbox::wechat::sign::{SignType, verifies as verify};
use sandbox::wechat::xml::parse_flat;
use sandbox::{CallbackOptions, Fault, FaultKind, Sandbox};

fn quiet() -> CallbackOptions {
    CallbackOptions {
        deliveries: 0,
        notify_url: Some(NOWHERE.into()),
        ..CallbackOptions::default()
    }
}

/// A paid order (1990) with refunds of `fees`, numbered `<order>-0`, `<order>-1`...
async fn refunded_order(sandbox: &Sandbox, out_trade_no: &str, fees: &[i64]) {
    paid_wechat_order(sandbox, out_trade_no).await;
    for (index, fee) in fees.iter().enumerate() {
        let fields = wechat_refund_fields(out_trade_no, &format!("{out_trade_no}-{index}"), *fee);
        assert_eq!(outcome(&pay_call(sandbox, REFUND, fields).await), "SUCCESS");
    }
}

#[tokio::test]
async fn an_orders_refunds_are_listed_with_their_status() {
    let sandbox = wechat_sandbox().await;
    refunded_order(&sandbox, "RQ-1", &[500, 300]).await;
    sandbox.wechat_finish_refund("RQ-1-0", true, quiet()).await.unwrap();
    let done = sandbox.wechat_refund("RQ-1-0").unwrap();
    let pending = sandbox.wechat_refund("RQ-1-1").unwrap();
    let transaction_id = sandbox.wechat_order("RQ-1").unwrap().transaction_id.unwrap();

    for (key, value) in [("out_trade_no", "RQ-1"), ("transaction_id", transaction_id.as_str())] {
        let answer = refund_query(&sandbox, key, value).await;
        assert_eq!(outcome(&answer), "SUCCESS", "{key}: {answer:?}");
        for (field, expected) in [
            ("transaction_id", transaction_id.as_str()),
            ("out_trade_no", "RQ-1"),
            ("total_fee", "1990"),
            ("cash_fee", "1990"),
            ("refund_count", "2"),
            ("out_refund_no_0", "RQ-1-0"),
            ("refund_id_0", done.refund_id.as_str()),
            ("refund_fee_0", "500"),
            ("refund_status_0", "SUCCESS"),
            ("out_refund_no_1", "RQ-1-1"),
            ("refund_id_1", pending.refund_id.as_str()),
            ("refund_fee_1", "300"),
            ("refund_status_1", "PROCESSING"),
        ] {
            assert_eq!(answer[field], expected, "{key}: {field}");
        }
        assert_eq!(
            answer["refund_success_time_0"],
            beijing_datetime(done.success_at.unwrap())
        );
        assert!(!answer.contains_key("refund_success_time_1"), "not refunded yet");
        assert!(!answer["refund_recv_accout_0"].is_empty());
        assert!(!answer.contains_key("total_refund_count"), "only with offset");
    }
}

#[tokio::test]
async fn one_refund_by_its_number_and_the_keys_priority() {
    let sandbox = wechat_sandbox().await;
    refunded_order(&sandbox, "RQ-2", &[500, 300]).await;
    let first = sandbox.wechat_refund("RQ-2-0").unwrap();

    let answer = refund_query(&sandbox, "out_refund_no", "RQ-2-1").await;
    assert_eq!(
        (answer["refund_count"].as_str(), answer["out_refund_no_0"].as_str()),
        ("1", "RQ-2-1")
    );
    let answer = refund_query(&sandbox, "refund_id", &first.refund_id).await;
    assert_eq!(
        (answer["refund_count"].as_str(), answer["out_refund_no_0"].as_str()),
        ("1", "RQ-2-0")
    );
    // refund_id > out_refund_no > transaction_id > out_trade_no.
    let both = fields(&[("refund_id", &first.refund_id), ("out_refund_no", "RQ-2-1")]);
    assert_eq!(
        pay_call(&sandbox, REFUND_QUERY, both).await["out_refund_no_0"],
        "RQ-2-0"
    );
    let both = fields(&[("out_refund_no", "RQ-2-1"), ("out_trade_no", "RQ-2")]);
    let answer = pay_call(&sandbox, REFUND_QUERY, both).await;
    assert_eq!(
        (answer["refund_count"].as_str(), answer["out_refund_no_0"].as_str()),
        ("1", "RQ-2-1")
    );
    let both = fields(&[
        ("transaction_id", "4200000000000000000000000000"),
        ("out_trade_no", "RQ-2"),
    ]);
    assert_eq!(outcome(&pay_call(&sandbox, REFUND_QUERY, both).await), "REFUNDNOTEXIST");
}

#[tokio::test]
async fn nothing_found_is_refundnotexist() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RQ-3").await;
    for (key, value) in [
        ("out_trade_no", "RQ-3"),
        ("out_trade_no", "no-such-order"),
        ("out_refund_no", "no-such-refund"),
        ("refund_id", "50000000000000000000000000000"),
    ] {
        let answer = refund_query(&sandbox, key, value).await;
        assert_eq!(outcome(&answer), "REFUNDNOTEXIST", "{key}={value}");
        assert_eq!(answer["err_code_des"], "退款订单查询失败");
    }
    let none = pay_call(&sandbox, REFUND_QUERY, fields(&[])).await;
    assert_eq!(outcome(&none), "LACK_PARAMS");
}

#[tokio::test]
async fn offset_pages_through_an_orders_refunds() {
    let sandbox = wechat_sandbox().await;
    refunded_order(&sandbox, "RQ-4", &[100, 200, 300]).await;
    let page = |offset: &str| fields(&[("out_trade_no", "RQ-4"), ("offset", offset)]);
    let answer = pay_call(&sandbox, REFUND_QUERY, page("1")).await;
    assert_eq!(
        (answer["refund_count"].as_str(), answer["total_refund_count"].as_str()),
        ("2", "3")
    );
    assert_eq!(
        (answer["out_refund_no_0"].as_str(), answer["out_refund_no_1"].as_str()),
        ("RQ-4-1", "RQ-4-2")
    );
    assert_eq!(
        outcome(&pay_call(&sandbox, REFUND_QUERY, page("3")).await),
        "REFUNDNOTEXIST"
    );
    for bad in ["-1", "x", "1.5"] {
        assert_eq!(
            outcome(&pay_call(&sandbox, REFUND_QUERY, page(bad)).await),
            "INVALID_REQUEST"
        );
    }
}

#[tokio::test]
async fn answers_are_signed_like_the_request_and_faults_apply() {
    let sandbox = wechat_sandbox().await;
    refunded_order(&sandbox, "RQ-5", &[100]).await;
    let body = signed_xml(fields(&[("out_refund_no", "RQ-5-0")]), SignType::HmacSha256);
    let answer = pay_raw(&sandbox, REFUND_QUERY, body).await;
    assert_eq!((answer["result_code"].as_str(), answer["sign"].len()), ("SUCCESS", 64));
    assert!(verify(&answer, API_KEY));

    sandbox.set_fault(Fault::before("/pay/", FaultKind::Status(503), 1));
    let (status, _) = common::post_raw(&sandbox, REFUND_QUERY, "<xml/>").await;
    assert_eq!(status, 503);
    let (_, text) = common::post_raw(&sandbox, REFUND_QUERY, "<xml/>").await;
    assert_eq!(parse_flat(text.as_bytes()).unwrap()["return_code"], "FAIL");
    assert_eq!(sandbox.calls(REFUND_QUERY), 3);
}
