//! Fresh key material for a WeChat Pay APIv3 merchant, for tests and the demo: the
//! merchant's API key pair (and its certificate's serial), WeChat Pay's public-key pair
//! with its `PUB_KEY_ID_`, and the platform certificate's key. The backend gets the
//! merchant private key and WeChat Pay's public key; the sandbox the rest.

use crate::random;
use crate::trade_keys::key_pair;
use crate::wechat_v3::{WechatV3Mode, WechatV3SandboxConfig};

/// RSA-2048 key pairs as PEM text: private keys PKCS#8 (`PRIVATE KEY`), public keys SPKI
/// (`PUBLIC KEY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatV3Keys {
    pub merchant_private_pem: String,
    pub merchant_public_pem: String,
    /// 40 upper-case hex digits, like the merchant platform's certificate serials.
    pub merchant_cert_serial: String,
    /// `PUB_KEY_ID_` and 32 digits.
    pub public_key_id: String,
    /// WeChat Pay's public-key pair (public-key mode).
    pub pay_private_pem: String,
    pub pay_public_pem: String,
    /// The platform certificate's key (certificate mode); the sandbox issues the
    /// certificate, so the backend learns the public half from `/v3/certificates`.
    pub platform_private_pem: String,
}

impl WechatV3Keys {
    /// What the sandbox holds, in `mode`, with `apiv3_key`.
    pub fn sandbox_config(&self, apiv3_key: &str, mode: WechatV3Mode) -> WechatV3SandboxConfig {
        WechatV3SandboxConfig {
            apiv3_key: apiv3_key.to_owned(),
            merchant_cert_serial: self.merchant_cert_serial.clone(),
            merchant_public_key_pem: self.merchant_public_pem.clone(),
            mode,
            public_key_id: Some(self.public_key_id.clone()),
            public_key_private_pem: Some(self.pay_private_pem.clone()),
            platform_private_pem: Some(self.platform_private_pem.clone()),
        }
    }
}

/// A serial number like the merchant platform's: 40 upper-case hex digits. The first is
/// 1 to 7, so that the DER integer needs neither a sign byte nor loses a leading zero
/// and reads back as exactly these digits.
pub fn certificate_serial() -> String {
    use rand::RngExt as _;
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rng = rand::rng();
    (0..40)
        .map(|i| {
            let low = if i == 0 { 1 } else { 0 };
            let high = if i == 0 { 8 } else { 16 };
            char::from(HEX[rng.random_range(low..high)])
        })
        .collect()
}

/// New key pairs, serial and id.
///
/// # Panics
/// When the system cannot generate a key (no entropy: nothing a caller could fix).
pub fn generate() -> WechatV3Keys {
    let (merchant_private_pem, merchant_public_pem) = key_pair();
    let (pay_private_pem, pay_public_pem) = key_pair();
    let (platform_private_pem, _) = key_pair();
    WechatV3Keys {
        merchant_private_pem,
        merchant_public_pem,
        merchant_cert_serial: certificate_serial(),
        public_key_id: format!("PUB_KEY_ID_0{}", random::digits(31)),
        pay_private_pem,
        pay_public_pem,
        platform_private_pem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat_v3::keys::is_public_key_id;

    #[test]
    fn generated_material_has_the_platform_shapes() {
        let keys = generate();
        assert_eq!(keys.merchant_cert_serial.len(), 40);
        assert!(
            keys.merchant_cert_serial
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        assert!(is_public_key_id(&keys.public_key_id), "{}", keys.public_key_id);
        assert!(keys.pay_public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_ne!(keys.merchant_private_pem, keys.platform_private_pem);
        let config = keys.sandbox_config(&"k".repeat(32), WechatV3Mode::Certificate);
        assert_eq!(config.check(), Ok(()));
        assert_ne!(certificate_serial(), keys.merchant_cert_serial);
    }
}
