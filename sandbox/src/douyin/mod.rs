//! The Douyin open platform as the backend sees it: login (`jscode2session`) and the
//! ecpay order endpoints, plus the payment callbacks it sends. Protocol: douyin.md.

pub mod callback;
pub mod codes;
pub mod ecpay;
pub mod envelope;
pub mod login;
pub mod orders;
pub mod params;
pub mod payment;

use crate::clock::now_secs;
use crate::state::{SharedState, State, lock};
use axum::Router;
use axum::routing::post;

pub use callback::Delivery;
pub use login::LoginCodes;
pub use orders::{OrderBook, OrderStatus, SandboxOrder};
pub use payment::PayOptions;

pub const JSCODE2SESSION_PATH: &str = "/api/apps/v2/jscode2session";
pub const CREATE_ORDER_PATH: &str = "/api/apps/ecpay/v1/create_order";
pub const QUERY_ORDER_PATH: &str = "/api/apps/ecpay/v1/query_order";

/// What the Douyin platform holds for the sandbox app.
#[derive(Debug, Default)]
pub struct DouyinState {
    pub login_codes: LoginCodes,
    pub orders: OrderBook,
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(JSCODE2SESSION_PATH, post(login::jscode2session))
        .route(CREATE_ORDER_PATH, post(ecpay::create_order))
        .route(QUERY_ORDER_PATH, post(ecpay::query_order))
}

/// The order as the platform holds it now.
pub fn order(state: &State, out_order_no: &str) -> Option<SandboxOrder> {
    lock(&state.douyin).orders.get(out_order_no, now_secs())
}
