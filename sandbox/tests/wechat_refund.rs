//! `POST /secapi/pay/refund` over TLS and the refund notify: the merchant certificate,
//! paid orders only, amounts within the order, idempotent numbers, `req_info` that
//! decrypts with the API key.

mod common;

use common::wechat::*;
use sandbox::tls::MerchantCertificate;
use sandbox::wechat::req_info::decrypt as decrypt_req_info;
use sandbox::wechat::sign::SignType;
use sandbox::wechat::xml::parse_flat;
use sandbox::{CallbackOptions, Sandbox, WechatRefundStatus};

#[tokio::test]
async fn a_refund_is_accepted_as_processing() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RF-1").await;
    let answer = pay_call(&sandbox, REFUND, wechat_refund_fields("RF-1", "RF-1-a", 500)).await;
    assert_eq!(outcome(&answer), "SUCCESS");
    let refund = sandbox.wechat_refund("RF-1-a").unwrap();
    assert_eq!(refund.status, WechatRefundStatus::Processing);
    assert_eq!(answer["refund_id"], refund.refund_id);
    let transaction_id = sandbox.wechat_order("RF-1").unwrap().transaction_id.unwrap();
    assert_eq!(answer["transaction_id"], transaction_id);
    for (field, value) in [
        ("out_trade_no", "RF-1"),
        ("out_refund_no", "RF-1-a"),
        ("refund_fee", "500"),
        ("total_fee", "1990"),
        ("cash_fee", "1990"),
    ] {
        assert_eq!(answer[field], value, "{field}");
    }
    assert_eq!(refund.refund_desc.as_deref(), Some("用户申请退款"));
}

#[tokio::test]
async fn refunds_are_idempotent_on_their_number() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RF-2").await;
    let first = pay_call(&sandbox, REFUND, wechat_refund_fields("RF-2", "RF-2-a", 500)).await;
    let mut repeat = wechat_refund_fields("RF-2", "RF-2-a", 500);
    repeat.insert("nonce_str".into(), "retry".into());
    let again = pay_call(&sandbox, REFUND, repeat).await;
    assert_eq!(outcome(&again), "SUCCESS");
    assert_eq!(again["refund_id"], first["refund_id"]);
    let changed = pay_call(&sandbox, REFUND, wechat_refund_fields("RF-2", "RF-2-a", 600)).await;
    assert_eq!(outcome(&changed), "INVALID_REQUEST");
    assert_eq!(sandbox.wechat_refund("RF-2-a").unwrap().refund_fee, 500);
}

#[tokio::test]
async fn refunds_cannot_exceed_the_order() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RF-3").await;
    assert_eq!(
        outcome(&pay_call(&sandbox, REFUND, wechat_refund_fields("RF-3", "a", 1500)).await),
        "SUCCESS"
    );
    let over = pay_call(&sandbox, REFUND, wechat_refund_fields("RF-3", "b", 491)).await;
    assert_eq!(outcome(&over), "INVALID_REQUEST");
    assert!(sandbox.wechat_refund("b").is_none());
    assert_eq!(
        outcome(&pay_call(&sandbox, REFUND, wechat_refund_fields("RF-3", "c", 490)).await),
        "SUCCESS"
    );
    // A refund that closed gives its amount back.
    let quiet = CallbackOptions {
        deliveries: 0,
        notify_url: Some(NOWHERE.into()),
        ..CallbackOptions::default()
    };
    sandbox.wechat_finish_refund("a", false, quiet).await.unwrap();
    assert_eq!(
        outcome(&pay_call(&sandbox, REFUND, wechat_refund_fields("RF-3", "d", 1500)).await),
        "SUCCESS"
    );
}

#[tokio::test]
async fn only_paid_orders_with_their_total_can_be_refunded() {
    let sandbox = wechat_sandbox().await;
    place_order(&sandbox, "RF-4", "alice").await;
    let unpaid = pay_call(&sandbox, REFUND, wechat_refund_fields("RF-4", "x", 100)).await;
    assert_eq!(outcome(&unpaid), "TRADE_STATE_ERROR");
    let unknown = pay_call(&sandbox, REFUND, wechat_refund_fields("NOPE", "y", 100)).await;
    assert_eq!(outcome(&unknown), "ORDERNOTEXIST");
    paid_wechat_order(&sandbox, "RF-5").await;
    let mut wrong_total = wechat_refund_fields("RF-5", "z", 100);
    wrong_total.insert("total_fee".into(), "1000".into());
    assert_eq!(
        outcome(&pay_call(&sandbox, REFUND, wrong_total).await),
        "INVALID_REQUEST"
    );
    for (field, value, expected) in [
        ("refund_fee", "0", "INVALID_REQUEST"),
        ("refund_fee", "1.5", "INVALID_REQUEST"),
        ("out_refund_no", "bad refund no", "INVALID_REQUEST"),
        ("notify_url", "https://x/n?y=1", "INVALID_REQUEST"),
    ] {
        let mut fields = wechat_refund_fields("RF-5", "w", 100);
        fields.insert(field.into(), value.into());
        assert_eq!(
            outcome(&pay_call(&sandbox, REFUND, fields).await),
            expected,
            "{field}={value}"
        );
    }
    let mut missing = wechat_refund_fields("RF-5", "w", 100);
    missing.remove("out_refund_no");
    assert_eq!(outcome(&pay_call(&sandbox, REFUND, missing).await), "LACK_PARAMS");
}

/// Concurrent deliveries, all held until every one is in.
const GATHER: usize = 3;

#[tokio::test]
async fn the_refund_notify_decrypts_with_the_api_key() {
    let receiver = XmlReceiver::gathering(GATHER).await;
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RN-1").await;
    let mut fields = wechat_refund_fields("RN-1", "RN-1-a", 700);
    fields.insert("notify_url".into(), receiver.url.clone());
    pay_call(&sandbox, REFUND, fields).await;
    let three = CallbackOptions {
        deliveries: GATHER,
        ..CallbackOptions::default()
    };
    let deliveries = sandbox.wechat_finish_refund("RN-1-a", true, three).await.unwrap();
    assert!(
        deliveries.iter().all(|d| d.status == 200 && d.body == ACK),
        "{deliveries:?}"
    );
    assert_eq!(receiver.max_in_flight(), GATHER, "deliveries ran one after another");

    let received = receiver.received();
    assert_eq!(received.len(), GATHER);
    assert_eq!(received[0].content_type, "text/xml");
    let outer = received[0].fields();
    assert!(!outer.contains_key("sign"), "WeChat does not sign refund notifies");
    assert_eq!(
        (outer["return_code"].as_str(), outer["appid"].as_str()),
        ("SUCCESS", WX_APP_ID)
    );
    assert_eq!(outer["mch_id"], MCH_ID);
    let info = decrypt_req_info(&outer["req_info"], API_KEY).unwrap();
    let refund = sandbox.wechat_refund("RN-1-a").unwrap();
    assert_eq!(refund.status, WechatRefundStatus::Success);
    assert_eq!(info["refund_status"], "SUCCESS");
    assert_eq!(info["refund_id"], refund.refund_id);
    assert_eq!(info["transaction_id"], refund.transaction_id);
    assert_eq!(
        (info["out_trade_no"].as_str(), info["out_refund_no"].as_str()),
        ("RN-1", "RN-1-a")
    );
    assert_eq!(
        (info["total_fee"].as_str(), info["refund_fee"].as_str()),
        ("1990", "700")
    );
    assert_eq!(info["settlement_refund_fee"], "700");
    assert_eq!(
        info["success_time"],
        sandbox::clock::beijing_datetime(refund.success_at.unwrap())
    );
    assert_eq!(info["refund_account"], "REFUND_SOURCE_RECHARGE_FUNDS");
    assert_eq!(info["refund_request_source"], "API");
    assert!(info.contains_key("refund_recv_accout"));
}

#[tokio::test]
async fn closed_refunds_and_forged_notifies() {
    let receiver = XmlReceiver::start().await;
    let sandbox = Sandbox::start(wechat_config(Some(receiver.url.clone()))).await;
    paid_wechat_order(&sandbox, "RN-2").await;
    pay_call(&sandbox, REFUND, wechat_refund_fields("RN-2", "RN-2-a", 700)).await;
    // No URL on the refund: the merchant's configured one.
    sandbox
        .wechat_finish_refund("RN-2-a", false, CallbackOptions::default())
        .await
        .unwrap();
    let info = decrypt_req_info(&receiver.received()[0].fields()["req_info"], API_KEY).unwrap();
    assert_eq!(info["refund_status"], "REFUNDCLOSE");
    assert!(!info.contains_key("success_time"));
    assert_eq!(
        sandbox.wechat_refund("RN-2-a").unwrap().status,
        WechatRefundStatus::RefundClose
    );

    let tampered = CallbackOptions {
        tamper_signature: true,
        ..CallbackOptions::default()
    };
    sandbox.wechat_finish_refund("RN-2-a", false, tampered).await.unwrap();
    assert!(decrypt_req_info(&receiver.received()[1].fields()["req_info"], API_KEY).is_err());

    let error = sandbox
        .wechat_finish_refund("RN-2-a", true, CallbackOptions::default())
        .await
        .unwrap_err();
    assert!(error.contains("cannot become SUCCESS"), "{error}");
    let unknown = sandbox
        .wechat_finish_refund("nope", true, CallbackOptions::default())
        .await;
    assert_eq!(unknown.unwrap_err(), "unknown refund nope");
}

#[tokio::test]
async fn refunds_need_the_merchant_certificate_over_tls() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RC-1").await;
    let body = signed_xml(wechat_refund_fields("RC-1", "RC-1-a", 100), SignType::Md5);

    // No certificate: over plain HTTP, or over TLS without one, the front end refuses.
    let (status, page) = common::post_raw(&sandbox, REFUND, body.clone()).await;
    assert_eq!(status, 400);
    assert!(page.contains("No required SSL certificate was sent"), "{page}");
    let (status, page) = post_tls(&sandbox, &tls_client(None), REFUND, body.clone()).await;
    assert_eq!(
        (status, page.contains("No required SSL certificate was sent")),
        (400, true),
        "{page}"
    );

    // Another merchant's certificate: WeChat Pay reads the request and refuses it.
    let stranger = MerchantCertificate::generate(MCH_ID).identity_pem();
    let (status, text) = post_tls(&sandbox, &tls_client(Some(&stranger)), REFUND, body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        parse_flat(text.as_bytes()).unwrap(),
        fields(&[("return_code", "FAIL"), ("return_msg", "certificate not match")])
    );
    assert!(sandbox.wechat_refund("RC-1-a").is_none());
    assert_eq!(sandbox.calls(REFUND), 3);

    // The registered one: accepted.
    let merchant = tls_client(Some(&merchant_certificate().identity_pem()));
    let (status, text) = post_tls(&sandbox, &merchant, REFUND, body).await;
    assert_eq!(status, 200);
    assert_eq!(outcome(&parse_flat(text.as_bytes()).unwrap()), "SUCCESS");
    assert!(sandbox.wechat_refund("RC-1-a").is_some());
}

#[tokio::test]
async fn a_merchant_without_a_registered_certificate_cannot_refund() {
    let mut config = wechat_config(None);
    config.wechat.as_mut().unwrap().client_cert_pem = None;
    let sandbox = Sandbox::start(config).await;
    paid_wechat_order(&sandbox, "RC-2").await;
    let answer = pay_call(&sandbox, REFUND, wechat_refund_fields("RC-2", "RC-2-a", 100)).await;
    assert_eq!(answer["return_msg"], "certificate not match");
    assert!(sandbox.wechat_refund("RC-2-a").is_none());
}

#[tokio::test]
async fn the_rest_of_wechat_pay_takes_tls_without_a_certificate() {
    let sandbox = wechat_sandbox().await;
    paid_wechat_order(&sandbox, "RC-3").await;
    let body = signed_xml(fields(&[("out_trade_no", "RC-3")]), SignType::Md5);
    let (status, text) = post_tls(&sandbox, &tls_client(None), ORDER_QUERY, body).await;
    assert_eq!(status, 200);
    let answer = parse_flat(text.as_bytes()).unwrap();
    assert_eq!(
        (outcome(&answer).as_str(), answer["trade_state"].as_str()),
        ("SUCCESS", "SUCCESS")
    );
}
