//! What the merchant signs with its API private key (wechat-v3-reconcile.md A.3, A.6): every
//! request, in the `Authorization` header, and the `paySign` of `wx.requestPayment`.

use super::signed_lines;
use crate::rsa_keys::RsaSigningKey;

/// The scheme of the `Authorization` header and of `Wechatpay-Signature-Type`.
pub const AUTH_SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// `METHOD\nCANONICAL_URL\nTIMESTAMP\nNONCE\nBODY\n`. The canonical URL is the path plus
/// `?query` when there is one, without scheme or host; the body is the exact bytes sent,
/// empty for a GET (whose message then ends in `\n\n`).
pub fn request_message(method: &str, canonical_url: &str, timestamp: i64, nonce: &str, body: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    signed_lines(&[
        method.as_bytes(),
        canonical_url.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        body,
    ])
}

/// `appId\ntimeStamp\nnonceStr\npackage\n`: `signType` is not signed.
pub fn pay_sign_message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> Vec<u8> {
    signed_lines(&[
        app_id.as_bytes(),
        time_stamp.as_bytes(),
        nonce_str.as_bytes(),
        package.as_bytes(),
    ])
}

/// The merchant API private key (`apiclient_key.pem`). Debug prints nothing of the key.
pub struct MerchantKey {
    key: RsaSigningKey,
}

impl std::fmt::Debug for MerchantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MerchantKey(..)")
    }
}

impl MerchantKey {
    /// Reads a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM. The error names the
    /// setting and what is wrong, never the text.
    pub fn from_pem(pem: &str) -> Result<MerchantKey, String> {
        let key = RsaSigningKey::from_pem("WECHAT_MCH_PRIVATE_KEY", pem).map_err(|e| e.to_string())?;
        Ok(MerchantKey { key })
    }

    /// Base64 of the RSASSA-PKCS1-v1_5-SHA256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        self.key.sign_base64(message)
    }
}

/// The merchant's identity with its key: signs requests and paySign.
#[derive(Debug)]
pub struct MerchantSigner {
    pub mch_id: String,
    /// Serial number of the merchant API certificate, as WeChat shows it.
    pub serial_no: String,
    key: MerchantKey,
}

impl MerchantSigner {
    pub fn new(mch_id: impl Into<String>, serial_no: impl Into<String>, key: MerchantKey) -> Self {
        Self {
            mch_id: mch_id.into(),
            serial_no: serial_no.into(),
            key,
        }
    }

    /// The whole `Authorization` header value, in the field order wechatpay-go pins:
    /// `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`.
    pub fn authorization(&self, method: &str, canonical_url: &str, body: &[u8], timestamp: i64, nonce: &str) -> String {
        let signature = self
            .key
            .sign(&request_message(method, canonical_url, timestamp, nonce, body));
        format!(
            "{AUTH_SCHEMA} mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.mch_id, self.serial_no
        )
    }

    /// The `paySign` of `wx.requestPayment` (`signType` `RSA`). `app_id` must be the appid
    /// the order was placed with.
    pub fn pay_sign(&self, app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
        self.key.sign(&pay_sign_message(app_id, time_stamp, nonce_str, package))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::fresh_rsa_key;
    use crate::testing::tools::{TempFile, openssl};
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    const GO_KEY_PKCS8: &str = include_str!("testdata/go_test_private_pkcs8.pem");
    const GO_KEY_PKCS1: &str = include_str!("testdata/go_test_private_pkcs1.pem");
    const GO_PUBLIC: &str = include_str!("testdata/go_test_public.pem");

    /// The inputs of wechatpay-go's `wechat_pay_credential_test.go`.
    const MCH_ID: &str = "1234567890";
    const CERT_SERIAL: &str = "0123456789ABC";

    fn signer() -> MerchantSigner {
        MerchantSigner::new(MCH_ID, CERT_SERIAL, MerchantKey::from_pem(GO_KEY_PKCS8).unwrap())
    }

    /// Whether `signature` is the SHA256withRSA of `message` under `public_pem`, checked by
    /// aws-lc directly.
    fn signed_by(public_pem: &str, message: &[u8], signature: &str) -> bool {
        let spki = pem::parse(public_pem).unwrap();
        let Ok(signature) = STANDARD.decode(signature) else {
            return false;
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.contents())
            .verify(message, &signature)
            .is_ok()
    }

    const T5_SIGNATURE: &str = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==";

    #[test]
    fn vector_t5_sha256_with_rsa_for_both_key_encodings() {
        for pem in [GO_KEY_PKCS8, GO_KEY_PKCS1] {
            assert_eq!(MerchantKey::from_pem(pem).unwrap().sign(b"source"), T5_SIGNATURE);
        }
    }

    #[test]
    fn request_message_matches_wechatpay_go() {
        assert_eq!(
            request_message("GET", "/v3/certificates", 1_624_523_846, "A1B2C3D4E5F6G7", b""),
            b"GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n"
        );
        assert_eq!(
            request_message(
                "POST",
                "/v3/certificates",
                1_624_523_846,
                "A1B2C3D4E5F6G7",
                b"Hello World!\n"
            ),
            b"POST\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\nHello World!\n\n"
        );
        assert_eq!(
            request_message(
                "GET",
                "/v3/pay/transactions/out-trade-no/T1?mchid=1230000109",
                7,
                "n",
                b""
            ),
            b"GET\n/v3/pay/transactions/out-trade-no/T1?mchid=1230000109\n7\nn\n\n"
        );
    }

    const T6_SIGNATURE: &str = "mG2drrUCDR7EVrJmQVI6eW5VlDB0zzpcYLC83UiNxe1aNAomazwWci4q/HPA7MmlbGAswwSE7iPiLy3vflXohf42WXNA031htDbpBCVt1ti2teKFPh531KK07unc+CrCiepz6veTgsylXYO4iBI+DYQ4UDj+r8A/lhqj7yHmtLjvcJ45Og6Wdecd/T7jGgMwcEe1mR7HLzC7R6snnLOaRwnPCe6WyiWGDHHuQzvNFeaztpM3noedCPEwGculoy2MPVvNER6TpM8CUijpKChWM7Q5vIwg8QYv9bH7IuZitLMAgx0+cgaNzFbzZuXxwGB6wIAmv70dWcQx8F2erR/Nzw==";

    #[test]
    fn vector_t6_authorization_of_a_get() {
        assert_eq!(
            signer().authorization("GET", "/v3/certificates", b"", 1_624_523_846, "A1B2C3D4E5F6G7"),
            format!(
                "WECHATPAY2-SHA256-RSA2048 mchid=\"1234567890\",nonce_str=\"A1B2C3D4E5F6G7\",\
                 timestamp=\"1624523846\",serial_no=\"0123456789ABC\",signature=\"{T6_SIGNATURE}\""
            )
        );
    }

    const T8_BODY: &str = r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#;
    const T8_SIGNATURE: &str = "pZiQhrF522xeAq+RRHDJybp2Pa+UY+kdjK/7ttFy6n20wjQGCBWdMWasBFz0gS+hxH3ljSj6KXmwA2jtjZTsdZoWBf5SDw1OfgmXpI0onXKS08kt7+mnMkJFpuT3QtlDBtfOcW5DQjA2JezMtJLsVDfd1cja8EyDVkRAmVeI2ZK3/+OFZirZ9Qt10l7ojFZyc2nb8yOCi6w1W2UUEZenveeim5v9qFLZbTupUkzR8TwjSJXOKK4EA+OY6HACrFD8QeaKvezTwQbGqTiH3gZvajrbuK4iHIZKThBs413j4xRau+ZocaMYm18dgCX2DitoYqjpsmIiL69zeD8dWz4LuQ==";

    #[test]
    fn vector_t8_authorization_of_a_post_with_a_utf8_body() {
        let header = signer().authorization(
            "POST",
            "/v3/pay/transactions/jsapi",
            T8_BODY.as_bytes(),
            1_554_208_460,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
        );
        assert_eq!(
            header,
            format!(
                "WECHATPAY2-SHA256-RSA2048 mchid=\"1234567890\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",\
                 timestamp=\"1554208460\",serial_no=\"0123456789ABC\",signature=\"{T8_SIGNATURE}\""
            )
        );
    }

    const T7_PAY_SIGN: &str = "UV+EKQ3OdnOkUbbKaVi53s/67T59JbHx9gc9MaWoQEOaiZH+uYMByfW2MWXTZW1gnOXl1CqwzHtx7QUxfatSdSxgBhbNhJx1QaxkP0zSXAgXIoWPAktOlj9n/phfOH95rNl8bHzRDUoNAMQmfQy8SHGooKtEU6/87nWXHhcYarv/nmtgAJcwsV+lGJQ4jLZhGl5BaAvpLW1Xg8yYg1DXNjik2SPK8d+4FRSkW671wIvxXQCYqG3mi3FvxP5XJ3OBVbPk4GRf/8wi2r2eiqXYd5e4mRMIAOGxqape9Cm46kxrjlHF0uM+wSir4Nychn2H5geUh2YvE8vJJMAqmkN2gg==";

    #[test]
    fn vector_t7_pay_sign() {
        let (app_id, time_stamp, nonce_str, package) = (
            "wx8888888888888888",
            "1414561699",
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "prepay_id=wx201410272009395522657a690389285100",
        );
        assert_eq!(
            pay_sign_message(app_id, time_stamp, nonce_str, package),
            format!("{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n").into_bytes()
        );
        assert_eq!(signer().pay_sign(app_id, time_stamp, nonce_str, package), T7_PAY_SIGN);
    }

    #[test]
    fn wrong_or_broken_keys_are_refused_by_name_without_their_text() {
        let refused = |pem: &str| MerchantKey::from_pem(pem).unwrap_err();
        assert_eq!(
            refused(GO_PUBLIC),
            "WECHAT_MCH_PRIVATE_KEY is a PEM PUBLIC KEY, not PRIVATE KEY or RSA PRIVATE KEY"
        );
        assert_eq!(refused("secret-looking text"), "WECHAT_MCH_PRIVATE_KEY is not PEM");
        let garbage = pem::encode(&pem::Pem::new("PRIVATE KEY", b"secret-looking bytes".to_vec()));
        let error = refused(&garbage);
        assert_eq!(
            error,
            "WECHAT_MCH_PRIVATE_KEY is not a usable RSA key (at least 2048 bits)"
        );
        let shown = format!("{:?}", signer());
        assert!(!shown.contains("MII") && shown.contains("MerchantKey(..)"), "{shown}");
        assert!(shown.contains(MCH_ID) && shown.contains(CERT_SERIAL), "{shown}");
    }

    /// PKCS#1 v1.5 is deterministic, so OpenSSL signing the same message with the same key
    /// gives the same bytes: a key nobody published, and bodies the vectors do not cover.
    #[test]
    fn signatures_match_openssl_for_a_fresh_key() {
        let (private_pem, public_pem) = fresh_rsa_key();
        let signer = MerchantSigner::new(MCH_ID, CERT_SERIAL, MerchantKey::from_pem(&private_pem).unwrap());
        let key_file = TempFile::new(private_pem.as_bytes());
        let key_file = key_file.path();
        let long = "长".repeat(3000);
        let bodies: [&[u8]; 5] = [
            b"",
            b"{}",
            "{\"d\":\"中文 \\\"引号\\\"\"}".as_bytes(),
            b"a\0b\n",
            long.as_bytes(),
        ];
        for body in bodies {
            let message = request_message("POST", "/v3/refund/domestic/refunds?x=1", 1_700_000_000, "n0nce", body);
            let Some(expected) = openssl(&["dgst", "-sha256", "-sign", key_file], &message) else {
                return;
            };
            let header = signer.authorization("POST", "/v3/refund/domestic/refunds?x=1", body, 1_700_000_000, "n0nce");
            assert!(
                header.ends_with(&format!(",signature=\"{}\"", STANDARD.encode(expected))),
                "{body:?}"
            );
        }
        let message = pay_sign_message("wx1", "1700000000", "n", "prepay_id=p");
        let Some(expected) = openssl(&["dgst", "-sha256", "-sign", key_file], &message) else {
            return;
        };
        let pay_sign = signer.pay_sign("wx1", "1700000000", "n", "prepay_id=p");
        assert_eq!(pay_sign, STANDARD.encode(expected));
        assert!(signed_by(&public_pem, &message, &pay_sign));
        assert!(!signed_by(GO_PUBLIC, &message, &pay_sign));
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            Just(b"\0".to_vec()),
            "[中文\"'\\\\0 {}:,]{0,40}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..200),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// The header carries the written rule's message signed with the merchant key: it
        /// verifies with the public key, and with no byte of the message changed.
        #[test]
        fn authorization_signs_the_five_lines_and_nothing_else(
            method in "GET|POST|PUT|PATCH|DELETE",
            url in "/v3/[a-z/_-]{0,30}(\\?[a-z]=[0-9a-z&=]{0,10})?",
            ts in 0i64..4_000_000_000,
            nonce in "[0-9A-Z]{1,32}",
            body in body(),
            flip in any::<proptest::sample::Index>(),
        ) {
            let header = signer().authorization(&method, &url, &body, ts, &nonce);
            let prefix = format!(
                "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCH_ID}\",nonce_str=\"{nonce}\",timestamp=\"{ts}\",serial_no=\"{CERT_SERIAL}\",signature=\""
            );
            prop_assert!(header.starts_with(&prefix), "{}", header);
            let signature = header[prefix.len()..].strip_suffix('"').unwrap();
            let mut message = format!("{method}\n{url}\n{ts}\n{nonce}\n").into_bytes();
            message.extend_from_slice(&body);
            message.push(b'\n');
            prop_assert!(signed_by(GO_PUBLIC, &message, signature));
            let at = flip.index(message.len());
            message[at] ^= 1;
            prop_assert!(!signed_by(GO_PUBLIC, &message, signature));
        }
    }
}
