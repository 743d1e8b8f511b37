//! Shared test helpers: a sandbox with known credentials, signed ecpay bodies, and a
//! tiny callback receiver that verifies what it gets like a real backend would.
#![allow(dead_code)] // each test file uses a different subset

pub mod hub;
pub mod trade;
pub mod wechat;
pub mod wechat_v3;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use md5::Md5;
use sandbox::{PayOptions, Sandbox, SandboxConfig};
use serde_json::{Map, Value, json};
use sha1::{Digest as _, Sha1};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const APP_ID: &str = "tt_sandbox_test_app";
pub const APP_SECRET: &str = "sandbox-app-secret";
pub const SALT: &str = "oDxWDBr4U7FAAQ8hnGDm29i4A6pbTMDKme4WLLvA";
pub const TOKEN: &str = "douyin_mini_token";
pub const CREATE_ORDER: &str = "/api/apps/ecpay/v1/create_order";
pub const QUERY_ORDER: &str = "/api/apps/ecpay/v1/query_order";
pub const JSCODE2SESSION: &str = "/api/apps/v2/jscode2session";
pub const CREATE_REFUND: &str = "/api/apps/ecpay/v1/create_refund";
pub const QUERY_REFUND: &str = "/api/apps/ecpay/v1/query_refund";
pub const SETTLE: &str = "/api/apps/ecpay/v1/settle";
pub const QUERY_SETTLE: &str = "/api/apps/ecpay/v1/query_settle";
pub const ACCESS_TOKEN: &str = "/api/apps/v2/token";
pub const ORDER_PUSH: &str = "/api/apps/order/v2/push";

/// The test app, with `notify_url` in its console, and the tunnel to the test backends.
pub fn config(notify_url: Option<String>) -> SandboxConfig {
    SandboxConfig {
        app_id: APP_ID.into(),
        app_secret: APP_SECRET.into(),
        salt: SALT.into(),
        token: TOKEN.into(),
        notify_url,
        wechat: None,
        trade: None,
        tunnel: Some(hub::tunnel()),
    }
}

pub async fn sandbox() -> Sandbox {
    Sandbox::start(config(None)).await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POSTs raw bytes; returns the status and the body text.
pub async fn post_raw(sandbox: &Sandbox, path: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let response = http()
        .post(format!("{}{path}", sandbox.base_url))
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// POSTs JSON; returns the status and the body parsed as JSON.
pub async fn post(sandbox: &Sandbox, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = post_raw(sandbox, path, serde_json::to_vec(body).unwrap()).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} answered non-JSON {text:?}: {e}")),
    )
}

/// PUTs JSON; returns the status and the body parsed as JSON.
pub async fn put(sandbox: &Sandbox, path: &str, body: &Value) -> (u16, Value) {
    let response = http()
        .put(format!("{}{path}", sandbox.base_url))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub async fn get(sandbox: &Sandbox, path: &str) -> (u16, Value) {
    let response = http().get(format!("{}{path}", sandbox.base_url)).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The ecpay `sign` of flat `fields` (strings and numbers, none wrapped in quotes),
/// derived here from douyin.md §4 rather than taken from the sandbox: the values but
/// `app_id`'s, empty ones left out, plus `salt`, sorted, joined with `&`, MD5, lower hex.
pub fn sign_with(fields: &Map<String, Value>, salt: &str) -> String {
    let mut parts: Vec<String> = fields
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "app_id" | "thirdparty_id" | "sign"))
        .map(|(_, value)| match value {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.to_string(),
            other => panic!("the test signer takes strings and numbers, not {other}"),
        })
        .filter(|text| !text.is_empty())
        .collect();
    parts.push(salt.to_owned());
    parts.sort();
    hex::encode(Md5::digest(parts.join("&").as_bytes()))
}

/// Adds `app_id` and the `sign` computed over exactly these values.
pub fn signed(fields: Value) -> Value {
    let mut fields: Map<String, Value> = fields.as_object().unwrap().clone();
    fields.insert("app_id".into(), json!(APP_ID));
    let sign = sign_with(&fields, SALT);
    fields.insert("sign".into(), json!(sign));
    Value::Object(fields)
}

/// Whether `signature` is the `msg_signature` of douyin.md §5, derived here: SHA-1 of
/// the Token, timestamp, nonce and msg sorted and concatenated, in lower-case hex (the
/// platform's case; an upper-case signature does not count).
pub fn callback_signature_matches(timestamp: &str, nonce: &str, msg: &str, signature: &str) -> bool {
    let mut parts = [TOKEN, timestamp, nonce, msg];
    parts.sort();
    let mut sha1 = Sha1::new();
    for part in parts {
        sha1.update(part.as_bytes());
    }
    hex::encode(sha1.finalize()) == signature
}

pub fn order_fields(out_order_no: &str) -> Value {
    json!({
        "out_order_no": out_order_no,
        "total_amount": 1990,
        "subject": "月卡 monthly pass",
        "body": "30 天会员",
        "valid_time": 900,
    })
}

/// Creates an order with a correct sign and returns the `data` of the answer.
pub async fn create_order(sandbox: &Sandbox, fields: Value) -> Value {
    let (status, answer) = post(sandbox, CREATE_ORDER, &signed(fields)).await;
    assert_eq!(
        (status, &answer["err_no"]),
        (200, &json!(0)),
        "create_order answered {answer}"
    );
    answer["data"].clone()
}

pub async fn query_order(sandbox: &Sandbox, out_order_no: &str) -> Value {
    let (status, answer) = post(sandbox, QUERY_ORDER, &signed(json!({ "out_order_no": out_order_no }))).await;
    assert_eq!(status, 200);
    answer
}

/// POSTs a signed ecpay body made of `fields`; returns the answer (always HTTP 200).
pub async fn ecpay(sandbox: &Sandbox, path: &str, fields: Value) -> Value {
    let (status, answer) = post(sandbox, path, &signed(fields)).await;
    assert_eq!(status, 200, "{path} answered {answer}");
    answer
}

/// The `err_no` and `err_tips` of an answer.
pub fn err(answer: &Value) -> (i64, String) {
    (
        answer["err_no"].as_i64().unwrap(),
        answer["err_tips"].as_str().unwrap().to_owned(),
    )
}

/// Creates an order (total 1990) and pays it without sending a callback.
pub async fn paid_order(sandbox: &Sandbox, out_order_no: &str) {
    create_order(sandbox, order_fields(out_order_no)).await;
    let options = PayOptions {
        deliveries: 0,
        notify_url: Some(hub::NOWHERE.into()),
        ..PayOptions::default()
    };
    sandbox.pay(out_order_no, options).await.unwrap();
}

/// Creates and pays an order (total 1990) without a callback, then lets the 7 days
/// pass after which the platform settles it.
pub async fn settleable_order(sandbox: &Sandbox, out_order_no: &str) {
    paid_order(sandbox, out_order_no).await;
    sandbox.age_order(out_order_no, 8).unwrap();
}

pub fn refund_fields(out_order_no: &str, out_refund_no: &str, refund_amount: i64) -> Value {
    json!({
        "out_order_no": out_order_no,
        "out_refund_no": out_refund_no,
        "reason": "用户申请退款",
        "refund_amount": refund_amount,
    })
}

/// `settle_params` is a JSON string, as sent on the wire.
pub fn settle_fields(out_order_no: &str, out_settle_no: &str, receivers: Value) -> Value {
    json!({
        "out_order_no": out_order_no,
        "out_settle_no": out_settle_no,
        "settle_desc": "主动结算",
        "settle_params": receivers.to_string(),
    })
}

/// The parsed `msg` of a callback envelope.
pub fn msg_of(envelope: &Value) -> Value {
    serde_json::from_str(envelope["msg"].as_str().unwrap()).unwrap()
}

/// The keys of the raw `msg` string in the order they were sent (serde_json's `Value`
/// would sort them).
pub fn msg_keys(envelope: &Value) -> Vec<String> {
    let msg = envelope["msg"].as_str().unwrap();
    let mut keys: Vec<(usize, String)> = msg_of(envelope)
        .as_object()
        .unwrap()
        .keys()
        .map(|key| (msg.find(&format!("\"{key}\":")).unwrap(), key.clone()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, key)| key).collect()
}

/// A stand-in backend notify endpoint: verifies each callback with the Token, keeps
/// the raw bodies, answers success or 400, and measures how many were in flight at once.
#[derive(Clone, Default)]
pub struct Receiver {
    /// Its public https URL (see [`hub`]).
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    delay: Duration,
}

impl Receiver {
    pub async fn start(delay: Duration) -> Receiver {
        let mut receiver = Receiver {
            delay,
            ..Receiver::default()
        };
        let serving = receiver.clone();
        receiver.url = hub::mount("notify", move |_, body| receive(serving.clone(), body));
        receiver
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn receive(receiver: Receiver, body: Bytes) -> axum::response::Response {
    let now = receiver.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    receiver.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(receiver.delay).await;
    let text = String::from_utf8(body.to_vec()).unwrap();
    receiver.bodies.lock().unwrap().push(text.clone());
    receiver.in_flight.fetch_sub(1, Ordering::SeqCst);
    let envelope: Value = serde_json::from_str(&text).unwrap();
    let field = |name: &str| envelope[name].as_str().unwrap_or_default().to_owned();
    if callback_signature_matches(
        &field("timestamp"),
        &field("nonce"),
        &field("msg"),
        &field("msg_signature"),
    ) {
        (StatusCode::OK, r#"{"err_no":0,"err_tips":"success"}"#).into_response()
    } else {
        (StatusCode::BAD_REQUEST, r#"{"err_no":1,"err_tips":"bad signature"}"#).into_response()
    }
}

/// Whether a callback body verifies with the console Token.
pub fn verifies(envelope: &Value) -> bool {
    let field = |name: &str| envelope[name].as_str().unwrap().to_owned();
    callback_signature_matches(
        &field("timestamp"),
        &field("nonce"),
        &field("msg"),
        &field("msg_signature"),
    )
}
