//! The refund notify's `req_info`: base64 of AES-256-ECB (PKCS#7) over a `<root>` XML, keyed by
//! the lower-case hex MD5 of the APIv2 key. No `sign` covers it: decrypting is the
//! authentication. Rules: wechat.md §9.

use std::collections::BTreeMap;

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ecb::cipher::block_padding::Pkcs7;
use ecb::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyInit as _};
use md5::{Digest as _, Md5};

use super::xml::{XmlError, parse_flat, to_xml_with_root};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReqInfoError {
    #[error("req_info is not base64")]
    Base64,
    /// Bad padding: almost always the wrong APIv2 key (Java reports it as BadPaddingException).
    #[error("req_info does not decrypt with this API key")]
    Decrypt,
    #[error("req_info plaintext: {0}")]
    Xml(#[from] XmlError),
}

/// Decrypts a refund notify's `req_info` into the fields of its `<root>` XML. A wrong key gives
/// `Decrypt`, or in the rare case its garbage happens to end in valid padding, `Xml`.
pub fn decrypt_req_info(req_info: &str, api_key: &str) -> Result<BTreeMap<String, String>, ReqInfoError> {
    let ciphertext = BASE64.decode(req_info).map_err(|_| ReqInfoError::Base64)?;
    let plaintext = ecb::Decryptor::<Aes256>::new(&req_info_key(api_key).into())
        .decrypt_padded_vec::<Pkcs7>(&ciphertext)
        .map_err(|_| ReqInfoError::Decrypt)?;
    Ok(parse_flat(&plaintext)?)
}

/// The inverse of [`decrypt_req_info`], for the sandbox and tests.
pub fn encrypt_req_info(fields: &BTreeMap<String, String>, api_key: &str) -> String {
    let plaintext = to_xml_with_root("root", fields);
    let ciphertext =
        ecb::Encryptor::<Aes256>::new(&req_info_key(api_key).into()).encrypt_padded_vec::<Pkcs7>(plaintext.as_bytes());
    BASE64.encode(ciphertext)
}

/// The AES-256 key is the 32 ASCII characters of the hex digest, not the 16 digest bytes.
fn req_info_key(api_key: &str) -> [u8; 32] {
    let mut key = [0; 32];
    hex::encode_to_slice(Md5::digest(api_key.as_bytes()), &mut key).expect("an MD5 digest is 32 hex digits");
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tools::openssl;
    use proptest::prelude::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// go-pay/gopay `wechat/notify_test.go` TestDecryptRefundNotifyReqInfo: a real refund
    /// notify's `req_info`, plaintext laid out with newlines as WeChat sends it.
    const GOPAY_KEY: &str = "ziR0QKsTUfMOuochC9RfCdmfHECorQAP";
    const GOPAY_REQ_INFO: &str = "YYwp8C48th0wnQzTqeI+41pflB26v+smFj9z6h9RPBgxTyZyxc+4YNEz7QEgZNWj/6rIb2MfyWMZmCc41CfjKSssoSZPXxOhUayb6KvNSZ1p6frOX1PDWzhyruXK7ouNND+gDsG4yZ0XXzsL4/pYNwLLba/71QrnkJ/BHcByk4EXnglju5DLup9pJQSnTxjomI9Rxu57m9jg5lLQFxMWXyeASZJNvof0ulnHlWJswS4OxKOkmW7VEyKyLGV6npoOm03Qsx2wkRxLsSa9gPpg4hdaReeUqh1FMbm7aWjyrVYT/MEZWg98p4GomEIYvz34XfDncTezX4bf/ZiSLXt79aE1/YTZrYfymXeCrGjlbe0rg/T2ezJHAC870u2vsVbY1/KcE2A443N+DEnAziXlBQ1AeWq3Rqk/O6/TMM0lomzgctAOiAMg+bh5+Gu1ubA9O3E+vehULydD5qx2o6i3+qA9ORbH415NyRrQdeFq5vmCiRikp5xYptWiGZA0tkoaLKMPQ4ndE5gWHqiBbGPfULZWokI+QjjhhBmwgbd6J0VqpRorwOuzC/BHdkP72DCdNcm7IDUpggnzBIy0+seWIkcHEryKjge3YDHpJeQCqrAH0CgxXHDt1xtbQbST1VqFyuhPhUjDXMXrknrGPN/oE1t0rLRq+78cI+k8xe5E6seeUXQsEe8r3358mpcDYSmXWSXVZxK6er9EF98APqHwcndyEJD2YyCh/mMVhERuX+7kjlRXSiNUWa/Cv/XAKFQuvUYA5ea2eYWtPRHa4DpyuF1SNsaqVKfgqKXZrJHfAgslVpSVqUpX4zkKszHF4kwMZO3M7J1P94Mxa7Tm9mTOJePOoHPXeEB+m9rX6pSfoi3mJDQ5inJ+Vc4gOkg/Wd/lqiy6TTyP/dHDN6/v+AuJx5AXBo/2NDD3fWhHjkqEKIuARr2ClZt9ZRQO4HkXdZo7CN06sGCHk48Tg8PmxnxKcMZm7Aoquv5yMIM2gWSWIRJhwJ8cUpafIHc+GesDlbF6Zbt+/KXkafJAQq2RklEN+WvZ/zFz113EPgWPjp16TwBoziq96MMekvWKY/vdhjol8VFtGH9F61Oy1Xwf6DJtPw==";

    #[test]
    fn gopay_vector_decrypts() {
        let expected = map(&[
            ("out_refund_no", "50fd012ed1b311e7af7800163e32c503"),
            ("out_trade_no", "4893e76d8c8b434cb64e9cd536338e33"),
            ("refund_account", "REFUND_SOURCE_RECHARGE_FUNDS"),
            ("refund_fee", "6"),
            ("refund_id", "50000404922017112502468056157"),
            ("refund_recv_accout", "支付用户零钱"),
            ("refund_request_source", "API"),
            ("refund_status", "SUCCESS"),
            ("settlement_refund_fee", "6"),
            ("settlement_total_fee", "6"),
            ("success_time", "2017-11-25 15:36:17"),
            ("total_fee", "6"),
            ("transaction_id", "4200000015201711256947025404"),
        ]);
        assert_eq!(decrypt_req_info(GOPAY_REQ_INFO, GOPAY_KEY).unwrap(), expected);
    }

    #[test]
    fn key_is_the_ascii_of_the_lower_hex_md5() {
        assert_eq!(&req_info_key(GOPAY_KEY), b"a1fdc4d1da9fb443b1091d34bcee9493");
    }

    const API_KEY: &str = "minipay-test-apiv2-key-0123456789";

    fn sample() -> BTreeMap<String, String> {
        map(&[
            ("out_refund_no", "R20240601"),
            ("refund_fee", "6"),
            ("refund_recv_accout", "支付用户零钱"),
            ("refund_status", "SUCCESS"),
        ])
    }

    /// Made once with `openssl enc -aes-256-ecb -K <hex of md5hex(API_KEY)> -base64 -A` over
    /// the `<root>` XML of `sample()`, so the check holds where openssl is not installed.
    const OPENSSL_REQ_INFO: &str = "HZayvFpuIiqUfIH+Mdtvzc+70bYHA2LkhCuwzqqkfABV/5ULr2ixnhY9nnOaPQ44rNpsDL+dqj7D2dl+zYWoeeHgVh+ZgfDp6EAFoGuT5dEAdrMJYI6+f9cokv6fHePovXqlB/zlSChCSNRXWljqkWlvP8cAzFGlL5W4gOwYDfTGI/WxQrGkuV6+ZhabjS5MB6rTcoQaNU0pYcUIKdhGIoOeu0aeVE4FfEUa+1RUzyK6hvQpDVzwnrDNDTivMnEi0++rgWItVzLRGfthMD+y02Aa1Ei3U9MzL1hel1C+A62GuwqrvaYHgdE9Vyn8HgNb";

    #[test]
    fn encryption_matches_openssl_recorded() {
        assert_eq!(encrypt_req_info(&sample(), API_KEY), OPENSSL_REQ_INFO);
        assert_eq!(decrypt_req_info(OPENSSL_REQ_INFO, API_KEY).unwrap(), sample());
    }

    /// `openssl enc -aes-256-ecb` with the key written out (the ASCII of the lower-case hex
    /// MD5 of the API key, as hex for `-K`), Base64 on one line.
    fn openssl_encrypt(plaintext: &str, api_key: &str) -> Option<String> {
        let key_hex = hex::encode(hex::encode(Md5::digest(api_key.as_bytes())));
        let out = openssl(
            &["enc", "-aes-256-ecb", "-K", &key_hex, "-base64", "-A"],
            plaintext.as_bytes(),
        )?;
        Some(String::from_utf8(out).unwrap().trim().to_owned())
    }

    #[test]
    fn encryption_matches_openssl_run_now() {
        let cases = [
            map(&[("out_refund_no", "R-2"), ("note", "]]> & <tag> 中文"), ("empty", "")]),
            map(&[]),
            map(&[("a", &"x".repeat(47))]),
        ];
        for fields in cases {
            let Some(expected) = openssl_encrypt(&to_xml_with_root("root", &fields), API_KEY) else {
                return;
            };
            assert_eq!(encrypt_req_info(&fields, API_KEY), expected);
            assert_eq!(decrypt_req_info(&expected, API_KEY).unwrap(), fields);
        }
    }

    #[test]
    fn round_trip() {
        let encrypted = encrypt_req_info(&sample(), API_KEY);
        assert_eq!(decrypt_req_info(&encrypted, API_KEY).unwrap(), sample());
    }

    #[test]
    fn wrong_key_is_a_decrypt_error() {
        assert_eq!(decrypt_req_info(GOPAY_REQ_INFO, API_KEY), Err(ReqInfoError::Decrypt));
        assert_eq!(
            decrypt_req_info(OPENSSL_REQ_INFO, GOPAY_KEY),
            Err(ReqInfoError::Decrypt)
        );
    }

    #[test]
    fn garbage_base64_is_a_base64_error() {
        for garbage in ["not base64!", "WECHATPAY/SIGNTEST/", "YWJj=", "YQ"] {
            assert_eq!(
                decrypt_req_info(garbage, API_KEY),
                Err(ReqInfoError::Base64),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn ciphertext_of_the_wrong_length_is_a_decrypt_error() {
        // Valid base64, but not a whole number of AES blocks: must fail, not panic.
        for odd in ["", "YWJj", &GOPAY_REQ_INFO[..GOPAY_REQ_INFO.len() - 4]] {
            assert_eq!(decrypt_req_info(odd, GOPAY_KEY), Err(ReqInfoError::Decrypt), "{odd:?}");
        }
    }

    #[test]
    fn plaintext_that_is_not_flat_xml_is_an_xml_error() {
        let key = req_info_key(API_KEY);
        let encrypt = |text: &str| {
            BASE64.encode(ecb::Encryptor::<Aes256>::new(&key.into()).encrypt_padded_vec::<Pkcs7>(text.as_bytes()))
        };
        assert_eq!(
            decrypt_req_info(&encrypt(r#"<!DOCTYPE r [<!ENTITY x "y">]><root/>"#), API_KEY),
            Err(ReqInfoError::Xml(XmlError::Doctype))
        );
        assert!(matches!(
            decrypt_req_info(&encrypt("<root><a><b/></a></root>"), API_KEY),
            Err(ReqInfoError::Xml(XmlError::Nested))
        ));
    }

    proptest! {
        #[test]
        fn any_fields_round_trip(
            fields in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC*", 0..6), key in "[a-zA-Z0-9]{32}",
        ) {
            prop_assert_eq!(decrypt_req_info(&encrypt_req_info(&fields, &key), &key).unwrap(), fields);
        }

        #[test]
        fn another_key_never_decrypts(fields in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,20}", 1..4)) {
            prop_assert!(decrypt_req_info(&encrypt_req_info(&fields, API_KEY), GOPAY_KEY).is_err());
        }
    }
}
