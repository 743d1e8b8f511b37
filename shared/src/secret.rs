//! A string that must never reach a log, an answer or an error message.

use std::fmt;

/// Holds a secret value (app secret, SALT, token, API key, session_key).
///
/// `Debug` prints a placeholder and there is no `Display`, so a secret cannot be
/// formatted into a log line or an error by accident; `expose` makes every real use
/// visible in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("oDxWDBr4U7FAAQ8hnGDm29i4A6pbTMDKme4WLLvA");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("oDxW"), "{shown}");
    }
}
