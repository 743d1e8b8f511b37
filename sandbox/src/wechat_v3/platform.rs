//! WeChat Pay's side of the v3 signatures (A.4, A.7): which key signs an answer or a
//! notify in each merchant profile, the platform certificates (rotated at run time), and
//! the test controls that make the next signatures probes (`WECHATPAY/SIGNTEST/...`) or
//! stale, as WeChat deliberately sends some.

use super::keys::{V3Keys, sign_base64};
use super::platform_cert::PlatformCertificate;
use super::settings::{WechatV3Mode, WechatV3SandboxConfig};
use crate::clock::now_secs;
use crate::random;
use crate::state::lock;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What every probe signature starts with.
pub const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";
/// How old a stale signature's timestamp is: twice the five minutes verifiers allow.
pub const STALE_SECS: i64 = 600;

/// One of WeChat Pay's two kinds of signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatV3Key {
    /// The WeChat Pay public key's pair (`Wechatpay-Serial: PUB_KEY_ID_...`).
    PublicKey,
    /// The newest platform certificate (`Wechatpay-Serial: <certificate serial>`).
    Certificate,
}

/// What is being signed: answers follow the request's `Wechatpay-Serial`, notifies
/// the mode (at random while switching, unless a test fixed the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing<'a> {
    Answer { request_serial: Option<&'a str> },
    Notify { key: Option<WechatV3Key> },
}

/// The `Wechatpay-*` headers of one answer or notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignatureHeaders {
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("Wechatpay-Timestamp", &self.timestamp),
            ("Wechatpay-Nonce", &self.nonce),
            ("Wechatpay-Signature", &self.signature),
            ("Wechatpay-Serial", &self.serial),
            ("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048"),
        ]
    }
}

/// Signatures a test asked to spoil, counted down as they are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpoiledSignatures {
    /// The next this many answers carry a probe signature.
    pub probe_answers: usize,
    /// The next this many notify deliveries carry a probe signature.
    pub probe_notifies: usize,
    /// The next this many answers are signed correctly over a timestamp [`STALE_SECS`] old.
    pub stale_answers: usize,
    /// The same for notify deliveries.
    pub stale_notifies: usize,
}

/// A platform certificate as `/v3/certificates` and the control API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatV3Certificate {
    pub serial_no: String,
    pub effective_time: String,
    pub expire_time: String,
    pub pem: String,
}

/// What changes at run time.
#[derive(Debug)]
struct Live {
    mode: WechatV3Mode,
    /// Oldest first; the newest signs.
    certificates: Vec<PlatformCertificate>,
    spoiled: SpoiledSignatures,
    /// While switching, the key every notify is signed with (else either, at random).
    notify_key: Option<WechatV3Key>,
}

/// The merchant's APIv3 profile on WeChat Pay's side.
#[derive(Debug)]
pub struct V3Platform {
    pub config: WechatV3SandboxConfig,
    pub keys: V3Keys,
    live: Mutex<Live>,
}

impl V3Platform {
    /// Parses the keys and issues the first platform certificate (when configured).
    pub fn start(config: &WechatV3SandboxConfig) -> Result<V3Platform, String> {
        config.check()?;
        let certificates = match &config.platform_private_pem {
            Some(pem) => vec![PlatformCertificate::issue(pem)?],
            None => Vec::new(),
        };
        Ok(V3Platform {
            config: config.clone(),
            keys: V3Keys::load(config)?,
            live: Mutex::new(Live {
                mode: config.mode,
                certificates,
                spoiled: SpoiledSignatures::default(),
                notify_key: None,
            }),
        })
    }

    pub fn mode(&self) -> WechatV3Mode {
        lock(&self.live).mode
    }

    /// Changes the profile, as the merchant platform's switch does; refused when the
    /// mode's keys are not configured.
    pub fn set_mode(&self, mode: WechatV3Mode) -> Result<(), String> {
        self.config.mode_has_keys(mode)?;
        lock(&self.live).mode = mode;
        Ok(())
    }

    /// Every platform certificate, oldest first (empty in a public-key-only profile
    /// that was never given a certificate key).
    pub fn certificates(&self) -> Vec<WechatV3Certificate> {
        lock(&self.live)
            .certificates
            .iter()
            .map(|certificate| WechatV3Certificate {
                serial_no: certificate.serial.clone(),
                effective_time: certificate.effective_time.clone(),
                expire_time: certificate.expire_time.clone(),
                pem: certificate.pem.clone(),
            })
            .collect()
    }

    /// Issues a new certificate (fresh key), listed after the others; it signs from now
    /// on, as once WeChat's notice period is over. Refused without a first certificate.
    pub fn rotate_certificate(&self) -> Result<WechatV3Certificate, String> {
        let mut live = lock(&self.live);
        if live.certificates.is_empty() {
            return Err("the merchant has no platform certificate to rotate".into());
        }
        live.certificates.push(PlatformCertificate::issue_fresh());
        drop(live);
        Ok(self.certificates().pop().expect("just pushed"))
    }

    /// Adds to the spoiled signatures to come.
    pub fn spoil(&self, more: SpoiledSignatures) {
        let spoiled = &mut lock(&self.live).spoiled;
        spoiled.probe_answers += more.probe_answers;
        spoiled.probe_notifies += more.probe_notifies;
        spoiled.stale_answers += more.stale_answers;
        spoiled.stale_notifies += more.stale_notifies;
    }

    /// The spoiled signatures still to come.
    pub fn spoiled(&self) -> SpoiledSignatures {
        lock(&self.live).spoiled
    }

    /// Fixes the key switching-mode notifies are signed with (`None`: at random again).
    pub fn set_notify_key(&self, key: Option<WechatV3Key>) {
        lock(&self.live).notify_key = key;
    }

    /// Signs `body` (empty for a 204) for `signing`: `TIMESTAMP\nNONCE\nBODY\n`.
    pub fn sign(&self, signing: Signing<'_>, body: &str) -> SignatureHeaders {
        let mut live = lock(&self.live);
        let key = self.key_for(&live, signing);
        let (probe, stale) = match signing {
            Signing::Answer { .. } => (
                take_one(&mut live.spoiled.probe_answers),
                take_one(&mut live.spoiled.stale_answers),
            ),
            Signing::Notify { .. } => (
                take_one(&mut live.spoiled.probe_notifies),
                take_one(&mut live.spoiled.stale_notifies),
            ),
        };
        let timestamp = (now_secs() - if stale { STALE_SECS } else { 0 }).to_string();
        let nonce = random::alphanumeric(32);
        let message = format!("{timestamp}\n{nonce}\n{body}\n");
        let (serial, signature) = match key {
            WechatV3Key::PublicKey => {
                let pair = self
                    .keys
                    .public_key
                    .as_ref()
                    .expect("the mode was checked to have its keys");
                (pair.id.clone(), sign_base64(&pair.key, message.as_bytes()))
            }
            WechatV3Key::Certificate => {
                let newest = live.certificates.last().expect("the mode was checked to have its keys");
                (newest.serial.clone(), sign_base64(&newest.key, message.as_bytes()))
            }
        };
        let signature = if probe {
            format!("{PROBE_PREFIX}{}", random::base64ish(192))
        } else {
            signature
        };
        SignatureHeaders {
            timestamp,
            nonce,
            signature,
            serial,
        }
    }

    fn key_for(&self, live: &Live, signing: Signing<'_>) -> WechatV3Key {
        match (live.mode, signing) {
            (WechatV3Mode::PublicKey, _) => WechatV3Key::PublicKey,
            (WechatV3Mode::Certificate, _) => WechatV3Key::Certificate,
            (WechatV3Mode::Switching, Signing::Answer { request_serial }) => {
                let public_key_id = self.keys.public_key.as_ref().map(|pair| pair.id.as_str());
                if request_serial.is_some() && request_serial == public_key_id {
                    WechatV3Key::PublicKey
                } else {
                    WechatV3Key::Certificate
                }
            }
            (WechatV3Mode::Switching, Signing::Notify { key }) => key.or(live.notify_key).unwrap_or_else(|| {
                use rand::RngExt as _;
                if rand::rng().random_bool(0.5) {
                    WechatV3Key::PublicKey
                } else {
                    WechatV3Key::Certificate
                }
            }),
        }
    }
}

/// Uses up one of `count`, if any is left.
fn take_one(count: &mut usize) -> bool {
    let some = *count > 0;
    *count = count.saturating_sub(1);
    some
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trade::keyring::public_key_der;
    use crate::wechat_v3::keys::verifies;
    use crate::wechat_v3_keys::{WechatV3Keys, generate};

    fn platform(mode: WechatV3Mode) -> (V3Platform, WechatV3Keys) {
        let keys = generate();
        (
            V3Platform::start(&keys.sandbox_config(&"k".repeat(32), mode)).unwrap(),
            keys,
        )
    }

    fn message(headers: &SignatureHeaders, body: &str) -> String {
        format!("{}\n{}\n{body}\n", headers.timestamp, headers.nonce)
    }

    #[test]
    fn each_mode_signs_with_its_key() {
        let (platform, keys) = platform(WechatV3Mode::PublicKey);
        let pay_public = public_key_der(&keys.pay_public_pem).unwrap();
        let signed = platform.sign(Signing::Answer { request_serial: None }, "{}");
        assert_eq!(signed.serial, keys.public_key_id);
        assert!(verifies(
            &pay_public,
            message(&signed, "{}").as_bytes(),
            &signed.signature
        ));

        platform.set_mode(WechatV3Mode::Certificate).unwrap();
        let certificate = &platform.certificates()[0];
        let signed = platform.sign(Signing::Notify { key: None }, "");
        assert_eq!(signed.serial, certificate.serial_no);
        assert!(!verifies(
            &pay_public,
            message(&signed, "").as_bytes(),
            &signed.signature
        ));

        platform.set_mode(WechatV3Mode::Switching).unwrap();
        let by_request = |serial: Option<&str>| platform.sign(Signing::Answer { request_serial: serial }, "{}").serial;
        assert_eq!(by_request(Some(&keys.public_key_id)), keys.public_key_id);
        assert_eq!(by_request(Some("5DEA10EF")), certificate.serial_no);
        assert_eq!(by_request(None), certificate.serial_no);
        platform.set_notify_key(Some(WechatV3Key::PublicKey));
        for _ in 0..5 {
            assert_eq!(
                platform.sign(Signing::Notify { key: None }, "").serial,
                keys.public_key_id
            );
        }
        let forced = platform.sign(
            Signing::Notify {
                key: Some(WechatV3Key::Certificate),
            },
            "",
        );
        assert_eq!(forced.serial, certificate.serial_no);
    }

    #[test]
    fn switching_notifies_use_both_keys_at_random() {
        let (platform, keys) = platform(WechatV3Mode::Switching);
        let serials: std::collections::HashSet<String> = (0..64)
            .map(|_| platform.sign(Signing::Notify { key: None }, "").serial)
            .collect();
        assert!(serials.contains(&keys.public_key_id));
        assert_eq!(serials.len(), 2, "{serials:?}");
    }

    #[test]
    fn spoiled_signatures_are_counted_down_per_channel() {
        let (platform, keys) = platform(WechatV3Mode::PublicKey);
        let pay_public = public_key_der(&keys.pay_public_pem).unwrap();
        platform.spoil(SpoiledSignatures {
            probe_answers: 1,
            stale_notifies: 1,
            ..SpoiledSignatures::default()
        });
        let notify = platform.sign(Signing::Notify { key: None }, "n");
        let age = now_secs() - notify.timestamp.parse::<i64>().unwrap();
        assert!((STALE_SECS..STALE_SECS + 5).contains(&age), "{age}");
        assert!(verifies(
            &pay_public,
            message(&notify, "n").as_bytes(),
            &notify.signature
        ));
        let probe = platform.sign(Signing::Answer { request_serial: None }, "a");
        assert!(probe.signature.starts_with(PROBE_PREFIX));
        let fine = platform.sign(Signing::Answer { request_serial: None }, "a");
        assert!(verifies(&pay_public, message(&fine, "a").as_bytes(), &fine.signature));
        assert_eq!(platform.spoiled(), SpoiledSignatures::default());
    }

    #[test]
    fn rotation_lists_a_new_certificate_that_signs_from_then_on() {
        let (platform, _) = platform(WechatV3Mode::Certificate);
        let old = platform.certificates()[0].clone();
        let new = platform.rotate_certificate().unwrap();
        assert_eq!(platform.certificates(), vec![old.clone(), new.clone()]);
        assert_ne!(new.serial_no, old.serial_no);
        assert_eq!(platform.sign(Signing::Notify { key: None }, "").serial, new.serial_no);
    }

    #[test]
    fn modes_need_their_keys() {
        let keys = generate();
        let mut config = keys.sandbox_config(&"k".repeat(32), WechatV3Mode::PublicKey);
        config.platform_private_pem = None;
        let platform = V3Platform::start(&config).unwrap();
        assert!(platform.certificates().is_empty());
        assert!(platform.set_mode(WechatV3Mode::Switching).is_err());
        assert!(platform.rotate_certificate().is_err());
        assert_eq!(platform.mode(), WechatV3Mode::PublicKey);
    }
}
