//! A Douyin callback as the service tests send it, answered as Douyin reads it.

use super::notify::callback;
use crate::app::App;
use crate::channel::callback::Inbound;
pub use crate::channel::douyin_reply::DouyinReply;
use crate::domain::order::Platform;
use crate::douyin::trade::TradeHeaders;
use crate::douyin::trade::callback::{BYTE_NONCE, BYTE_SIGNATURE, BYTE_TIMESTAMP};
use crate::store::Store;
use lambda_http::http::{HeaderMap, HeaderValue};

/// A Douyin callback of either kind: trade callbacks carry their signature in the
/// `Byte-*` headers (`trade`), ecpay ones in the body.
pub async fn douyin_callback<S: Store + ?Sized>(
    app: &App<S>,
    trade: Option<&TradeHeaders>,
    raw_body: &[u8],
) -> DouyinReply {
    let mut headers = HeaderMap::new();
    if let Some(trade) = trade {
        for (name, value) in [
            (BYTE_SIGNATURE, &trade.signature),
            (BYTE_TIMESTAMP, &trade.timestamp),
            (BYTE_NONCE, &trade.nonce),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
    }
    let inbound = Inbound {
        headers: &headers,
        body: raw_body,
    };
    callback(app, Platform::Douyin, inbound).await.into()
}
