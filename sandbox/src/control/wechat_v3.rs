//! Control routes for WeChat Pay APIv3, under `/sandbox/wechat/v3/`: pay, finish
//! refunds, and WeChat's side of the signatures (mode, certificates, probes, stale
//! timestamps, the switching key). Mirrors the `wechat_v3_*` methods of
//! [`crate::Sandbox`]; without an APIv3 config every route answers 400. Failing,
//! closing, USERPAYING and reading orders and refunds back are the v2 routes under
//! `/sandbox/wechat/`, which serve both APIs.

use super::error_response;
use crate::delivery::Delivery;
use crate::error::SandboxError;
use crate::json_body::ControlJson;
use crate::state::SharedState;
use crate::wechat_v3::{
    self, SpoiledSignatures, V3Platform, WechatV3Key, WechatV3Mode, WechatV3NotifyOptions, WechatV3PayOptions,
    WechatV3RefundOutcome,
};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/sandbox/wechat/v3/pay", post(pay))
        .route("/sandbox/wechat/v3/finish_refund", post(finish_refund))
        .route("/sandbox/wechat/v3/certificates", get(certificates))
        .route("/sandbox/wechat/v3/rotate_certificate", post(rotate_certificate))
        .route("/sandbox/wechat/v3/mode", get(mode).put(set_mode))
        .route("/sandbox/wechat/v3/signatures", get(spoiled).post(spoil))
        .route("/sandbox/wechat/v3/notify_key", put(set_notify_key))
}

fn deliveries_response(result: Result<Vec<Delivery>, SandboxError>) -> Response {
    match result {
        Ok(deliveries) => Json(json!({ "deliveries": deliveries })).into_response(),
        Err(error) => error_response(error),
    }
}

/// The platform, or why there is none (APIv3 is off: 400).
fn platform(state: &SharedState) -> Result<&V3Platform, SandboxError> {
    wechat_v3::configured(state).map(|(platform, _)| platform)
}

fn refused(problem: String) -> Response {
    error_response(SandboxError::Invalid(problem))
}

/// `{"out_trade_no", "deliveries", "total", "tamper_signature", "notify_url", "late",
/// "sign_with"}`, all but the number optional.
#[derive(Deserialize)]
struct PayRequest {
    out_trade_no: String,
    #[serde(flatten)]
    options: WechatV3PayOptions,
}

/// `POST /sandbox/wechat/v3/pay`: pays the v3 order (SUCCESS) and sends the
/// TRANSACTION.SUCCESS notify `deliveries` times (default 1; 0 sends none). `total`
/// forges the notify's amount; `sign_with` ("public_key" | "certificate") picks the key
/// while switching. A CLOSED, PAYERROR or expired order is paid only with `"late": true`.
async fn pay(State(state): State<SharedState>, ControlJson(request): ControlJson<PayRequest>) -> Response {
    deliveries_response(wechat_v3::payment::pay(&state, &request.out_trade_no, request.options).await)
}

/// `{"out_refund_no", "status", "deliveries", "tamper_signature", "notify_url", "sign_with"}`.
#[derive(Deserialize)]
struct FinishRefundRequest {
    out_refund_no: String,
    status: WechatV3RefundOutcome,
    #[serde(flatten)]
    options: WechatV3NotifyOptions,
}

/// `POST /sandbox/wechat/v3/finish_refund`: ends the refund of a v3 order as `status` —
/// "SUCCESS", "CLOSED" or "ABNORMAL" — once, and sends REFUND.SUCCESS, REFUND.CLOSED or
/// REFUND.ABNORMAL `deliveries` times (default 1; 0 sends none).
async fn finish_refund(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<FinishRefundRequest>,
) -> Response {
    let finished = wechat_v3::refund_finish::finish(&state, &request.out_refund_no, request.status, request.options);
    deliveries_response(finished.await)
}

/// `GET /sandbox/wechat/v3/certificates` → `[{"serial_no", "effective_time",
/// "expire_time", "pem"}...]`, oldest first (the newest signs).
async fn certificates(State(state): State<SharedState>) -> Response {
    match platform(&state) {
        Ok(platform) => Json(platform.certificates()).into_response(),
        Err(error) => error_response(error),
    }
}

/// `POST /sandbox/wechat/v3/rotate_certificate` → the new certificate, listed after the
/// old ones and signing from now on; 400 for a merchant without certificates.
async fn rotate_certificate(State(state): State<SharedState>) -> Response {
    match platform(&state).map(V3Platform::rotate_certificate) {
        Ok(Ok(certificate)) => Json(certificate).into_response(),
        Ok(Err(problem)) => refused(problem),
        Err(error) => error_response(error),
    }
}

/// `GET /sandbox/wechat/v3/mode` → `{"mode"}`.
async fn mode(State(state): State<SharedState>) -> Response {
    match platform(&state) {
        Ok(platform) => Json(json!({ "mode": platform.mode() })).into_response(),
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
struct ModeRequest {
    mode: WechatV3Mode,
}

/// `PUT /sandbox/wechat/v3/mode` `{"mode": "public_key" | "certificate" | "switching"}`;
/// 400 when that mode's keys are not configured.
async fn set_mode(State(state): State<SharedState>, ControlJson(request): ControlJson<ModeRequest>) -> Response {
    match platform(&state).map(|platform| platform.set_mode(request.mode)) {
        Ok(Ok(())) => Json(json!({ "mode": request.mode })).into_response(),
        Ok(Err(problem)) => refused(problem),
        Err(error) => error_response(error),
    }
}

/// `GET /sandbox/wechat/v3/signatures` → the spoiled signatures still to come.
async fn spoiled(State(state): State<SharedState>) -> Response {
    match platform(&state) {
        Ok(platform) => Json(platform.spoiled()).into_response(),
        Err(error) => error_response(error),
    }
}

/// `POST /sandbox/wechat/v3/signatures` `{"probe_answers", "probe_notifies",
/// "stale_answers", "stale_notifies"}` (each default 0): the next that many answers or
/// notify deliveries carry a `WECHATPAY/SIGNTEST/` probe, or a correct signature over a
/// timestamp ten minutes old; added to any still pending. → what is pending now.
async fn spoil(State(state): State<SharedState>, ControlJson(more): ControlJson<SpoiledSignatures>) -> Response {
    match platform(&state) {
        Ok(platform) => {
            platform.spoil(more);
            Json(platform.spoiled()).into_response()
        }
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
struct NotifyKeyRequest {
    key: Option<WechatV3Key>,
}

/// `PUT /sandbox/wechat/v3/notify_key` `{"key": "public_key" | "certificate" | null}`:
/// while switching, the key every notify is signed with (null: either, at random).
async fn set_notify_key(
    State(state): State<SharedState>,
    ControlJson(request): ControlJson<NotifyKeyRequest>,
) -> Response {
    match platform(&state) {
        Ok(platform) => {
            platform.set_notify_key(request.key);
            Json(json!({ "key": request.key })).into_response()
        }
        Err(error) => error_response(error),
    }
}
