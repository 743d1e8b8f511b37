//! WeChat Pay API v2 (and `trade_state`, which v3 shares). `sign` (request and paySign signing, notify verification), `xml` (the
//! flat XML it speaks) and `refund_notify` (the encrypted `req_info`) do no I/O, so the
//! sandbox and tests share them with the live client. Protocol: wechat.md.

pub mod client;
pub mod fields;
pub mod refund_notify;
pub mod sign;
pub mod trade_state;
pub mod xml;
