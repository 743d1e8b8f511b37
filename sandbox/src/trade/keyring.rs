//! The trade system's RSA (douyin-trade.md §3, §6): the app public key checks what the
//! backend signed for `tt.requestOrder`, the platform private key signs callbacks.
//! SHA256withRSA, PKCS#1 v1.5, standard padded Base64, as on the platform.

use crate::config::TradeSandboxConfig;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::PublicKey;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The parsed keys of a [`TradeSandboxConfig`].
#[derive(Debug)]
pub struct Keyring {
    /// DER, SPKI or PKCS#1: the verifier accepts both.
    app_public_der: Vec<u8>,
    platform_private: RsaKeyPair,
}

impl Keyring {
    /// Parses both PEM keys; the error names the key that does not parse.
    pub fn load(config: &TradeSandboxConfig) -> Result<Keyring, String> {
        Ok(Keyring {
            app_public_der: public_key_der(&config.app_public_key_pem)
                .map_err(|e| format!("the trade app public key: {e}"))?,
            platform_private: private_key(&config.platform_private_key_pem)
                .map_err(|e| format!("the trade platform private key: {e}"))?,
        })
    }

    /// Whether `signature_base64` is the app's SHA256withRSA signature of `message`.
    pub fn verify_app(&self, message: &[u8], signature_base64: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature_base64) else {
            return false;
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.app_public_der)
            .verify(message, &signature)
            .is_ok()
    }

    /// The platform's SHA256withRSA signature of `message`, in Base64.
    pub fn sign_platform(&self, message: &[u8]) -> String {
        STANDARD.encode(sign(&self.platform_private, message))
    }
}

/// The raw SHA256withRSA (PKCS#1 v1.5) signature of `message`.
pub fn sign(key: &RsaKeyPair, message: &[u8]) -> Vec<u8> {
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
        .expect("signing with a parsed RSA key cannot fail");
    signature
}

/// A PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) RSA private key.
pub fn private_key(pem_text: &str) -> Result<RsaKeyPair, String> {
    let pem = pem::parse(pem_text.trim()).map_err(|e| format!("not PEM: {e}"))?;
    let parsed = match pem.tag() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(pem.contents()),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(pem.contents()),
        other => return Err(format!("a {other} PEM is not an RSA private key")),
    };
    parsed.map_err(|e| format!("not a usable RSA private key: {e}"))
}

/// The DER of an SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) RSA public key.
pub fn public_key_der(pem_text: &str) -> Result<Vec<u8>, String> {
    let pem = pem::parse(pem_text.trim()).map_err(|e| format!("not PEM: {e}"))?;
    if !matches!(pem.tag(), "PUBLIC KEY" | "RSA PUBLIC KEY") {
        return Err(format!("a {} PEM is not an RSA public key", pem.tag()));
    }
    // Checked now so that a bad key fails at start-up, not as a signature error later.
    PublicKey::from_der(pem.contents()).map_err(|e| format!("not a usable RSA public key: {e}"))?;
    Ok(pem.into_contents())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trade_keys;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;

    #[test]
    fn signatures_round_trip_in_every_key_format() {
        let keys = trade_keys::generate();
        let app = private_key(&keys.app_private_pem).unwrap();
        // The same keys as PKCS#1, the other accepted form.
        let pkcs1_public = pem::encode(&pem::Pem::new("RSA PUBLIC KEY", app.public_key().as_ref()));
        let mut config = keys.sandbox_config("1");
        config.app_public_key_pem = pkcs1_public;
        let keyring = Keyring::load(&config).unwrap();
        let signature = STANDARD.encode(sign(&app, b"POST\n/requestOrder\n"));
        assert!(keyring.verify_app(b"POST\n/requestOrder\n", &signature));
        assert!(!keyring.verify_app(b"POST\n/requestOrder\nx", &signature));
        assert!(!keyring.verify_app(b"POST\n/requestOrder\n", "not base64!"));

        let platform_public = public_key_der(&keys.platform_public_pem).unwrap();
        let signed = STANDARD.decode(keyring.sign_platform(b"1\nn\n{}\n")).unwrap();
        assert_eq!(signed.len(), 256, "RSA-2048");
        let verifier = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &platform_public);
        assert!(verifier.verify(b"1\nn\n{}\n", &signed).is_ok());

        let der = private_key(&keys.platform_private_pem).unwrap().as_der().unwrap();
        assert!(private_key(&pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref()))).is_ok());
    }

    #[test]
    fn wrong_pems_are_refused_with_the_key_named() {
        let keys = trade_keys::generate();
        let mut config = keys.sandbox_config("1");
        config.app_public_key_pem = keys.app_private_pem.clone();
        assert!(
            Keyring::load(&config)
                .unwrap_err()
                .starts_with("the trade app public key: a PRIVATE KEY")
        );
        let mut config = keys.sandbox_config("1");
        config.platform_private_key_pem = "junk".into();
        assert!(
            Keyring::load(&config)
                .unwrap_err()
                .starts_with("the trade platform private key: not PEM")
        );
    }
}
