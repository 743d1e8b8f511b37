//! AEAD_AES_256_GCM as WeChat uses it for notify resources and the certificate download
//! (wechat-v3-reconcile.md A.5): the APIv3 key as raw ASCII bytes, a 12-character nonce, the
//! associated data as received (may be empty), and Base64 of ciphertext‖16-byte tag.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a resource did not decrypt. No variant carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AeadError {
    #[error("the APIv3 key is {0} bytes long, not 32")]
    KeyLength(usize),
    #[error("the AES-GCM nonce is not 12 bytes long")]
    Nonce,
    #[error("the AES-GCM ciphertext is not Base64")]
    Base64,
    #[error("the AES-GCM tag does not match: another key, nonce or associated data, or an altered ciphertext")]
    Tag,
}

/// Decrypts one resource. A 32-byte key is AES-256-GCM, as WeChat specifies; a 16-byte key is
/// AES-128-GCM, which only the SDKs' published test vectors use (A.9 T3, T4) and which is
/// accepted so that those vectors check this code.
pub fn decrypt(key: &[u8], nonce: &str, associated_data: &str, ciphertext_b64: &str) -> Result<Vec<u8>, AeadError> {
    let algorithm = match key.len() {
        32 => &AES_256_GCM,
        16 => &AES_128_GCM,
        other => return Err(AeadError::KeyLength(other)),
    };
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).map_err(|_| AeadError::Nonce)?;
    let mut in_out = STANDARD.decode(ciphertext_b64).map_err(|_| AeadError::Base64)?;
    let key = LessSafeKey::new(UnboundKey::new(algorithm, key).expect("the key length matches its algorithm"));
    let plaintext_len = key
        .open_in_place(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .map_err(|_| AeadError::Tag)?
        .len();
    in_out.truncate(plaintext_len);
    Ok(in_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::wechat_v3_seal;
    use proptest::prelude::*;

    /// wechatpay-java's `TestConfig.API_V3_KEY` (A.9 T1, T2).
    const JAVA_APIV3_KEY: &[u8] = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

    #[test]
    fn vector_t1_aes_256_gcm() {
        let plaintext = decrypt(
            JAVA_APIV3_KEY,
            "uluk4a9R25RW",
            "associatedData",
            "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
        );
        assert_eq!(plaintext.as_deref(), Ok(&b"message"[..]));
    }

    #[test]
    fn vector_t4_aes_128_gcm_with_a_16_byte_key() {
        let plaintext = decrypt(
            b"testAPIv3Key0000",
            "wCq51qZv4Yfg",
            "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
            "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC",
        );
        assert_eq!(plaintext.as_deref(), Ok(&b"Hello World"[..]));
    }

    #[test]
    fn vector_t1_fails_with_any_part_changed() {
        let t1 = |key: &[u8], nonce, aad, ciphertext| decrypt(key, nonce, aad, ciphertext);
        let ciphertext = "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=";
        assert_eq!(
            t1(
                b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gc",
                "uluk4a9R25RW",
                "associatedData",
                ciphertext
            ),
            Err(AeadError::Tag)
        );
        assert_eq!(
            t1(JAVA_APIV3_KEY, "uluk4a9R25RX", "associatedData", ciphertext),
            Err(AeadError::Tag)
        );
        assert_eq!(t1(JAVA_APIV3_KEY, "uluk4a9R25RW", "", ciphertext), Err(AeadError::Tag));
        assert_eq!(
            t1(
                JAVA_APIV3_KEY,
                "uluk4a9R25RW",
                "associatedData",
                "vlwSiIajGClcvcOYvOQ7+l+0PAbzzwI="
            ),
            Err(AeadError::Tag)
        );
        // Only the tag's 16 bytes, or fewer: nothing authenticates.
        assert_eq!(
            t1(JAVA_APIV3_KEY, "uluk4a9R25RW", "associatedData", "vOQ7+l+0PAbzzwI="),
            Err(AeadError::Tag)
        );
        assert_eq!(
            t1(JAVA_APIV3_KEY, "uluk4a9R25RW", "associatedData", ""),
            Err(AeadError::Tag)
        );
    }

    #[test]
    fn malformed_inputs_are_named() {
        let ciphertext = "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=";
        for nonce in ["", "uluk4a9R25R", "uluk4a9R25RWx", "uluk4a9R25R中"] {
            assert_eq!(
                decrypt(JAVA_APIV3_KEY, nonce, "associatedData", ciphertext),
                Err(AeadError::Nonce),
                "{nonce:?}"
            );
        }
        for not_base64 in [
            "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI",
            "ulwSiIajGClcvcOYvOQ7-l_0PAbzzwI=",
            " ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
        ] {
            assert_eq!(
                decrypt(JAVA_APIV3_KEY, "uluk4a9R25RW", "associatedData", not_base64),
                Err(AeadError::Base64),
                "{not_base64:?}"
            );
        }
    }

    #[test]
    fn error_texts_carry_no_key() {
        let key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8G";
        let errors = [
            decrypt(key, "uluk4a9R25RW", "", "").unwrap_err(),
            decrypt(JAVA_APIV3_KEY, "short", "", "").unwrap_err(),
            decrypt(JAVA_APIV3_KEY, "uluk4a9R25RW", "", "!").unwrap_err(),
            decrypt(JAVA_APIV3_KEY, "uluk4a9R25RW", "", "AAAA").unwrap_err(),
        ];
        assert_eq!(
            errors,
            [
                AeadError::KeyLength(31),
                AeadError::Nonce,
                AeadError::Base64,
                AeadError::Tag
            ]
        );
        for error in errors {
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("a7cde1"), "{shown}");
        }
    }

    fn key_of_either_length() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 32),
            proptest::collection::vec(any::<u8>(), 16)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sealed_resources_open_and_any_change_is_a_tag_error(
            key in key_of_either_length(),
            nonce in "[0-9A-Za-z]{12}",
            aad in "[a-z中文\"\\\\]{0,16}",
            plaintext in proptest::collection::vec(any::<u8>(), 0..300),
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let sealed = wechat_v3_seal(&key, &nonce, &aad, &plaintext);
            prop_assert_eq!(decrypt(&key, &nonce, &aad, &sealed), Ok(plaintext.clone()));

            let mut bytes = STANDARD.decode(&sealed).unwrap();
            let at = flip.index(bytes.len());
            bytes[at] ^= 1 << bit;
            prop_assert_eq!(decrypt(&key, &nonce, &aad, &STANDARD.encode(&bytes)), Err(AeadError::Tag));

            let other_aad = format!("{aad}x");
            prop_assert_eq!(decrypt(&key, &nonce, &other_aad, &sealed), Err(AeadError::Tag));
            let mut other_nonce = nonce.clone().into_bytes();
            other_nonce[flip.index(12)] ^= 0x20;
            let other_nonce = String::from_utf8(other_nonce).unwrap();
            prop_assert_eq!(decrypt(&key, &other_nonce, &aad, &sealed), Err(AeadError::Tag));
            let mut other_key = key.clone();
            other_key[flip.index(key.len())] ^= 1 << bit;
            prop_assert_eq!(decrypt(&other_key, &nonce, &aad, &sealed), Err(AeadError::Tag));
        }

        #[test]
        fn keys_of_other_lengths_are_refused_before_anything_else(
            key in proptest::collection::vec(any::<u8>(), 0..64),
            nonce in ".{0,20}",
            ciphertext in ".{0,40}",
        ) {
            prop_assume!(key.len() != 16 && key.len() != 32);
            prop_assert_eq!(decrypt(&key, &nonce, "", &ciphertext), Err(AeadError::KeyLength(key.len())));
        }
    }
}
