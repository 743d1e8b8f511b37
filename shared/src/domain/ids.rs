//! Identifiers: order numbers made here, refund and settle numbers from the back
//! office, session tokens.

use rand::RngExt as _;
use sha2::{Digest, Sha256};

const ORDER_NO_MAX: usize = 32;
const BACK_OFFICE_NO_MAX: usize = 64;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn valid_id(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && value.chars().all(is_id_char)
}

/// `out_order_no`: at most 32 of `[0-9A-Za-z_-]` (WeChat's limit, the tightest).
pub fn valid_out_order_no(value: &str) -> bool {
    valid_id(value, ORDER_NO_MAX)
}

/// `out_refund_no` and `out_settle_no`: at most 64 of `[0-9A-Za-z_-]`.
pub fn valid_back_office_no(value: &str) -> bool {
    valid_id(value, BACK_OFFICE_NO_MAX)
}

/// A new `out_order_no`: unix seconds (sortable for people reading the table) and
/// 80 random bits, 30 characters.
pub fn new_out_order_no(now_secs: i64) -> String {
    let random: [u8; 10] = rand::rng().random();
    format!("{now_secs:010}{}", hex::encode(random))
}

/// A new opaque session token: 128 random bits as 32 hex characters.
pub fn new_session_token() -> String {
    let random: [u8; 16] = rand::rng().random();
    hex::encode(random)
}

/// A nonce for platform requests and callbacks.
pub fn new_nonce() -> String {
    let random: [u8; 16] = rand::rng().random();
    hex::encode(random)
}

/// The key a session is stored under: its hash, so that a copy of the table does not
/// hand out live sessions.
pub fn session_key_of(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_fit_every_platform() {
        let no = new_out_order_no(1_732_240_000);
        assert_eq!(no.len(), 30);
        assert!(valid_out_order_no(&no));
        assert_ne!(no, new_out_order_no(1_732_240_000));
    }

    #[test]
    fn nonces_are_128_random_bits_in_hex() {
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 32);
        assert!(nonce.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(nonce, new_nonce());
    }

    #[test]
    fn id_rules() {
        assert!(valid_out_order_no("a-B_9"));
        for one in ["a", "Z", "0", "_", "-"] {
            assert!(valid_out_order_no(one), "{one}");
        }
        assert!(valid_out_order_no(&"a".repeat(32)));
        assert!(!valid_out_order_no(""));
        assert!(!valid_out_order_no(&"a".repeat(33)));
        assert!(!valid_out_order_no("a*b"));
        assert!(!valid_out_order_no("订单"));
        assert!(valid_back_office_no(&"r".repeat(64)));
        assert!(!valid_back_office_no(&"r".repeat(65)));
    }

    #[test]
    fn session_tokens_are_128_bit_and_hashed_for_storage() {
        let token = new_session_token();
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(token, new_session_token());
        // FIPS 180-2's SHA-256 example: the stored key is the hex digest of the token.
        assert_eq!(
            session_key_of("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
