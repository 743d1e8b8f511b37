//! minipay's shared crate: what every function uses.

pub mod app;
pub mod aws;
pub mod channel;
pub mod config;
pub mod console;
pub mod domain;
pub mod douyin;
pub mod error;
pub mod http;
pub mod merchant;
pub mod outbound;
pub mod routes;
pub mod rsa_keys;
pub mod secret;
pub mod service;
pub mod store;
#[cfg(test)]
mod testing;
pub mod token;
pub mod wechat;

pub use app::{App, Kit};
