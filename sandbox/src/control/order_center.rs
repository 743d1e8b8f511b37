//! Control routes for the access token and the order-center push: what the backend
//! pushed, which tokens it fetched, and expiring them all to force a refresh.

use crate::douyin;
use crate::state::SharedState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/sandbox/pushes", get(pushes))
        .route("/sandbox/tokens", get(tokens))
        .route("/sandbox/expire_tokens", post(expire_tokens))
}

/// `{"pushes": [PushRecord...]}`, in order of arrival.
async fn pushes(State(state): State<SharedState>) -> Json<Value> {
    Json(json!({ "pushes": douyin::pushes(&state) }))
}

/// `{"fetches": n, "tokens": [{"access_token", "issued_at", "expires_at"}...]}`.
async fn tokens(State(state): State<SharedState>) -> Json<Value> {
    Json(json!({ "fetches": douyin::token_fetches(&state), "tokens": douyin::tokens(&state) }))
}

async fn expire_tokens(State(state): State<SharedState>) -> Json<Value> {
    douyin::expire_tokens(&state);
    Json(json!({ "ok": true }))
}
