//! The whole HTTP surface: platform routes, control routes, and the catch-alls, all
//! behind the counting and fault middleware.

use crate::state::SharedState;
use crate::{control, douyin, trade, traffic, wechat, wechat_v3};
use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};

pub fn app(state: SharedState) -> Router {
    Router::new()
        .merge(douyin::routes())
        .merge(wechat::routes())
        .merge(wechat_v3::routes())
        .merge(trade::routes(state.clone()))
        .merge(control::routes())
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        // Layered last so that it also wraps the fallbacks: unknown paths are counted too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            traffic::count_and_inject_faults,
        ))
        .with_state(state)
}

async fn unknown_path() -> Response {
    (
        StatusCode::NOT_FOUND,
        douyin::envelope::error(douyin::codes::MISSING_PARAMETER, "unknown path"),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        douyin::envelope::error(douyin::codes::MISSING_PARAMETER, "method not allowed"),
    )
        .into_response()
}
