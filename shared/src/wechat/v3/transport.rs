//! One signed APIv3 call: the request signed over exactly the bytes sent, with the
//! headers WeChat requires (wechat-v3-reconcile.md A.2, A.3), the answer read whole.
//! Believing the answer (its signature) is the caller's next step.

use super::sign::MerchantSigner;
use crate::domain::ids::new_nonce;
use crate::domain::time::now_secs;
use crate::error::PlatformError;
use crate::outbound::{self, Answer};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};

pub struct Transport {
    http: reqwest::Client,
    base: String,
    signer: MerchantSigner,
    /// Sent as `Wechatpay-Serial`: in public-key mode it asks WeChat to sign the answer
    /// with the public key (A.3).
    answer_key: Option<String>,
}

impl Transport {
    pub fn new(
        http: reqwest::Client,
        base: impl Into<String>,
        signer: MerchantSigner,
        answer_key: Option<String>,
    ) -> Self {
        Transport {
            http,
            base: base.into(),
            signer,
            answer_key,
        }
    }

    pub fn signer(&self) -> &MerchantSigner {
        &self.signer
    }

    /// Sends `body` (empty for GET) to `path` (with its `?query`, which is signed too).
    pub async fn send(&self, method: Method, path: &str, body: &[u8]) -> Result<Answer, PlatformError> {
        let authorization = self
            .signer
            .authorization(method.as_str(), path, body, now_secs(), &new_nonce());
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, authorization);
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        if let Some(serial) = &self.answer_key {
            request = request.header("Wechatpay-Serial", serial);
        }
        outbound::send(request).await
    }
}
