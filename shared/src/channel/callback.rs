//! Callbacks as channels read them: what came (headers and the raw body), what a
//! verified one says, and why one is refused. Applying what it says is the notify
//! service's part, the same for every channel.

use crate::domain::order::{OrderStatus, Payment};
use crate::domain::refund::SettleStatus;
use lambda_http::http::HeaderMap;

/// A callback as the platform sent it. Verification works on `body` exactly as it came.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl Inbound<'_> {
    /// A header's text; empty when absent or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// A verified callback: its kind (as kept in the audit trail), the order it names when
/// it names one, and what it says, or why what it says cannot be used (it is kept all
/// the same: it is authentic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub kind: String,
    pub order: Option<String>,
    pub notice: Result<Notice, Refusal>,
}

/// What a verified callback says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Paid {
        out_order_no: String,
        payment: Payment,
    },
    /// The order ended unpaid, for certain.
    Unpaid {
        out_order_no: String,
        status: OrderStatus,
    },
    RefundEnded {
        out_refund_no: String,
        success: bool,
        /// The refunded amount when the callback reports one: it must be the refund's.
        amount: Option<i64>,
    },
    /// Neither refunded nor failed: a person must act in the merchant console; the
    /// amount stays reserved.
    RefundNeedsAttention {
        out_refund_no: String,
        why: String,
    },
    SettleEnded {
        out_settle_no: String,
        status: SettleStatus,
    },
    /// A refund the user started on the platform, waiting for our synchronous answer.
    UserRefund(UserRefund),
    /// Nothing to change (an unsuccessful payment, a refund still processing, a kind
    /// that is only kept).
    Nothing,
}

/// A refund the user asked for on the platform's order page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRefund {
    pub out_order_no: String,
    /// Our number for it, made from the platform's refund id.
    pub out_refund_no: String,
    /// The platform's refund id.
    pub refund_no: String,
    pub amount: i64,
    pub reason: String,
    /// The answer's `data` once the refund is recorded.
    pub reply_data: serde_json::Value,
}

/// Why a callback is not taken; the platform is told, and retries what it may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The body is not a callback of this kind, or a field is unusable.
    Malformed(String),
    /// Not from the platform, or not for us (a bad signature, another app or merchant).
    NotAuthentic(String),
    /// It contradicts what we recorded (an amount, a reused number).
    Conflict(String),
    /// It names an order, refund or settlement we do not have.
    Unknown(String),
    /// The body is larger than any callback.
    TooLarge,
    /// We cannot take it now (the table, the platform, a setting): retry later.
    Temporary { status: u16, reason: String },
}

impl Refusal {
    pub fn temporary(reason: impl Into<String>) -> Refusal {
        Refusal::Temporary {
            status: 500,
            reason: reason.into(),
        }
    }

    /// The HTTP status the platform gets.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::TooLarge => 413,
            Refusal::NotAuthentic(_) => 401,
            Refusal::Conflict(_) => 409,
            Refusal::Unknown(_) => 404,
            Refusal::Temporary { status, .. } => *status,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Refusal::Malformed(r) | Refusal::NotAuthentic(r) | Refusal::Conflict(r) | Refusal::Unknown(r) => r,
            Refusal::TooLarge => "body too large",
            Refusal::Temporary { reason, .. } => reason,
        }
    }
}

/// How a callback was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Processed, now or before; `data` for answers that carry some.
    Done {
        data: Option<serde_json::Value>,
    },
    Refused(Refusal),
}

impl Ack {
    pub fn done() -> Ack {
        Ack::Done { data: None }
    }
}

/// What the platform is sent back: each channel answers in its platform's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: &impl serde::Serialize) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()),
        }
    }

    /// For a callback to a platform no channel is configured for: there is no format
    /// the sender is known to read, so a plain code and message.
    pub fn unanswerable(ack: Ack) -> Reply {
        let (status, message) = match ack {
            Ack::Done { .. } => (200, "OK".to_owned()),
            Ack::Refused(refusal) => (refusal.status(), refusal.reason().to_owned()),
        };
        let code = if status == 200 { "SUCCESS" } else { "FAIL" };
        Reply::json(status, &serde_json::json!({"code": code, "message": message}))
    }
}

impl From<Refusal> for Ack {
    fn from(refusal: Refusal) -> Self {
        Ack::Refused(refusal)
    }
}
