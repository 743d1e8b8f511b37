//! WeChat Pay. API v2: `sign` (request and paySign signing, notify verification), `xml`
//! (the flat XML it speaks), `refund_notify` (the encrypted `req_info`) and `client`.
//! `trade_state` and `fields` are shared with APIv3, which is `v3`
//! (wechat-v3-reconcile.md A). Protocol of v2: wechat.md.

pub mod client;
pub mod fields;
pub mod login;
pub mod refund_notify;
pub mod sign;
pub mod trade_state;
pub mod v3;
pub mod xml;
