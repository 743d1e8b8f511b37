//! `v2/token`: the app access token (douyin.md §2). Each new token cuts every earlier
//! one to at most five more minutes, which is why a backend must share one token
//! rather than fetch its own per invocation; the sandbox keeps every issued token with
//! its expiry so that tests can catch the churn.

use super::codes;
use super::envelope::DouyinBody;
use crate::clock::now_secs;
use crate::random;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const TOKEN_LIFETIME_SECS: i64 = 7200;
/// What is left, at most, of every earlier token once a new one is issued.
pub const SUPERSEDED_LIFETIME_SECS: i64 = 300;

/// Token bodies that are not JSON get the generic "parameter missing" code.
pub type TokenBody = DouyinBody<{ codes::MISSING_PARAMETER }>;

/// A token the platform issued, and until when it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub access_token: String,
    pub issued_at: i64,
    /// Unix seconds; the token is refused from this second on.
    pub expires_at: i64,
}

#[derive(Debug, Default)]
pub struct TokenBook {
    /// In issue order.
    issued: Vec<IssuedToken>,
}

impl TokenBook {
    /// A new token; every earlier one still valid keeps at most five minutes.
    pub fn issue(&mut self, now: i64) -> IssuedToken {
        self.issue_with_prefix("", now)
    }

    /// [`TokenBook::issue`] with the token text starting with `prefix` (the trade
    /// system's client tokens are `clt.…`).
    pub fn issue_with_prefix(&mut self, prefix: &str, now: i64) -> IssuedToken {
        for token in &mut self.issued {
            token.expires_at = token.expires_at.min(now + SUPERSEDED_LIFETIME_SECS);
        }
        let token = IssuedToken {
            access_token: format!("{prefix}{}", random::alphanumeric(64)),
            issued_at: now,
            expires_at: now + TOKEN_LIFETIME_SECS,
        };
        self.issued.push(token.clone());
        token
    }

    pub fn is_valid(&self, access_token: &str, now: i64) -> bool {
        self.issued
            .iter()
            .any(|token| token.access_token == access_token && now < token.expires_at)
    }

    /// Every issued token expires now (tests cannot wait two hours for a refresh).
    pub fn expire_all(&mut self, now: i64) {
        for token in &mut self.issued {
            token.expires_at = token.expires_at.min(now);
        }
    }

    /// How many tokens were issued: each is a successful `v2/token` answer.
    pub fn fetches(&self) -> usize {
        self.issued.len()
    }

    pub fn all(&self) -> Vec<IssuedToken> {
        self.issued.clone()
    }
}

/// The answer; `data` is present with empty values on errors too, as on the platform.
fn answer(err_no: i64, err_tips: &str, token: Option<&IssuedToken>) -> Json<Value> {
    let (access_token, expires_in) = token.map_or(("", 0), |t| (t.access_token.as_str(), TOKEN_LIFETIME_SECS));
    Json(json!({
        "err_no": err_no,
        "err_tips": err_tips,
        "data": { "access_token": access_token, "expires_in": expires_in },
    }))
}

/// `POST /api/apps/v2/token`.
pub async fn token(State(state): State<SharedState>, DouyinBody(params): TokenBody) -> Json<Value> {
    let config = &state.config;
    let text = |field: &str| params.get(field).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (Some(appid), Some(secret)) = (text("appid"), text("secret")) else {
        return answer(codes::MISSING_PARAMETER, "appid and secret are required", None);
    };
    if appid != config.app_id {
        return answer(codes::BAD_APPID, "bad appid", None);
    }
    if secret != config.app_secret {
        return answer(codes::BAD_SECRET, "bad secret", None);
    }
    if text("grant_type") != Some("client_credential") {
        return answer(codes::BAD_GRANT_TYPE, "grant_type must be client_credential", None);
    }
    let token = lock(&state.douyin).tokens.issue(now_secs());
    answer(codes::OK, "success", Some(&token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_cuts_earlier_ones_to_five_minutes() {
        let mut book = TokenBook::default();
        let first = book.issue(1000);
        assert_eq!(first.expires_at, 1000 + TOKEN_LIFETIME_SECS);
        let second = book.issue(2000);
        let third = book.issue(2100);
        let all = book.all();
        assert_eq!(
            all[0].expires_at, 2300,
            "cut by the second token, not extended by the third"
        );
        assert_eq!(all[1].expires_at, 2400);
        assert_eq!(all[2], third);
        assert!(book.is_valid(&first.access_token, 2299) && !book.is_valid(&first.access_token, 2300));
        assert!(book.is_valid(&second.access_token, 2399));
        assert!(!book.is_valid("unknown", 2000));
        assert_eq!(book.fetches(), 3);
    }

    #[test]
    fn expire_all_ends_every_token_now() {
        let mut book = TokenBook::default();
        let token = book.issue(1000);
        book.expire_all(1001);
        assert!(!book.is_valid(&token.access_token, 1001));
        // An already shorter life is not extended.
        book.expire_all(5000);
        assert_eq!(book.all()[0].expires_at, 1001);
        assert_ne!(book.issue(1002).access_token, token.access_token);
    }
}
