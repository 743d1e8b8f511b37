//! `oauth/client_token/`: the token every `trade_basic` call carries as `access-token`
//! (douyin-trade.md §4). Like `v2/token`, a new token cuts every earlier one to five
//! minutes, so a backend must share one token rather than fetch one per invocation.

use super::codes;
use crate::clock::now_secs;
use crate::douyin::IssuedToken;
use crate::douyin::access_token::TOKEN_LIFETIME_SECS;
use crate::json_body::parse_object;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

/// The answer; `data` has empty values on errors too. The code is `data.error_code`.
fn answer(token: Result<&IssuedToken, &str>) -> Json<Value> {
    match token {
        Ok(token) => Json(json!({
            "data": {
                "access_token": token.access_token,
                "expires_in": TOKEN_LIFETIME_SECS,
                "error_code": codes::OK,
                "description": "",
            },
            "message": "success",
        })),
        Err(why) => error(codes::BAD_CLIENT_CREDENTIALS, why),
    }
}

/// An error answer with that `error_code` (also what an injected platform fault sends).
pub fn error(error_code: i64, description: &str) -> Json<Value> {
    Json(json!({
        "data": { "access_token": "", "expires_in": 0, "error_code": error_code, "description": description },
        "message": "error",
    }))
}

/// `POST /oauth/client_token/` `{"grant_type", "client_key", "client_secret"}`.
pub async fn client_token(State(state): State<SharedState>, body: Bytes) -> Json<Value> {
    let params = match parse_object(&body) {
        Ok(params) => params,
        Err(reason) => return answer(Err(&reason)),
    };
    let text = |field: &str| params.get(field).and_then(Value::as_str);
    if state.config.trade.is_none() {
        return answer(Err(
            "client_key is not a trade-system app (the sandbox has no trade config)",
        ));
    }
    if text("grant_type") != Some("client_credential") {
        return answer(Err("grant_type must be the string client_credential"));
    }
    if text("client_key") != Some(state.config.app_id.as_str()) {
        return answer(Err("client_key is wrong (must be the app id, as a string)"));
    }
    if text("client_secret") != Some(state.config.app_secret.as_str()) {
        return answer(Err("client_secret is wrong (must be the app secret, as a string)"));
    }
    let token = lock(&state.trade).client_tokens.issue_with_prefix("clt.", now_secs());
    answer(Ok(&token))
}
