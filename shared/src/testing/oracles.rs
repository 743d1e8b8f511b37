//! Expected signatures derived in the tests from the platforms' written rules, with the
//! hash and RSA crates called directly: nothing of the code under test is used.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

/// Test key pairs of the trade system (douyin/trade/testdata/README.md): the app's, and
/// another that plays the platform's. Never the same pair, so a swap fails.
pub const TRADE_APP_PRIVATE: &str = include_str!("../douyin/trade/testdata/app_private_pkcs8.pem");
pub const TRADE_APP_PUBLIC: &str = include_str!("../douyin/trade/testdata/app_public.pem");
pub const TRADE_PLATFORM_PRIVATE: &str = include_str!("../douyin/trade/testdata/platform_private_pkcs8.pem");
pub const TRADE_PLATFORM_PUBLIC: &str = include_str!("../douyin/trade/testdata/platform_public.pem");

/// An ecpay callback's `msg_signature` (douyin.md §5): the token, timestamp, nonce and msg
/// sorted, concatenated, SHA-1, lower-case hex.
pub fn douyin_msg_signature(token: &str, timestamp: &str, nonce: &str, msg: &str) -> String {
    let mut parts = [token, timestamp, nonce, msg];
    parts.sort();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

/// SHA256withRSA (PKCS#1 v1.5) of `message` with a PKCS#8 PEM key, padded Base64.
pub fn rsa_sha256_base64(private_pem: &str, message: &[u8]) -> String {
    let der = pem::parse(private_pem).expect("a test key is PEM");
    let pair = RsaKeyPair::from_pkcs8(der.contents()).expect("a test key is PKCS#8 RSA");
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
        .expect("RSA signs");
    STANDARD.encode(signature)
}

/// A trade callback's `Byte-Signature` as the platform makes it (douyin-trade.md §6): over
/// `timestamp\nnonce\nbody\n`, with the key that plays the platform's.
pub fn trade_platform_signature(timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    rsa_sha256_base64(TRADE_PLATFORM_PRIVATE, &message)
}

/// The `v1` of a `Minipay-Signature` (CONTRACT.md §9): HMAC-SHA256 of `<t>.<body>`, hex.
pub fn webhook_v1(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A WeChat APIv3 encrypted resource (wechat-v3-reconcile.md A.5) as WeChat makes it:
/// AES-GCM (256-bit for a 32-byte key, 128-bit for 16) over `plaintext` with the nonce's
/// and associated data's bytes, Base64 of ciphertext‖tag.
pub fn wechat_v3_seal(key: &[u8], nonce: &str, associated_data: &str, plaintext: &[u8]) -> String {
    let algorithm = if key.len() == 16 { &AES_128_GCM } else { &AES_256_GCM };
    let key = LessSafeKey::new(UnboundKey::new(algorithm, key).expect("a 16- or 32-byte test key"));
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).expect("a 12-byte test nonce");
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .expect("AES-GCM seals");
    STANDARD.encode(in_out)
}

/// What WeChat signs in an answer or notify (wechat-v3-reconcile.md A.4):
/// `timestamp\nnonce\nbody\n` over the raw body, SHA256withRSA with a PKCS#8 PEM key.
pub fn wechat_v3_signature(private_pem: &str, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    rsa_sha256_base64(private_pem, &message)
}

/// An RSA-2048 key pair made now, as PKCS#8 and SPKI PEM: a key no published vector used.
pub fn fresh_rsa_key() -> (String, String) {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
    let private = pem::Pem::new("PRIVATE KEY", pair.as_der().expect("PKCS#8").as_ref().to_vec());
    let public = pem::Pem::new(
        "PUBLIC KEY",
        pair.public_key().as_der().expect("SPKI").as_ref().to_vec(),
    );
    (pem::encode(&private), pem::encode(&public))
}
