//! Every v3 request is checked as WeChat Pay checks it (A.2, A.3): `Accept` and
//! `User-Agent`, then the `Authorization` header's schema, fields, merchant, serial,
//! timestamp and signature over the exact request. Each rule refused with WeChat's code,
//! and accepted when right; the refusals are signed answers too.

mod common;

use common::wechat::MCH_ID;
use common::wechat_v3::*;
use sandbox::WechatV3Mode;
use serde_json::json;

async fn sandbox_with_order() -> sandbox::Sandbox {
    let sandbox = v3_sandbox(WechatV3Mode::PublicKey).await;
    place(&sandbox, "AUTH-1", NOWHERE).await;
    sandbox
}

#[tokio::test]
async fn a_correct_request_passes_over_http_and_tls() {
    let sandbox = sandbox_with_order().await;
    for over_tls in [false, true] {
        let call = common::wechat_v3::Call {
            over_tls,
            ..Call::get(&order_path("AUTH-1"))
        };
        let answer = call.send(&sandbox).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["trade_state"], "NOTPAY");
        assert!(answer.verifies_with(&pay_public_key()));
        assert!(answer.header("request-id").starts_with("08"));
    }
}

#[tokio::test]
async fn accept_and_user_agent_are_required() {
    let sandbox = sandbox_with_order().await;
    for (accept, user_agent) in [(false, true), (true, false)] {
        let answer = Call {
            accept,
            user_agent,
            ..Call::get(&order_path("AUTH-1"))
        }
        .send(&sandbox)
        .await;
        assert_eq!((answer.status, answer.code()), (400, "INVALID_REQUEST".into()));
        assert_eq!(answer.json()["message"], "Http头缺少Accept或User-Agent");
        assert!(answer.verifies_with(&pay_public_key()), "errors are signed too");
    }
}

#[tokio::test]
async fn authorization_fields_may_come_in_any_order() {
    let sandbox = sandbox_with_order().await;
    let call = Call::get(&order_path("AUTH-1"));
    let nonce = "N0NCE";
    let signature = merchant_sign(&call.message(nonce));
    let reordered = format!(
        "WECHATPAY2-SHA256-RSA2048 signature=\"{signature}\", serial_no=\"{}\", timestamp=\"{}\", nonce_str=\"{nonce}\", mchid=\"{MCH_ID}\"",
        keys().merchant_cert_serial,
        call.timestamp
    );
    let answer = Call {
        authorization: Some(reordered),
        ..call
    }
    .send(&sandbox)
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The `Authorization` of `call` with one field changed.
fn authorization_with(call: &Call, mchid: &str, serial: &str, signature: Option<&str>) -> String {
    let nonce = "N0NCE";
    let signature = signature.map_or_else(|| merchant_sign(&call.message(nonce)), str::to_owned);
    Call::authorization_of(mchid, nonce, call.timestamp, serial, &signature)
}

#[tokio::test]
async fn every_authorization_fault_is_a_sign_error() {
    let sandbox = sandbox_with_order().await;
    let call = Call::get(&order_path("AUTH-1"));
    let serial = keys().merchant_cert_serial.clone();
    let cases = [
        ("missing", None),
        (
            "other schema",
            Some(authorization_with(&call, MCH_ID, &serial, None).replacen(
                "WECHATPAY2-SHA256-RSA2048",
                "WECHATPAY2-SHA256-RSA",
                1,
            )),
        ),
        (
            "other merchant",
            Some(authorization_with(&call, "1900000110", &serial, None)),
        ),
        (
            "other certificate",
            Some(authorization_with(
                &call,
                MCH_ID,
                "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC",
                None,
            )),
        ),
        (
            "not base64",
            Some(authorization_with(&call, MCH_ID, &serial, Some("WECHATPAY/SIGNTEST/x"))),
        ),
        (
            "no nonce",
            Some(authorization_with(&call, MCH_ID, &serial, None).replace("nonce_str=\"N0NCE\",", "")),
        ),
    ];
    for (case, authorization) in cases {
        let answer = match authorization {
            Some(authorization) => {
                Call {
                    authorization: Some(authorization),
                    ..call.clone()
                }
                .send(&sandbox)
                .await
            }
            None => {
                // No header at all: sent by hand.
                let response = common::http()
                    .get(format!("{}{}", sandbox.base_url, call.path_and_query))
                    .header("accept", "application/json")
                    .header("user-agent", "t")
                    .send()
                    .await
                    .unwrap();
                V3Answer {
                    status: response.status().as_u16(),
                    headers: response.headers().clone(),
                    text: response.text().await.unwrap(),
                }
            }
        };
        assert_eq!(
            (answer.status, answer.code()),
            (401, "SIGN_ERROR".into()),
            "{case}: {}",
            answer.text
        );
        assert!(answer.verifies_with(&pay_public_key()), "{case}");
    }
    assert_eq!(sandbox.calls("/v3/pay/transactions/out-trade-no/AUTH-1"), 6);
}

#[tokio::test]
async fn the_timestamp_must_be_within_five_minutes() {
    let sandbox = sandbox_with_order().await;
    for (skew, status) in [(-290, 200), (290, 200), (-310, 401), (310, 401)] {
        let answer = Call {
            timestamp: now() + skew,
            ..Call::get(&order_path("AUTH-1"))
        }
        .send(&sandbox)
        .await;
        assert_eq!(answer.status, status, "skew {skew}: {}", answer.text);
    }
}

#[tokio::test]
async fn the_signature_covers_method_query_and_exact_body() {
    let sandbox = sandbox_with_order().await;
    let query = Call::get(&order_path("AUTH-1"));
    let without_query = Call {
        signed_text: Some(
            query
                .message("593BEC0C930BF1AFEB40B4A08C8FB242")
                .replace("?mchid=1900000109", ""),
        ),
        ..query.clone()
    };
    assert_eq!(without_query.send(&sandbox).await.status, 401);
    let as_post = Call {
        signed_text: Some(
            query
                .message("593BEC0C930BF1AFEB40B4A08C8FB242")
                .replacen("GET", "POST", 1),
        ),
        ..query
    };
    assert_eq!(as_post.send(&sandbox).await.status, 401);

    // The bytes sent, not an equivalent JSON: re-serialised bodies do not verify.
    let body = prepay_body(&sandbox, "AUTH-2", "alice");
    let sent = Call::post(PREPAY, &body);
    let pretty = serde_json::to_string_pretty(&body).unwrap();
    let reformatted = Call {
        signed_text: Some(
            sent.message("593BEC0C930BF1AFEB40B4A08C8FB242")
                .replace(&sent.body, &pretty),
        ),
        ..sent.clone()
    };
    assert_eq!(reformatted.send(&sandbox).await.status, 401);
    assert!(
        sandbox.wechat_v3_order("AUTH-2").is_none(),
        "a refused request changes nothing"
    );
    assert_eq!(sent.send(&sandbox).await.status, 200);
}

#[tokio::test]
async fn the_signature_is_checked_with_the_merchant_key_only() {
    let sandbox = sandbox_with_order().await;
    // Signed by WeChat Pay's key pair instead: a valid signature, the wrong signer.
    let call = Call::get(&order_path("AUTH-1"));
    let key =
        aws_lc_rs::signature::RsaKeyPair::from_pkcs8(pem::parse(&keys().pay_private_pem).unwrap().contents()).unwrap();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        call.message("N0NCE").as_bytes(),
        &mut signature,
    )
    .unwrap();
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD.encode(signature);
    let answer = Call {
        authorization: Some(authorization_with(
            &call,
            MCH_ID,
            &keys().merchant_cert_serial,
            Some(&signature),
        )),
        ..call
    }
    .send(&sandbox)
    .await;
    assert_eq!((answer.status, answer.code()), (401, "SIGN_ERROR".into()));
}

#[tokio::test]
async fn without_an_apiv3_config_v3_paths_answer_unsigned_400() {
    let sandbox = sandbox::Sandbox::start(common::wechat::wechat_config(None)).await;
    let answer = Call::post(PREPAY, &json!({})).send(&sandbox).await;
    assert_eq!((answer.status, answer.code()), (400, "INVALID_REQUEST".into()));
    assert!(answer.headers.get("wechatpay-signature").is_none());
}
