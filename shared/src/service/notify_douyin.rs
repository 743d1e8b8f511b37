//! The answer Douyin reads from a callback: `{"err_no", "err_tips"}`, 0 meaning
//! processed (now or before); `pre_create_refund` answers carry `data`.

use super::notify::callback;
use crate::app::App;
use crate::channel::callback::{Ack, Inbound, Refusal};
use crate::domain::order::Platform;
use crate::douyin::trade::TradeHeaders;
use crate::douyin::trade::callback::{BYTE_NONCE, BYTE_SIGNATURE, BYTE_TIMESTAMP};
use lambda_http::http::{HeaderMap, HeaderValue};
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DouyinReply {
    #[serde(skip)]
    pub status: u16,
    pub err_no: i64,
    pub err_tips: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl DouyinReply {
    pub fn success() -> Self {
        DouyinReply {
            status: 200,
            err_no: 0,
            err_tips: "success".into(),
            data: None,
        }
    }

    pub fn refuse(status: u16, err_no: i64, tips: impl Into<String>) -> Self {
        DouyinReply {
            status,
            err_no,
            err_tips: tips.into(),
            data: None,
        }
    }
}

impl From<Ack> for DouyinReply {
    fn from(ack: Ack) -> Self {
        match ack {
            Ack::Done { data } => DouyinReply {
                data,
                ..DouyinReply::success()
            },
            Ack::Refused(refusal) => {
                let err_no = match refusal {
                    Refusal::Malformed(_) | Refusal::TooLarge => 1,
                    Refusal::NotAuthentic(_) => 2,
                    Refusal::Conflict(_) => 3,
                    Refusal::Unknown(_) => 4,
                    Refusal::Temporary { .. } => 5,
                };
                DouyinReply::refuse(refusal.status(), err_no, refusal.reason())
            }
        }
    }
}

/// A Douyin callback of either kind: trade callbacks carry their signature in the
/// `Byte-*` headers (`trade`), ecpay ones in the body.
pub async fn douyin_callback(app: &App, trade: Option<&TradeHeaders>, raw_body: &[u8]) -> DouyinReply {
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
