//! `wechat_pay` and the payment notify over HTTP: XML that verifies with
//! the sandbox's own `wechat::sign::verifies` after `parse_flat`, a bare `total_fee`, extra
//! fields, concurrent duplicates, and forged variants.

mod common;

use common::wechat::*;
use sandbox::wechat::sign::{SignType, verifies as verify};
use sandbox::{Sandbox, TradeState, WechatPayOptions};

/// Concurrent deliveries, all held until every one is in.
const GATHER: usize = 4;

/// A sandbox and one JSAPI order whose notify URL is a fresh receiver.
async fn setup(gather: usize, sign_type: SignType) -> (Sandbox, XmlReceiver) {
    let receiver = XmlReceiver::gathering(gather).await;
    let sandbox = wechat_sandbox().await;
    let mut fields = wechat_order_fields("N-1", &sandbox.wechat_openid_of("alice"));
    fields.insert("notify_url".into(), receiver.url.clone());
    let answer = pay_raw(&sandbox, UNIFIED_ORDER, signed_xml(fields, sign_type)).await;
    assert_eq!(outcome(&answer), "SUCCESS");
    (sandbox, receiver)
}

#[tokio::test]
async fn the_payment_notify_verifies_and_carries_the_payment() {
    let (sandbox, receiver) = setup(1, SignType::Md5).await;
    let options = WechatPayOptions {
        extra_field: true,
        ..WechatPayOptions::default()
    };
    let deliveries = sandbox.wechat_pay("N-1", options).await.unwrap();
    assert_eq!((deliveries.len(), deliveries[0].status), (1, 200));
    assert_eq!(deliveries[0].body, ACK);

    let received = receiver.received();
    assert_eq!(received[0].content_type, "text/xml");
    assert!(
        received[0].body.contains("<total_fee>1990</total_fee>"),
        "{}",
        received[0].body
    );
    let fields = received[0].fields();
    assert!(verify(&fields, API_KEY), "the extra field is covered by the sign");
    assert_eq!(fields["sandbox_extra"], "扩展字段 & <more>");
    assert_eq!(fields["sign"].len(), 32);
    assert!(!fields.contains_key("sign_type"));

    let order = sandbox.wechat_order("N-1").unwrap();
    assert_eq!(order.trade_state, TradeState::Success);
    for (field, value) in [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("result_code", "SUCCESS"),
        ("appid", WX_APP_ID),
        ("mch_id", MCH_ID),
        ("is_subscribe", "N"),
        ("trade_type", "JSAPI"),
        ("bank_type", "CMB_DEBIT"),
        ("total_fee", "1990"),
        ("cash_fee", "1990"),
        ("fee_type", "CNY"),
        ("out_trade_no", "N-1"),
        ("attach", "coupon=A&x=1"),
    ] {
        assert_eq!(fields[field], value, "{field}");
    }
    assert_eq!(fields["openid"], sandbox.wechat_openid_of("alice"));
    assert_eq!(Some(&fields["transaction_id"]), order.transaction_id.as_ref());
    assert_eq!(
        fields["time_end"],
        sandbox::clock::beijing_compact(order.paid_at.unwrap())
    );
    assert_eq!(fields["nonce_str"].len(), 32);
}

#[tokio::test]
async fn hmac_orders_get_hmac_notifies_with_or_without_sign_type() {
    let (sandbox, receiver) = setup(1, SignType::HmacSha256).await;
    sandbox.wechat_pay("N-1", WechatPayOptions::default()).await.unwrap();
    let with_type = WechatPayOptions {
        sign_type_field: true,
        ..WechatPayOptions::default()
    };
    sandbox.wechat_pay("N-1", with_type).await.unwrap();
    let received = receiver.received();
    let (bare, typed) = (received[0].fields(), received[1].fields());
    assert_eq!((bare["sign"].len(), typed["sign"].len()), (64, 64));
    assert!(!bare.contains_key("sign_type"));
    assert_eq!(typed["sign_type"], "HMAC-SHA256");
    assert!(verify(&bare, API_KEY) && verify(&typed, API_KEY));
    // Paying again resent the same payment.
    assert_eq!(bare["transaction_id"], typed["transaction_id"]);
}

#[tokio::test]
async fn deliveries_are_concurrent_duplicates() {
    let (sandbox, receiver) = setup(GATHER, SignType::Md5).await;
    let options = WechatPayOptions {
        deliveries: GATHER,
        ..WechatPayOptions::default()
    };
    let deliveries = sandbox.wechat_pay("N-1", options).await.unwrap();
    assert_eq!(
        deliveries.iter().map(|d| d.status).collect::<Vec<_>>(),
        [200; GATHER],
        "{deliveries:?}"
    );
    assert_eq!(receiver.max_in_flight(), GATHER, "deliveries ran one after another");
    let received = receiver.received();
    assert_eq!(received.len(), GATHER);
    assert!(received.iter().all(|r| r.body == received[0].body));
}

#[tokio::test]
async fn forged_notifies_still_parse_but_tell_themselves_apart() {
    let (sandbox, receiver) = setup(1, SignType::Md5).await;
    let tampered = WechatPayOptions {
        tamper_signature: true,
        ..WechatPayOptions::default()
    };
    sandbox.wechat_pay("N-1", tampered).await.unwrap();
    let cheaper = WechatPayOptions {
        total_fee: Some(1),
        ..WechatPayOptions::default()
    };
    sandbox.wechat_pay("N-1", cheaper).await.unwrap();
    let received = receiver.received();
    assert!(!verify(&received[0].fields(), API_KEY));
    let forged = received[1].fields();
    assert!(verify(&forged, API_KEY), "the forged amount is signed as sent");
    assert_eq!((forged["total_fee"].as_str(), forged["cash_fee"].as_str()), ("1", "1"));
    assert_eq!(sandbox.wechat_order("N-1").unwrap().total_fee, 1990);
}

#[tokio::test]
async fn notifies_can_go_elsewhere_and_bad_payments_are_refused() {
    let (sandbox, receiver) = setup(1, SignType::Md5).await;
    let other = XmlReceiver::start().await;
    let elsewhere = WechatPayOptions {
        notify_url: Some(other.url.clone()),
        ..WechatPayOptions::default()
    };
    sandbox.wechat_pay("N-1", elsewhere).await.unwrap();
    assert_eq!((receiver.received().len(), other.received().len()), (0, 1));

    assert_eq!(
        sandbox
            .wechat_pay("nope", WechatPayOptions::default())
            .await
            .unwrap_err(),
        "unknown order nope"
    );
    place_order(&sandbox, "N-2", "bob").await;
    sandbox.wechat_fail("N-2").unwrap();
    let error = sandbox
        .wechat_pay("N-2", WechatPayOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error, "order N-2 is PAYERROR and cannot be paid unless late");
    assert!(sandbox.wechat_fail("N-1").is_err(), "a paid order cannot fail");
    let flood = WechatPayOptions {
        deliveries: 1001,
        ..WechatPayOptions::default()
    };
    assert!(sandbox.wechat_pay("N-1", flood).await.is_err());
}

#[tokio::test]
async fn a_lost_delivery_is_reported_not_fatal() {
    let sandbox = wechat_sandbox().await;
    place_order(&sandbox, "N-3", "alice").await;
    let deliveries = sandbox.wechat_pay("N-3", WechatPayOptions::default()).await.unwrap();
    assert_eq!(deliveries[0].status, 0);
    assert!(deliveries[0].body.starts_with("delivery failed"));
    assert_eq!(sandbox.wechat_order("N-3").unwrap().trade_state, TradeState::Success);
}
