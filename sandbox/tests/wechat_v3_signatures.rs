//! Answers signed as each merchant profile has them (A.4, A.7): the public key in
//! public-key mode, the platform certificate in certificate mode, and while switching
//! whichever the request's `Wechatpay-Serial` names; `/v3/certificates` (encrypted,
//! or WeChat's 404 for public-key merchants); rotation, mode changes, probes and stale
//! timestamps as the client sees them.

mod common;

use common::wechat_v3::*;
use sandbox::WechatV3Mode;
use serde_json::Value;

/// `/v3/certificates` as the merchant reads it: each certificate decrypted with the
/// APIv3 key (AAD "certificate"), as (serial_no, PEM).
async fn download_certificates(sandbox: &sandbox::Sandbox) -> Vec<(String, String)> {
    let answer = Call::get(&format!("{CERTIFICATES}?algorithm_type=RSA"))
        .send(sandbox)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry: &Value| {
            let pem = String::from_utf8(open_resource(&entry["encrypt_certificate"], "certificate")).unwrap();
            assert!(entry["expire_time"].as_str().unwrap() > entry["effective_time"].as_str().unwrap());
            (entry["serial_no"].as_str().unwrap().to_owned(), pem)
        })
        .collect()
}

#[tokio::test]
async fn public_key_merchants_get_public_key_signatures_and_no_certificates() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    let answer = Call::get(CERTIFICATES).send(&sandbox).await;
    assert_eq!((answer.status, answer.code()), (404, "RESOURCE_NOT_EXISTS".into()));
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("无可用的平台证书")
    );
    assert_eq!(answer.header("wechatpay-serial"), keys().public_key_id);
    assert_eq!(answer.header("wechatpay-signature-type"), "WECHATPAY2-SHA256-RSA2048");
    assert!(answer.verifies_with(&pay_public_key()));
}

#[tokio::test]
async fn certificate_merchants_verify_answers_with_the_downloaded_certificate() {
    let sandbox = v3_sandbox(WechatV3Mode::Certificate).await;
    let certificates = download_certificates(&sandbox).await;
    assert_eq!(certificates.len(), 1);
    let (serial, pem) = &certificates[0];
    assert_eq!(serial.len(), 40);
    // The serial in the JSON is the certificate's own.
    let der = pem::parse(pem).unwrap().into_contents();
    let serial_bytes = hex::decode(serial).unwrap();
    assert!(der.windows(serial_bytes.len()).any(|w| w == serial_bytes));
    assert!(der.windows(15).any(|w| w == b"Tenpay.com sign"));

    let answer = query_order(&sandbox, "NO-SUCH-ORDER").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.header("wechatpay-serial"), serial);
    assert!(answer.verifies_with(&certificate_public_key(pem)));
    assert!(!answer.verifies_with(&pay_public_key()));
    // Even asking for the public key: a certificate merchant has none.
    let asking = Call {
        wechatpay_serial: Some(keys().public_key_id.clone()),
        ..Call::get(&order_path("NO-SUCH-ORDER"))
    }
    .send(&sandbox)
    .await;
    assert_eq!(asking.header("wechatpay-serial"), serial);
}

#[tokio::test]
async fn switching_answers_follow_the_request_serial() {
    let sandbox = v3_sandbox(WechatV3Mode::Switching).await;
    let certificates = download_certificates(&sandbox).await;
    let (serial, pem) = &certificates[0];
    let with = |wechatpay_serial: Option<String>| Call {
        wechatpay_serial,
        ..Call::get(&order_path("NO-SUCH-ORDER"))
    };
    let public = with(Some(keys().public_key_id.clone())).send(&sandbox).await;
    assert_eq!(public.header("wechatpay-serial"), keys().public_key_id);
    assert!(public.verifies_with(&pay_public_key()));
    for other in [Some(serial.clone()), None] {
        let answer = with(other).send(&sandbox).await;
        assert_eq!(answer.header("wechatpay-serial"), serial);
        assert!(answer.verifies_with(&certificate_public_key(pem)));
    }
}

#[tokio::test]
async fn a_rotated_certificate_is_listed_next_to_the_old_and_signs() {
    let sandbox = v3_sandbox(WechatV3Mode::Certificate).await;
    let old = download_certificates(&sandbox).await;
    let new = sandbox.wechat_v3_rotate_certificate().unwrap();
    let listed = download_certificates(&sandbox).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], old[0]);
    assert_eq!(listed[1], (new.serial_no.clone(), new.pem.clone()));
    let answer = query_order(&sandbox, "NO-SUCH-ORDER").await;
    assert_eq!(answer.header("wechatpay-serial"), new.serial_no);
    assert!(answer.verifies_with(&certificate_public_key(&new.pem)));
    assert!(!answer.verifies_with(&certificate_public_key(&old[0].1)));
    assert_eq!(sandbox.wechat_v3_certificates().len(), 2);
}

#[tokio::test]
async fn the_mode_changes_at_run_time() {
    let sandbox = v3_sandbox(WechatV3Mode::Certificate).await;
    assert_eq!(Call::get(CERTIFICATES).send(&sandbox).await.status, 200);
    sandbox.wechat_v3_set_mode(WechatV3Mode::PublicKey).unwrap();
    assert_eq!(sandbox.wechat_v3_mode(), WechatV3Mode::PublicKey);
    let answer = Call::get(CERTIFICATES).send(&sandbox).await;
    assert_eq!(answer.status, 404);
    assert!(answer.verifies_with(&pay_public_key()));
}

#[tokio::test]
async fn probes_and_stale_timestamps_come_when_asked() {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    sandbox.wechat_v3_probe_next(1, 0);
    let probed = query_order(&sandbox, "NO-SUCH-ORDER").await;
    let signature = probed.header("wechatpay-signature");
    assert!(signature.starts_with("WECHATPAY/SIGNTEST/"), "{signature}");
    assert!(!probed.verifies_with(&pay_public_key()));
    assert!(
        query_order(&sandbox, "NO-SUCH-ORDER")
            .await
            .verifies_with(&pay_public_key())
    );

    sandbox.wechat_v3_stale_next(1, 0);
    let stale = query_order(&sandbox, "NO-SUCH-ORDER").await;
    let age = now() - stale.header("wechatpay-timestamp").parse::<i64>().unwrap();
    assert!(age > 300, "{age}");
    assert!(stale.verifies_with(&pay_public_key()), "correctly signed, only old");
    let fresh = query_order(&sandbox, "NO-SUCH-ORDER").await;
    assert!(now() - fresh.header("wechatpay-timestamp").parse::<i64>().unwrap() < 5);
    assert_eq!(sandbox.wechat_v3_spoiled(), sandbox::SpoiledSignatures::default());
}
