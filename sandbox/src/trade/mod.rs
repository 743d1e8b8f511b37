//! The Douyin general trade system (通用交易系统, `trade_basic`) as the backend sees it:
//! `oauth/client_token/`, the developer order, refund and settlement endpoints, what
//! `tt.requestOrder` checks, and the RSA-signed callbacks. Protocol: douyin-trade.md.
//! An independent implementation of the platform side: nothing here comes from the
//! backend's trade code, so that a signing bug there is caught rather than mirrored.
//!
//! Everything is off unless [`crate::SandboxConfig::trade`] is set.

pub mod auth;
pub mod byte_authorization;
pub mod callback;
pub mod client_token;
pub mod codes;
pub mod envelope;
pub mod keyring;
pub mod order_query;
pub mod orders;
pub mod payment;
pub mod refund_api;
pub mod refund_finish;
pub mod refunds;
pub mod request_data;
pub mod request_order;
pub mod schema;
pub mod settle_api;
pub mod settle_finish;
pub mod settles;
pub mod user_refund;

use crate::clock::now_millis;
use crate::config::TradeSandboxConfig;
use crate::douyin::{TokenBook, TransferStatus};
use crate::error::SandboxError;
use crate::state::{SharedState, State, lock};
use axum::Router;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use keyring::Keyring;

pub use orders::{ItemOrder, TradeCancel, TradeOrder, TradePayStatus, TradePayment};
pub use payment::TradePayOptions;
pub use refunds::{ItemRefund, RefundOrigin, TradeRefund};
pub use settles::TradeSettle;
pub use user_refund::TradeUserRefund;

pub const CLIENT_TOKEN_PATH: &str = "/oauth/client_token/";
/// Every developer API lives under here; all need an `access-token`.
pub const DEVELOPER_PREFIX: &str = "/api/trade_basic/v1/developer/";
pub const ORDER_QUERY_PATH: &str = "/api/trade_basic/v1/developer/order_query/";
pub const REFUND_CREATE_PATH: &str = "/api/trade_basic/v1/developer/refund_create/";
pub const REFUND_QUERY_PATH: &str = "/api/trade_basic/v1/developer/refund_query/";
pub const SETTLE_CREATE_PATH: &str = "/api/trade_basic/v1/developer/settle_create/";
pub const SETTLE_QUERY_PATH: &str = "/api/trade_basic/v1/developer/settle_query/";

/// The merchant an order goes to when `data` names none (`merchantUid`).
pub const SANDBOX_MERCHANT_UID: &str = "73000000000000000001";

/// What the trade system holds for the sandbox app.
#[derive(Debug, Default)]
pub struct TradeState {
    /// `oauth/client_token/` tokens: a new one cuts the others to five minutes.
    pub client_tokens: TokenBook,
    pub orders: orders::TradeOrderBook,
    pub refunds: refunds::TradeRefundBook,
    pub settles: settles::TradeSettleBook,
    /// Refund applications (`pre_create_refund`) without a good reply yet, by refund id.
    pub pending_user_refunds: std::collections::HashMap<String, user_refund::PendingUserRefund>,
}

impl TradeState {
    /// The order as reported at `now` (ms): status brought up to date, refund totals filled in.
    pub fn order_view(&self, order: &TradeOrder, now: i64) -> TradeOrder {
        TradeOrder {
            pay_status: order.status_at(now),
            refunded_amount: self.refunds.total(&order.order_id, TransferStatus::Success),
            refunding_amount: self.refunds.total(&order.order_id, TransferStatus::Processing),
            ..order.clone()
        }
    }
}

pub fn routes(state: SharedState) -> Router<SharedState> {
    let developer = Router::new()
        .route(ORDER_QUERY_PATH, post(order_query::order_query))
        .route(REFUND_CREATE_PATH, post(refund_api::refund_create))
        .route(REFUND_QUERY_PATH, post(refund_api::refund_query))
        .route(SETTLE_CREATE_PATH, post(settle_api::settle_create))
        .route(SETTLE_QUERY_PATH, post(settle_api::settle_query))
        .route_layer(middleware::from_fn_with_state(state, auth::require_access_token));
    Router::new()
        .route(CLIENT_TOKEN_PATH, post(client_token::client_token))
        .merge(developer)
}

/// The answer an injected platform error gets on a trade path, in that API's shape;
/// `None` for other paths.
pub fn fault_answer(path: &str, err_no: i64, err_tips: &str) -> Option<Response> {
    if path == CLIENT_TOKEN_PATH {
        return Some(client_token::error(err_no, err_tips).into_response());
    }
    path.starts_with(DEVELOPER_PREFIX)
        .then(|| envelope::error(err_no, err_tips).into_response())
}

/// The trade settings and keys, or why a control operation cannot use them.
pub fn configured(state: &State) -> Result<(&TradeSandboxConfig, &Keyring), SandboxError> {
    match (&state.config.trade, &state.trade_keys) {
        (Some(config), Some(keys)) => Ok((config, keys)),
        _ => Err(SandboxError::Invalid(
            "the sandbox has no trade config (SANDBOX_TRADE_*)".into(),
        )),
    }
}

pub fn order(state: &State, out_order_no: &str) -> Option<TradeOrder> {
    let trade = lock(&state.trade);
    let order = trade.orders.get(out_order_no)?;
    Some(trade.order_view(order, now_millis()))
}

pub fn refund(state: &State, refund_id: &str) -> Option<TradeRefund> {
    lock(&state.trade).refunds.get(refund_id).cloned()
}

pub fn refund_by_out_no(state: &State, out_refund_no: &str) -> Option<TradeRefund> {
    lock(&state.trade).refunds.by_out_refund_no(out_refund_no).cloned()
}

pub fn settle(state: &State, out_settle_no: &str) -> Option<TradeSettle> {
    lock(&state.trade).settles.by_out_settle_no(out_settle_no).cloned()
}

pub fn client_token_fetches(state: &State) -> usize {
    lock(&state.trade).client_tokens.fetches()
}

pub fn client_tokens(state: &State) -> Vec<crate::douyin::IssuedToken> {
    lock(&state.trade).client_tokens.all()
}

pub fn expire_client_tokens(state: &State) {
    lock(&state.trade).client_tokens.expire_all(crate::clock::now_secs());
}
