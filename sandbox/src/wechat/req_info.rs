//! `req_info` of the refund notify (wechat.md §9): the refund's fields as XML under
//! `<root>`, encrypted with AES-256-ECB and PKCS7 padding, then base64. The AES key is
//! the 32 ASCII characters of the lower-case hex MD5 of the APIv2 key.
//!
//! The sandbox's own code, pinned by the published gopay vector below.

use super::Fields;
use super::xml::{Form, XmlError, XmlWriter, parse_flat};
use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ecb::cipher::block_padding::Pkcs7;
use ecb::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyInit as _};
use md5::{Digest as _, Md5};

/// The AES-256 key: `md5(api_key)` as 32 lower-case hex characters, used as bytes.
pub fn aes_key(api_key: &str) -> [u8; 32] {
    let hex_digest = hex::encode(Md5::digest(api_key.as_bytes()));
    let mut key = [0; 32];
    key.copy_from_slice(hex_digest.as_bytes());
    key
}

/// The plaintext as WeChat lays it out: `<root>`, one field per line, values in CDATA,
/// in the order given.
pub fn plaintext<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut xml = XmlWriter::new("root", "\n");
    for (name, value) in fields {
        xml.field(name, value, Form::Cdata);
    }
    xml.finish()
}

pub fn encrypt(plaintext: &str, api_key: &str) -> String {
    let ciphertext =
        ecb::Encryptor::<Aes256>::new(&aes_key(api_key).into()).encrypt_padded_vec::<Pkcs7>(plaintext.as_bytes());
    BASE64.encode(ciphertext)
}

/// Why a `req_info` does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReqInfoError {
    Base64,
    /// A wrong key shows up as bad padding.
    Decryption,
    Xml(XmlError),
}

/// The fields inside `req_info` (for tests, which play the merchant receiving it).
pub fn decrypt(req_info: &str, api_key: &str) -> Result<Fields, ReqInfoError> {
    let ciphertext = BASE64.decode(req_info).map_err(|_| ReqInfoError::Base64)?;
    let plaintext = ecb::Decryptor::<Aes256>::new(&aes_key(api_key).into())
        .decrypt_padded_vec::<Pkcs7>(&ciphertext)
        .map_err(|_| ReqInfoError::Decryption)?;
    parse_flat(&plaintext).map_err(ReqInfoError::Xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-pay/gopay `wechat/notify_test.go` (TestDecryptRefundNotifyReqInfo), cited in
    /// wechat.md §9: a real refund notify's `req_info` and its merchant key. The
    /// plaintext was read independently with `openssl enc -d -aes-256-ecb`.
    const GOPAY_KEY: &str = "ziR0QKsTUfMOuochC9RfCdmfHECorQAP";
    const GOPAY_REQ_INFO: &str = "YYwp8C48th0wnQzTqeI+41pflB26v+smFj9z6h9RPBgxTyZyxc+4YNEz7QEgZNWj/6rIb2MfyWMZmCc41CfjKSssoSZPXxOhUayb6KvNSZ1p6frOX1PDWzhyruXK7ouNND+gDsG4yZ0XXzsL4/pYNwLLba/71QrnkJ/BHcByk4EXnglju5DLup9pJQSnTxjomI9Rxu57m9jg5lLQFxMWXyeASZJNvof0ulnHlWJswS4OxKOkmW7VEyKyLGV6npoOm03Qsx2wkRxLsSa9gPpg4hdaReeUqh1FMbm7aWjyrVYT/MEZWg98p4GomEIYvz34XfDncTezX4bf/ZiSLXt79aE1/YTZrYfymXeCrGjlbe0rg/T2ezJHAC870u2vsVbY1/KcE2A443N+DEnAziXlBQ1AeWq3Rqk/O6/TMM0lomzgctAOiAMg+bh5+Gu1ubA9O3E+vehULydD5qx2o6i3+qA9ORbH415NyRrQdeFq5vmCiRikp5xYptWiGZA0tkoaLKMPQ4ndE5gWHqiBbGPfULZWokI+QjjhhBmwgbd6J0VqpRorwOuzC/BHdkP72DCdNcm7IDUpggnzBIy0+seWIkcHEryKjge3YDHpJeQCqrAH0CgxXHDt1xtbQbST1VqFyuhPhUjDXMXrknrGPN/oE1t0rLRq+78cI+k8xe5E6seeUXQsEe8r3358mpcDYSmXWSXVZxK6er9EF98APqHwcndyEJD2YyCh/mMVhERuX+7kjlRXSiNUWa/Cv/XAKFQuvUYA5ea2eYWtPRHa4DpyuF1SNsaqVKfgqKXZrJHfAgslVpSVqUpX4zkKszHF4kwMZO3M7J1P94Mxa7Tm9mTOJePOoHPXeEB+m9rX6pSfoi3mJDQ5inJ+Vc4gOkg/Wd/lqiy6TTyP/dHDN6/v+AuJx5AXBo/2NDD3fWhHjkqEKIuARr2ClZt9ZRQO4HkXdZo7CN06sGCHk48Tg8PmxnxKcMZm7Aoquv5yMIM2gWSWIRJhwJ8cUpafIHc+GesDlbF6Zbt+/KXkafJAQq2RklEN+WvZ/zFz113EPgWPjp16TwBoziq96MMekvWKY/vdhjol8VFtGH9F61Oy1Xwf6DJtPw==";

    const GOPAY_FIELDS: [(&str, &str); 13] = [
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
    ];

    #[test]
    fn the_key_is_the_ascii_of_the_lower_hex_md5() {
        assert_eq!(&aes_key(GOPAY_KEY), b"a1fdc4d1da9fb443b1091d34bcee9493");
    }

    #[test]
    fn encrypting_wechats_layout_gives_the_published_req_info() {
        // ECB is deterministic: the same plaintext, laid out as WeChat does, must give
        // the published ciphertext byte for byte.
        assert_eq!(encrypt(&plaintext(GOPAY_FIELDS), GOPAY_KEY), GOPAY_REQ_INFO);
    }

    #[test]
    fn the_published_req_info_decrypts() {
        let expected: Fields = GOPAY_FIELDS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(decrypt(GOPAY_REQ_INFO, GOPAY_KEY), Ok(expected));
        assert!(decrypt(GOPAY_REQ_INFO, "another key").is_err());
        assert_eq!(decrypt("not base64!", GOPAY_KEY), Err(ReqInfoError::Base64));
    }
}
