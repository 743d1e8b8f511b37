//! Posting one event to the merchant's webhook: bounded in time, never following a
//! redirect, and describing a failure without the URL (it may hold a token) or a body.

use crate::domain::webhook_signature::SIGNATURE_HEADER;
use async_trait::async_trait;
use std::time::Duration;

/// Longest wait for the merchant's answer: a slow receiver must not hold the stream.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(3);

#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Posts `body` with its `Minipay-Signature`; a 2xx answer is delivery, anything
    /// else an error saying what came back (`HTTP 500`, `timeout`, ...).
    async fn post(&self, body: &str, signature: &str) -> Result<(), String>;
}

pub struct HttpWebhook {
    http: reqwest::Client,
    url: String,
}

impl HttpWebhook {
    /// Posts with the cold start's one client (`outbound::http_client`: it follows no
    /// redirect, which could take the signed event somewhere the merchant did not name).
    pub fn new(url: String, http: reqwest::Client) -> Self {
        Self { http, url }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhook {
    async fn post(&self, body: &str, signature: &str) -> Result<(), String> {
        let answer = self
            .http
            .post(&self.url)
            .timeout(WEBHOOK_TIMEOUT)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|err| {
                if err.is_timeout() {
                    "timeout"
                } else if err.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                }
                .to_owned()
            })?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}
