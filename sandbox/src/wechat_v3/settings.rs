//! The merchant's APIv3 settings as WeChat Pay holds them (wechat-v3-reconcile.md A.3,
//! A.7): the APIv3 key, the merchant API certificate's serial and public key, and
//! WeChat Pay's own keys for the merchant's profile (public key, platform certificate,
//! or both during the switch).

use super::keys::is_public_key_id;
use serde::{Deserialize, Serialize};

/// Which of WeChat Pay's keys sign answers and notifies (A.7's three merchant profiles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatV3Mode {
    /// A new merchant: the WeChat Pay public key (`PUB_KEY_ID_...`) signs everything,
    /// and `/v3/certificates` answers 404 RESOURCE_NOT_EXISTS.
    #[default]
    PublicKey,
    /// An older merchant: the platform certificate signs everything.
    Certificate,
    /// During the grey switch: answers are signed with the public key when the request's
    /// `Wechatpay-Serial` names it, else with the certificate; notifies with either.
    Switching,
}

impl WechatV3Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            WechatV3Mode::PublicKey => "public_key",
            WechatV3Mode::Certificate => "certificate",
            WechatV3Mode::Switching => "switching",
        }
    }

    pub fn uses_public_key(self) -> bool {
        matches!(self, WechatV3Mode::PublicKey | WechatV3Mode::Switching)
    }

    pub fn uses_certificate(self) -> bool {
        matches!(self, WechatV3Mode::Certificate | WechatV3Mode::Switching)
    }
}

impl std::str::FromStr for WechatV3Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [
            WechatV3Mode::PublicKey,
            WechatV3Mode::Certificate,
            WechatV3Mode::Switching,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not a mode (public_key, certificate or switching)"))
    }
}

/// The APIv3 side of the WeChat merchant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatV3SandboxConfig {
    /// The APIv3 key (32 bytes): encrypts notify resources and platform certificates.
    pub apiv3_key: String,
    /// The serial number of the merchant API certificate: the `serial_no` every request's
    /// `Authorization` must name.
    pub merchant_cert_serial: String,
    /// The merchant API certificate's public key (SPKI `PUBLIC KEY` or PKCS#1 PEM):
    /// checks every request's signature.
    pub merchant_public_key_pem: String,
    /// The profile at start; tests can change it at run time.
    #[serde(default)]
    pub mode: WechatV3Mode,
    /// `PUB_KEY_ID_` and digits: the id of WeChat Pay's public key (public-key mode).
    #[serde(default)]
    pub public_key_id: Option<String>,
    /// The private half of WeChat Pay's public key (PKCS#8 or PKCS#1 PEM); the merchant
    /// is configured with the public half.
    #[serde(default)]
    pub public_key_private_pem: Option<String>,
    /// The key of the platform certificate (PKCS#8 or PKCS#1 PEM); the sandbox issues
    /// the certificate itself at start (CN=Tenpay.com sign, five years).
    #[serde(default)]
    pub platform_private_pem: Option<String>,
}

/// The bytes an APIv3 key has (AES-256).
pub const APIV3_KEY_BYTES: usize = 32;

impl WechatV3SandboxConfig {
    /// What the merchant platform would refuse: a key of the wrong length, a malformed
    /// public key id, keys that do not parse, or a mode without its keys.
    pub fn check(&self) -> Result<(), String> {
        if self.apiv3_key.len() != APIV3_KEY_BYTES {
            return Err(format!("the APIv3 key must be {APIV3_KEY_BYTES} bytes"));
        }
        if self.merchant_cert_serial.is_empty() || !self.merchant_cert_serial.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the merchant certificate serial must be hex digits".into());
        }
        if let Some(id) = &self.public_key_id
            && !is_public_key_id(id)
        {
            return Err(format!("the public key id {id:?} is not PUB_KEY_ID_ and digits"));
        }
        if self.public_key_id.is_some() != self.public_key_private_pem.is_some() {
            return Err("the WeChat Pay public key needs both its id and its private key".into());
        }
        self.mode_has_keys(self.mode)?;
        super::keys::V3Keys::load(self).map(drop)
    }

    /// Whether the keys `mode` signs with are configured.
    pub fn mode_has_keys(&self, mode: WechatV3Mode) -> Result<(), String> {
        if mode.uses_public_key() && self.public_key_private_pem.is_none() {
            return Err(format!("mode {} needs the WeChat Pay public key", mode.as_str()));
        }
        if mode.uses_certificate() && self.platform_private_pem.is_none() {
            return Err(format!("mode {} needs the platform certificate key", mode.as_str()));
        }
        Ok(())
    }

    /// APIv3 is on when `SANDBOX_WECHAT_V3_APIV3_KEY` is set; it then needs
    /// `SANDBOX_WECHAT_V3_MERCHANT_CERT_SERIAL` and `SANDBOX_WECHAT_V3_MERCHANT_PUBLIC_KEY`,
    /// and takes `SANDBOX_WECHAT_V3_MODE` (public_key (default), certificate, switching),
    /// `SANDBOX_WECHAT_V3_PUBLIC_KEY_ID`, `SANDBOX_WECHAT_V3_PUBLIC_KEY_PRIVATE` and
    /// `SANDBOX_WECHAT_V3_PLATFORM_PRIVATE_KEY` (PEM, a literal `\n` for a newline).
    pub fn from_env() -> Result<Option<WechatV3SandboxConfig>, String> {
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .map(|value| value.replace("\\n", "\n"))
        })
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<WechatV3SandboxConfig>, String> {
        let Some(apiv3_key) = lookup("SANDBOX_WECHAT_V3_APIV3_KEY") else {
            return Ok(None);
        };
        let required = |name: &str| lookup(name).ok_or_else(|| format!("{name} must be set too (APIv3 is on)"));
        let mode = match lookup("SANDBOX_WECHAT_V3_MODE") {
            Some(text) => text.parse().map_err(|e| format!("SANDBOX_WECHAT_V3_MODE: {e}"))?,
            None => WechatV3Mode::default(),
        };
        let config = WechatV3SandboxConfig {
            apiv3_key,
            merchant_cert_serial: required("SANDBOX_WECHAT_V3_MERCHANT_CERT_SERIAL")?,
            merchant_public_key_pem: required("SANDBOX_WECHAT_V3_MERCHANT_PUBLIC_KEY")?,
            mode,
            public_key_id: lookup("SANDBOX_WECHAT_V3_PUBLIC_KEY_ID"),
            public_key_private_pem: lookup("SANDBOX_WECHAT_V3_PUBLIC_KEY_PRIVATE"),
            platform_private_pem: lookup("SANDBOX_WECHAT_V3_PLATFORM_PRIVATE_KEY"),
        };
        config.check()?;
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat_v3_keys;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn apiv3_is_off_without_its_key_and_complete_with_it() {
        assert_eq!(WechatV3SandboxConfig::from_lookup(lookup(&[])), Ok(None));
        let keys = wechat_v3_keys::generate();
        let on = WechatV3SandboxConfig::from_lookup(lookup(&[
            ("SANDBOX_WECHAT_V3_APIV3_KEY", "k".repeat(32)),
            (
                "SANDBOX_WECHAT_V3_MERCHANT_CERT_SERIAL",
                keys.merchant_cert_serial.clone(),
            ),
            (
                "SANDBOX_WECHAT_V3_MERCHANT_PUBLIC_KEY",
                keys.merchant_public_pem.clone(),
            ),
            ("SANDBOX_WECHAT_V3_MODE", "switching".into()),
            ("SANDBOX_WECHAT_V3_PUBLIC_KEY_ID", keys.public_key_id.clone()),
            ("SANDBOX_WECHAT_V3_PUBLIC_KEY_PRIVATE", keys.pay_private_pem.clone()),
            (
                "SANDBOX_WECHAT_V3_PLATFORM_PRIVATE_KEY",
                keys.platform_private_pem.clone(),
            ),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(on, keys.sandbox_config(&"k".repeat(32), WechatV3Mode::Switching));
        let half = WechatV3SandboxConfig::from_lookup(lookup(&[("SANDBOX_WECHAT_V3_APIV3_KEY", "k".repeat(32))]));
        assert!(
            half.unwrap_err()
                .starts_with("SANDBOX_WECHAT_V3_MERCHANT_CERT_SERIAL must be set")
        );
    }

    #[test]
    fn the_platform_refuses_bad_keys_and_modes_without_their_keys() {
        let keys = wechat_v3_keys::generate();
        let good = keys.sandbox_config(&"k".repeat(32), WechatV3Mode::Switching);
        assert_eq!(good.check(), Ok(()));
        let refused = |config: WechatV3SandboxConfig, needle: &str| {
            let problem = config.check().unwrap_err();
            assert!(problem.contains(needle), "{problem}");
        };
        refused(
            WechatV3SandboxConfig {
                apiv3_key: "short".into(),
                ..good.clone()
            },
            "32 bytes",
        );
        refused(
            WechatV3SandboxConfig {
                public_key_id: Some("PUB_KEY_ID_12a".into()),
                ..good.clone()
            },
            "PUB_KEY_ID_ and digits",
        );
        refused(
            WechatV3SandboxConfig {
                platform_private_pem: None,
                ..good.clone()
            },
            "mode switching needs the platform certificate key",
        );
        refused(
            WechatV3SandboxConfig {
                public_key_id: None,
                public_key_private_pem: None,
                mode: WechatV3Mode::PublicKey,
                ..good.clone()
            },
            "mode public_key needs the WeChat Pay public key",
        );
        refused(
            WechatV3SandboxConfig {
                merchant_public_key_pem: keys.merchant_private_pem.clone(),
                ..good.clone()
            },
            "merchant public key",
        );
        assert_eq!("certificate".parse(), Ok(WechatV3Mode::Certificate));
        assert!("cert".parse::<WechatV3Mode>().is_err());
    }
}
