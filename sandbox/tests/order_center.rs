//! `v2/token` and `order/v2/push` over HTTP: token errors and rotation, expiry, and
//! the push's own envelope and strict `order_detail`.

mod common;

use common::*;
use sandbox::{Fault, FaultKind, Sandbox};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn token_request() -> Value {
    json!({ "appid": APP_ID, "secret": APP_SECRET, "grant_type": "client_credential" })
}

/// A fresh access token from `v2/token`.
async fn fetch_token(sandbox: &Sandbox) -> String {
    let (status, answer) = post(sandbox, ACCESS_TOKEN, &token_request()).await;
    assert_eq!((status, &answer["err_no"]), (200, &json!(0)), "{answer}");
    answer["data"]["access_token"].as_str().unwrap().to_owned()
}

fn order_detail() -> Value {
    json!({
        "order_id": "PO-1",
        "create_time": 1_722_769_986,
        "status": "已支付",
        "amount": 1,
        "total_price": 1990,
        "detail_url": "pages/order/detail?out_order_no=PO-1",
        "item_list": [{ "img": "https://example.com/pass.png", "title": "月卡 monthly pass", "price": 1990 }],
    })
}

/// A valid push body; `order_detail` is sent as a JSON string.
fn push_body(access_token: &str, detail: &Value) -> Value {
    json!({
        "access_token": access_token,
        "app_name": "douyin",
        "open_id": "_000openid",
        "update_time": 1_722_769_986_123_i64,
        "order_detail": detail.to_string(),
        "order_type": 0,
        "order_status": 1,
    })
}

async fn push(sandbox: &Sandbox, body: &Value) -> Value {
    let (status, answer) = post(sandbox, ORDER_PUSH, body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn assert_push_refused(answer: &Value, err_code: i64, needle: &str) {
    assert_eq!(answer["err_code"], err_code, "{answer}");
    assert!(
        answer["err_msg"].as_str().unwrap().contains(needle),
        "{answer} should mention {needle:?}"
    );
    assert_eq!(answer["body"], "");
    assert!(answer.get("err_no").is_none());
}

#[tokio::test]
async fn a_token_is_issued_for_the_app_credentials() {
    let sandbox = sandbox().await;
    let (status, answer) = post(&sandbox, ACCESS_TOKEN, &token_request()).await;
    assert_eq!(status, 200);
    assert_eq!((&answer["err_no"], &answer["err_tips"]), (&json!(0), &json!("success")));
    assert_eq!(answer["data"]["expires_in"], 7200);
    let token = answer["data"]["access_token"].as_str().unwrap();
    assert!(token.len() >= 32);
    assert_eq!(sandbox.tokens()[0].access_token, token);
    assert_eq!(sandbox.token_fetches(), 1);
}

#[tokio::test]
async fn token_errors_have_the_platform_numbers() {
    let sandbox = sandbox().await;
    let cases: [(&str, Value, i64); 5] = [
        ("appid", json!("tt_other"), 40015),
        ("secret", json!("wrong"), 40017),
        ("grant_type", json!("authorization_code"), 40020),
        ("grant_type", Value::Null, 40020),
        ("appid", json!(""), 40014),
    ];
    for (field, value, err_no) in cases {
        let mut body = token_request();
        body[field] = value.clone();
        let (status, answer) = post(&sandbox, ACCESS_TOKEN, &body).await;
        assert_eq!((status, &answer["err_no"]), (200, &json!(err_no)), "{field} = {value}");
        assert_eq!(answer["data"]["access_token"], "");
    }
    let (status, text) = post_raw(&sandbox, ACCESS_TOKEN, "appid=x").await;
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["err_no"], 40014);
    assert_eq!(sandbox.token_fetches(), 0, "only successes count");
    assert_eq!(sandbox.calls(ACCESS_TOKEN), 6);
}

#[tokio::test]
async fn a_new_token_cuts_earlier_ones_to_five_minutes() {
    let sandbox = sandbox().await;
    let first = fetch_token(&sandbox).await;
    let before = now_secs();
    let second = fetch_token(&sandbox).await;
    let tokens = sandbox.tokens();
    assert_eq!(
        (tokens[0].access_token.as_str(), tokens[1].access_token.as_str()),
        (first.as_str(), second.as_str())
    );
    assert!(tokens[0].expires_at <= now_secs() + 300, "{tokens:?}");
    assert!(
        tokens[0].expires_at >= before + 299,
        "cut to five minutes, not ended: {tokens:?}"
    );
    assert!(tokens[1].expires_at >= before + 7199, "{tokens:?}");
    // Both work until the first one's five minutes are over.
    assert_eq!(push(&sandbox, &push_body(&first, &order_detail())).await["err_code"], 0);
    assert_eq!(
        push(&sandbox, &push_body(&second, &order_detail())).await["err_code"],
        0
    );
    assert_eq!(sandbox.token_fetches(), 2);
}

#[tokio::test]
async fn expired_and_unknown_tokens_are_refused_with_40002() {
    let sandbox = sandbox().await;
    let token = fetch_token(&sandbox).await;
    sandbox.expire_tokens();
    let answer = push(&sandbox, &push_body(&token, &order_detail())).await;
    assert_eq!(
        answer,
        json!({ "err_code": 40002, "err_msg": "access_token invalid", "body": "" })
    );
    let answer = push(&sandbox, &push_body("made-up", &order_detail())).await;
    assert_eq!(answer["err_code"], 40002);
    let mut body = push_body(&token, &order_detail());
    body.as_object_mut().unwrap().remove("access_token");
    assert_eq!(push(&sandbox, &body).await["err_code"], 40002);
    assert!(sandbox.pushes().is_empty());

    // The refresh works.
    let fresh = fetch_token(&sandbox).await;
    assert_eq!(push(&sandbox, &push_body(&fresh, &order_detail())).await["err_code"], 0);
}

#[tokio::test]
async fn accepted_pushes_are_recorded_in_order() {
    let sandbox = sandbox().await;
    let token = fetch_token(&sandbox).await;
    let answer = push(&sandbox, &push_body(&token, &order_detail())).await;
    assert_eq!(answer, json!({ "err_code": 0, "err_msg": "", "body": "" }));
    let mut refunded = order_detail();
    refunded["status"] = json!("已退款");
    let mut body = push_body(&token, &refunded);
    body["order_status"] = json!(6);
    body["update_time"] = json!(1_722_769_999_000_i64);
    body["extra"] = json!("{}");
    push(&sandbox, &body).await;

    let pushes = sandbox.pushes();
    assert_eq!(pushes.len(), 2);
    let first = &pushes[0];
    assert_eq!(
        (first.open_id.as_str(), first.access_token.as_str()),
        ("_000openid", token.as_str())
    );
    assert_eq!(
        (first.order_status, first.order_type, first.update_time),
        (1, 0, 1_722_769_986_123)
    );
    assert_eq!(first.order_detail, order_detail());
    assert_eq!(
        first.body["order_detail"],
        order_detail(),
        "the body holds the parsed detail"
    );
    assert_eq!(first.body["app_name"], "douyin");
    assert_eq!(
        (pushes[1].order_status, &pushes[1].order_detail["status"]),
        (6, &json!("已退款"))
    );
    assert_eq!(pushes[1].body["extra"], "{}");
}

#[tokio::test]
async fn a_bad_order_detail_is_refused_with_40014_naming_the_field() {
    let sandbox = sandbox().await;
    let token = fetch_token(&sandbox).await;
    let mut bad_details: Vec<(Value, &str)> = Vec::new();
    let mut change = |edit: fn(&mut Value), needle: &'static str| {
        let mut detail = order_detail();
        edit(&mut detail);
        bad_details.push((detail, needle));
    };
    change(|d| d["total_price"] = json!(19.9), "order_detail.total_price");
    change(|d| d["create_time"] = json!("1722769986"), "order_detail.create_time");
    change(|d| d["order_id"] = json!(""), "order_detail.order_id");
    change(|d| d["item_list"] = json!([]), "order_detail.item_list");
    change(
        |d| d["item_list"][0]["img"] = json!(""),
        "order_detail.item_list[0].img",
    );
    change(
        |d| d["item_list"][0]["title"] = Value::Null,
        "order_detail.item_list[0].title",
    );
    change(
        |d| d["item_list"][0]["price"] = json!(1.5),
        "order_detail.item_list[0].price",
    );
    change(
        |d| drop(d.as_object_mut().unwrap().remove("detail_url")),
        "order_detail.detail_url",
    );
    for (detail, needle) in bad_details {
        assert_push_refused(&push(&sandbox, &push_body(&token, &detail)).await, 40014, needle);
    }
    // Sent as an object rather than a JSON string, or not JSON inside.
    let mut body = push_body(&token, &order_detail());
    body["order_detail"] = order_detail();
    assert_push_refused(&push(&sandbox, &body).await, 40014, "order_detail must be a string");
    body["order_detail"] = json!("{not json");
    assert_push_refused(&push(&sandbox, &body).await, 40014, "order_detail is not valid JSON");
    assert!(sandbox.pushes().is_empty());
}

#[tokio::test]
async fn other_push_fields_have_their_own_codes() {
    let sandbox = sandbox().await;
    let token = fetch_token(&sandbox).await;
    let cases: [(&str, Value, i64); 10] = [
        ("app_name", json!("toutiao"), 40016),
        ("app_name", Value::Null, 40016),
        ("open_id", json!(""), 40003),
        ("open_id", json!(7), 40003),
        ("update_time", json!(1_722_769_986), 40014), // seconds, not milliseconds
        ("update_time", json!("1722769986123"), 40014),
        ("order_status", json!(3), 40014),
        ("order_status", Value::Null, 40014),
        ("order_type", json!("0"), 40014),
        ("scene", json!(1), 40014),
    ];
    for (field, value, err_code) in cases {
        let mut body = push_body(&token, &order_detail());
        body[field] = value.clone();
        let answer = push(&sandbox, &body).await;
        assert_eq!(answer["err_code"], err_code, "{field} = {value}: {answer}");
        if err_code == 40014 {
            assert!(answer["err_msg"].as_str().unwrap().contains(field), "{answer}");
        }
    }
    let (status, text) = post_raw(&sandbox, ORDER_PUSH, "not json").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["err_code"], 40014);
    for status in [0, 2, 4, 5, 8] {
        let mut body = push_body(&token, &order_detail());
        body["order_status"] = json!(status);
        assert_eq!(push(&sandbox, &body).await["err_code"], 0);
    }
    assert_eq!(sandbox.pushes().len(), 5);
    assert_eq!(sandbox.calls(ORDER_PUSH), 16);
}

#[tokio::test]
async fn faults_apply_to_the_token_and_push_paths() {
    let sandbox = sandbox().await;
    sandbox.set_fault(Fault::before(ACCESS_TOKEN, FaultKind::Status(503), 1));
    assert_eq!(
        post_raw(&sandbox, ACCESS_TOKEN, token_request().to_string()).await.0,
        503
    );
    assert_eq!(sandbox.token_fetches(), 0);
    let token = fetch_token(&sandbox).await;
    sandbox.set_fault(Fault::before(ORDER_PUSH, FaultKind::Garbage, 1));
    let (status, text) = post_raw(&sandbox, ORDER_PUSH, push_body(&token, &order_detail()).to_string()).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(sandbox.pushes().is_empty());
    assert_eq!(sandbox.calls(ACCESS_TOKEN), 2);
}
