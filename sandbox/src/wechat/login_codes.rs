//! The codes `wx.login` would hand the mini-program: five minutes, single use. Unlike
//! Douyin, WeChat tells a reused code (40163) from an unknown one (40029), so spent
//! codes are remembered.

use crate::random;
use std::collections::{HashMap, HashSet};

/// A `wx.login` code lives five minutes (wechat.md §1).
pub const CODE_LIFETIME_SECS: i64 = 300;

#[derive(Debug)]
struct IssuedCode {
    user: String,
    issued_at: i64,
}

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Never issued, or expired.
    Invalid,
    /// Redeemed before.
    Used,
}

#[derive(Debug, Default)]
pub struct LoginCodes {
    issued: HashMap<String, IssuedCode>,
    spent: HashSet<String>,
}

impl LoginCodes {
    pub fn issue(&mut self, user: &str, now: i64) -> String {
        let code = random::alphanumeric(32);
        self.issued.insert(
            code.clone(),
            IssuedCode {
                user: user.to_owned(),
                issued_at: now,
            },
        );
        code
    }

    /// The user a code was issued for; the code is spent either way.
    pub fn redeem(&mut self, code: &str, now: i64) -> Result<String, CodeRefusal> {
        if self.spent.contains(code) {
            return Err(CodeRefusal::Used);
        }
        let issued = self.issued.remove(code).ok_or(CodeRefusal::Invalid)?;
        self.spent.insert(code.to_owned());
        if now - issued.issued_at > CODE_LIFETIME_SECS {
            return Err(CodeRefusal::Invalid);
        }
        Ok(issued.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_work_once_then_count_as_used() {
        let mut codes = LoginCodes::default();
        let code = codes.issue("alice", 1000);
        assert_eq!(codes.redeem(&code, 1000), Ok("alice".to_owned()));
        assert_eq!(codes.redeem(&code, 1001), Err(CodeRefusal::Used));
        assert_eq!(codes.redeem("never-issued", 1001), Err(CodeRefusal::Invalid));
    }

    #[test]
    fn codes_expire_after_five_minutes() {
        let mut codes = LoginCodes::default();
        let late = codes.issue("alice", 1000);
        assert_eq!(
            codes.redeem(&late, 1000 + CODE_LIFETIME_SECS + 1),
            Err(CodeRefusal::Invalid)
        );
        let in_time = codes.issue("alice", 1000);
        assert!(codes.redeem(&in_time, 1000 + CODE_LIFETIME_SECS).is_ok());
    }
}
