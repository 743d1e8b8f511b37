//! What an injected platform error looks like on a v3 path: 500 SYSTEM_ERROR with the
//! fault's text, signed like any answer (the official SDKs retry 5xx, A.2).

use super::PREFIX;
use super::answer::{respond, unconfigured};
use super::api_error::V3Error;
use crate::state::State;
use axum::response::Response;

/// The answer for a v3 path; `None` for other paths.
pub fn platform_error(state: &State, path: &str, request_serial: Option<&str>, err_tips: &str) -> Option<Response> {
    if !path.starts_with(PREFIX) {
        return None;
    }
    Some(match &state.wechat_v3 {
        Some(platform) => respond(platform, request_serial, Err(V3Error::system(err_tips))),
        None => unconfigured(),
    })
}
