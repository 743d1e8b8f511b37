//! What an injected platform error looks like on WeChat's paths: login answers
//! `{"errcode", "errmsg"}`; pay answers a signed `result_code` FAIL with `err_code`
//! SYSTEMERROR ("outcome unknown: retry with the same parameters") and the fault's
//! text as `err_code_des`.

use super::answer::{Answerer, PayError, communication_failure};
use super::sign::SignType;
use super::{LOGIN_PREFIX, PAY_PREFIXES};
use crate::config::SandboxConfig;
use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The answer for a WeChat path; `None` for other platforms' paths.
pub fn platform_error(config: &SandboxConfig, path: &str, err_no: i64, err_tips: &str) -> Option<Response> {
    if path.starts_with(LOGIN_PREFIX) {
        return Some(Json(json!({ "errcode": err_no, "errmsg": err_tips })).into_response());
    }
    if !PAY_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return None;
    }
    let answer = match &config.wechat {
        Some(wechat) => Answerer {
            config: wechat,
            sign_type: SignType::Md5,
        }
        .answer(Err(PayError::Business("SYSTEMERROR", err_tips.to_owned()))),
        None => communication_failure(err_tips),
    };
    Some(answer.into_response())
}
