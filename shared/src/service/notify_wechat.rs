//! The answer WeChat Pay reads from a notify: XML with SUCCESS (processed now or
//! before) or FAIL and a reason.

use super::notify::callback;
use crate::app::App;
use crate::channel::callback::{Ack, Inbound};
use crate::domain::order::Platform;
use lambda_http::http::HeaderMap;

#[derive(Debug, PartialEq, Eq)]
pub struct WechatReply {
    pub status: u16,
    pub success: bool,
    pub message: String,
}

impl WechatReply {
    pub fn to_xml(&self) -> String {
        let code = if self.success { "SUCCESS" } else { "FAIL" };
        // The message is ours, never the caller's: no CDATA terminator can appear in it.
        format!(
            "<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{}]]></return_msg></xml>",
            self.message.replace("]]>", "")
        )
    }
}

impl From<Ack> for WechatReply {
    fn from(ack: Ack) -> Self {
        match ack {
            Ack::Done { .. } => WechatReply {
                status: 200,
                success: true,
                message: "OK".into(),
            },
            Ack::Refused(refusal) => WechatReply {
                status: refusal.status(),
                success: false,
                message: refusal.reason().to_owned(),
            },
        }
    }
}

/// A WeChat Pay notify with no headers that matter (v2 signs inside the body).
pub async fn wechat_notify(app: &App, raw_body: &[u8]) -> WechatReply {
    let headers = HeaderMap::new();
    let inbound = Inbound {
        headers: &headers,
        body: raw_body,
    };
    callback(app, Platform::Wechat, inbound).await.into()
}
