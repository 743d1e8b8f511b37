//! The Douyin open platform as the backend sees it: login (`jscode2session`), the app
//! access token, the ecpay order, refund and settlement endpoints, the order-center
//! push, and the callbacks it sends. Protocol: douyin.md.

pub mod access_token;
pub mod callback;
pub mod callback_sign;
pub mod codes;
pub mod ecpay;
pub mod ecpay_auth;
pub mod ecpay_sign;
pub mod envelope;
pub mod first_answers;
pub mod login;
pub mod order_detail;
pub mod order_push;
pub mod orders;
pub mod params;
pub mod payment;
pub mod refund_api;
pub mod refund_finish;
pub mod refunds;
pub mod settle_api;
pub mod settle_finish;
pub mod settle_params;
pub mod settles;
pub mod transfer_status;

use crate::clock::now_secs;
use crate::state::{SharedState, State, lock};
use axum::Router;
use axum::routing::post;

pub use access_token::{IssuedToken, TokenBook};
pub use callback::{CallbackOptions, Delivery};
pub use login::LoginCodes;
pub use order_push::PushRecord;
pub use orders::{OrderBook, OrderStatus, SandboxOrder};
pub use payment::PayOptions;
pub use refunds::{RefundBook, SandboxRefund};
pub use settle_params::SettleReceiver;
pub use settles::{SandboxSettle, SettleBook};
pub use transfer_status::TransferStatus;

pub const JSCODE2SESSION_PATH: &str = "/api/apps/v2/jscode2session";
pub const TOKEN_PATH: &str = "/api/apps/v2/token";
pub const CREATE_ORDER_PATH: &str = "/api/apps/ecpay/v1/create_order";
pub const QUERY_ORDER_PATH: &str = "/api/apps/ecpay/v1/query_order";
pub const CREATE_REFUND_PATH: &str = "/api/apps/ecpay/v1/create_refund";
pub const QUERY_REFUND_PATH: &str = "/api/apps/ecpay/v1/query_refund";
pub const SETTLE_PATH: &str = "/api/apps/ecpay/v1/settle";
pub const QUERY_SETTLE_PATH: &str = "/api/apps/ecpay/v1/query_settle";
pub const ORDER_PUSH_PATH: &str = "/api/apps/order/v2/push";

/// What the Douyin platform holds for the sandbox app.
#[derive(Debug, Default)]
pub struct DouyinState {
    pub login_codes: LoginCodes,
    pub tokens: TokenBook,
    pub orders: OrderBook,
    pub refunds: RefundBook,
    pub settles: SettleBook,
    /// Accepted order-center pushes, in order of arrival.
    pub pushes: Vec<PushRecord>,
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(JSCODE2SESSION_PATH, post(login::jscode2session))
        .route(TOKEN_PATH, post(access_token::token))
        .route(CREATE_ORDER_PATH, post(ecpay::create_order))
        .route(QUERY_ORDER_PATH, post(ecpay::query_order))
        .route(CREATE_REFUND_PATH, post(refund_api::create_refund))
        .route(QUERY_REFUND_PATH, post(refund_api::query_refund))
        .route(SETTLE_PATH, post(settle_api::settle))
        .route(QUERY_SETTLE_PATH, post(settle_api::query_settle))
        .route(ORDER_PUSH_PATH, post(order_push::push))
}

/// The order as the platform holds it now.
pub fn order(state: &State, out_order_no: &str) -> Option<SandboxOrder> {
    lock(&state.douyin).orders.get(out_order_no, now_secs())
}

pub fn refund(state: &State, out_refund_no: &str) -> Option<SandboxRefund> {
    lock(&state.douyin).refunds.get(out_refund_no)
}

pub fn settle(state: &State, out_settle_no: &str) -> Option<SandboxSettle> {
    lock(&state.douyin).settles.get(out_settle_no)
}

pub fn pushes(state: &State) -> Vec<PushRecord> {
    lock(&state.douyin).pushes.clone()
}

/// Every token issued, in issue order, with its current expiry.
pub fn tokens(state: &State) -> Vec<IssuedToken> {
    lock(&state.douyin).tokens.all()
}

pub fn token_fetches(state: &State) -> usize {
    lock(&state.douyin).tokens.fetches()
}

pub fn expire_tokens(state: &State) {
    lock(&state.douyin).tokens.expire_all(now_secs());
}
