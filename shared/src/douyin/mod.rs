//! Douyin (ByteDance) mini-app: login, ecpay orders, refunds, settlements, callbacks,
//! the access token and the order center. Protocol: douyin.md.

pub mod callback;
pub mod client;
#[cfg(test)]
pub mod fake;
pub mod money;
pub mod order_center;
pub mod sign;
pub mod trade;

pub use callback::{Callback, CallbackError, PaymentMsg};
pub use client::{DouyinApi, DouyinClient, EcpayOrderState, LoginSession, OrderQuery};
pub use money::EcpayMoney;
pub use order_center::OrderCenter;

/// Every Douyin call, for the functions' shared state.
pub trait Douyin: DouyinApi + EcpayMoney + OrderCenter {}
impl<T: DouyinApi + EcpayMoney + OrderCenter> Douyin for T {}
