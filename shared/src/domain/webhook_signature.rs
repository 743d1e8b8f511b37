//! The `Minipay-Signature` header of a webhook (CONTRACT.md §9), Stripe's scheme: the
//! receiver recomputes the HMAC over the time and the raw body it got, and refuses old
//! times, so a captured delivery cannot be replayed later or with another body.

use crate::secret::Secret;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Minipay-Signature";

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature_header(secret: &Secret, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_vector_computed_with_pythons_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
        //   b"1732240000.{\"id\":\"evt_1\"}", hashlib.sha256).hexdigest())'
        let header = signature_header(&Secret::new("whsec_test"), 1_732_240_000, r#"{"id":"evt_1"}"#);
        assert_eq!(
            header,
            "t=1732240000,v1=0fddda13c0f3fe245ca3a8472f5f3fa33c234f4de47f23e11807c71c83f2b27c"
        );
    }

    #[test]
    fn covers_the_time_the_body_and_the_secret() {
        let secret = Secret::new("whsec_test");
        let base = signature_header(&secret, 100, "{}");
        assert_ne!(base, signature_header(&secret, 101, "{}"));
        assert_ne!(base, signature_header(&secret, 100, "{ }"));
        assert_ne!(base, signature_header(&Secret::new("whsec_other"), 100, "{}"));
        assert!(!base.contains("whsec_test"));
    }
}
