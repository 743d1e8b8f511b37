//! The keys WeChat signs answers and notifies with: the WeChat Pay public key when the
//! merchant has one, and the platform certificates, downloaded only when a message names
//! one (a public-key merchant never needs them; one switching over gets both kinds,
//! A.7). Certificates are shared by every instance through the table and refreshed by
//! one instance at a time, like access tokens.

use super::cert::{PlatformCertificate, read_certificates};
use super::transport::Transport;
use super::verify::{PlatformKeys, Signed, VerifyError, VerifyingKey};
use crate::domain::time::now_secs;
use crate::douyin::order_center::FreshToken;
use crate::error::PlatformError;
use crate::secret::Secret;
use crate::store::TokenStore;
use crate::token::{TokenCache, TokenSource};
use async_trait::async_trait;
use reqwest::Method;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::RwLock;

/// New certificates are listed a day before they are used (A.7): twice a day finds them.
const CERTIFICATES_LIFETIME_SECS: i64 = 12 * 3600;
/// Never cached for less: a certificate about to expire must not make every message a
/// download.
const MIN_LIFETIME_SECS: i64 = 60;
/// A message naming a certificate we do not know makes us download them again, at most
/// this often per instance: a forged serial must not become a stream of downloads.
const UNKNOWN_SERIAL_RELOAD_SECS: i64 = 60;
const CERTIFICATES_PATH: &str = "/v3/certificates?algorithm_type=RSA";

/// Why a signed message could not be checked or did not verify.
#[derive(Debug)]
pub enum KeyError {
    /// It is not WeChat's (or not as it was sent).
    Refused(VerifyError),
    /// The certificates could not be had: nothing is known of the message yet.
    Unavailable(PlatformError),
}

pub struct KeyRing {
    public_key: Option<VerifyingKey>,
    certificates: Certificates,
}

struct Certificates {
    cache: TokenCache,
    store: Arc<dyn TokenStore>,
    download: Download,
    /// The stored certificates as keys, with the stored version they were read from.
    parsed: RwLock<Option<(i64, PlatformKeys)>>,
    last_reload: AtomicI64,
}

struct Download {
    transport: Arc<Transport>,
    apiv3_key: Secret,
    public_key: Option<VerifyingKey>,
}

impl KeyRing {
    pub fn new(
        transport: Arc<Transport>,
        store: Arc<dyn TokenStore>,
        apiv3_key: Secret,
        public_key: Option<VerifyingKey>,
    ) -> Self {
        let cache_key = format!("wechat_v3_certificates#{}", transport.signer().mch_id);
        KeyRing {
            public_key: public_key.clone(),
            certificates: Certificates {
                cache: TokenCache::new(cache_key),
                store,
                download: Download {
                    transport,
                    apiv3_key,
                    public_key,
                },
                parsed: RwLock::new(None),
                last_reload: AtomicI64::new(i64::MIN / 2),
            },
        }
    }

    /// Checks a message WeChat signed: stale and probe signatures are refused before any
    /// key is looked for; the key is the one its serial names.
    pub async fn verify(&self, signed: &Signed<'_>, now: i64) -> Result<(), KeyError> {
        // With no key at all, only the checks that need none can fail otherwise.
        match PlatformKeys::default().verify(signed, now) {
            Err(VerifyError::UnknownSerial(_)) => {}
            Err(other) => return Err(KeyError::Refused(other)),
            Ok(()) => return Err(KeyError::Refused(VerifyError::BadSignature)),
        }
        if let Some(key) = &self.public_key
            && key.id() == signed.serial
        {
            return PlatformKeys::new(vec![key.clone()])
                .verify(signed, now)
                .map_err(KeyError::Refused);
        }
        let keys = self.certificates.keys().await.map_err(KeyError::Unavailable)?;
        match keys.verify(signed, now) {
            Err(VerifyError::UnknownSerial(serial)) if self.certificates.may_reload(now) => {
                tracing::info!(serial = %serial, "a message names a platform certificate we do not have; downloading them again");
                self.certificates.reload().await.map_err(KeyError::Unavailable)?;
                let keys = self.certificates.keys().await.map_err(KeyError::Unavailable)?;
                keys.verify(signed, now).map_err(KeyError::Refused)
            }
            other => other.map_err(KeyError::Refused),
        }
    }
}

impl Certificates {
    async fn keys(&self) -> Result<PlatformKeys, PlatformError> {
        let stored = self.cache.get(self.store.as_ref(), &self.download).await?;
        if let Some((version, keys)) = self.parsed.read().await.as_ref()
            && *version == stored.version
        {
            return Ok(keys.clone());
        }
        let pems: Vec<String> = serde_json::from_str(stored.token.expose())
            .map_err(|_| PlatformError::Unavailable("stored platform certificates do not parse".into()))?;
        // The stored set expires no later than its first certificate (see `fetch`), so the
        // ones valid when it is read stay valid while it is used.
        let now = now_secs();
        let keys = PlatformKeys::new(
            pems.iter()
                .filter_map(|pem| PlatformCertificate::parse(pem).ok())
                .filter(|certificate| certificate.valid_at(now))
                .filter_map(|certificate| certificate.verifying_key().ok())
                .collect(),
        );
        *self.parsed.write().await = Some((stored.version, keys.clone()));
        Ok(keys)
    }

    fn may_reload(&self, now: i64) -> bool {
        let last = self.last_reload.load(Ordering::Relaxed);
        now - last >= UNKNOWN_SERIAL_RELOAD_SECS
            && self
                .last_reload
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Forgets the stored certificates, so that the next look downloads them (one
    /// instance, the others wait for its result).
    async fn reload(&self) -> Result<(), PlatformError> {
        let stored = self.cache.get(self.store.as_ref(), &self.download).await?;
        self.cache.invalidate(self.store.as_ref(), &stored).await
    }
}

#[async_trait]
impl TokenSource for Download {
    /// `GET /v3/certificates`: each certificate decrypted with the APIv3 key; the answer
    /// is signed by one of the certificates it lists (or the public key we asked for).
    /// A merchant that has none gets 404 RESOURCE_NOT_EXISTS: no certificates.
    async fn fetch(&self) -> Result<FreshToken, PlatformError> {
        let answer = self.transport.send(Method::GET, CERTIFICATES_PATH, b"").await?;
        let certificates = match answer.status {
            200 => read_certificates(&answer.body, self.apiv3_key.expose().as_bytes()).map_err(|why| {
                tracing::error!(why = %why, "platform certificates do not decrypt; is WECHAT_APIV3_KEY right?");
                PlatformError::Unavailable("platform certificates could not be read".into())
            })?,
            404 => {
                if self.public_key.is_none() {
                    tracing::error!(
                        "WeChat has no platform certificate for this merchant: configure WECHAT_PAY_PUBLIC_KEY and WECHAT_PAY_PUBLIC_KEY_ID"
                    );
                }
                Vec::new()
            }
            status if status >= 500 => {
                return Err(PlatformError::Unavailable(format!("certificates: HTTP {status}")));
            }
            status => {
                return Err(PlatformError::Unavailable(format!(
                    "certificates refused with HTTP {status}"
                )));
            }
        };
        let mut keys: Vec<VerifyingKey> = certificates.iter().filter_map(|c| c.verifying_key().ok()).collect();
        keys.extend(self.public_key.clone());
        let signed = Signed::from_headers(&answer.headers, &answer.body)
            .map_err(|_| PlatformError::Unavailable("certificates answer is not signed".into()))?;
        if PlatformKeys::new(keys).verify(&signed, now_secs()).is_err() {
            return Err(PlatformError::Unavailable(
                "certificates answer signature does not verify".into(),
            ));
        }
        let now = now_secs();
        let pems: Vec<&str> = certificates.iter().map(|c| c.pem.as_str()).collect();
        // Kept until the next twice-daily look, or until the first listed certificate
        // that is still valid expires, whichever comes first.
        let first_expiry = certificates
            .iter()
            .map(|c| c.not_after)
            .filter(|not_after| *not_after > now)
            .min()
            .map_or(CERTIFICATES_LIFETIME_SECS, |not_after| not_after - now);
        Ok(FreshToken {
            token: Secret::new(serde_json::to_string(&pems).unwrap_or_else(|_| "[]".into())),
            expires_in: first_expiry.clamp(MIN_LIFETIME_SECS, CERTIFICATES_LIFETIME_SECS),
        })
    }
}
