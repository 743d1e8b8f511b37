//! A WeChat Pay v2 notify as the service tests send it, answered as WeChat reads it.

use super::notify::callback;
use crate::app::App;
use crate::channel::callback::Inbound;
pub use crate::channel::wechat_v2_reply::WechatReply;
use crate::domain::order::Platform;
use crate::store::Store;
use lambda_http::http::HeaderMap;

/// A WeChat Pay notify with no headers that matter (v2 signs inside the body).
pub async fn wechat_notify<S: Store + ?Sized>(app: &App<S>, raw_body: &[u8]) -> WechatReply {
    let headers = HeaderMap::new();
    let inbound = Inbound {
        headers: &headers,
        body: raw_body,
    };
    callback(app, Platform::Wechat, inbound).await.into()
}
