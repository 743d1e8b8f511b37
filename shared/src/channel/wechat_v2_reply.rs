//! The answer WeChat Pay v2 reads from a notify: XML with SUCCESS (processed now or
//! before) or FAIL and a reason.

use super::callback::{Ack, Reply};

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

impl WechatReply {
    pub fn render(ack: Ack) -> Reply {
        let reply = WechatReply::from(ack);
        Reply {
            status: reply.status,
            content_type: "text/xml; charset=utf-8",
            body: reply.to_xml(),
        }
    }
}
