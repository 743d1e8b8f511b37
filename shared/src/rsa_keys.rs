//! RSA keys read from PEM and SHA256withRSA (RSASSA-PKCS1-v1_5) over them, as both the
//! Douyin trade system and WeChat Pay APIv3 sign and verify. Each error names the setting
//! the key came from and never any of its text. Keys are parsed once per cold start.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("{0} is not PEM")]
    NotPem(&'static str),
    #[error("{which} is a PEM {found}, not {expected}")]
    WrongKind {
        which: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("{0} is not a usable RSA key (at least 2048 bits)")]
    Rejected(&'static str),
    #[error("{0} is not configured for this function")]
    NotConfigured(&'static str),
}

/// A private key that signs. Its Debug output names nothing of the key.
pub struct RsaSigningKey {
    pair: RsaKeyPair,
}

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaSigningKey(..)")
    }
}

impl RsaSigningKey {
    /// Reads a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM; `which` names the
    /// setting it came from in an error.
    pub fn from_pem(which: &'static str, text: &str) -> Result<RsaSigningKey, KeyError> {
        let block = pem::parse(text.trim()).map_err(|_| KeyError::NotPem(which))?;
        let pair = match block.tag() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(block.contents()),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(block.contents()),
            other => {
                return Err(KeyError::WrongKind {
                    which,
                    found: other.to_owned(),
                    expected: "PRIVATE KEY or RSA PRIVATE KEY",
                });
            }
        }
        .map_err(|_| KeyError::Rejected(which))?;
        Ok(RsaSigningKey { pair })
    }

    /// The standard padded Base64 of the SHA256withRSA signature of `message`.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        // PKCS#1 v1.5 uses no randomness; the RNG argument is for the API's sake.
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .expect("a parsed RSA key signs any message with SHA-256");
        STANDARD.encode(signature)
    }
}

/// A public key that verifies.
#[derive(Clone)]
pub struct RsaVerifyingKey {
    key: ParsedPublicKey,
}

impl std::fmt::Debug for RsaVerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaVerifyingKey(..)")
    }
}

impl RsaVerifyingKey {
    /// Reads an SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM.
    pub fn from_pem(which: &'static str, text: &str) -> Result<RsaVerifyingKey, KeyError> {
        let block = pem::parse(text.trim()).map_err(|_| KeyError::NotPem(which))?;
        if !matches!(block.tag(), "PUBLIC KEY" | "RSA PUBLIC KEY") {
            return Err(KeyError::WrongKind {
                which,
                found: block.tag().to_owned(),
                expected: "PUBLIC KEY or RSA PUBLIC KEY",
            });
        }
        Self::from_der(which, block.contents())
    }

    /// Reads a DER SubjectPublicKeyInfo (a certificate's key) or PKCS#1 RSAPublicKey.
    pub fn from_der(which: &'static str, der: &[u8]) -> Result<RsaVerifyingKey, KeyError> {
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).map_err(|_| KeyError::Rejected(which))?;
        Ok(RsaVerifyingKey { key })
    }

    /// Whether `signature_base64` is this key's signature of `message`; surrounding
    /// whitespace is ignored, anything else that is not Base64 is no signature.
    pub fn verify(&self, message: &[u8], signature_base64: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature_base64.trim()) else {
            return false;
        };
        self.key.verify_sig(message, &signature).is_ok()
    }
}
