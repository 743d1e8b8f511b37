//! `jscode2session` over HTTP: one-time codes, stable openids, the platform's errors.

mod common;

use common::*;
use serde_json::{Value, json};

fn login_body(code: &str) -> Value {
    json!({ "appid": APP_ID, "secret": APP_SECRET, "code": code, "anonymous_code": "" })
}

#[tokio::test]
async fn a_login_code_works_once() {
    let sandbox = sandbox().await;
    let code = sandbox.login_code("alice");
    let (status, first) = post(&sandbox, JSCODE2SESSION, &login_body(&code)).await;
    assert_eq!(status, 200);
    assert_eq!(first["err_no"], 0);
    assert_eq!(first["err_tips"], "success");
    assert_eq!(first["data"]["openid"], sandbox.openid_of("alice"));
    assert!(!first["data"]["session_key"].as_str().unwrap().is_empty());
    assert!(!first["data"]["unionid"].as_str().unwrap().is_empty());

    let (status, second) = post(&sandbox, JSCODE2SESSION, &login_body(&code)).await;
    assert_eq!(status, 200);
    assert_eq!(second["err_no"], 40018);
    assert_eq!(second["err_tips"], "bad code");
    // On errors `data` is still there, with empty strings.
    assert_eq!(second["data"]["openid"], "");
    assert_eq!(second["data"]["session_key"], "");
    assert_eq!(sandbox.calls(JSCODE2SESSION), 2);
}

#[tokio::test]
async fn openids_are_stable_per_user_and_distinct_between_users() {
    let sandbox = sandbox().await;
    let mut openids = Vec::new();
    for user in ["alice", "alice", "bob"] {
        let (_, answer) = post(&sandbox, JSCODE2SESSION, &login_body(&sandbox.login_code(user))).await;
        openids.push(answer["data"]["openid"].as_str().unwrap().to_owned());
    }
    assert_eq!(openids[0], openids[1]);
    assert_ne!(openids[0], openids[2]);
    assert_eq!(openids[2], sandbox.openid_of("bob"));
}

#[tokio::test]
async fn bad_credentials_and_codes_get_the_platform_errors() {
    let sandbox = sandbox().await;
    let code = sandbox.login_code("alice");
    let cases = [
        (
            json!({ "appid": "tt_other", "secret": APP_SECRET, "code": code }),
            40015,
            "bad appid",
        ),
        (
            json!({ "appid": APP_ID, "secret": "wrong", "code": code }),
            40017,
            "bad secret",
        ),
        (
            json!({ "appid": APP_ID, "secret": APP_SECRET, "code": "", "anonymous_code": "" }),
            40014,
            "",
        ),
        (json!({ "appid": APP_ID, "secret": APP_SECRET }), 40014, ""),
        (
            json!({ "appid": APP_ID, "secret": APP_SECRET, "code": "never-issued" }),
            40018,
            "bad code",
        ),
        (
            json!({ "appid": APP_ID, "secret": APP_SECRET, "anonymous_code": "anon" }),
            40019,
            "bad anonymous code",
        ),
    ];
    for (body, err_no, tips) in cases {
        let (status, answer) = post(&sandbox, JSCODE2SESSION, &body).await;
        assert_eq!((status, &answer["err_no"]), (200, &json!(err_no)), "{body} -> {answer}");
        if !tips.is_empty() {
            assert_eq!(answer["err_tips"], tips);
        }
        assert_eq!(answer["data"]["openid"], "");
    }
    // The refused attempts with a wrong appid or secret did not spend the code.
    let (_, answer) = post(&sandbox, JSCODE2SESSION, &login_body(&code)).await;
    assert_eq!(answer["err_no"], 0);
}

#[tokio::test]
async fn malformed_json_is_a_400_with_an_err_no() {
    let sandbox = sandbox().await;
    let (status, text) = post_raw(&sandbox, JSCODE2SESSION, "{not json").await;
    assert_eq!(status, 400);
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["err_no"], 40014);
    let (status, _) = post_raw(&sandbox, JSCODE2SESSION, "[1, 2]").await;
    assert_eq!(status, 400);
}
