//! WeChat as the backend sees it: mini-program login (`sns/jscode2session`) and WeChat
//! Pay API v2 (`unifiedorder`, `orderquery`, `closeorder`, `secapi/pay/refund`,
//! `refundquery`), and the payment and refund notifies it sends. Protocol: wechat.md.
//! Signing, XML and `req_info` are the sandbox's own ([`sign`], [`xml`], [`req_info`]),
//! written from the reference and pinned by its published vectors: a mistake in the
//! backend's code is not repeated here.
//!
//! Everything is off unless [`crate::SandboxConfig::wechat`] is set.

pub mod answer;
pub mod auth;
pub mod client_cert;
pub mod close_order;
pub mod fault_answers;
pub mod fields;
pub mod identity;
pub mod login;
pub mod login_codes;
pub mod notify_delivery;
pub mod order_lookup;
pub mod order_query;
pub mod orders;
pub mod pay_notify;
pub mod payment;
pub mod refund_api;
pub mod refund_finish;
pub mod refund_query;
pub mod refunds;
pub mod req_info;
pub mod sign;
pub mod trade_state;
pub mod unified_order;
pub mod xml;
pub mod xml_body;

use crate::clock::now_secs;
use crate::config::WechatSandboxConfig;
use crate::error::SandboxError;
use crate::state::{SharedState, State, lock};
use axum::Router;
use axum::routing::{get, post};
use std::collections::BTreeMap;

pub use orders::{PayApi, WechatOrder};
pub use pay_notify::WechatPayOptions;
pub use refunds::{WechatRefund, WechatRefundStatus};
pub use trade_state::TradeState;

/// A flat WeChat message: field name to raw value.
pub type Fields = BTreeMap<String, String>;

pub const JSCODE2SESSION_PATH: &str = "/sns/jscode2session";
pub const UNIFIED_ORDER_PATH: &str = "/pay/unifiedorder";
pub const ORDER_QUERY_PATH: &str = "/pay/orderquery";
pub const CLOSE_ORDER_PATH: &str = "/pay/closeorder";
pub const REFUND_PATH: &str = "/secapi/pay/refund";
pub const REFUND_QUERY_PATH: &str = "/pay/refundquery";

/// Paths of WeChat's platform APIs: faults apply to them, and their errors have
/// WeChat's shapes.
pub const LOGIN_PREFIX: &str = "/sns/";
pub const PAY_PREFIXES: [&str; 2] = ["/pay/", "/secapi/"];

/// What WeChat holds for the sandbox mini-program and merchant.
#[derive(Debug, Default)]
pub struct WechatState {
    pub login_codes: login_codes::LoginCodes,
    pub orders: orders::OrderBook,
    pub refunds: refunds::RefundBook,
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(JSCODE2SESSION_PATH, get(login::jscode2session))
        .route(UNIFIED_ORDER_PATH, post(unified_order::unified_order))
        .route(ORDER_QUERY_PATH, post(order_query::order_query))
        .route(CLOSE_ORDER_PATH, post(close_order::close_order))
        .route(REFUND_PATH, post(refund_api::refund))
        .route(REFUND_QUERY_PATH, post(refund_query::refund_query))
}

/// The WeChat settings, or why a control operation cannot use them.
pub fn configured(state: &State) -> Result<&WechatSandboxConfig, SandboxError> {
    state
        .config
        .wechat
        .as_ref()
        .ok_or_else(|| SandboxError::Invalid("the sandbox has no WeChat config (SANDBOX_WECHAT_*)".into()))
}

/// A fresh `wx.login` code for `user`, and the openid it will log in as.
pub fn issue_code(state: &State, user: &str) -> Result<(String, String), SandboxError> {
    let config = configured(state)?;
    let code = lock(&state.wechat).login_codes.issue(user, now_secs());
    Ok((code, identity::openid_of(&config.app_id, user)))
}

pub fn openid_of(state: &State, user: &str) -> Result<String, SandboxError> {
    configured(state).map(|config| identity::openid_of(&config.app_id, user))
}

pub fn order(state: &State, out_trade_no: &str) -> Option<WechatOrder> {
    lock(&state.wechat).orders.get(out_trade_no)
}

pub fn refund(state: &State, out_refund_no: &str) -> Option<WechatRefund> {
    lock(&state.wechat).refunds.get(out_refund_no)
}
