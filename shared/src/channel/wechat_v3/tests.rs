//! The v3 channel's callbacks and pay parameters, with notifies made the way WeChat makes
//! them (the oracles sign and seal with aws-lc directly, not with the code under test).

use super::*;
use crate::config::{PayPublicKey, WechatConfig, WechatPayApi, WechatV3Config};
use crate::secret::Secret;
use crate::store::MemoryStore;
use crate::testing::oracles::{fresh_rsa_key, wechat_v3_seal, wechat_v3_signature};
use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::sync::OnceLock;

const APP_ID: &str = "wx_v3_app";
const MCH_ID: &str = "1900000109";
const APIV3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";

struct Keys {
    merchant: (String, String),
    wechat: (String, String),
}

/// Key generation is slow in a debug build: one pair each for the whole file.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        merchant: fresh_rsa_key(),
        wechat: fresh_rsa_key(),
    })
}

/// A public-key merchant whose platform is nowhere (no certificate can be downloaded).
fn channel() -> WechatV3Channel {
    let config = WechatConfig {
        app_id: APP_ID.into(),
        app_secret: None,
        mch_id: Some(MCH_ID.into()),
        api_key: None,
        api_base: "http://127.0.0.1:1".into(),
        login_base: "http://127.0.0.1:1".into(),
        notify_url: Some("https://example.com/notify/wechat".into()),
        client_cert: None,
        pay_api: WechatPayApi::V3,
        v3: None,
    };
    let v3 = WechatV3Config {
        apiv3_key: Secret::new(APIV3_KEY),
        mch_private_key: Secret::new(keys().merchant.0.clone()),
        mch_cert_serial: "5F1C72E2A8931B72A2E13AF8DEE92471EB397115".into(),
        pay_public_key: Some(PayPublicKey {
            id: PUBLIC_KEY_ID.into(),
            pem: keys().wechat.1.clone(),
        }),
    };
    let client = WechatV3Client::new(
        &config,
        &v3,
        crate::outbound::http_client(),
        Arc::new(MemoryStore::new()),
    )
    .expect("the client builds");
    WechatV3Channel::new(Arc::new(client))
}

struct Notify {
    headers: HeaderMap,
    body: Vec<u8>,
}

fn notify(event_type: &str, original_type: &str, plaintext: &Value) -> Notify {
    notify_sealed(event_type, original_type, plaintext, APIV3_KEY)
}

fn notify_sealed(event_type: &str, original_type: &str, plaintext: &Value, key: &str) -> Notify {
    let nonce = "fdasflkja484";
    let ciphertext = wechat_v3_seal(key.as_bytes(), nonce, original_type, plaintext.to_string().as_bytes());
    let body = json!({
        "id": "EV-2018022511223320873",
        "create_time": "2015-05-20T13:29:35+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": original_type,
            "nonce": nonce,
        }
    });
    signed(body.to_string().into_bytes(), now_secs(), PUBLIC_KEY_ID)
}

fn signed(body: Vec<u8>, timestamp: i64, serial: &str) -> Notify {
    let timestamp = timestamp.to_string();
    let nonce = "593BEC0C930BF1AFEB40B4A08C8FB242";
    let signature = wechat_v3_signature(&keys().wechat.0, &timestamp, nonce, &body);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("wechatpay-timestamp", timestamp.as_str()),
        ("wechatpay-nonce", nonce),
        ("wechatpay-signature", signature.as_str()),
        ("wechatpay-serial", serial),
        ("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    Notify { headers, body }
}

impl Notify {
    fn inbound(&self) -> Inbound<'_> {
        Inbound {
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn set(&mut self, name: &'static str, value: &str) {
        self.headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
}

fn transaction(trade_state: &str) -> Value {
    json!({
        "appid": APP_ID,
        "mchid": MCH_ID,
        "out_trade_no": "MP20240804191306A1B2",
        "transaction_id": "4200000985202408047351734561",
        "trade_type": "JSAPI",
        "trade_state": trade_state,
        "trade_state_desc": "支付成功",
        "bank_type": "CMB_DEBIT",
        "attach": "",
        "success_time": "2024-08-04T19:13:06+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 880, "payer_total": 880, "currency": "CNY", "payer_currency": "CNY"}
    })
}

fn refund(status: &str) -> Value {
    json!({
        "mchid": MCH_ID,
        "transaction_id": "4200000985202408047351734561",
        "out_trade_no": "MP20240804191306A1B2",
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": "RF20240804A",
        "refund_status": status,
        "success_time": "2024-08-04T19:20:06+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 880, "refund": 440, "payer_total": 880, "payer_refund": 440}
    })
}

async fn read(channel: &WechatV3Channel, notify: &Notify) -> Result<Verified, Refusal> {
    assert!(channel.claims(&notify.inbound()), "a JSON notify is v3's");
    channel.read_callback(&notify.inbound()).await
}

#[tokio::test]
async fn a_payment_notify_is_verified_then_decrypted() {
    let channel = channel();
    let verified = read(
        &channel,
        &notify("TRANSACTION.SUCCESS", "transaction", &transaction("SUCCESS")),
    )
    .await
    .expect("a notify signed with the public key and sealed with our key");
    assert_eq!(verified.kind, "payment");
    assert_eq!(verified.order.as_deref(), Some("MP20240804191306A1B2"));
    assert_eq!(
        verified.notice,
        Ok(Notice::Paid {
            out_order_no: "MP20240804191306A1B2".into(),
            payment: Payment {
                amount: 880,
                paid_at: 1_722_769_986,
                trade_no: "4200000985202408047351734561".into(),
                channel: "CMB_DEBIT".into(),
            },
        })
    );
    let unpaid = read(
        &channel,
        &notify("TRANSACTION.SUCCESS", "transaction", &transaction("NOTPAY")),
    )
    .await
    .unwrap();
    assert_eq!(unpaid.notice, Ok(Notice::Nothing));
}

#[tokio::test]
async fn refund_notifies_end_or_flag_the_refund() {
    let channel = channel();
    let ended = |success| {
        Ok(Notice::RefundEnded {
            out_refund_no: "RF20240804A".into(),
            success,
            amount: Some(440),
        })
    };
    for (event, status, notice) in [
        ("REFUND.SUCCESS", "SUCCESS", ended(true)),
        ("REFUND.CLOSED", "CLOSED", ended(false)),
        (
            "REFUND.ABNORMAL",
            "ABNORMAL",
            Ok(Notice::RefundNeedsAttention {
                out_refund_no: "RF20240804A".into(),
                why: "ABNORMAL".into(),
            }),
        ),
    ] {
        let verified = read(&channel, &notify(event, "refund", &refund(status))).await.unwrap();
        assert_eq!((verified.kind.as_str(), verified.notice), ("refund", notice), "{event}");
        assert_eq!(verified.order.as_deref(), Some("MP20240804191306A1B2"));
    }
}

#[tokio::test]
async fn notifies_not_signed_as_they_came_are_refused_before_anything_is_read() {
    let channel = channel();
    let good = notify("TRANSACTION.SUCCESS", "transaction", &transaction("SUCCESS"));

    let mut probe = signed(good.body.clone(), now_secs(), PUBLIC_KEY_ID);
    probe.set("wechatpay-signature", "WECHATPAY/SIGNTEST/ZHVtbXkgc2lnbmF0dXJl");
    let stale = signed(good.body.clone(), now_secs() - 301, PUBLIC_KEY_ID);
    let early = signed(good.body.clone(), now_secs() + 301, PUBLIC_KEY_ID);
    let mut tampered = signed(good.body.clone(), now_secs(), PUBLIC_KEY_ID);
    let at = tampered.body.iter().position(|b| *b == b'E').unwrap();
    tampered.body[at] = b'F';
    let mut unsigned = signed(good.body.clone(), now_secs(), PUBLIC_KEY_ID);
    unsigned.headers.remove("wechatpay-signature");
    // Our own merchant key is not WeChat's.
    let mut forged = signed(good.body.clone(), now_secs(), PUBLIC_KEY_ID);
    let ts = forged.headers["wechatpay-timestamp"].to_str().unwrap().to_owned();
    let nonce = forged.headers["wechatpay-nonce"].to_str().unwrap().to_owned();
    forged.set(
        "wechatpay-signature",
        &wechat_v3_signature(&keys().merchant.0, &ts, &nonce, &forged.body),
    );
    for (what, notify) in [
        ("probe", probe),
        ("stale", stale),
        ("early", early),
        ("tampered", tampered),
        ("unsigned", unsigned),
        ("forged", forged),
    ] {
        let refusal = read(&channel, &notify).await.expect_err(what);
        assert!(matches!(refusal, Refusal::NotAuthentic(_)), "{what}: {refusal:?}");
        assert_eq!(refusal.status(), 401, "{what}");
    }
}

#[tokio::test]
async fn a_notify_for_another_merchant_is_authentic_but_refused() {
    let channel = channel();
    let mut other = transaction("SUCCESS");
    other["mchid"] = json!("1230000109");
    let verified = read(&channel, &notify("TRANSACTION.SUCCESS", "transaction", &other))
        .await
        .unwrap();
    assert!(
        matches!(verified.notice, Err(Refusal::NotAuthentic(_))),
        "{:?}",
        verified.notice
    );
}

#[tokio::test]
async fn a_signed_notify_our_key_does_not_open_is_kept_for_retry() {
    // WeChat signed it, so it is WeChat's: our APIv3 key is wrong, and WeChat must send
    // it again once the key is fixed.
    let sealed = notify_sealed(
        "TRANSACTION.SUCCESS",
        "transaction",
        &transaction("SUCCESS"),
        "0123456789abcdef0123456789abcdef",
    );
    let refusal = read(&channel(), &sealed).await.expect_err("not ours to open");
    assert!(matches!(refusal, Refusal::Temporary { status: 500, .. }), "{refusal:?}");
}

#[tokio::test]
async fn a_certificate_we_cannot_download_leaves_the_notify_for_retry() {
    let channel = channel();
    let certificate_signed = signed(
        notify("TRANSACTION.SUCCESS", "transaction", &transaction("SUCCESS")).body,
        now_secs(),
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    );
    let refusal = read(&channel, &certificate_signed).await.expect_err("no key yet");
    assert!(matches!(refusal, Refusal::Temporary { status: 503, .. }), "{refusal:?}");
}

#[test]
fn answers_are_v3_json() {
    let channel = channel();
    let done = channel.reply(Ack::done());
    assert_eq!((done.status, done.content_type), (200, "application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&done.body).unwrap(),
        json!({"code": "SUCCESS", "message": "成功"})
    );
    let refused = channel.reply(Refusal::NotAuthentic("signature not verified".into()).into());
    assert_eq!(refused.status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&refused.body).unwrap(),
        json!({"code": "FAIL", "message": "signature not verified"})
    );
}

#[test]
fn pay_params_are_signed_with_the_merchant_key() {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use base64::Engine as _;
    let channel = channel();
    let order = Order {
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        sku: "course".into(),
        total_amount: 880,
        subject: "微信小程序课程".into(),
        body: "微信小程序课程".into(),
        created_at: 1_414_561_000,
        pay_deadline: 1_414_562_000,
        platform_order: Some(PlatformOrder {
            order_id: "wx201410272009395522657a690389285100".into(),
            order_token: "wx201410272009395522657a690389285100".into(),
        }),
        updated_at: 1_414_561_000,
        ..crate::testing::fixtures::order(
            "MP20240804191306A1B2",
            crate::domain::order::Platform::Wechat,
            ChannelId::WechatV3,
            crate::domain::order::OrderStatus::Pending,
        )
    };
    let pay = channel.pay_params(&order, 1_414_561_699).unwrap();
    let mut fields: Vec<&str> = pay.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["nonceStr", "package", "paySign", "signType", "timeStamp"]);
    assert_eq!(pay["signType"], "RSA");
    assert_eq!(pay["package"], "prepay_id=wx201410272009395522657a690389285100");
    assert_eq!(pay["timeStamp"], "1414561699");
    // A.6: appId, timeStamp, nonceStr, package, each line ending in \n.
    let message = format!(
        "{APP_ID}\n1414561699\n{}\nprepay_id=wx201410272009395522657a690389285100\n",
        pay["nonceStr"].as_str().unwrap()
    );
    let public = pem::parse(&keys().merchant.1).unwrap();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(pay["paySign"].as_str().unwrap())
        .unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public.contents())
        .verify(message.as_bytes(), &signature)
        .expect("paySign verifies with the merchant's public key");
}
