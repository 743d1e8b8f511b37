//! The answer Douyin reads from a callback: `{"err_no", "err_tips"}`, 0 meaning
//! processed (now or before); `pre_create_refund` answers carry `data`.

use super::callback::{Ack, Refusal, Reply};
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

impl DouyinReply {
    pub fn render(ack: Ack) -> Reply {
        let reply = DouyinReply::from(ack);
        Reply::json(reply.status, &reply)
    }
}
