//! The life of a refund or a settlement: accepted as PROCESSING, then SUCCESS or FAIL
//! once the money moved or could not (douyin.md §3, §5). Unlike an order, neither
//! times out on its own: a test decides the outcome.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    Processing,
    Success,
    Fail,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Processing => "PROCESSING",
            TransferStatus::Success => "SUCCESS",
            TransferStatus::Fail => "FAIL",
        }
    }

    /// The final status a test asks for.
    pub fn outcome(success: bool) -> TransferStatus {
        if success {
            TransferStatus::Success
        } else {
            TransferStatus::Fail
        }
    }
}

/// What finishing did to a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// PROCESSING became the outcome now.
    Now,
    /// It already had that outcome: nothing changes, the callback is merely resent.
    Before,
}

impl TransferStatus {
    /// Moves a PROCESSING transfer to `outcome`, once. Asking for the other outcome
    /// later is refused rather than ignored: a test that does so has a bug, and
    /// silently resending the first result would hide it.
    pub fn finish(self, outcome: TransferStatus) -> Result<Finished, String> {
        match self {
            TransferStatus::Processing => Ok(Finished::Now),
            current if current == outcome => Ok(Finished::Before),
            current => Err(format!("is {current} and cannot become {outcome}")),
        }
    }
}

impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finishing_happens_once() {
        let (processing, success, fail) = (
            TransferStatus::Processing,
            TransferStatus::Success,
            TransferStatus::Fail,
        );
        assert_eq!(processing.finish(success), Ok(Finished::Now));
        assert_eq!(processing.finish(fail), Ok(Finished::Now));
        assert_eq!(success.finish(success), Ok(Finished::Before));
        assert_eq!(success.finish(fail), Err("is SUCCESS and cannot become FAIL".into()));
        assert_eq!(TransferStatus::outcome(false), fail);
    }
}
