//! Sending notifies to the backend, for every platform: the HTTP client and the tunnel
//! it calls through, concurrent duplicate deliveries, and what each delivery got back.

use crate::config::Tunnel;
use crate::error::SandboxError;
use crate::state::lock;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;
use tokio::task::JoinSet;

/// A backend that takes longer than this to answer a callback counts as failed (both
/// platforms give up after about five seconds).
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// More concurrent callbacks than this is a typo, not a test.
pub const MAX_DELIVERIES: usize = 1000;

/// The platforms' outgoing calls: every notify URL is checked as given (public, https)
/// and only here, when the call is made, resolved through the tunnel.
pub struct Notifier {
    client: reqwest::Client,
    tunnel: Mutex<Option<Tunnel>>,
}

impl Notifier {
    pub fn new(tunnel: Option<Tunnel>) -> Notifier {
        let client = reqwest::Client::builder()
            .timeout(CALLBACK_TIMEOUT)
            .build()
            .expect("a plain HTTP client always builds");
        Notifier {
            client,
            tunnel: Mutex::new(tunnel),
        }
    }

    /// Points the tunnel elsewhere (a backend restarted on another port), or removes it.
    pub fn set_tunnel(&self, tunnel: Option<Tunnel>) {
        *lock(&self.tunnel) = tunnel;
    }

    pub fn tunnel(&self) -> Option<Tunnel> {
        lock(&self.tunnel).clone()
    }

    /// Where a call to `url` really goes (see [`Tunnel::resolve`]).
    pub fn resolve(&self, url: &str) -> String {
        match &*lock(&self.tunnel) {
            Some(tunnel) => tunnel.resolve(url),
            None => url.to_owned(),
        }
    }

    /// A POST to `url`, through the tunnel.
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(self.resolve(url))
    }
}

/// Where `deliveries` notifies about `what` go: the first non-empty URL of `candidates`,
/// in order of precedence. Checked before anything changes, so that a refused call
/// leaves the platform as it was. With no delivery to make no URL is needed: a test can
/// finish things silently (a lost notify) wherever they would go; the URL is then empty
/// when none is known, and never used.
pub fn target<'a>(
    candidates: impl IntoIterator<Item = Option<&'a str>>,
    deliveries: usize,
    what: &str,
) -> Result<String, SandboxError> {
    if deliveries > MAX_DELIVERIES {
        return Err(SandboxError::Invalid(format!("at most {MAX_DELIVERIES} deliveries")));
    }
    let url = candidates.into_iter().flatten().find(|url| !url.is_empty());
    match url {
        Some(url) => Ok(url.to_owned()),
        None if deliveries == 0 => Ok(String::new()),
        None => Err(SandboxError::Invalid(format!("{what} has no notify_url to call"))),
    }
}

/// What one delivery got back. `status` is 0 when no HTTP answer came at all
/// (connection refused, timeout); `body` then says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub status: u16,
    pub body: String,
}

/// Sends `count` requests at once (platform retries can overlap with a slow first
/// answer, and WeChat notifies from several servers, so the backend must cope with
/// concurrent duplicates). `request(index)` builds each one. Results are in sending order.
pub async fn deliver_concurrently(
    count: usize,
    mut request: impl FnMut(usize) -> reqwest::RequestBuilder,
) -> Vec<Delivery> {
    let mut sending = JoinSet::new();
    for index in 0..count {
        let request = request(index);
        sending.spawn(async move { (index, deliver_once(request).await) });
    }
    let mut results = sending.join_all().await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, delivery)| delivery).collect()
}

async fn deliver_once(request: reqwest::RequestBuilder) -> Delivery {
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            return Delivery {
                status: 0,
                body: format!("delivery failed: {e}"),
            };
        }
    };
    let status = response.status().as_u16();
    match response.text().await {
        Ok(body) => Delivery { status, body },
        Err(e) => Delivery {
            status,
            body: format!("reading the answer failed: {e}"),
        },
    }
}

/// A signature that no longer verifies but is still valid hex, so that the receiver
/// must actually compare rather than fail to decode.
pub fn tampered(signature: &str) -> String {
    let mut flipped = signature.to_owned();
    let replacement = if flipped.pop() == Some('0') { '1' } else { '0' };
    flipped.push(replacement);
    flipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_needed_only_to_deliver() {
        let candidates = [None, Some(""), Some("http://first"), Some("http://second")];
        assert_eq!(target(candidates, 1, "x").unwrap(), "http://first");
        assert_eq!(
            target([None], 1, "refund R1").unwrap_err().to_string(),
            "refund R1 has no notify_url to call"
        );
        assert_eq!(target([None], 0, "refund R1").unwrap(), "");
        assert!(target([Some("http://first")], MAX_DELIVERIES + 1, "x").is_err());
    }

    #[test]
    fn tampering_changes_only_the_last_digit() {
        assert_eq!(tampered("AB10"), "AB11");
        assert_eq!(tampered("ab1f"), "ab10");
    }
}
