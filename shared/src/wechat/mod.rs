//! WeChat Pay API v2. `sign` (request and paySign signing, notify verification), `xml` (the
//! flat XML it speaks) and `refund_notify` (the encrypted `req_info`) do no I/O, so the
//! sandbox and tests share them with the live client. Protocol: wechat.md. `v3` is the
//! APIv3 crypto layer (signatures, AES-GCM, platform certificates): wechat-v3-reconcile.md.

pub mod client;
pub mod refund_notify;
pub mod sign;
pub mod v3;
pub mod xml;
