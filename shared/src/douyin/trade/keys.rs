//! SHA256withRSA (PKCS#1 v1.5) as the trade system uses it: the app key signs the
//! `byteAuthorization` of `tt.requestOrder`, the platform key verifies callbacks
//! (douyin-trade.md §3, §6). Keys are parsed once per cold start.

use crate::rsa_keys::{RsaSigningKey, RsaVerifyingKey};

pub use crate::rsa_keys::KeyError;

/// The app's private key. Its Debug output names nothing of the key.
pub struct AppKey {
    key: RsaSigningKey,
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppKey(..)")
    }
}

impl AppKey {
    /// Reads a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    pub fn from_pem(text: &str) -> Result<AppKey, KeyError> {
        let key = RsaSigningKey::from_pem("DOUYIN_PRIVATE_KEY", text)?;
        Ok(AppKey { key })
    }

    /// The standard padded Base64 of the SHA256withRSA signature of `message`.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        self.key.sign_base64(message)
    }
}

/// The platform's public key.
pub struct PlatformKey {
    key: RsaVerifyingKey,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformKey(..)")
    }
}

impl PlatformKey {
    /// Reads an SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM.
    pub fn from_pem(text: &str) -> Result<PlatformKey, KeyError> {
        let key = RsaVerifyingKey::from_pem("DOUYIN_PLATFORM_PUBLIC_KEY", text)?;
        Ok(PlatformKey { key })
    }

    /// Whether `signature_base64` is the platform's signature of `message`.
    pub fn verify(&self, message: &[u8], signature_base64: &str) -> bool {
        self.key.verify(message, signature_base64)
    }
}

/// The keys this function was given, with the settings that go with them, built once
/// per cold start.
#[derive(Debug)]
pub struct TradeKeys {
    pub app_id: String,
    pub app_key: Option<AppKey>,
    pub platform_key: Option<PlatformKey>,
    pub key_version: String,
}

/// The string `tt.requestOrder` checks: the method and path are fixed literals and
/// every line ends in `\n`, the last one included.
pub fn request_order_message(timestamp: i64, nonce: &str, data: &str) -> String {
    format!("POST\n/requestOrder\n{timestamp}\n{nonce}\n{data}\n")
}

/// The string a callback is signed over: the two headers and the raw body bytes.
pub fn callback_message(timestamp: &str, nonce: &str, raw_body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + raw_body.len() + 3);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(raw_body);
    message.push(b'\n');
    message
}

impl TradeKeys {
    /// The `byteAuthorization` for `data`, unquoted as on the requestOrder page.
    pub fn byte_authorization(&self, data: &str, timestamp: i64, nonce: &str) -> Result<String, KeyError> {
        let key = self
            .app_key
            .as_ref()
            .ok_or(KeyError::NotConfigured("DOUYIN_PRIVATE_KEY"))?;
        let signature = key.sign_base64(request_order_message(timestamp, nonce, data).as_bytes());
        Ok(format!(
            "SHA256-RSA2048 appid={},nonce_str={nonce},timestamp={timestamp},key_version={},signature={signature}",
            self.app_id, self.key_version
        ))
    }

    pub fn verify_callback(
        &self,
        timestamp: &str,
        nonce: &str,
        raw_body: &[u8],
        signature: &str,
    ) -> Result<bool, KeyError> {
        let key = self
            .platform_key
            .as_ref()
            .ok_or(KeyError::NotConfigured("DOUYIN_PLATFORM_PUBLIC_KEY"))?;
        Ok(key.verify(&callback_message(timestamp, nonce, raw_body), signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::{
        TRADE_APP_PUBLIC, TRADE_PLATFORM_PRIVATE, TRADE_PLATFORM_PUBLIC, fresh_rsa_key, rsa_sha256_base64,
        trade_platform_signature,
    };
    use crate::testing::tools::{crate_file, openssl};
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    const PKCS8: &str = include_str!("testdata/app_private_pkcs8.pem");
    const PKCS1: &str = include_str!("testdata/app_private_pkcs1.pem");
    const PLATFORM_PKCS1: &str = include_str!("testdata/platform_public_pkcs1.pem");
    const REQUEST_ORDER_MESSAGE: &str = include_str!("testdata/request_order_message.txt");
    const REQUEST_ORDER_SIGNATURE: &str = include_str!("testdata/request_order_signature.b64");
    const CALLBACK_MESSAGE: &str = include_str!("testdata/callback_message.txt");
    /// Made by OpenSSL with the key that plays the platform's (testdata/README.md).
    const CALLBACK_SIGNATURE: &str = include_str!("testdata/callback_signature.b64");

    /// As deployed: the app's private key, and the platform's public key, of another pair.
    fn keys() -> TradeKeys {
        TradeKeys {
            app_id: "tt07e3715e98c9aac0".into(),
            app_key: Some(AppKey::from_pem(PKCS8).unwrap()),
            platform_key: Some(PlatformKey::from_pem(TRADE_PLATFORM_PUBLIC).unwrap()),
            key_version: "1".into(),
        }
    }

    /// Whether `signature_base64` is the SHA256withRSA of `message` under `public_pem`,
    /// checked by aws-lc directly rather than by [`PlatformKey`].
    fn signed_by(public_pem: &str, message: &[u8], signature_base64: &str) -> bool {
        let spki = pem::parse(public_pem).unwrap();
        let signature = STANDARD.decode(signature_base64).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.contents())
            .verify(message, &signature)
            .is_ok()
    }

    #[test]
    fn signature_matches_openssl_for_both_key_encodings() {
        for pem in [PKCS8, PKCS1] {
            let key = AppKey::from_pem(pem).unwrap();
            assert_eq!(
                key.sign_base64(REQUEST_ORDER_MESSAGE.as_bytes()),
                REQUEST_ORDER_SIGNATURE.trim()
            );
        }
    }

    /// PKCS#1 v1.5 is deterministic: OpenSSL signing the same bytes with the same key must
    /// give the same signature, for messages the recorded vector does not cover.
    #[test]
    fn signature_matches_openssl_run_now() {
        let key = AppKey::from_pem(PKCS8).unwrap();
        let key_file = crate_file("src/douyin/trade/testdata/app_private_pkcs8.pem");
        let long = "x".repeat(5000);
        for data in ["", "{}", "中文课程 \"引号\" \\ \n", long.as_str()] {
            let message = request_order_message(1_732_240_000, "n0nce", data);
            let Some(signature) = openssl(&["dgst", "-sha256", "-sign", &key_file], message.as_bytes()) else {
                return;
            };
            assert_eq!(
                key.sign_base64(message.as_bytes()),
                STANDARD.encode(signature),
                "{data:?}"
            );
        }
    }

    #[test]
    fn request_order_message_is_the_five_line_string() {
        let data = REQUEST_ORDER_MESSAGE.lines().nth(4).unwrap();
        assert_eq!(
            request_order_message(1_700_000_000, "abcdef1234567890", data),
            REQUEST_ORDER_MESSAGE
        );
    }

    #[test]
    fn byte_authorization_is_unquoted_and_signs_the_data() {
        let data = REQUEST_ORDER_MESSAGE.lines().nth(4).unwrap();
        let header = keys()
            .byte_authorization(data, 1_700_000_000, "abcdef1234567890")
            .unwrap();
        assert_eq!(
            header,
            format!(
                "SHA256-RSA2048 appid=tt07e3715e98c9aac0,nonce_str=abcdef1234567890,timestamp=1700000000,\
                 key_version=1,signature={}",
                REQUEST_ORDER_SIGNATURE.trim()
            )
        );
        let without = TradeKeys {
            app_key: None,
            ..keys()
        };
        assert_eq!(
            without.byte_authorization(data, 1, "n"),
            Err(KeyError::NotConfigured("DOUYIN_PRIVATE_KEY"))
        );
    }

    #[test]
    fn openssl_callback_signature_verifies_with_both_public_encodings() {
        let body = CALLBACK_MESSAGE.lines().nth(2).unwrap();
        let message = callback_message("1700000000", "abcdef1234567890", body.as_bytes());
        assert_eq!(message, CALLBACK_MESSAGE.as_bytes());
        for pem in [TRADE_PLATFORM_PUBLIC, PLATFORM_PKCS1] {
            let platform = PlatformKey::from_pem(pem).unwrap();
            assert!(platform.verify(&message, CALLBACK_SIGNATURE));
            assert!(platform.verify(&message, &format!(" {}\n", CALLBACK_SIGNATURE.trim())));
        }
        let keys = keys();
        let verify = |ts: &str, body: &[u8], signature: &str| {
            keys.verify_callback(ts, "abcdef1234567890", body, signature).unwrap()
        };
        assert!(verify("1700000000", body.as_bytes(), CALLBACK_SIGNATURE));
        assert!(!verify("1700000001", body.as_bytes(), CALLBACK_SIGNATURE));
        // The same JSON re-serialised (spaces after colons) no longer verifies.
        let reserialised = body.replace("\":", "\": ");
        assert!(!verify("1700000000", reserialised.as_bytes(), CALLBACK_SIGNATURE));
        assert!(!verify("1700000000", body.as_bytes(), "not base64!"));
        assert!(!verify("1700000000", body.as_bytes(), ""));
        let without = TradeKeys {
            platform_key: None,
            ..self::tests::keys()
        };
        assert_eq!(
            without.verify_callback("1", "n", b"{}", CALLBACK_SIGNATURE),
            Err(KeyError::NotConfigured("DOUYIN_PLATFORM_PUBLIC_KEY"))
        );
    }

    /// The two pairs are not interchangeable: configured the wrong way round, nothing
    /// verifies.
    #[test]
    fn swapping_the_app_and_platform_keys_fails() {
        let body = CALLBACK_MESSAGE.lines().nth(2).unwrap();
        let swapped = TradeKeys {
            app_key: Some(AppKey::from_pem(TRADE_PLATFORM_PRIVATE).unwrap()),
            platform_key: Some(PlatformKey::from_pem(TRADE_APP_PUBLIC).unwrap()),
            ..keys()
        };
        assert!(
            !swapped
                .verify_callback("1700000000", "abcdef1234567890", body.as_bytes(), CALLBACK_SIGNATURE)
                .unwrap()
        );
        let data = REQUEST_ORDER_MESSAGE.lines().nth(4).unwrap();
        let header = swapped
            .byte_authorization(data, 1_700_000_000, "abcdef1234567890")
            .unwrap();
        let signature = header.rsplit_once("signature=").unwrap().1;
        assert_ne!(signature, REQUEST_ORDER_SIGNATURE.trim());
        assert!(!signed_by(
            TRADE_APP_PUBLIC,
            REQUEST_ORDER_MESSAGE.as_bytes(),
            signature
        ));
        // The right way round, the app's signature is the app's and not the platform's.
        let header = keys()
            .byte_authorization(data, 1_700_000_000, "abcdef1234567890")
            .unwrap();
        let signature = header.rsplit_once("signature=").unwrap().1;
        assert!(signed_by(TRADE_APP_PUBLIC, REQUEST_ORDER_MESSAGE.as_bytes(), signature));
        assert!(!signed_by(
            TRADE_PLATFORM_PUBLIC,
            REQUEST_ORDER_MESSAGE.as_bytes(),
            signature
        ));
    }

    #[test]
    fn wrong_or_broken_keys_are_refused_by_name_without_their_text() {
        let err = AppKey::from_pem(TRADE_APP_PUBLIC).unwrap_err();
        assert_eq!(
            err,
            KeyError::WrongKind {
                which: "DOUYIN_PRIVATE_KEY",
                found: "PUBLIC KEY".into(),
                expected: "PRIVATE KEY or RSA PRIVATE KEY",
            }
        );
        assert_eq!(
            AppKey::from_pem("secret-looking text").unwrap_err(),
            KeyError::NotPem("DOUYIN_PRIVATE_KEY")
        );
        let garbage_private = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1, 2, 3]));
        assert_eq!(
            AppKey::from_pem(&garbage_private).unwrap_err(),
            KeyError::Rejected("DOUYIN_PRIVATE_KEY")
        );
        assert_eq!(
            PlatformKey::from_pem(PKCS8).unwrap_err(),
            KeyError::WrongKind {
                which: "DOUYIN_PLATFORM_PUBLIC_KEY",
                found: "PRIVATE KEY".into(),
                expected: "PUBLIC KEY or RSA PUBLIC KEY",
            }
        );
        assert_eq!(
            PlatformKey::from_pem("secret-looking text").unwrap_err(),
            KeyError::NotPem("DOUYIN_PLATFORM_PUBLIC_KEY")
        );
        let garbage = pem::encode(&pem::Pem::new("PUBLIC KEY", vec![1, 2, 3]));
        assert_eq!(
            PlatformKey::from_pem(&garbage).unwrap_err(),
            KeyError::Rejected("DOUYIN_PLATFORM_PUBLIC_KEY")
        );
        assert_eq!(format!("{:?}", AppKey::from_pem(PKCS8).unwrap()), "AppKey(..)");
        assert_eq!(
            format!("{:?}", PlatformKey::from_pem(TRADE_PLATFORM_PUBLIC).unwrap()),
            "PlatformKey(..)"
        );
    }

    #[test]
    fn keys_generated_here_sign_and_verify_as_pem() {
        let (private, public) = fresh_rsa_key();
        let message = request_order_message(1_732_240_000, "n", "{}");
        let signature = AppKey::from_pem(&private).unwrap().sign_base64(message.as_bytes());
        // 256 bytes of RSA-2048 in padded Base64, as on the platform (344 characters).
        assert_eq!(signature.len(), 344);
        assert!(signed_by(&public, message.as_bytes(), &signature));
        let as_platform = PlatformKey::from_pem(&public).unwrap();
        assert!(as_platform.verify(message.as_bytes(), &rsa_sha256_base64(&private, message.as_bytes())));
        assert!(
            !PlatformKey::from_pem(TRADE_PLATFORM_PUBLIC)
                .unwrap()
                .verify(message.as_bytes(), &signature)
        );
    }

    fn arbitrary_text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("0".to_owned()),
            Just("\"\"".to_owned()),
            "[中文课程引号\"'\\\\0 ]{0,40}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn what_either_side_signs_verifies_and_any_change_does_not(data in arbitrary_text(), nonce in "[0-9A-Za-z]{0,32}", ts in 0i64..4_000_000_000) {
            let keys = keys();
            // The app's byteAuthorization, checked with its public key by aws-lc directly.
            let message = request_order_message(ts, &nonce, &data);
            let signature = keys.app_key.as_ref().unwrap().sign_base64(message.as_bytes());
            prop_assert!(signed_by(TRADE_APP_PUBLIC, message.as_bytes(), &signature));
            let mut altered = message.clone().into_bytes();
            let last = altered.len() - 1;
            altered[last] ^= 1;
            prop_assert!(!signed_by(TRADE_APP_PUBLIC, &altered, &signature));
            // The platform's callback signature, made apart from our code.
            let ts = ts.to_string();
            let body = data.as_bytes();
            let signed = trade_platform_signature(&ts, &nonce, body);
            prop_assert!(keys.verify_callback(&ts, &nonce, body, &signed).unwrap());
            let other_nonce = nonce.clone() + "x";
            prop_assert!(!keys.verify_callback(&ts, &other_nonce, body, &signed).unwrap());
            // Signed with the app's key instead, it is no platform callback.
            let by_app = keys.app_key.as_ref().unwrap().sign_base64(&callback_message(&ts, &nonce, body));
            prop_assert!(!keys.verify_callback(&ts, &nonce, body, &by_app).unwrap());
        }
    }
}
