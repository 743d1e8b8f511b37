//! Random identifiers shaped like the platform's (only the shape matters to clients).

use rand::RngExt as _;
use rand::distr::Alphanumeric;

const BASE64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` random decimal digits, the first one non-zero so the number keeps its length.
pub fn digits(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|i| {
            let low = if i == 0 { 1 } else { 0 };
            char::from(b'0' + rng.random_range(low..10u8))
        })
        .collect()
}

/// `len` random letters and digits.
pub fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The base64 text of `bytes` random bytes (padding included), like a `session_key`.
pub fn base64ish(bytes: usize) -> String {
    let mut rng = rand::rng();
    let chars = bytes.div_ceil(3) * 4;
    let padding = (3 - bytes % 3) % 3;
    let mut text: String = (0..chars - padding)
        .map(|_| char::from(BASE64_ALPHABET[rng.random_range(0..BASE64_ALPHABET.len())]))
        .collect();
    text.extend(std::iter::repeat_n('=', padding));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let number = digits(19);
        assert_eq!(number.len(), 19);
        assert!(number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0'));
        assert!(alphanumeric(30).bytes().all(|b| b.is_ascii_alphanumeric()));
        let key = base64ish(16);
        assert_eq!(key.len(), 24);
        assert!(key.ends_with("=="));
        assert_ne!(base64ish(16), key);
    }
}
