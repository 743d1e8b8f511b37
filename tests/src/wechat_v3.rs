//! The WeChat merchant on APIv3 (CONTRACT §11): its key material, made once per test
//! process, the sandbox's side of it in a chosen profile, and exactly the backend
//! variables §11 adds.

use sandbox::{WechatV3Keys, WechatV3Mode, WechatV3SandboxConfig};
use std::sync::OnceLock;

/// The APIv3 key (32 bytes), known to the sandbox and the backend.
pub const WECHAT_APIV3_KEY: &str = "v3key-sandbox-7Hq2Lm9Xc4Rt8Wz1Np";

/// The merchant's API key pair and certificate serial, and WeChat Pay's public-key pair
/// and platform certificate key (RSA-2048, aws-lc-rs).
pub fn wechat_v3_keys() -> &'static WechatV3Keys {
    static KEYS: OnceLock<WechatV3Keys> = OnceLock::new();
    KEYS.get_or_init(sandbox::wechat_v3_keys::generate)
}

/// The sandbox's APIv3 settings for the merchant in `mode`: in public-key mode WeChat
/// Pay has no platform certificate, in certificate mode no public key, while switching
/// both.
pub fn sandbox_v3_config(mode: WechatV3Mode) -> WechatV3SandboxConfig {
    let mut config = wechat_v3_keys().sandbox_config(WECHAT_APIV3_KEY, mode);
    if !mode.uses_certificate() {
        config.platform_private_pem = None;
    }
    if !mode.uses_public_key() {
        config.public_key_id = None;
        config.public_key_private_pem = None;
    }
    config
}

/// The backend variables of CONTRACT §11 for a merchant in `mode`: the merchant key
/// and serial always, WeChat Pay's public key and id only where the merchant has one
/// (without them the backend downloads platform certificates).
pub fn backend_v3_env(mode: WechatV3Mode) -> Vec<(&'static str, String)> {
    let keys = wechat_v3_keys();
    let mut env = vec![
        ("WECHAT_PAY_API", "v3".to_owned()),
        ("WECHAT_APIV3_KEY", WECHAT_APIV3_KEY.to_owned()),
        ("WECHAT_MCH_PRIVATE_KEY", keys.merchant_private_pem.clone()),
        ("WECHAT_MCH_CERT_SERIAL", keys.merchant_cert_serial.clone()),
    ];
    if mode.uses_public_key() {
        env.push(("WECHAT_PAY_PUBLIC_KEY", keys.pay_public_pem.clone()));
        env.push(("WECHAT_PAY_PUBLIC_KEY_ID", keys.public_key_id.clone()));
    }
    env
}

/// The line from the middle of the merchant private key's Base64: inside the private
/// factors (the first lines are a fixed header and the public modulus), and what a key
/// logged in any form would show.
pub fn merchant_private_key_line() -> &'static str {
    let pem = &wechat_v3_keys().merchant_private_pem;
    let lines: Vec<&'static str> = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    lines[lines.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_profile_gets_exactly_its_variables_and_keys() {
        let names = |mode| {
            backend_v3_env(mode)
                .into_iter()
                .map(|(name, _)| name)
                .collect::<Vec<_>>()
        };
        let base = [
            "WECHAT_PAY_API",
            "WECHAT_APIV3_KEY",
            "WECHAT_MCH_PRIVATE_KEY",
            "WECHAT_MCH_CERT_SERIAL",
        ];
        assert_eq!(names(WechatV3Mode::Certificate), base);
        let with_key: Vec<&str> = base
            .iter()
            .copied()
            .chain(["WECHAT_PAY_PUBLIC_KEY", "WECHAT_PAY_PUBLIC_KEY_ID"])
            .collect();
        assert_eq!(names(WechatV3Mode::PublicKey), with_key);
        assert_eq!(names(WechatV3Mode::Switching), with_key);
        let env = backend_v3_env(WechatV3Mode::PublicKey);
        assert!(env[2].1.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
        assert!(env[4].1.starts_with("-----BEGIN PUBLIC KEY-----"), "SPKI");
        assert!(env[5].1.starts_with("PUB_KEY_ID_"));
        assert_eq!(WECHAT_APIV3_KEY.len(), 32);

        for mode in [
            WechatV3Mode::PublicKey,
            WechatV3Mode::Certificate,
            WechatV3Mode::Switching,
        ] {
            let config = sandbox_v3_config(mode);
            assert_eq!(config.check(), Ok(()), "{mode:?}");
            assert_eq!(config.platform_private_pem.is_some(), mode.uses_certificate());
            assert_eq!(config.public_key_id.is_some(), mode.uses_public_key());
        }
        let line = merchant_private_key_line();
        assert_eq!(line.len(), 64);
        assert!(!wechat_v3_keys().merchant_public_pem.contains(line));
    }
}
