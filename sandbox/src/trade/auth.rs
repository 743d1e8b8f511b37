//! What every `trade_basic` developer call passes first: a live `access-token` header
//! (a client token from `oauth/client_token/`); no request signature (douyin-trade.md §4).

use super::{codes, envelope};
use crate::clock::now_secs;
use crate::state::{State, lock};
use axum::Json;
use axum::http::HeaderMap;
use serde_json::Value;

/// `Ok` when the header holds a client token that is still live.
pub fn check_access_token(state: &State, headers: &HeaderMap) -> Result<(), Json<Value>> {
    let token = headers.get("access-token").and_then(|value| value.to_str().ok());
    let live = token.is_some_and(|token| lock(&state.trade).client_tokens.is_valid(token, now_secs()));
    if live {
        return Ok(());
    }
    let why = if token.is_none() {
        "missing"
    } else {
        "unknown or expired"
    };
    Err(envelope::error(
        codes::BAD_ACCESS_TOKEN,
        format!("access-token is invalid ({why}); get a new client_token"),
    ))
}
