//! Trade-system test helpers: a sandbox with generated RSA keys, a `byteAuthorization`
//! signed here (independently of the sandbox's own code), the developer APIs with a
//! client token, and a callback receiver that verifies `Byte-Signature` like a backend.

use super::{config, http, hub, post};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sandbox::trade_keys::{self, TradeKeys};
use sandbox::{CallbackOptions, Sandbox, SandboxConfig, TradePayOptions};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};

pub const CLIENT_TOKEN: &str = "/oauth/client_token/";
pub const ORDER_QUERY: &str = "/api/trade_basic/v1/developer/order_query/";
pub const REFUND_CREATE: &str = "/api/trade_basic/v1/developer/refund_create/";
pub const REFUND_QUERY: &str = "/api/trade_basic/v1/developer/refund_query/";
pub const SETTLE_CREATE: &str = "/api/trade_basic/v1/developer/settle_create/";
pub const SETTLE_QUERY: &str = "/api/trade_basic/v1/developer/settle_query/";
pub use super::hub::NOWHERE;

/// One set of keys per test process (RSA generation is slow in debug builds).
pub fn keys() -> &'static TradeKeys {
    static KEYS: OnceLock<TradeKeys> = OnceLock::new();
    KEYS.get_or_init(trade_keys::generate)
}

pub fn trade_config(notify_url: Option<String>) -> SandboxConfig {
    SandboxConfig {
        trade: Some(keys().sandbox_config("1")),
        ..config(notify_url)
    }
}

pub async fn trade_sandbox() -> Sandbox {
    Sandbox::start(trade_config(None)).await
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

fn pem_der(text: &str) -> Vec<u8> {
    pem::parse(text).unwrap().into_contents()
}

/// SHA256withRSA (PKCS#1 v1.5) of `message` with a PKCS#8 PEM key, standard Base64.
pub fn rsa_sign(private_pem: &str, message: &str) -> String {
    let key = RsaKeyPair::from_pkcs8(&pem_der(private_pem)).unwrap();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    STANDARD.encode(signature)
}

pub fn rsa_verify(public_pem: &str, message: &str, signature_base64: &str) -> bool {
    let Ok(signature) = STANDARD.decode(signature_base64) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pem_der(public_pem))
        .verify(message.as_bytes(), &signature)
        .is_ok()
}

/// `byteAuthorization` as the backend builds it (unquoted, the requestOrder page's form).
pub fn authorization_with(data: &str, timestamp: i64, key_version: &str, private_pem: &str) -> String {
    let nonce = "7CC7D26A52F05BA5CFD0A1B2C3D4E5F6";
    let signed = format!("POST\n/requestOrder\n{timestamp}\n{nonce}\n{data}\n");
    let signature = rsa_sign(private_pem, &signed);
    format!(
        "SHA256-RSA2048 appid={},nonce_str={nonce},timestamp={timestamp},key_version={key_version},signature={signature}",
        super::APP_ID
    )
}

pub fn authorization(data: &str) -> String {
    authorization_with(data, now_secs(), "1", &keys().app_private_pem)
}

/// A `data` for one sku of `price` × `quantity`.
pub fn order_data(out_order_no: &str, price: i64, quantity: i64) -> Value {
    json!({
        "skuList": [{
            "skuId": "vip-30",
            "price": price,
            "quantity": quantity,
            "title": "月卡 monthly pass",
            "imageList": ["https://cdn.example.com/vip.png"],
            "type": 401,
            "tagGroupId": "tag_group_7272625659888041996",
        }],
        "outOrderNo": out_order_no,
        "totalAmount": price * quantity,
        "payExpireSeconds": 900,
        "orderEntrySchema": { "path": "pages/order/detail", "params": format!("{{\"no\":\"{out_order_no}\"}}") },
    })
}

/// Makes the order through `tt.requestOrder`; returns its order id.
pub fn request_order(sandbox: &Sandbox, data: &Value) -> String {
    let data = data.to_string();
    sandbox
        .trade_request_order(&data, &authorization(&data))
        .unwrap_or_else(|e| panic!("requestOrder refused: {e}"))
}

/// Makes and pays an order without sending a callback; returns its order id.
pub async fn paid_trade_order(sandbox: &Sandbox, out_order_no: &str, price: i64, quantity: i64) -> String {
    let order_id = request_order(sandbox, &order_data(out_order_no, price, quantity));
    sandbox.trade_pay(out_order_no, quiet_pay()).await.unwrap();
    order_id
}

/// Makes and pays an order without a callback, then lets the 7 days pass after which
/// the platform settles it; returns its order id.
pub async fn settleable_trade_order(sandbox: &Sandbox, out_order_no: &str, price: i64, quantity: i64) -> String {
    let order_id = paid_trade_order(sandbox, out_order_no, price, quantity).await;
    sandbox.trade_age_order(out_order_no, 8).unwrap();
    order_id
}

pub fn quiet() -> CallbackOptions {
    CallbackOptions {
        deliveries: 0,
        notify_url: Some(NOWHERE.into()),
        ..CallbackOptions::default()
    }
}

pub fn quiet_pay() -> TradePayOptions {
    TradePayOptions {
        callback: quiet(),
        ..TradePayOptions::default()
    }
}

/// A fresh client token.
pub async fn client_token(sandbox: &Sandbox) -> String {
    let body =
        json!({ "grant_type": "client_credential", "client_key": super::APP_ID, "client_secret": super::APP_SECRET });
    let (status, answer) = post(sandbox, CLIENT_TOKEN, &body).await;
    assert_eq!((status, &answer["data"]["error_code"]), (200, &json!(0)), "{answer}");
    answer["data"]["access_token"].as_str().unwrap().to_owned()
}

/// POSTs a developer API with `access-token: token`; the answer (always HTTP 200).
pub async fn developer(sandbox: &Sandbox, path: &str, token: &str, body: &Value) -> Value {
    let response = http()
        .post(format!("{}{path}", sandbox.base_url))
        .header("access-token", token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let answer: Value = response.json().await.unwrap();
    assert!(answer["log_id"].as_str().is_some_and(|id| !id.is_empty()), "{answer}");
    answer
}

/// `(err_no, err_msg)`.
pub fn trade_err(answer: &Value) -> (i64, String) {
    (
        answer["err_no"].as_i64().unwrap(),
        answer["err_msg"].as_str().unwrap().to_owned(),
    )
}

/// One callback as received, and whether its `Byte-Signature` verified with the
/// platform public key over `timestamp\nnonce\nbody\n`.
#[derive(Debug, Clone)]
pub struct TradeCallback {
    pub headers: HeaderMap,
    pub body: String,
    pub verified: bool,
}

impl TradeCallback {
    pub fn envelope(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn msg(&self) -> Value {
        serde_json::from_str(self.envelope()["msg"].as_str().unwrap()).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }
}

/// A stand-in backend notify endpoint: keeps every callback and answers with `reply`
/// (by default `{"err_no":0,"err_tips":"success"}`).
#[derive(Clone)]
pub struct TradeReceiver {
    /// Its public https URL (see [`hub`]).
    pub url: String,
    received: Arc<Mutex<Vec<TradeCallback>>>,
    reply: Arc<Mutex<String>>,
}

impl TradeReceiver {
    pub async fn start() -> TradeReceiver {
        let mut receiver = TradeReceiver {
            url: String::new(),
            received: Arc::default(),
            reply: Arc::new(Mutex::new(r#"{"err_no":0,"err_tips":"success"}"#.into())),
        };
        let serving = receiver.clone();
        receiver.url = hub::mount("trade/notify", move |headers, body| {
            receive(serving.clone(), headers, body)
        });
        receiver
    }

    pub fn reply_with(&self, reply: Value) {
        *self.reply.lock().unwrap() = reply.to_string();
    }

    pub fn received(&self) -> Vec<TradeCallback> {
        self.received.lock().unwrap().clone()
    }

    pub fn last(&self) -> TradeCallback {
        self.received().pop().expect("a callback was received")
    }
}

async fn receive(receiver: TradeReceiver, headers: HeaderMap, body: Bytes) -> Response {
    let body = String::from_utf8(body.to_vec()).unwrap();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let signed = format!("{}\n{}\n{body}\n", header("Byte-Timestamp"), header("Byte-Nonce-Str"));
    let verified = rsa_verify(&keys().platform_public_pem, &signed, header("Byte-Signature"));
    receiver.received.lock().unwrap().push(TradeCallback {
        headers: headers.clone(),
        body,
        verified,
    });
    let reply = receiver.reply.lock().unwrap().clone();
    reply.into_response()
}
