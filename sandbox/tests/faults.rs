//! Injected faults, each kind, over HTTP.

mod common;

use common::*;
use sandbox::{Fault, FaultKind};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn fault(prefix: &str, kind: FaultKind, times: usize) -> Fault {
    Fault::before(prefix, kind, times)
}

#[tokio::test]
async fn a_status_fault_answers_that_status_then_wears_off() {
    let sandbox = sandbox().await;
    sandbox.set_fault(fault("/api/apps/ecpay", FaultKind::Status(503), 2));
    let body = serde_json::to_vec(&signed(order_fields("F-1"))).unwrap();
    for _ in 0..2 {
        let (status, text) = post_raw(&sandbox, CREATE_ORDER, body.clone()).await;
        assert_eq!(status, 503);
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    // The faulted calls never reached the platform.
    assert!(sandbox.order("F-1").is_none());
    create_order(&sandbox, order_fields("F-1")).await;
    assert_eq!(sandbox.calls(CREATE_ORDER), 3);
}

#[tokio::test]
async fn garbage_is_a_200_that_is_not_json() {
    let sandbox = sandbox().await;
    sandbox.set_fault(fault(JSCODE2SESSION, FaultKind::Garbage, 1));
    let body = json!({ "appid": APP_ID, "secret": APP_SECRET, "code": sandbox.login_code("alice") });
    let (status, text) = post_raw(&sandbox, JSCODE2SESSION, serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    // The code was not spent by the faulted call.
    let (_, answer) = post(&sandbox, JSCODE2SESSION, &body).await;
    assert_eq!(answer["err_no"], 0);
}

#[tokio::test]
async fn a_platform_error_is_a_200_envelope() {
    let sandbox = sandbox().await;
    let kind = FaultKind::PlatformError {
        err_no: 1000,
        err_tips: "系统错误".into(),
    };
    sandbox.set_fault(fault("/api/apps/ecpay/v1/query_order", kind, 1));
    create_order(&sandbox, order_fields("F-2")).await; // other paths are untouched
    let answer = query_order(&sandbox, "F-2").await;
    assert_eq!(answer, json!({ "err_no": 1000, "err_tips": "系统错误" }));
    assert_eq!(query_order(&sandbox, "F-2").await["err_no"], 0);
}

#[tokio::test]
async fn a_hang_delays_then_answers_normally() {
    let sandbox = sandbox().await;
    sandbox.set_fault(fault(CREATE_ORDER, FaultKind::Hang(Duration::from_millis(400)), 2));
    let started = Instant::now();
    create_order(&sandbox, order_fields("F-3")).await;
    assert!(started.elapsed() >= Duration::from_millis(400));

    // A client with a shorter timeout gives up.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let result = impatient
        .post(format!("{}{CREATE_ORDER}", sandbox.base_url))
        .json(&signed(order_fields("F-4")))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
}

#[tokio::test]
async fn faults_skip_the_control_api_and_can_be_cleared() {
    let sandbox = sandbox().await;
    sandbox.set_fault(fault("/", FaultKind::Status(500), 5));
    let (status, _) = get(&sandbox, "/sandbox/calls").await;
    assert_eq!(status, 200);
    let (status, _) = post_raw(&sandbox, CREATE_ORDER, "{}").await;
    assert_eq!(status, 500);
    sandbox.clear_faults();
    create_order(&sandbox, order_fields("F-5")).await;
}

#[tokio::test]
async fn every_request_is_counted_by_exact_path() {
    let sandbox = sandbox().await;
    assert_eq!(sandbox.calls(CREATE_ORDER), 0);
    sandbox.set_fault(fault("/api", FaultKind::Garbage, 1));
    post_raw(&sandbox, CREATE_ORDER, "{}").await; // faulted
    post_raw(&sandbox, CREATE_ORDER, "{}").await; // refused: no app_id
    post_raw(&sandbox, "/api/apps/ecpay/v1/create_order/", "{}").await; // another path
    let (status, answer) = post(&sandbox, "/api/unknown", &json!({})).await;
    assert_eq!(
        (status, answer),
        (404, json!({ "err_no": 40014, "err_tips": "unknown path" }))
    );
    let (status, answer) = get(&sandbox, CREATE_ORDER).await; // wrong method
    assert_eq!((status, &answer["err_no"]), (405, &json!(40014)));
    assert_eq!(sandbox.calls(CREATE_ORDER), 3);
    assert_eq!(sandbox.calls("/api/unknown"), 1);
    assert_eq!(sandbox.calls("/api/apps/ecpay/v1/create_order/"), 1);
}
