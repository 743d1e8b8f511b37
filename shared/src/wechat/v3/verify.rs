//! What WeChat signs: every answer and notify carries `Wechatpay-Timestamp`, `-Nonce`,
//! `-Signature` and `-Serial`, the signature being SHA256withRSA over
//! `TIMESTAMP\nNONCE\nBODY\n` with the raw body (wechat-v3-reconcile.md A.4), by the WeChat
//! Pay public key or a platform certificate, whichever the serial names (A.7).

use lambda_http::http::HeaderMap;

use super::signed_lines;
use crate::rsa_keys::RsaVerifyingKey;

/// WeChat deliberately sends, now and then, a signature starting with this (not Base64):
/// a merchant must refuse it like any signature that does not verify.
pub const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// How far `Wechatpay-Timestamp` may be from now, either way.
pub const MAX_SKEW_SECS: i64 = 300;

/// An unknown serial is quoted in errors up to this many characters: it comes from the
/// sender, who may make it any length.
const SERIAL_SHOWN_CHARS: usize = 64;

/// The four `Wechatpay-*` headers and the raw body they sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed<'a> {
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
    pub serial: &'a str,
    pub body: &'a [u8],
}

impl<'a> Signed<'a> {
    /// From `Wechatpay-Timestamp`, `-Nonce`, `-Signature` and `-Serial`; one that is missing,
    /// or is not visible ASCII (which no WeChat header is), is `Missing(its name)`.
    pub fn from_headers(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Signed<'a>, VerifyError> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .ok_or(VerifyError::Missing(name))
        };
        Ok(Signed {
            timestamp: header("Wechatpay-Timestamp")?,
            nonce: header("Wechatpay-Nonce")?,
            signature: header("Wechatpay-Signature")?,
            serial: header("Wechatpay-Serial")?,
            body,
        })
    }

    fn message(&self) -> Vec<u8> {
        signed_lines(&[self.timestamp.as_bytes(), self.nonce.as_bytes(), self.body])
    }
}

/// Why an answer or notify is not taken as WeChat's. Only the serial, which WeChat sent in
/// the clear, is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("Wechatpay-Timestamp is not a time within {MAX_SKEW_SECS} s of now")]
    Stale,
    #[error("a signature probe ({PROBE_PREFIX}...), refused as WeChat expects")]
    Probe,
    #[error("no WeChat Pay key or platform certificate has the serial {0:?}")]
    UnknownSerial(String),
    #[error("the signature does not verify")]
    BadSignature,
}

/// A key WeChat signs with: the WeChat Pay public key (id `PUB_KEY_ID_…`) or a platform
/// certificate's key (id = its serial, upper-case hex).
#[derive(Clone)]
pub struct VerifyingKey {
    id: String,
    key: RsaVerifyingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The WeChat Pay public key as downloaded from the merchant console (`PUBLIC KEY`, SPKI).
    pub fn from_public_key_pem(id: &str, pem: &str) -> Result<VerifyingKey, String> {
        let key = RsaVerifyingKey::from_pem("WECHAT_PAY_PUBLIC_KEY", pem).map_err(|e| e.to_string())?;
        Ok(VerifyingKey { id: id.to_owned(), key })
    }

    /// A certificate's SubjectPublicKeyInfo (DER).
    pub(super) fn from_spki_der(id: &str, spki: &[u8]) -> Result<VerifyingKey, String> {
        let key = RsaVerifyingKey::from_der("the platform certificate's key", spki).map_err(|e| e.to_string())?;
        Ok(VerifyingKey { id: id.to_owned(), key })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Every key a merchant accepts: during a switchover, the public key and the certificates.
#[derive(Debug, Clone, Default)]
pub struct PlatformKeys {
    keys: Vec<VerifyingKey>,
}

impl PlatformKeys {
    /// Where two keys have the same id, the first one given is used.
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        Self { keys }
    }

    /// Whether some key has exactly this id.
    pub fn knows(&self, serial: &str) -> bool {
        self.key(serial).is_some()
    }

    fn key(&self, serial: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|key| key.id == serial)
    }

    /// Checks, in this order: the timestamp is a number within `MAX_SKEW_SECS` of `now`
    /// (else `Stale`); the signature is no probe (`Probe`); a key has exactly the serial as
    /// its id (`UnknownSerial`); the signature is Base64 and verifies (`BadSignature`).
    /// Never panics, whatever the headers hold.
    pub fn verify(&self, signed: &Signed, now: i64) -> Result<(), VerifyError> {
        let timestamp: i64 = signed.timestamp.parse().map_err(|_| VerifyError::Stale)?;
        // In i128, no timestamp a sender chooses can overflow the difference.
        if (i128::from(now) - i128::from(timestamp)).abs() > i128::from(MAX_SKEW_SECS) {
            return Err(VerifyError::Stale);
        }
        if signed.signature.starts_with(PROBE_PREFIX) {
            return Err(VerifyError::Probe);
        }
        let key = self
            .key(signed.serial)
            .ok_or_else(|| VerifyError::UnknownSerial(signed.serial.chars().take(SERIAL_SHOWN_CHARS).collect()))?;
        if key.key.verify(&signed.message(), signed.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::{TRADE_PLATFORM_PRIVATE, fresh_rsa_key, wechat_v3_signature};
    use crate::testing::tools::{TempFile, openssl};
    use crate::wechat::v3::aead;
    use crate::wechat::v3::cert::PlatformCertificate;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use lambda_http::http::HeaderValue;
    use proptest::prelude::*;

    const GO_KEY: &str = include_str!("testdata/go_test_private_pkcs8.pem");
    const GO_PUBLIC: &str = include_str!("testdata/go_test_public.pem");
    const GO_CERT: &str = include_str!("testdata/go_notify_cert.pem");
    const T3_BODY: &str = include_str!("testdata/go_notify_body.json");
    const T3_SIGNATURE: &str = include_str!("testdata/go_notify_signature.b64");
    const T3_TIMESTAMP: i64 = 1_624_523_846;
    const T3_NONCE: &str = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz";
    const T3_SERIAL: &str = "D7CE59D1F522D701";
    const PUB_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000001";

    fn t3_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("wechatpay-timestamp", "1624523846"),
            ("wechatpay-nonce", T3_NONCE),
            ("wechatpay-serial", T3_SERIAL),
            ("wechatpay-signature", T3_SIGNATURE),
            ("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048"),
        ] {
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn t3_certificate_keys() -> PlatformKeys {
        let cert = PlatformCertificate::parse(GO_CERT).unwrap();
        PlatformKeys::new(vec![cert.verifying_key().unwrap()])
    }

    fn public_key() -> VerifyingKey {
        VerifyingKey::from_public_key_pem(PUB_KEY_ID, GO_PUBLIC).unwrap()
    }

    /// The whole of wechatpay-go's `TestHandler_ParseNotifyRequest` (A.9 T3): the published
    /// signature verifies over the published headers and body with the certificate's key,
    /// then the resource decrypts with the 16-byte APIv3 key of that test.
    #[test]
    fn vector_t3_notify_verifies_and_decrypts() {
        assert_eq!(T3_BODY.len(), 568);
        let headers = t3_headers();
        let signed = Signed::from_headers(&headers, T3_BODY.as_bytes()).unwrap();
        assert_eq!(
            signed,
            Signed {
                timestamp: "1624523846",
                nonce: T3_NONCE,
                signature: T3_SIGNATURE,
                serial: T3_SERIAL,
                body: T3_BODY.as_bytes(),
            }
        );
        assert_eq!(t3_certificate_keys().verify(&signed, T3_TIMESTAMP), Ok(()));

        let notify: serde_json::Value = serde_json::from_str(T3_BODY).unwrap();
        let resource = &notify["resource"];
        let plaintext = aead::decrypt(
            b"testMchAPIv3Key0",
            resource["nonce"].as_str().unwrap(),
            resource["associated_data"].as_str().unwrap(),
            resource["ciphertext"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(plaintext).unwrap(),
            r#"{"mchid":"1234567890","appid":"054aa7d7a2a54ab5898df65bd96f001c","create_time":"2020-06-30T12:12:00+08:00","out_contract_code":"21640bdbd08e473e828f3206a2741c6e"}"#
        );
    }

    #[test]
    fn vector_t3_refused_for_each_check_in_its_order() {
        let headers = t3_headers();
        let signed = Signed::from_headers(&headers, T3_BODY.as_bytes()).unwrap();
        let keys = t3_certificate_keys();
        assert_eq!(keys.verify(&signed, T3_TIMESTAMP + 301), Err(VerifyError::Stale));
        assert_eq!(keys.verify(&signed, T3_TIMESTAMP - 301), Err(VerifyError::Stale));
        assert_eq!(keys.verify(&signed, T3_TIMESTAMP + 300), Ok(()));
        assert_eq!(keys.verify(&signed, T3_TIMESTAMP - 300), Ok(()));

        let probe = format!("{PROBE_PREFIX}{T3_SIGNATURE}");
        let probed = Signed {
            signature: &probe,
            ..signed
        };
        assert_eq!(keys.verify(&probed, T3_TIMESTAMP), Err(VerifyError::Probe));
        // Stale comes first: a stale probe is just stale.
        assert_eq!(keys.verify(&probed, T3_TIMESTAMP + 301), Err(VerifyError::Stale));

        let lower_case = Signed {
            serial: "d7ce59d1f522d701",
            ..signed
        };
        assert_eq!(
            keys.verify(&lower_case, T3_TIMESTAMP),
            Err(VerifyError::UnknownSerial("d7ce59d1f522d701".into()))
        );

        let altered = T3_BODY.replacen("签约成功", "签约失败", 1);
        let tampered = Signed {
            body: altered.as_bytes(),
            ..signed
        };
        assert_eq!(keys.verify(&tampered, T3_TIMESTAMP), Err(VerifyError::BadSignature));
        // The same body with a trailing newline is another body.
        let with_newline = format!("{T3_BODY}\n");
        let reframed = Signed {
            body: with_newline.as_bytes(),
            ..signed
        };
        assert_eq!(keys.verify(&reframed, T3_TIMESTAMP), Err(VerifyError::BadSignature));
    }

    /// Public-key mode and the switchover (A.7): the serial picks the key; a key of the right
    /// pair under another id does not answer for the certificate's serial.
    #[test]
    fn the_serial_picks_the_public_key_or_the_certificate() {
        let headers = t3_headers();
        let signed = Signed::from_headers(&headers, T3_BODY.as_bytes()).unwrap();
        let by_public_key = Signed {
            serial: PUB_KEY_ID,
            ..signed
        };
        let public_only = PlatformKeys::new(vec![public_key()]);
        assert!(public_only.knows(PUB_KEY_ID) && !public_only.knows(T3_SERIAL));
        assert_eq!(public_only.verify(&by_public_key, T3_TIMESTAMP), Ok(()));
        assert_eq!(
            public_only.verify(&signed, T3_TIMESTAMP),
            Err(VerifyError::UnknownSerial(T3_SERIAL.into()))
        );

        let cert = PlatformCertificate::parse(GO_CERT).unwrap().verifying_key().unwrap();
        assert_eq!(cert.id(), T3_SERIAL);
        let switching = PlatformKeys::new(vec![public_key(), cert]);
        assert_eq!(switching.verify(&by_public_key, T3_TIMESTAMP), Ok(()));
        assert_eq!(switching.verify(&signed, T3_TIMESTAMP), Ok(()));

        let (_, other_public) = fresh_rsa_key();
        let wrong_pair = PlatformKeys::new(vec![
            VerifyingKey::from_public_key_pem(T3_SERIAL, &other_public).unwrap(),
        ]);
        assert_eq!(wrong_pair.verify(&signed, T3_TIMESTAMP), Err(VerifyError::BadSignature));

        let nothing = PlatformKeys::default();
        assert!(!nothing.knows(""));
        assert_eq!(
            nothing.verify(&signed, T3_TIMESTAMP),
            Err(VerifyError::UnknownSerial(T3_SERIAL.into()))
        );
    }

    #[test]
    fn each_missing_header_is_named() {
        for name in [
            "Wechatpay-Timestamp",
            "Wechatpay-Nonce",
            "Wechatpay-Signature",
            "Wechatpay-Serial",
        ] {
            let mut headers = t3_headers();
            headers.remove(name);
            assert_eq!(Signed::from_headers(&headers, b"{}"), Err(VerifyError::Missing(name)));
            headers.insert(name, HeaderValue::from_bytes("签名".as_bytes()).unwrap());
            assert_eq!(Signed::from_headers(&headers, b"{}"), Err(VerifyError::Missing(name)));
        }
    }

    #[test]
    fn public_keys_that_are_not_public_keys_are_refused_without_their_text() {
        let error = VerifyingKey::from_public_key_pem(PUB_KEY_ID, GO_KEY).unwrap_err();
        assert_eq!(
            error,
            "WECHAT_PAY_PUBLIC_KEY is a PEM PRIVATE KEY, not PUBLIC KEY or RSA PUBLIC KEY"
        );
        assert_eq!(
            VerifyingKey::from_public_key_pem(PUB_KEY_ID, "MIIB not pem").unwrap_err(),
            "WECHAT_PAY_PUBLIC_KEY is not PEM"
        );
        assert_eq!(
            format!("{:?}", public_key()),
            format!("VerifyingKey {{ id: {PUB_KEY_ID:?}, .. }}")
        );
    }

    #[test]
    fn unknown_serials_are_quoted_short() {
        let long = "S".repeat(10_000);
        let signed = Signed {
            timestamp: "100",
            nonce: "n",
            signature: "x",
            serial: &long,
            body: b"",
        };
        let Err(VerifyError::UnknownSerial(shown)) = PlatformKeys::new(vec![public_key()]).verify(&signed, 100) else {
            panic!("an unknown serial is UnknownSerial");
        };
        assert_eq!(shown, "S".repeat(SERIAL_SHOWN_CHARS));
    }

    /// OpenSSL signs `TIMESTAMP\nNONCE\nBODY\n` with a key made now; we verify it.
    #[test]
    fn openssl_signatures_by_a_fresh_key_verify() {
        let (private_pem, public_pem) = fresh_rsa_key();
        let key_file = TempFile::new(private_pem.as_bytes());
        let keys = PlatformKeys::new(vec![
            VerifyingKey::from_public_key_pem(PUB_KEY_ID, &public_pem).unwrap(),
        ]);
        let bodies: [&[u8]; 4] = [
            b"",
            "{\"summary\":\"支付成功 \\\"引号\\\"\"}".as_bytes(),
            b"\0\0",
            b"{}\r\n",
        ];
        for body in bodies {
            let mut message = b"1700000000\nn0nce\n".to_vec();
            message.extend_from_slice(body);
            message.push(b'\n');
            let Some(signature) = openssl(&["dgst", "-sha256", "-sign", key_file.path()], &message) else {
                return;
            };
            let signature = STANDARD.encode(signature);
            let signed = Signed {
                timestamp: "1700000000",
                nonce: "n0nce",
                signature: &signature,
                serial: PUB_KEY_ID,
                body,
            };
            assert_eq!(keys.verify(&signed, 1_700_000_000), Ok(()), "{body:?}");
            let other_nonce = Signed {
                nonce: "n0nc3",
                ..signed
            };
            assert_eq!(keys.verify(&other_nonce, 1_700_000_000), Err(VerifyError::BadSignature));
        }
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            Just(b"\0".to_vec()),
            "[中文\"'\\\\0 {}:,]{0,40}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..200),
        ]
    }

    /// Keys as a switching merchant holds them: the public key, then the certificate.
    fn switching_keys() -> PlatformKeys {
        let cert = PlatformCertificate::parse(GO_CERT).unwrap();
        PlatformKeys::new(vec![public_key(), cert.verifying_key().unwrap()])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn what_wechat_signs_verifies_and_any_change_does_not(
            body in body(),
            ts in 1_000_000_000i64..4_000_000_000,
            skew in -MAX_SKEW_SECS..=MAX_SKEW_SECS,
            nonce in "[0-9A-Za-z]{1,32}",
            by_public_key in any::<bool>(),
            flip in any::<proptest::sample::Index>(),
        ) {
            let keys = switching_keys();
            let serial = if by_public_key { PUB_KEY_ID } else { T3_SERIAL };
            let timestamp = ts.to_string();
            let signature = wechat_v3_signature(GO_KEY, &timestamp, &nonce, &body);
            let signed = Signed { timestamp: &timestamp, nonce: &nonce, signature: &signature, serial, body: &body };
            prop_assert_eq!(keys.verify(&signed, ts + skew), Ok(()));

            if !body.is_empty() {
                let mut altered = body.clone();
                altered[flip.index(body.len())] ^= 1;
                prop_assert_eq!(keys.verify(&Signed { body: &altered, ..signed }, ts), Err(VerifyError::BadSignature));
            }
            let later = (ts + 1).to_string();
            prop_assert_eq!(keys.verify(&Signed { timestamp: &later, ..signed }, ts), Err(VerifyError::BadSignature));
            let mut other_nonce = nonce.clone().into_bytes();
            other_nonce[flip.index(nonce.len())] ^= 0x20;
            let other_nonce = String::from_utf8(other_nonce).unwrap();
            prop_assert_eq!(keys.verify(&Signed { nonce: &other_nonce, ..signed }, ts), Err(VerifyError::BadSignature));

            let by_another_key = wechat_v3_signature(TRADE_PLATFORM_PRIVATE, &timestamp, &nonce, &body);
            prop_assert_eq!(keys.verify(&Signed { signature: &by_another_key, ..signed }, ts), Err(VerifyError::BadSignature));
            let other_serial = format!("{serial}0");
            prop_assert_eq!(
                keys.verify(&Signed { serial: &other_serial, ..signed }, ts),
                Err(VerifyError::UnknownSerial(other_serial.clone()))
            );
        }

        #[test]
        fn more_than_300_seconds_either_way_is_stale(
            ts in any::<i64>(),
            beyond in 1i64..1_000_000,
            later in any::<bool>(),
        ) {
            let timestamp = ts.to_string();
            let signature = wechat_v3_signature(GO_KEY, &timestamp, "n", b"{}");
            let signed = Signed { timestamp: &timestamp, nonce: "n", signature: &signature, serial: PUB_KEY_ID, body: b"{}" };
            let offset = MAX_SKEW_SECS + beyond;
            let now = if later { ts.saturating_add(offset) } else { ts.saturating_sub(offset) };
            // Saturation at i64's ends can bring `now` back within the window.
            prop_assume!((i128::from(now) - i128::from(ts)).abs() > i128::from(MAX_SKEW_SECS));
            prop_assert_eq!(switching_keys().verify(&signed, now), Err(VerifyError::Stale));
        }

        #[test]
        fn any_probe_is_a_probe(rest in any::<String>(), serial in "PUB_KEY_ID_[0-9]{0,30}|[0-9A-F]{0,40}") {
            let signature = format!("{PROBE_PREFIX}{rest}");
            let signed = Signed { timestamp: "1700000000", nonce: "n", signature: &signature, serial: &serial, body: b"{}" };
            prop_assert_eq!(switching_keys().verify(&signed, 1_700_000_000), Err(VerifyError::Probe));
        }

        /// Arbitrary header bytes never panic, and never verify.
        #[test]
        fn arbitrary_headers_are_refused_without_a_panic(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 4),
            known_serial in any::<bool>(),
            body in body(),
            now in any::<i64>(),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in ["wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial"].into_iter().zip(&values) {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.insert(name, value);
                }
            }
            if known_serial {
                headers.insert("wechatpay-serial", HeaderValue::from_static(PUB_KEY_ID));
            }
            if let Ok(signed) = Signed::from_headers(&headers, &body) {
                prop_assert!(switching_keys().verify(&signed, now).is_err());
                let timestamp = signed.timestamp.to_owned();
                let fresh = Signed { timestamp: &timestamp, ..signed };
                if let Ok(ts) = timestamp.parse::<i64>() {
                    prop_assert!(switching_keys().verify(&fresh, ts).is_err());
                }
            }
        }
    }
}
