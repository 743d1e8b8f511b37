//! One module per use case: authenticate, decide with the domain rules, act through
//! the store and platform traits.

pub mod admin;
mod admin_csv;
pub mod admin_query;
pub mod admin_webhooks;
pub mod auth;
pub mod events;
pub mod login;
pub mod notify;
pub mod notify_douyin;
pub mod notify_wechat;
pub mod orders;
pub mod prepay;
pub mod push;
pub mod reconcile;
pub mod refund;
pub mod settle;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_trade;
pub mod webhooks;
