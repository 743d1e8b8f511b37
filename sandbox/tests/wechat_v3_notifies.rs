//! TRANSACTION.SUCCESS notifies (A.5): sent through the tunnel to the order's
//! `notify_url`, the Transaction encrypted with the APIv3 key (AAD "transaction"), each
//! delivery signed with the key the profile calls for — either at random while
//! switching, unless fixed — and spoiled on request (tamper, probe, stale).

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::wechat_v3::*;
use sandbox::{WechatV3Key, WechatV3Mode, WechatV3PayOptions};
use std::collections::HashSet;

fn deliveries(count: usize) -> WechatV3PayOptions {
    WechatV3PayOptions {
        deliveries: count,
        ..WechatV3PayOptions::default()
    }
}

/// The platform certificate's public key, as the merchant would download it.
fn certificate_key(sandbox: &sandbox::Sandbox) -> Vec<u8> {
    certificate_public_key(&sandbox.wechat_v3_certificates()[0].pem)
}

#[tokio::test]
async fn a_payment_notifies_an_encrypted_signed_transaction() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    let receiver = JsonReceiver::start(StatusCode::OK);
    place(&sandbox, "NTF-01", &receiver.url).await;
    let sent = sandbox.wechat_v3_pay("NTF-01", deliveries(1)).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, 200);
    let notify = receiver.received().pop().unwrap();
    assert_eq!(notify.headers["content-type"], "application/json");
    assert_eq!(notify.serial(), keys().public_key_id);
    assert!(notify.verifies_with(&pay_public_key()));
    let envelope = notify.json();
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["summary"], "支付成功");
    assert!(envelope["create_time"].as_str().unwrap().ends_with("+08:00"));
    let transaction = notify.resource();
    let order = sandbox.wechat_v3_order("NTF-01").unwrap();
    assert_eq!(transaction["trade_state"], "SUCCESS");
    assert_eq!(transaction["out_trade_no"], "NTF-01");
    assert_eq!(transaction["transaction_id"].as_str(), order.transaction_id.as_deref());
    assert_eq!(transaction["amount"]["total"], 1990);
    assert_eq!(transaction["payer"]["openid"], sandbox.wechat_openid_of("alice"));
    // The same notify again, for a paid order: WeChat's retries.
    let again = sandbox.wechat_v3_pay("NTF-01", deliveries(2)).await.unwrap();
    assert_eq!(again.len(), 2);
    let ids: HashSet<String> = receiver
        .received()
        .iter()
        .map(|n| n.resource()["transaction_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn certificate_merchants_get_certificate_signed_notifies() {
    let sandbox = v3_sandbox(WechatV3Mode::Certificate).await;
    let receiver = JsonReceiver::start(StatusCode::OK);
    place(&sandbox, "NTF-02", &receiver.url).await;
    sandbox.wechat_v3_pay("NTF-02", deliveries(1)).await.unwrap();
    let notify = receiver.received().pop().unwrap();
    assert_eq!(notify.serial(), sandbox.wechat_v3_certificates()[0].serial_no);
    assert!(notify.verifies_with(&certificate_key(&sandbox)));
    assert!(!notify.verifies_with(&pay_public_key()));
}

#[tokio::test]
async fn switching_notifies_use_both_keys_unless_fixed() {
    let sandbox = v3_sandbox(WechatV3Mode::Switching).await;
    let receiver = JsonReceiver::start(StatusCode::OK);
    place(&sandbox, "NTF-03", &receiver.url).await;
    sandbox.wechat_v3_pay("NTF-03", deliveries(40)).await.unwrap();
    let certificate_serial = sandbox.wechat_v3_certificates()[0].serial_no.clone();
    let serials: HashSet<String> = receiver.received().iter().map(|n| n.serial().to_owned()).collect();
    assert_eq!(
        serials,
        HashSet::from([keys().public_key_id.clone(), certificate_serial.clone()])
    );
    for notify in receiver.received() {
        let key = if notify.serial() == keys().public_key_id {
            pay_public_key()
        } else {
            certificate_key(&sandbox)
        };
        assert!(
            notify.verifies_with(&key),
            "each verifies with the key its serial names"
        );
    }

    sandbox.wechat_v3_fix_notify_key(Some(WechatV3Key::Certificate));
    let fixed = JsonReceiver::start(StatusCode::OK);
    let options = WechatV3PayOptions {
        deliveries: 10,
        notify_url: Some(fixed.url.clone()),
        ..WechatV3PayOptions::default()
    };
    sandbox.wechat_v3_pay("NTF-03", options).await.unwrap();
    assert!(fixed.received().iter().all(|n| n.serial() == certificate_serial));
    let per_call = WechatV3PayOptions {
        notify_url: Some(fixed.url.clone()),
        sign_with: Some(WechatV3Key::PublicKey),
        ..WechatV3PayOptions::default()
    };
    sandbox.wechat_v3_pay("NTF-03", per_call).await.unwrap();
    assert_eq!(fixed.received().pop().unwrap().serial(), keys().public_key_id);
}

#[tokio::test]
async fn spoiled_notifies_do_not_verify() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    let receiver = JsonReceiver::start(StatusCode::OK);
    place(&sandbox, "NTF-04", &receiver.url).await;
    let tampered = WechatV3PayOptions {
        tamper_signature: true,
        ..WechatV3PayOptions::default()
    };
    sandbox.wechat_v3_pay("NTF-04", tampered).await.unwrap();
    sandbox.wechat_v3_probe_next(0, 1);
    sandbox.wechat_v3_pay("NTF-04", deliveries(1)).await.unwrap();
    sandbox.wechat_v3_stale_next(0, 1);
    sandbox.wechat_v3_pay("NTF-04", deliveries(1)).await.unwrap();
    sandbox.wechat_v3_pay("NTF-04", deliveries(1)).await.unwrap();
    let received = receiver.received();
    assert!(!received[0].verifies_with(&pay_public_key()), "tampered");
    let decoded = STANDARD.decode(received[0].signature());
    assert_eq!(
        decoded.map(|bytes| bytes.len()),
        Ok(256),
        "a real RSA-2048 signature, of another text"
    );
    assert!(received[1].signature().starts_with("WECHATPAY/SIGNTEST/"));
    assert!(!received[1].verifies_with(&pay_public_key()));
    let stale_at: i64 = received[2].headers["wechatpay-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(now() - stale_at > 300);
    assert!(
        received[2].verifies_with(&pay_public_key()),
        "stale, but correctly signed"
    );
    assert!(received[3].verifies_with(&pay_public_key()), "back to normal");
}

#[tokio::test]
async fn forged_amounts_are_signed_as_sent_and_failures_are_reported() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    let failing = JsonReceiver::start(StatusCode::INTERNAL_SERVER_ERROR);
    place(&sandbox, "NTF-05", &failing.url).await;
    let forged = WechatV3PayOptions {
        total: Some(1),
        ..WechatV3PayOptions::default()
    };
    let sent = sandbox.wechat_v3_pay("NTF-05", forged).await.unwrap();
    assert_eq!(sent[0].status, 500, "not acknowledged: kept for another try");
    let notify = failing.received().pop().unwrap();
    assert!(notify.verifies_with(&pay_public_key()));
    assert_eq!(notify.resource()["amount"]["total"], 1);
    assert_eq!(sandbox.wechat_v3_order("NTF-05").unwrap().total_fee, 1990);
}

#[tokio::test]
async fn ended_orders_are_paid_only_late() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    place(&sandbox, "NTF-06", NOWHERE).await;
    sandbox.wechat_close("NTF-06").unwrap();
    let refused = sandbox.wechat_v3_pay("NTF-06", deliveries(0)).await.unwrap_err();
    assert!(refused.contains("CLOSED"), "{refused}");
    let late = WechatV3PayOptions {
        deliveries: 0,
        late: true,
        ..WechatV3PayOptions::default()
    };
    sandbox.wechat_v3_pay("NTF-06", late).await.unwrap();
    assert_eq!(query_order(&sandbox, "NTF-06").await.json()["trade_state"], "SUCCESS");
}
