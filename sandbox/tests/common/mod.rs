//! Shared test helpers: a sandbox with known credentials, signed ecpay bodies, and a
//! tiny callback receiver that verifies what it gets like a real backend would.
#![allow(dead_code)] // each test file uses a different subset

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing;
use minipay::douyin::sign::{ecpay_sign, verify_callback};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Map, Value, json};
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

pub fn config(notify_url: Option<String>) -> SandboxConfig {
    SandboxConfig {
        app_id: APP_ID.into(),
        app_secret: APP_SECRET.into(),
        salt: SALT.into(),
        token: TOKEN.into(),
        notify_url,
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

pub async fn get(sandbox: &Sandbox, path: &str) -> (u16, Value) {
    let response = http().get(format!("{}{path}", sandbox.base_url)).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Adds `app_id` and the `sign` computed over exactly these values.
pub fn signed(fields: Value) -> Value {
    let mut fields: Map<String, Value> = fields.as_object().unwrap().clone();
    fields.insert("app_id".into(), json!(APP_ID));
    let sign = ecpay_sign(&fields, SALT).unwrap();
    fields.insert("sign".into(), json!(sign));
    Value::Object(fields)
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

/// A stand-in backend notify endpoint: verifies each callback with the Token, keeps
/// the raw bodies, answers success or 400, and measures how many were in flight at once.
#[derive(Clone, Default)]
pub struct Receiver {
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    delay: Duration,
}

impl Receiver {
    pub async fn start(delay: Duration) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut receiver = Receiver {
            delay,
            ..Receiver::default()
        };
        receiver.url = format!("http://{}/notify", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/notify", routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
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

async fn receive(State(receiver): State<Receiver>, body: Bytes) -> (StatusCode, String) {
    let now = receiver.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    receiver.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(receiver.delay).await;
    let text = String::from_utf8(body.to_vec()).unwrap();
    receiver.bodies.lock().unwrap().push(text.clone());
    receiver.in_flight.fetch_sub(1, Ordering::SeqCst);
    let envelope: Value = serde_json::from_str(&text).unwrap();
    let field = |name: &str| envelope[name].as_str().unwrap_or_default().to_owned();
    if verify_callback(
        TOKEN,
        &field("timestamp"),
        &field("nonce"),
        &field("msg"),
        &field("msg_signature"),
    ) {
        (StatusCode::OK, r#"{"err_no":0,"err_tips":"success"}"#.into())
    } else {
        (
            StatusCode::BAD_REQUEST,
            r#"{"err_no":1,"err_tips":"bad signature"}"#.into(),
        )
    }
}

/// Whether a callback body verifies with the console Token.
pub fn verifies(envelope: &Value) -> bool {
    let field = |name: &str| envelope[name].as_str().unwrap().to_owned();
    verify_callback(
        TOKEN,
        &field("timestamp"),
        &field("nonce"),
        &field("msg"),
        &field("msg_signature"),
    )
}
