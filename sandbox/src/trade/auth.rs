//! What every `trade_basic` developer call passes first: a live `access-token` header
//! (a client token from `oauth/client_token/`); no request signature (douyin-trade.md §4).
//! A layer on the developer routes, so that no handler can forget it.

use super::{codes, envelope};
use crate::clock::now_secs;
use crate::state::{SharedState, lock};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Passes the request on when its header holds a client token that is still live.
pub async fn require_access_token(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("access-token")
        .and_then(|value| value.to_str().ok());
    let live = token.is_some_and(|token| lock(&state.trade).client_tokens.is_valid(token, now_secs()));
    if live {
        return next.run(request).await;
    }
    let why = if token.is_none() {
        "missing"
    } else {
        "unknown or expired"
    };
    envelope::error(
        codes::BAD_ACCESS_TOKEN,
        format!("access-token is invalid ({why}); get a new client_token"),
    )
    .into_response()
}
