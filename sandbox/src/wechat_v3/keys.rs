//! SHA256withRSA as WeChat Pay v3 uses it (A.3, A.4): PKCS#1 v1.5, standard padded
//! Base64; requests are checked with the merchant's public key, answers and notifies
//! signed with WeChat Pay's public-key pair or a platform certificate's key. Pinned by
//! the reference's vectors T3 and T5–T8 (the wechatpay-go test key, in `testdata/`).

use super::settings::WechatV3SandboxConfig;
use crate::trade::keyring::{private_key, public_key_der, sign};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `PUB_KEY_ID_` and at least one digit, nothing else.
pub fn is_public_key_id(text: &str) -> bool {
    text.strip_prefix("PUB_KEY_ID_")
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Base64 of the SHA256withRSA signature of `message`.
pub fn sign_base64(key: &RsaKeyPair, message: &[u8]) -> String {
    STANDARD.encode(sign(key, message))
}

/// Whether `signature_base64` is a SHA256withRSA signature of `message` by the key of
/// `public_der` (SPKI or PKCS#1 DER). Probes and other non-Base64 text are simply false.
pub fn verifies(public_der: &[u8], message: &[u8], signature_base64: &str) -> bool {
    let Ok(signature) = STANDARD.decode(signature_base64) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_der)
        .verify(message, &signature)
        .is_ok()
}

/// WeChat Pay's public-key pair and its id.
#[derive(Debug)]
pub struct PublicKeyPair {
    pub id: String,
    pub key: RsaKeyPair,
}

/// The parsed fixed keys of a [`WechatV3SandboxConfig`] (the platform certificates can
/// change at run time and live with the state).
#[derive(Debug)]
pub struct V3Keys {
    /// Checks request signatures.
    pub merchant_public_der: Vec<u8>,
    pub public_key: Option<PublicKeyPair>,
}

impl V3Keys {
    /// Parses the keys; the error names the key that does not parse.
    pub fn load(config: &WechatV3SandboxConfig) -> Result<V3Keys, String> {
        let merchant_public_der =
            public_key_der(&config.merchant_public_key_pem).map_err(|e| format!("the merchant public key: {e}"))?;
        let public_key = match (&config.public_key_id, &config.public_key_private_pem) {
            (Some(id), Some(pem)) => Some(PublicKeyPair {
                id: id.clone(),
                key: private_key(pem).map_err(|e| format!("the WeChat Pay public key's private key: {e}"))?,
            }),
            _ => None,
        };
        if let Some(pem) = &config.platform_private_pem {
            private_key(pem).map_err(|e| format!("the platform certificate key: {e}"))?;
        }
        Ok(V3Keys {
            merchant_public_der,
            public_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::KeyPair as _;

    const TEST_KEY: &str = include_str!("../../testdata/wechatpay_go_test_key.pem");

    fn test_key() -> RsaKeyPair {
        private_key(TEST_KEY).unwrap()
    }

    fn public_der() -> Vec<u8> {
        test_key().public_key().as_ref().to_vec()
    }

    #[test]
    fn t5_sha256withrsa_of_wechatpay_go() {
        let expected = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==";
        assert_eq!(sign_base64(&test_key(), b"source"), expected);
        assert!(verifies(&public_der(), b"source", expected));
        assert!(!verifies(&public_der(), b"sourcE", expected));
    }

    #[test]
    fn t6_t8_request_signatures() {
        let get = "GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n";
        let t6 = "mG2drrUCDR7EVrJmQVI6eW5VlDB0zzpcYLC83UiNxe1aNAomazwWci4q/HPA7MmlbGAswwSE7iPiLy3vflXohf42WXNA031htDbpBCVt1ti2teKFPh531KK07unc+CrCiepz6veTgsylXYO4iBI+DYQ4UDj+r8A/lhqj7yHmtLjvcJ45Og6Wdecd/T7jGgMwcEe1mR7HLzC7R6snnLOaRwnPCe6WyiWGDHHuQzvNFeaztpM3noedCPEwGculoy2MPVvNER6TpM8CUijpKChWM7Q5vIwg8QYv9bH7IuZitLMAgx0+cgaNzFbzZuXxwGB6wIAmv70dWcQx8F2erR/Nzw==";
        assert_eq!(sign_base64(&test_key(), get.as_bytes()), t6);
        let post = "POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"1230000109\",\"description\":\"Image形象店-深圳腾大-QQ公仔\",\"out_trade_no\":\"1217752501201407033233368018\",\"notify_url\":\"https://www.weixin.qq.com/wxpay/pay.php\",\"amount\":{\"total\":100,\"currency\":\"CNY\"},\"payer\":{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\"}}\n";
        let t8 = "pZiQhrF522xeAq+RRHDJybp2Pa+UY+kdjK/7ttFy6n20wjQGCBWdMWasBFz0gS+hxH3ljSj6KXmwA2jtjZTsdZoWBf5SDw1OfgmXpI0onXKS08kt7+mnMkJFpuT3QtlDBtfOcW5DQjA2JezMtJLsVDfd1cja8EyDVkRAmVeI2ZK3/+OFZirZ9Qt10l7ojFZyc2nb8yOCi6w1W2UUEZenveeim5v9qFLZbTupUkzR8TwjSJXOKK4EA+OY6HACrFD8QeaKvezTwQbGqTiH3gZvajrbuK4iHIZKThBs413j4xRau+ZocaMYm18dgCX2DitoYqjpsmIiL69zeD8dWz4LuQ==";
        assert_eq!(sign_base64(&test_key(), post.as_bytes()), t8);
        assert!(verifies(&public_der(), post.as_bytes(), t8));
    }

    #[test]
    fn t7_pay_sign() {
        let message = "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n";
        let t7 = "UV+EKQ3OdnOkUbbKaVi53s/67T59JbHx9gc9MaWoQEOaiZH+uYMByfW2MWXTZW1gnOXl1CqwzHtx7QUxfatSdSxgBhbNhJx1QaxkP0zSXAgXIoWPAktOlj9n/phfOH95rNl8bHzRDUoNAMQmfQy8SHGooKtEU6/87nWXHhcYarv/nmtgAJcwsV+lGJQ4jLZhGl5BaAvpLW1Xg8yYg1DXNjik2SPK8d+4FRSkW671wIvxXQCYqG3mi3FvxP5XJ3OBVbPk4GRf/8wi2r2eiqXYd5e4mRMIAOGxqape9Cm46kxrjlHF0uM+wSir4Nychn2H5geUh2YvE8vJJMAqmkN2gg==";
        assert_eq!(sign_base64(&test_key(), message.as_bytes()), t7);
    }

    #[test]
    fn t3_a_published_notify_verifies_and_decrypts() {
        let body = r#"{"id":"3119dfba-e649-5eec-ab1e-3412bc4d2e17","create_time":"2021-06-24T16:37:26+08:00","resource_type":"encrypt-resource","event_type":"PAYSCORE.USER_OPEN_SERVICE","summary":"签约成功","resource":{"original_type":"payscore","algorithm":"AEAD_AES_256_GCM","ciphertext":"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZttevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==","associated_data":"payscore","nonce":"Kj7QIyUiYx1q"}}"#;
        assert_eq!(body.len(), 568);
        let signature = "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXFlbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q==";
        let message = format!("1624523846\nEcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz\n{body}\n");
        assert!(verifies(&public_der(), message.as_bytes(), signature));
        assert!(!verifies(
            &public_der(),
            message.replace("签约", "解约").as_bytes(),
            signature
        ));
        let notify: serde_json::Value = serde_json::from_str(body).unwrap();
        let resource = &notify["resource"];
        let plaintext = super::super::aead::decrypt(
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
    fn probes_and_garbage_never_verify() {
        assert!(!verifies(&public_der(), b"x", "WECHATPAY/SIGNTEST/abc"));
        assert!(!verifies(&public_der(), b"x", ""));
        assert!(is_public_key_id("PUB_KEY_ID_0114232134912410000"));
        assert!(!is_public_key_id("PUB_KEY_ID_"));
        assert!(!is_public_key_id("pub_key_id_1"));
    }
}
