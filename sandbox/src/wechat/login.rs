//! `GET /sns/jscode2session` (wechat.md §1): redeems a code the test issued (standing
//! in for `wx.login`) for the user's openid. Errors carry `errcode`/`errmsg`; success
//! has no `errcode` at all, as on the platform. Always HTTP 200.

use super::identity::{openid_of, unionid_of};
use super::login_codes::CodeRefusal;
use crate::clock::now_secs;
use crate::random;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};
use std::collections::HashMap;

const GRANT_TYPE: &str = "authorization_code";

fn error(errcode: i64, errmsg: &str) -> Json<Value> {
    Json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

/// `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`.
pub async fn jscode2session(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    let arg = |name: &str| params.get(name).map(String::as_str).filter(|value| !value.is_empty());
    let Some(appid) = arg("appid") else {
        return error(41002, "appid missing");
    };
    // Without a WeChat config no appid is ours.
    let Some(wechat) = state.config.wechat.as_ref().filter(|w| w.app_id == appid) else {
        return error(40013, "invalid appid");
    };
    match arg("secret") {
        None => return error(41004, "appsecret missing"),
        Some(secret) if secret != wechat.app_secret => return error(40125, "invalid appsecret"),
        Some(_) => {}
    }
    if arg("grant_type") != Some(GRANT_TYPE) {
        return error(40002, "invalid grant_type");
    }
    let Some(code) = arg("js_code") else {
        return error(41008, "missing code");
    };
    let redeemed = lock(&state.wechat).login_codes.redeem(code, now_secs());
    match redeemed {
        Ok(user) => Json(json!({
            "openid": openid_of(appid, &user),
            "session_key": random::base64ish(16),
            "unionid": unionid_of(&user),
        })),
        Err(CodeRefusal::Invalid) => error(40029, "invalid code"),
        Err(CodeRefusal::Used) => error(40163, "code been used"),
    }
}
