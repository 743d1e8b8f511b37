//! WeChat `sns/jscode2session` over HTTP: single-use codes, stable openids, WeChat's
//! errors (and no `errcode` at all on success).

mod common;

use common::wechat::*;
use common::*;
use sandbox::{Fault, FaultKind, Sandbox};
use serde_json::{Value, json};

fn login_path(appid: &str, secret: &str, code: &str, grant_type: &str) -> String {
    format!("{WX_JSCODE2SESSION}?appid={appid}&secret={secret}&js_code={code}&grant_type={grant_type}")
}

async fn login(sandbox: &Sandbox, code: &str) -> Value {
    let (status, answer) = get(
        sandbox,
        &login_path(WX_APP_ID, WX_APP_SECRET, code, "authorization_code"),
    )
    .await;
    assert_eq!(status, 200);
    answer
}

#[tokio::test]
async fn a_code_logs_in_once_then_counts_as_used() {
    let sandbox = wechat_sandbox().await;
    let code = sandbox.wechat_login_code("alice");
    let first = login(&sandbox, &code).await;
    let object = first.as_object().unwrap();
    assert!(!object.contains_key("errcode"), "{first}");
    assert_eq!(first["openid"], sandbox.wechat_openid_of("alice"));
    assert_eq!(first["session_key"].as_str().unwrap().len(), 24);
    assert!(first["unionid"].as_str().unwrap().starts_with('o'));

    let again = login(&sandbox, &code).await;
    assert_eq!(again, json!({ "errcode": 40163, "errmsg": "code been used" }));
    let unknown = login(&sandbox, "never-issued").await;
    assert_eq!(unknown, json!({ "errcode": 40029, "errmsg": "invalid code" }));
    assert_eq!(sandbox.calls(WX_JSCODE2SESSION), 3);
}

#[tokio::test]
async fn openids_are_stable_and_not_the_douyin_ones() {
    let sandbox = wechat_sandbox().await;
    let first = login(&sandbox, &sandbox.wechat_login_code("alice")).await;
    let second = login(&sandbox, &sandbox.wechat_login_code("alice")).await;
    let bob = login(&sandbox, &sandbox.wechat_login_code("bob")).await;
    assert_eq!(first["openid"], second["openid"]);
    assert_eq!(first["unionid"], second["unionid"]);
    assert_ne!(first["openid"], bob["openid"]);
    assert_ne!(first["openid"], json!(sandbox.openid_of("alice")));
    let openid = first["openid"].as_str().unwrap();
    assert!(openid.starts_with('o') && openid.len() == 28, "{openid}");
}

#[tokio::test]
async fn bad_credentials_get_wechat_errors() {
    let sandbox = wechat_sandbox().await;
    let code = sandbox.wechat_login_code("alice");
    let cases = [
        (
            login_path("wx_other", WX_APP_SECRET, &code, "authorization_code"),
            40013,
            "invalid appid",
        ),
        (
            login_path(WX_APP_ID, "wrong", &code, "authorization_code"),
            40125,
            "invalid appsecret",
        ),
        (
            login_path(WX_APP_ID, WX_APP_SECRET, &code, "client_credential"),
            40002,
            "invalid grant_type",
        ),
        (
            format!("{WX_JSCODE2SESSION}?appid={WX_APP_ID}&secret={WX_APP_SECRET}&js_code={code}"),
            40002,
            "invalid grant_type",
        ),
        (
            format!("{WX_JSCODE2SESSION}?secret={WX_APP_SECRET}&js_code={code}"),
            41002,
            "appid missing",
        ),
        (
            login_path(WX_APP_ID, WX_APP_SECRET, "", "authorization_code"),
            41008,
            "missing code",
        ),
    ];
    for (path, errcode, errmsg) in cases {
        let (status, answer) = get(&sandbox, &path).await;
        assert_eq!(
            (status, answer),
            (200, json!({ "errcode": errcode, "errmsg": errmsg })),
            "{path}"
        );
    }
    // None of the refusals spent the code.
    assert!(login(&sandbox, &code).await.get("openid").is_some());
}

#[tokio::test]
async fn without_a_wechat_config_no_appid_is_valid() {
    let sandbox = sandbox().await;
    let (_, answer) = get(
        &sandbox,
        &login_path(WX_APP_ID, WX_APP_SECRET, "x", "authorization_code"),
    )
    .await;
    assert_eq!(answer["errcode"], 40013);
    let (status, answer) = post(&sandbox, "/sandbox/wechat/login_code", &json!({ "user": "alice" })).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("no WeChat config"));
}

#[tokio::test]
async fn the_control_api_issues_codes() {
    let sandbox = wechat_sandbox().await;
    let (status, issued) = post(&sandbox, "/sandbox/wechat/login_code", &json!({ "user": "carol" })).await;
    assert_eq!(status, 200);
    assert_eq!(issued["openid"], sandbox.wechat_openid_of("carol"));
    let answer = login(&sandbox, issued["code"].as_str().unwrap()).await;
    assert_eq!(answer["openid"], issued["openid"]);
}

#[tokio::test]
async fn login_faults_have_wechat_shapes() {
    let sandbox = wechat_sandbox().await;
    let busy = FaultKind::PlatformError {
        err_no: -1,
        err_tips: "system error".into(),
    };
    sandbox.set_fault(Fault::before("/sns/", busy, 1));
    let code = sandbox.wechat_login_code("alice");
    assert_eq!(
        login(&sandbox, &code).await,
        json!({ "errcode": -1, "errmsg": "system error" })
    );
    // The faulted call never reached the platform: the code still works.
    assert!(login(&sandbox, &code).await.get("openid").is_some());
    assert_eq!(sandbox.calls(WX_JSCODE2SESSION), 2);
}
