//! WeChat Pay API v3 as the backend sees it (wechat-v3-reconcile.md A): JSAPI prepay,
//! order query and close, refunds and refund query, platform certificates; every request
//! checked as WeChat checks it ([`request`]), every answer and notify signed ([`answer`],
//! [`notify`]) with the key the merchant's profile calls for ([`platform`]). Signatures
//! and AES-GCM are the sandbox's own ([`keys`], [`aead`]), pinned by the reference's
//! vectors: a mistake in the backend's code is not repeated here.
//!
//! v3 serves the same merchant as v2: one order book and one refund book, so each API
//! sees the other's orders, as on WeChat Pay; an order's notifies follow the API that
//! placed it. Off unless [`crate::WechatSandboxConfig::v3`] is set.

pub mod aead;
pub mod answer;
pub mod api_error;
pub mod body;
pub mod certificates;
pub mod close;
pub mod fault_answers;
pub mod keys;
pub mod notify;
pub mod order_query;
pub mod payment;
pub mod platform;
pub mod platform_cert;
pub mod prepay;
pub mod refund_api;
pub mod refund_finish;
pub mod refund_json;
pub mod refund_query;
pub mod request;
pub mod settings;
pub mod transaction;

use crate::config::WechatSandboxConfig;
use crate::error::SandboxError;
use crate::state::{SharedState, State};
use axum::Router;
use axum::routing::{get, post};

pub use payment::WechatV3PayOptions;
pub use platform::{SpoiledSignatures, V3Platform, WechatV3Certificate, WechatV3Key};
pub use refund_finish::{WechatV3NotifyOptions, WechatV3RefundOutcome};
pub use settings::{WechatV3Mode, WechatV3SandboxConfig};

/// Where every v3 path starts: faults apply to them, and their errors have v3's shape.
pub const PREFIX: &str = "/v3/";
pub const PREPAY_PATH: &str = "/v3/pay/transactions/jsapi";
pub const ORDER_PATH: &str = "/v3/pay/transactions/out-trade-no/{out_trade_no}";
pub const CLOSE_PATH: &str = "/v3/pay/transactions/out-trade-no/{out_trade_no}/close";
pub const REFUND_PATH: &str = "/v3/refund/domestic/refunds";
pub const REFUND_QUERY_PATH: &str = "/v3/refund/domestic/refunds/{out_refund_no}";
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(PREPAY_PATH, post(prepay::prepay))
        .route(ORDER_PATH, get(order_query::query))
        .route(CLOSE_PATH, post(close::close))
        .route(REFUND_PATH, post(refund_api::refund))
        .route(REFUND_QUERY_PATH, get(refund_query::query))
        .route(CERTIFICATES_PATH, get(certificates::certificates))
}

/// The v3 platform and the WeChat settings, or why a control operation cannot use them.
pub fn configured(state: &State) -> Result<(&V3Platform, &WechatSandboxConfig), SandboxError> {
    match (state.wechat_v3.as_ref(), state.config.wechat.as_ref()) {
        (Some(platform), Some(wechat)) => Ok((platform, wechat)),
        _ => Err(SandboxError::Invalid(
            "the sandbox has no WeChat APIv3 config (SANDBOX_WECHAT_V3_*)".into(),
        )),
    }
}
