//! Douyin (ByteDance) mini-app: login, ecpay orders, callbacks. Protocol: douyin.md.

pub mod callback;
pub mod client;
#[cfg(test)]
pub mod fake;
pub mod sign;

pub use callback::{Callback, CallbackError, PaymentMsg};
pub use client::{DouyinApi, DouyinClient, EcpayOrderState, LoginSession, OrderQuery};
