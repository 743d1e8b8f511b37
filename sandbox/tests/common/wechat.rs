//! WeChat test helpers: a sandbox with WeChat credentials and a merchant certificate,
//! signed XML requests (`/secapi/` over TLS with that certificate), and a notify
//! receiver that keeps what WeChat sent.

use super::{config, hub};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use sandbox::tls::MerchantCertificate;
use sandbox::wechat::sign::{SignType, sign, verifies as verify};
use sandbox::wechat::xml::{parse_flat, to_xml};
use sandbox::{Sandbox, SandboxConfig, WechatPayOptions, WechatSandboxConfig};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type Fields = BTreeMap<String, String>;

pub const WX_APP_ID: &str = "wx_sandbox_test_app";
pub const WX_APP_SECRET: &str = "wechat-sandbox-secret";
pub const MCH_ID: &str = "1900000109";
pub const API_KEY: &str = "192006250b4c09247ec02edce69f6a2d";
pub const WX_JSCODE2SESSION: &str = "/sns/jscode2session";
pub const UNIFIED_ORDER: &str = "/pay/unifiedorder";
pub const ORDER_QUERY: &str = "/pay/orderquery";
pub const CLOSE_ORDER: &str = "/pay/closeorder";
pub const REFUND: &str = "/secapi/pay/refund";
pub const REFUND_QUERY: &str = "/pay/refundquery";
pub use super::hub::NOWHERE;

pub fn wechat_config(notify_url: Option<String>) -> SandboxConfig {
    SandboxConfig {
        wechat: Some(WechatSandboxConfig {
            app_id: WX_APP_ID.into(),
            app_secret: WX_APP_SECRET.into(),
            mch_id: MCH_ID.into(),
            api_key: API_KEY.into(),
            notify_url,
            client_cert_pem: Some(merchant_certificate().cert_pem.clone()),
            v3: None,
        }),
        ..config(None)
    }
}

/// The merchant's API certificate, registered with every test sandbox.
pub fn merchant_certificate() -> &'static MerchantCertificate {
    static MERCHANT: std::sync::OnceLock<MerchantCertificate> = std::sync::OnceLock::new();
    MERCHANT.get_or_init(|| MerchantCertificate::generate(MCH_ID))
}

/// A client of the sandbox's TLS listener, presenting `identity` (certificate and key
/// PEM) when given.
pub fn tls_client(identity: Option<&str>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(Sandbox::tls_ca_pem().as_bytes()).unwrap();
    let builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([ca]);
    match identity {
        Some(pem) => builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap()),
        None => builder,
    }
    .build()
    .unwrap()
}

/// POSTs `body` to `path` over TLS as `client`; the status and the body text.
pub async fn post_tls(
    sandbox: &Sandbox,
    client: &reqwest::Client,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let response = client
        .post(format!("{}{path}", sandbox.tls_url))
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub async fn wechat_sandbox() -> Sandbox {
    Sandbox::start(wechat_config(None)).await
}

pub fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Adds `appid`, `mch_id`, a nonce, `sign_type` (unless MD5) and the sign.
pub fn signed_xml(mut fields: Fields, sign_type: SignType) -> String {
    for (name, value) in [
        ("appid", WX_APP_ID),
        ("mch_id", MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
    ] {
        fields.entry(name.to_owned()).or_insert_with(|| value.to_owned());
    }
    if sign_type == SignType::HmacSha256 {
        fields.insert("sign_type".into(), sign_type.as_str().into());
    }
    let signature = sign(&fields, API_KEY, sign_type);
    fields.insert("sign".into(), signature);
    to_xml(&fields)
}

/// POSTs a raw body to a WeChat Pay path (`/secapi/` over TLS with the merchant
/// certificate, as WeChat requires); the answer's fields (always HTTP 200, XML).
pub async fn pay_raw(sandbox: &Sandbox, path: &str, body: impl Into<reqwest::Body>) -> Fields {
    let (status, text) = if path.starts_with("/secapi/") {
        let merchant = tls_client(Some(&merchant_certificate().identity_pem()));
        post_tls(sandbox, &merchant, path, body).await
    } else {
        super::post_raw(sandbox, path, body).await
    };
    assert_eq!(status, 200, "{path} answered {text}");
    parse_flat(text.as_bytes()).unwrap_or_else(|e| panic!("{path} answered non-XML {text:?}: {e}"))
}

/// POSTs `fields` signed with MD5; checks that a SUCCESS answer verifies.
pub async fn pay_call(sandbox: &Sandbox, path: &str, fields: Fields) -> Fields {
    let answer = pay_raw(sandbox, path, signed_xml(fields, SignType::Md5)).await;
    if answer["return_code"] == "SUCCESS" {
        assert!(verify(&answer, API_KEY), "{path} answer does not verify: {answer:?}");
    }
    answer
}

/// `result_code` FAIL's `err_code`, or "SUCCESS".
pub fn outcome(answer: &Fields) -> String {
    assert_eq!(answer["return_code"], "SUCCESS", "{answer:?}");
    match answer["result_code"].as_str() {
        "SUCCESS" => "SUCCESS".into(),
        _ => answer["err_code"].clone(),
    }
}

/// The fields of a JSAPI `unifiedorder` (total 1990) for `openid`.
pub fn wechat_order_fields(out_trade_no: &str, openid: &str) -> Fields {
    fields(&[
        ("body", "月卡 monthly pass"),
        ("out_trade_no", out_trade_no),
        ("total_fee", "1990"),
        ("spbill_create_ip", "203.0.113.7"),
        ("notify_url", NOWHERE),
        ("trade_type", "JSAPI"),
        ("openid", openid),
        ("attach", "coupon=A&x=1"),
    ])
}

/// Places a JSAPI order for `user`; returns its `prepay_id`.
pub async fn place_order(sandbox: &Sandbox, out_trade_no: &str, user: &str) -> String {
    let answer = pay_call(
        sandbox,
        UNIFIED_ORDER,
        wechat_order_fields(out_trade_no, &sandbox.wechat_openid_of(user)),
    )
    .await;
    assert_eq!(outcome(&answer), "SUCCESS", "{answer:?}");
    answer["prepay_id"].clone()
}

/// Places and pays an order (total 1990) without sending a notify.
pub async fn paid_wechat_order(sandbox: &Sandbox, out_trade_no: &str) {
    place_order(sandbox, out_trade_no, "alice").await;
    let quiet = WechatPayOptions {
        deliveries: 0,
        ..WechatPayOptions::default()
    };
    sandbox.wechat_pay(out_trade_no, quiet).await.unwrap();
}

pub async fn order_query(sandbox: &Sandbox, out_trade_no: &str) -> Fields {
    pay_call(sandbox, ORDER_QUERY, fields(&[("out_trade_no", out_trade_no)])).await
}

/// `refundquery` by one key (`refund_id`, `out_refund_no`, `transaction_id`, `out_trade_no`).
pub async fn refund_query(sandbox: &Sandbox, key: &str, value: &str) -> Fields {
    pay_call(sandbox, REFUND_QUERY, fields(&[(key, value)])).await
}

pub fn wechat_refund_fields(out_trade_no: &str, out_refund_no: &str, refund_fee: i64) -> Fields {
    let refund_fee = refund_fee.to_string();
    fields(&[
        ("out_trade_no", out_trade_no),
        ("out_refund_no", out_refund_no),
        ("total_fee", "1990"),
        ("refund_fee", &refund_fee),
        ("refund_desc", "用户申请退款"),
    ])
}

/// One notify as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub content_type: String,
    pub body: String,
}

impl Received {
    pub fn fields(&self) -> Fields {
        parse_flat(self.body.as_bytes()).unwrap()
    }
}

/// A stand-in backend notify endpoint: keeps every body, answers WeChat's SUCCESS XML,
/// and measures how many were in flight at once.
#[derive(Clone, Default)]
pub struct XmlReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    in_flight: Arc<AtomicUsize>,
    /// The most requests ever in at once; each waits until it reaches `gather`.
    max_in_flight: Arc<tokio::sync::watch::Sender<usize>>,
    gather: usize,
}

/// How long a request waits for the others of its group before answering alone (then
/// `max_in_flight` shows that they did not come together).
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

/// What a backend answers a notify it accepted (wechat.md §7).
pub const ACK: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

impl XmlReceiver {
    /// Answers each notify at once.
    pub async fn start() -> XmlReceiver {
        Self::gathering(1).await
    }

    /// Holds each notify until `gather` are in at the same time (or [`GATHER_TIMEOUT`]
    /// has passed): concurrent deliveries then show as `max_in_flight() >= gather`,
    /// with no timing guesses.
    pub async fn gathering(gather: usize) -> XmlReceiver {
        let mut receiver = XmlReceiver {
            gather,
            ..XmlReceiver::default()
        };
        let serving = receiver.clone();
        receiver.url = hub::mount("wechat/notify", move |headers, body| {
            receive(serving.clone(), headers, body)
        });
        receiver
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        *self.max_in_flight.borrow()
    }
}

async fn receive(receiver: XmlReceiver, headers: HeaderMap, body: Bytes) -> Response {
    let now = receiver.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    receiver.max_in_flight.send_if_modified(|max| {
        let higher = now > *max;
        *max = (*max).max(now);
        higher
    });
    // The most ever in at once only grows, so no waiter misses the moment the group was
    // complete. Either the group came in together, or the wait ends alone: both answer.
    let mut max_in_flight = receiver.max_in_flight.subscribe();
    let _ = tokio::time::timeout(GATHER_TIMEOUT, max_in_flight.wait_for(|max| *max >= receiver.gather)).await;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = String::from_utf8(body.to_vec()).unwrap();
    receiver.received.lock().unwrap().push(Received { content_type, body });
    receiver.in_flight.fetch_sub(1, Ordering::SeqCst);
    ACK.into_response()
}
