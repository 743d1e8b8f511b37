//! Fresh RSA-2048 key pairs for the trade system (the app's and the platform's), for
//! tests and for `sandbox keygen`: the backend gets the app private key and the
//! platform public key, the sandbox the other two.

use crate::config::TradeSandboxConfig;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use pem::{EncodeConfig, LineEnding, Pem};

/// Two key pairs as PEM text: private keys PKCS#8 (`PRIVATE KEY`), public keys SPKI
/// (`PUBLIC KEY`), the forms the console's 密钥设置 deals in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeKeys {
    pub app_private_pem: String,
    pub app_public_pem: String,
    pub platform_private_pem: String,
    pub platform_public_pem: String,
}

impl TradeKeys {
    /// What the sandbox holds: the app public key and the platform private key.
    pub fn sandbox_config(&self, key_version: &str) -> TradeSandboxConfig {
        TradeSandboxConfig {
            app_public_key_pem: self.app_public_pem.clone(),
            platform_private_key_pem: self.platform_private_pem.clone(),
            key_version: key_version.to_owned(),
        }
    }

    /// The files `sandbox keygen` writes, by name.
    pub fn files(&self) -> [(&'static str, &str); 4] {
        [
            ("app_private_key.pem", &self.app_private_pem),
            ("app_public_key.pem", &self.app_public_pem),
            ("platform_private_key.pem", &self.platform_private_pem),
            ("platform_public_key.pem", &self.platform_public_pem),
        ]
    }
}

/// Two new RSA-2048 key pairs.
///
/// # Panics
/// When the system cannot generate a key (no entropy: nothing a caller could fix).
pub fn generate() -> TradeKeys {
    let (app_private_pem, app_public_pem) = key_pair();
    let (platform_private_pem, platform_public_pem) = key_pair();
    TradeKeys {
        app_private_pem,
        app_public_pem,
        platform_private_pem,
        platform_public_pem,
    }
}

/// A new RSA-2048 key pair: (PKCS#8 PEM, SPKI PEM).
pub(crate) fn key_pair() -> (String, String) {
    let key = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA-2048 key");
    let private = key.as_der().expect("PKCS#8 of a generated key");
    let public = key.public_key().as_der().expect("SPKI of a generated key");
    (
        to_pem("PRIVATE KEY", private.as_ref()),
        to_pem("PUBLIC KEY", public.as_ref()),
    )
}

fn to_pem(tag: &str, der: &[u8]) -> String {
    pem::encode_config(&Pem::new(tag, der), EncodeConfig::new().set_line_ending(LineEnding::LF))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_pems_of_the_documented_forms() {
        let keys = generate();
        assert!(keys.app_private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(keys.platform_public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(!keys.app_public_pem.contains('\r'));
        assert_ne!(keys.app_public_pem, keys.platform_public_pem);
        assert_eq!(keys.sandbox_config("2").key_version, "2");
    }
}
