//! Middleware in front of every route: counts each request by exact path, then lets a
//! pending fault hijack platform calls, before or after their handler ran. Counting
//! comes first so that tests can see every attempt, including the ones a fault or a
//! validation error turned away.

use crate::faults::{FaultKind, FaultUse, FaultWhen};
use crate::state::{SharedState, State as SandboxState};
use crate::{trade, wechat, wechat_v3};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Where the platforms' APIs live (Douyin, its trade system's client token; WeChat
/// login; WeChat Pay v2 and v3). Faults never touch the control API, or a test could
/// not undo them.
const PLATFORM_PREFIXES: [&str; 6] = [
    "/api/",
    trade::CLIENT_TOKEN_PATH,
    wechat::LOGIN_PREFIX,
    wechat::PAY_PREFIXES[0],
    wechat::PAY_PREFIXES[1],
    wechat_v3::PREFIX,
];

pub async fn count_and_inject_faults(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    state.calls.record(&path);
    let fault = PLATFORM_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
        .then(|| state.faults.take(&path))
        .flatten();
    let Some(FaultUse { kind, when }) = fault else {
        return next.run(request).await;
    };
    // A v3 error answer is signed with the key the request asked for.
    let wechatpay_serial = request
        .headers()
        .get("wechatpay-serial")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let replacement = |kind| replacement(kind, &path, wechatpay_serial.as_deref(), &state);
    match (when, kind) {
        (FaultWhen::Before, FaultKind::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            next.run(request).await
        }
        (FaultWhen::Before, kind) => replacement(kind),
        (FaultWhen::After, FaultKind::Hang(duration)) => {
            // The handler is done before the sleep starts, so a client that gives up
            // meanwhile cannot undo its work.
            let answer = next.run(request).await;
            tokio::time::sleep(duration).await;
            answer
        }
        (FaultWhen::After, kind) => {
            drop(next.run(request).await);
            replacement(kind)
        }
    }
}

/// The answer a fault other than a hang sends instead of the platform's.
fn replacement(kind: FaultKind, path: &str, wechatpay_serial: Option<&str>, state: &SandboxState) -> Response {
    match kind {
        FaultKind::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                [(header::CONTENT_TYPE, "text/plain")],
                format!("sandbox fault: HTTP {code}"),
            )
                .into_response()
        }
        FaultKind::Garbage => {
            let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], page).into_response()
        }
        FaultKind::PlatformError { err_no, err_tips } => {
            wechat::fault_answers::platform_error(&state.config, path, err_no, &err_tips)
                .or_else(|| wechat_v3::fault_answers::platform_error(state, path, wechatpay_serial, &err_tips))
                .or_else(|| trade::fault_answer(path, err_no, &err_tips))
                .unwrap_or_else(|| Json(json!({ "err_no": err_no, "err_tips": err_tips })).into_response())
        }
        FaultKind::Hang(duration) => {
            unreachable!("a hang of {duration:?} delays the real answer rather than replacing it")
        }
    }
}
