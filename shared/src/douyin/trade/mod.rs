//! The general trade system (通用交易系统, douyin-trade.md): orders made by the client
//! with `tt.requestOrder` from data the server signs with the app's RSA key, callbacks
//! signed by the platform's key, and `trade_basic` server calls with a client token.

pub mod callback;
pub mod client;
#[cfg(test)]
pub mod fake;
pub mod items;
pub mod keys;
pub mod request_order;

pub use callback::{TradeCallback, TradeHeaders};
pub use client::{TradeApi, TradeClient};
pub use keys::{AppKey, KeyError, PlatformKey, TradeKeys};
