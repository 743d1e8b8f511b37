//! Pure rules: money, ids, text limits, the order state machine. No I/O here.

pub mod channel;
pub mod events;
pub mod ids;
pub mod order;
pub mod push;
pub mod refund;
pub mod text;
pub mod time;
pub mod timeline;
pub mod verdict;
pub mod webhook_backoff;
pub mod webhook_signature;
