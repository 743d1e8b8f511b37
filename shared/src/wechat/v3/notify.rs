//! Reading a v3 notify (A.5): its signature verified over the raw body with the key its
//! serial names, then its resource decrypted with the APIv3 key. Nothing is parsed
//! before the signature holds, beyond the four headers.

use super::aead::decrypt;
use super::client::WechatV3Client;
use super::keyring::KeyError;
use super::model::Notification;
use super::verify::{Signed, VerifyError};
use crate::error::PlatformError;
use lambda_http::http::HeaderMap;

const ALGORITHM: &str = "AEAD_AES_256_GCM";

/// A verified notify, decrypted.
#[derive(Debug)]
pub struct Decrypted {
    pub event_type: String,
    /// What the plaintext is: "transaction" or "refund".
    pub original_type: String,
    pub plaintext: Vec<u8>,
}

#[derive(Debug)]
pub enum NotifyError {
    /// Not signed by WeChat as it came: a missing header, a stale time, a probe, a bad
    /// signature, a key we do not have.
    NotAuthentic(VerifyError),
    /// Signed, but not a notify we can read.
    Malformed(&'static str),
    /// Signed by WeChat, yet our APIv3 key does not open it: our configuration is wrong,
    /// and WeChat must keep it for later.
    Undecryptable,
    /// The keys could not be had now.
    Unavailable(PlatformError),
}

pub async fn read_notify(
    client: &WechatV3Client,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Decrypted, NotifyError> {
    let signed = Signed::from_headers(headers, body).map_err(NotifyError::NotAuthentic)?;
    client.keys().verify(&signed, now).await.map_err(|err| match err {
        KeyError::Refused(why) => NotifyError::NotAuthentic(why),
        KeyError::Unavailable(err) => NotifyError::Unavailable(err),
    })?;
    let notification: Notification =
        serde_json::from_slice(body).map_err(|_| NotifyError::Malformed("not a notification"))?;
    if notification.resource.algorithm != ALGORITHM {
        return Err(NotifyError::Malformed("resource is not AEAD_AES_256_GCM"));
    }
    let resource = &notification.resource;
    let plaintext = decrypt(
        client.apiv3_key().expose().as_bytes(),
        &resource.nonce,
        &resource.associated_data,
        &resource.ciphertext,
    )
    .map_err(|_| NotifyError::Undecryptable)?;
    Ok(Decrypted {
        event_type: notification.event_type,
        original_type: notification.resource.original_type,
        plaintext,
    })
}
