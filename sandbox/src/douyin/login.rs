//! `jscode2session`: one-time login codes issued by the test (standing in for
//! `tt.login` on a phone) and redeemed by the backend for a stable openid.

use super::codes;
use super::envelope::DouyinBody;
use crate::clock::now_secs;
use crate::random;
use crate::state::{SharedState, State as SandboxState, lock};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A client `code` lives five minutes (douyin.md §1).
pub const CODE_LIFETIME_SECS: i64 = 300;

/// Login bodies that are not JSON get the generic "parameter missing" code.
pub type LoginBody = DouyinBody<{ codes::MISSING_PARAMETER }>;

#[derive(Debug)]
struct IssuedCode {
    user: String,
    issued_at: i64,
}

/// Codes issued and not yet redeemed.
#[derive(Debug, Default)]
pub struct LoginCodes {
    issued: HashMap<String, IssuedCode>,
}

impl LoginCodes {
    pub fn issue(&mut self, user: &str, now: i64) -> String {
        let code = random::alphanumeric(32);
        self.issued.insert(
            code.clone(),
            IssuedCode {
                user: user.to_owned(),
                issued_at: now,
            },
        );
        code
    }

    /// The user a code was issued for; the code is spent either way.
    pub fn redeem(&mut self, code: &str, now: i64) -> Option<String> {
        let issued = self.issued.remove(code)?;
        (now - issued.issued_at <= CODE_LIFETIME_SECS).then_some(issued.user)
    }
}

/// A fresh code for `user`, as `tt.login` would give the mini-program.
pub fn issue_code(state: &SandboxState, user: &str) -> String {
    lock(&state.douyin).login_codes.issue(user, now_secs())
}

fn digest(parts: &[&str]) -> [u8; 32] {
    // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// The openid of `user` in this app: derived, not stored, so it is the same across
/// sandbox restarts (the demo stack keeps users in its database) and differs per app
/// like the real one.
pub fn openid_of(app_id: &str, user: &str) -> String {
    format!("_000{}", hex::encode(&digest(&["openid", app_id, user])[..18]))
}

/// The unionid of `user`: the same for every app, shaped like the platform's UUIDs.
pub fn unionid_of(user: &str) -> String {
    let hex = hex::encode(&digest(&["unionid", user])[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A code argument: absent, `null` and `""` mean not sent; any other non-string is a bad code.
enum CodeArg<'a> {
    Absent,
    Given(&'a str),
    Malformed,
}

fn code_arg<'a>(params: &'a Map<String, Value>, field: &str) -> CodeArg<'a> {
    match params.get(field) {
        None | Some(Value::Null) => CodeArg::Absent,
        Some(Value::String(s)) if s.is_empty() => CodeArg::Absent,
        Some(Value::String(s)) => CodeArg::Given(s),
        Some(_) => CodeArg::Malformed,
    }
}

/// The answer; `data` is present with empty strings even on errors, as on the platform.
fn answer(err_no: i64, err_tips: &str, session: Option<(String, String)>) -> Json<Value> {
    let (openid, unionid) = session.unwrap_or_default();
    let session_key = if openid.is_empty() {
        String::new()
    } else {
        random::base64ish(16)
    };
    Json(json!({
        "err_no": err_no,
        "err_tips": err_tips,
        "data": {
            "session_key": session_key,
            "openid": openid,
            "anonymous_openid": "",
            "unionid": unionid,
            "dopenid": "",
        },
    }))
}

fn text<'a>(params: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    params.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `POST /api/apps/v2/jscode2session`.
pub async fn jscode2session(State(state): State<SharedState>, DouyinBody(params): LoginBody) -> Json<Value> {
    let config = &state.config;
    let (Some(appid), Some(secret)) = (text(&params, "appid"), text(&params, "secret")) else {
        return answer(codes::MISSING_PARAMETER, "appid and secret are required", None);
    };
    if appid != config.app_id {
        return answer(codes::BAD_APPID, "bad appid", None);
    }
    if secret != config.app_secret {
        return answer(codes::BAD_SECRET, "bad secret", None);
    }
    match (code_arg(&params, "code"), code_arg(&params, "anonymous_code")) {
        (CodeArg::Given(code), _) => {
            let user = lock(&state.douyin).login_codes.redeem(code, now_secs());
            match user {
                Some(user) => answer(codes::OK, "success", Some((openid_of(appid, &user), unionid_of(&user)))),
                None => answer(codes::BAD_CODE, "bad code", None),
            }
        }
        (CodeArg::Malformed, _) => answer(codes::BAD_CODE, "bad code", None),
        // The sandbox never issues anonymous codes (no anonymous login in the flows it serves).
        (CodeArg::Absent, CodeArg::Given(_) | CodeArg::Malformed) => {
            answer(codes::BAD_ANONYMOUS_CODE, "bad anonymous code", None)
        }
        (CodeArg::Absent, CodeArg::Absent) => {
            answer(codes::MISSING_PARAMETER, "code or anonymous_code is required", None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_work_once_and_expire() {
        let mut codes = LoginCodes::default();
        let code = codes.issue("alice", 1000);
        assert_eq!(codes.redeem(&code, 1000), Some("alice".to_owned()));
        assert_eq!(codes.redeem(&code, 1000), None);
        let late = codes.issue("alice", 1000);
        assert_eq!(codes.redeem(&late, 1000 + CODE_LIFETIME_SECS + 1), None);
    }

    #[test]
    fn identities_are_stable_per_user_and_app() {
        assert_eq!(openid_of("tt1", "alice"), openid_of("tt1", "alice"));
        assert_ne!(openid_of("tt1", "alice"), openid_of("tt1", "bob"));
        assert_ne!(openid_of("tt1", "alice"), openid_of("tt2", "alice"));
        assert_eq!(unionid_of("alice").len(), 36);
        assert_ne!(unionid_of("alice"), unionid_of("bob"));
    }
}
