//! Why a control operation (pay, fail, expire, finish a refund or settlement) was refused.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxError {
    /// No order with this `out_order_no` was ever created.
    UnknownOrder(String),
    /// No refund with this `out_refund_no` was ever accepted.
    UnknownRefund(String),
    /// No settlement with this `out_settle_no` was ever accepted.
    UnknownSettle(String),
    /// The order exists but its state forbids the operation (e.g. paying a failed order).
    Conflict(String),
    /// The request itself makes no sense (e.g. no notify URL to call back).
    Invalid(String),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::UnknownOrder(no) => write!(f, "unknown order {no}"),
            SandboxError::UnknownRefund(no) => write!(f, "unknown refund {no}"),
            SandboxError::UnknownSettle(no) => write!(f, "unknown settlement {no}"),
            SandboxError::Conflict(reason) | SandboxError::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for SandboxError {}
