//! AEAD_AES_256_GCM as WeChat Pay v3 uses it for notify resources and platform
//! certificates (wechat-v3-reconcile.md A.5): the APIv3 key's bytes as the key, a
//! 12-character nonce, `associated_data` as AAD, and Base64 of ciphertext ‖ 16-byte tag.
//! Pinned by the reference's vectors T1 and T4 (T4 uses a 16-byte key: AES-128-GCM,
//! which the same code serves).

use crate::random;
use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The `algorithm` of every encrypted resource.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";
/// Nonce length, in ASCII characters (= bytes).
pub const NONCE_CHARS: usize = 12;

/// A plaintext sealed under the APIv3 key, in the wire's field names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: String,
    pub associated_data: String,
    pub ciphertext: String,
}

fn cipher(key: &[u8]) -> Result<LessSafeKey, String> {
    let algorithm = match key.len() {
        16 => &AES_128_GCM,
        32 => &AES_256_GCM,
        other => return Err(format!("an AES-GCM key has 16 or 32 bytes, not {other}")),
    };
    let unbound = UnboundKey::new(algorithm, key).map_err(|e| format!("unusable AES key: {e}"))?;
    Ok(LessSafeKey::new(unbound))
}

fn nonce(text: &str) -> Result<Nonce, String> {
    Nonce::try_assume_unique_for_key(text.as_bytes()).map_err(|_| format!("the nonce must be {NONCE_CHARS} bytes"))
}

/// Base64(ciphertext ‖ tag) of `plaintext`.
pub fn encrypt(key: &[u8], nonce_text: &str, associated_data: &str, plaintext: &[u8]) -> Result<String, String> {
    let mut in_out = plaintext.to_vec();
    cipher(key)?
        .seal_in_place_append_tag(nonce(nonce_text)?, Aad::from(associated_data.as_bytes()), &mut in_out)
        .map_err(|e| format!("sealing failed: {e}"))?;
    Ok(STANDARD.encode(in_out))
}

/// The plaintext of Base64(ciphertext ‖ tag), or why it does not open.
pub fn decrypt(key: &[u8], nonce_text: &str, associated_data: &str, ciphertext: &str) -> Result<Vec<u8>, String> {
    let mut in_out = STANDARD
        .decode(ciphertext)
        .map_err(|e| format!("ciphertext is not Base64: {e}"))?;
    let plaintext = cipher(key)?
        .open_in_place(nonce(nonce_text)?, Aad::from(associated_data.as_bytes()), &mut in_out)
        .map_err(|_| "the ciphertext does not open with this key, nonce and associated data".to_owned())?;
    Ok(plaintext.to_vec())
}

/// Seals `plaintext` with a fresh nonce.
///
/// # Panics
/// When `key` is not 16 or 32 bytes (the configuration is checked at start).
pub fn seal(key: &[u8], associated_data: &str, plaintext: &[u8]) -> Sealed {
    let nonce = random::alphanumeric(NONCE_CHARS);
    let ciphertext = encrypt(key, &nonce, associated_data, plaintext).expect("the APIv3 key was checked at start");
    Sealed {
        nonce,
        associated_data: associated_data.to_owned(),
        ciphertext,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t1_the_32_byte_key_vector_of_wechatpay_java() {
        let key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
        let plaintext = decrypt(
            key,
            "uluk4a9R25RW",
            "associatedData",
            "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
        )
        .unwrap();
        assert_eq!(plaintext, b"message");
        assert_eq!(
            encrypt(key, "uluk4a9R25RW", "associatedData", b"message").unwrap(),
            "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI="
        );
    }

    #[test]
    fn t4_the_16_byte_key_vector_of_wechatpay_go() {
        let key = b"testAPIv3Key0000";
        let aad = "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8";
        let ciphertext = "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC";
        assert_eq!(decrypt(key, "wCq51qZv4Yfg", aad, ciphertext).unwrap(), b"Hello World");
        assert_eq!(encrypt(key, "wCq51qZv4Yfg", aad, b"Hello World").unwrap(), ciphertext);
    }

    #[test]
    fn sealed_resources_open_only_with_the_same_key_and_aad() {
        let key = [7u8; 32];
        let sealed = seal(&key, "transaction", "支付成功".as_bytes());
        assert_eq!(sealed.nonce.len(), NONCE_CHARS);
        let opened = decrypt(&key, &sealed.nonce, "transaction", &sealed.ciphertext).unwrap();
        assert_eq!(opened, "支付成功".as_bytes());
        assert!(decrypt(&key, &sealed.nonce, "refund", &sealed.ciphertext).is_err());
        assert!(decrypt(&[8u8; 32], &sealed.nonce, "transaction", &sealed.ciphertext).is_err());
        assert!(decrypt(&key, "short", "transaction", &sealed.ciphertext).is_err());
        assert!(encrypt(&[1u8; 20], "uluk4a9R25RW", "", b"x").is_err());
    }
}
