//! The control API under `/sandbox/`: what the demo script and black-box tests use to
//! play the user's part (log in, pay, fail), the platform's (finish refunds and
//! settlements, expire tokens), and to inject faults. Mirrors the methods of
//! [`crate::Sandbox`]; WeChat's live under `/sandbox/wechat/` (APIv3's under
//! `/sandbox/wechat/v3/`), the trade system's under `/sandbox/trade/`. Each handler's
//! doc comment is its API doc; what they share:
//!
//! - Pay and finish routes (`/sandbox/pay`, `/sandbox/finish_refund`,
//!   `/sandbox/finish_settle`, and their `trade/` and `wechat/` twins) send the callback
//!   `deliveries` times at once (default 1). `"deliveries": 0` changes the state but
//!   sends nothing, like a lost callback, and needs no notify URL; the platform's query
//!   APIs report the new state all the same. `notify_url` overrides where callbacks go,
//!   `tamper_signature` breaks their signature. Answer: `{"deliveries": [{"status",
//!   "body"}...]}` (status 0: no HTTP answer).
//! - Pay routes take `"late": true` (default false) to pay an order that had already
//!   ended unpaid, as real platforms sometimes do: ecpay TIMEOUT or FAIL, trade cancelled
//!   or expired, WeChat CLOSED, PAYERROR or past `time_expire`. Without it such orders
//!   are refused (409).
//! - Finish routes take `"status"`: "SUCCESS" | "FAIL", and for WeChat refunds also
//!   "REFUNDCLOSE" (what FAIL means there) and "CHANGE" (退款异常). An outcome is set
//!   once: the same again only resends the callback, another is refused (409).
//! - `PUT /sandbox/tunnel` `{"public_origin", "local_origin"}` points the tunnel (calls
//!   to public https notify URLs starting with `public_origin` go to `local_origin`), as
//!   a developer restarting ngrok for another local server; `DELETE` removes it, `GET`
//!   shows it (`null` when none).
//! - `POST /sandbox/faults` `{"path_prefix", "kind", "times", "when", ...}` makes platform
//!   calls fail; `"when": "after"` lets the platform do the work first and loses the
//!   answer (see `set_fault` below). `DELETE /sandbox/faults` clears them; `GET
//!   /sandbox/calls` counts requests per path.
//! - Errors: 404 unknown order/refund/settlement, 409 a state that forbids the
//!   operation, 400 a request that makes no sense; each `{"error"}`.

mod order_center;
mod trade;
mod transfers;
mod wechat;
mod wechat_v3;

use crate::config::Tunnel;
use crate::douyin;
use crate::error::SandboxError;
use crate::faults::{Fault, FaultKind, FaultWhen};
use crate::json_body::{ControlJson, control_error};
use crate::state::SharedState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/sandbox/health", get(health))
        .route("/sandbox/login_code", post(login_code))
        .route("/sandbox/pay", post(pay))
        .route("/sandbox/fail_order", post(fail_order))
        .route("/sandbox/expire_order", post(expire_order))
        .route("/sandbox/orders/{out_order_no}", get(order))
        .route("/sandbox/orders/{out_order_no}/age", post(age_order))
        .route("/sandbox/faults", post(set_fault).delete(clear_faults))
        .route("/sandbox/calls", get(calls))
        .route("/sandbox/tunnel", get(tunnel).put(set_tunnel).delete(remove_tunnel))
        .merge(transfers::routes())
        .merge(order_center::routes())
        .merge(wechat::routes())
        .merge(wechat_v3::routes())
        .merge(trade::routes())
}

fn error_response(error: SandboxError) -> Response {
    let status = match error {
        SandboxError::UnknownOrder(_) | SandboxError::UnknownRefund(_) | SandboxError::UnknownSettle(_) => {
            StatusCode::NOT_FOUND
        }
        SandboxError::Conflict(_) => StatusCode::CONFLICT,
        SandboxError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    control_error(status, error)
}

fn order_response(result: Result<douyin::SandboxOrder, SandboxError>) -> Response {
    result.map_or_else(error_response, |order| Json(order).into_response())
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct UserRequest {
    user: String,
}

async fn login_code(State(state): State<SharedState>, ControlJson(request): ControlJson<UserRequest>) -> Response {
    let code = douyin::login::issue_code(&state, &request.user);
    let openid = douyin::login::openid_of(&state.config.app_id, &request.user);
    Json(json!({ "code": code, "openid": openid })).into_response()
}

#[derive(Deserialize)]
struct PayRequest {
    out_order_no: String,
    #[serde(flatten)]
    options: douyin::PayOptions,
}

/// `POST /sandbox/pay` `{"out_order_no", "deliveries", "amount", "tamper_signature",
/// "notify_url", "late"}`, all but the number optional: pays the ecpay order (SUCCESS)
/// and sends the payment callback `deliveries` times (default 1; 0 sends none).
/// `amount` forges `total_amount` in the callback only. An order that timed out or
/// failed is paid only with `"late": true` (default false). Paying a paid order only
/// resends the callback.
async fn pay(State(state): State<SharedState>, ControlJson(request): ControlJson<PayRequest>) -> Response {
    match douyin::payment::pay(&state, &request.out_order_no, request.options).await {
        Ok(deliveries) => Json(json!({ "deliveries": deliveries })).into_response(),
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
struct OrderRequest {
    out_order_no: String,
}

/// `POST /sandbox/fail_order` `{"out_order_no"}`: the payment failed (FAIL); no
/// callback, as on the platform. → the order.
async fn fail_order(State(state): State<SharedState>, ControlJson(request): ControlJson<OrderRequest>) -> Response {
    order_response(douyin::payment::fail(&state, &request.out_order_no))
}

/// `POST /sandbox/expire_order` `{"out_order_no"}`: the unpaid order times out now
/// (TIMEOUT). → the order.
async fn expire_order(State(state): State<SharedState>, ControlJson(request): ControlJson<OrderRequest>) -> Response {
    order_response(douyin::payment::expire(&state, &request.out_order_no))
}

/// `{"days"}`: how far into the past a payment moves.
#[derive(Deserialize)]
pub(crate) struct AgeRequest {
    pub(crate) days: i64,
}

/// `POST /sandbox/orders/{out_order_no}/age` `{"days"}`: the paid ecpay order's payment
/// moves `days` (1 to 3650) into the past, as if that much time had gone by: the
/// platform settles an order only 7 days after its payment. → the order; 409 when it
/// is not paid.
async fn age_order(
    State(state): State<SharedState>,
    Path(out_order_no): Path<String>,
    ControlJson(request): ControlJson<AgeRequest>,
) -> Response {
    order_response(douyin::payment::age(&state, &out_order_no, request.days))
}

async fn order(State(state): State<SharedState>, Path(out_order_no): Path<String>) -> Response {
    order_response(douyin::order(&state, &out_order_no).ok_or(SandboxError::UnknownOrder(out_order_no)))
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FaultKindName {
    Status,
    Hang,
    Garbage,
    PlatformError,
}

/// `{"path_prefix", "kind", "times", "when"}` plus the fields of that kind; missing ones
/// get the most common value (once, before; HTTP 500, a 10 s hang, err_no 1000
/// "outcome unknown").
#[derive(Deserialize)]
struct FaultRequest {
    path_prefix: String,
    kind: FaultKindName,
    #[serde(default)]
    when: FaultWhen,
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default = "default_hang_ms")]
    hang_ms: u64,
    #[serde(default = "default_err_no")]
    err_no: i64,
    #[serde(default = "default_err_tips")]
    err_tips: String,
    #[serde(default = "default_times")]
    times: usize,
}

fn default_status() -> u16 {
    500
}
fn default_hang_ms() -> u64 {
    10_000
}
fn default_err_no() -> i64 {
    1000
}
fn default_err_tips() -> String {
    "系统错误 (sandbox fault)".into()
}
fn default_times() -> usize {
    1
}

/// `POST /sandbox/faults`: the next `times` platform calls whose path starts with
/// `path_prefix` fail with `kind`: "status" (HTTP `status`, text body), "garbage" (HTTP
/// 200 HTML), "platform_error" (HTTP 200, that path's error answer with `err_no` and
/// `err_tips`, see [`FaultKind::PlatformError`]) or "hang" (the real answer `hang_ms`
/// late). `when` "before" (default) answers instead of the platform, which then does
/// nothing; "after" lets the platform do the work (create the refund, close the order...)
/// and loses its answer, or delays it for a hang. A fault for the same prefix replaces
/// the earlier one; `times` 0 removes it.
async fn set_fault(State(state): State<SharedState>, ControlJson(request): ControlJson<FaultRequest>) -> Response {
    let kind = match request.kind {
        FaultKindName::Status if !(100..=599).contains(&request.status) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("status {} is not an HTTP status", request.status),
            );
        }
        FaultKindName::Status => FaultKind::Status(request.status),
        FaultKindName::Hang => FaultKind::Hang(Duration::from_millis(request.hang_ms)),
        FaultKindName::Garbage => FaultKind::Garbage,
        FaultKindName::PlatformError => FaultKind::PlatformError {
            err_no: request.err_no,
            err_tips: request.err_tips,
        },
    };
    state.faults.set(Fault {
        path_prefix: request.path_prefix,
        kind,
        times: request.times,
        when: request.when,
    });
    Json(json!({ "ok": true })).into_response()
}

async fn clear_faults(State(state): State<SharedState>) -> Json<serde_json::Value> {
    state.faults.clear();
    Json(json!({ "ok": true }))
}

async fn tunnel(State(state): State<SharedState>) -> Json<Option<Tunnel>> {
    Json(state.http.tunnel())
}

async fn set_tunnel(State(state): State<SharedState>, ControlJson(tunnel): ControlJson<Tunnel>) -> Response {
    if let Err(problem) = tunnel.check() {
        return control_error(StatusCode::BAD_REQUEST, problem);
    }
    state.http.set_tunnel(Some(tunnel.clone()));
    Json(tunnel).into_response()
}

async fn remove_tunnel(State(state): State<SharedState>) -> Json<serde_json::Value> {
    state.http.set_tunnel(None);
    Json(json!({ "ok": true }))
}

async fn calls(State(state): State<SharedState>) -> Json<serde_json::Value> {
    Json(json!(state.calls.snapshot()))
}
