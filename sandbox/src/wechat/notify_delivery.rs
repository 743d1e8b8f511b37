//! How WeChat Pay sends its notifies: the same XML body POSTed as `text/xml`,
//! `deliveries` times at once (WeChat notifies from several servers within seconds).

use crate::delivery::{Delivery, MAX_DELIVERIES, deliver_concurrently};
use crate::error::SandboxError;

/// Refuses a delivery count that can only be a typo, before anything changes.
pub fn check_deliveries(deliveries: usize) -> Result<(), SandboxError> {
    if deliveries > MAX_DELIVERIES {
        return Err(SandboxError::Invalid(format!("at most {MAX_DELIVERIES} deliveries")));
    }
    Ok(())
}

/// The first non-empty URL of `candidates`, in order of precedence.
pub fn target<'a>(candidates: impl IntoIterator<Item = Option<&'a str>>, what: &str) -> Result<String, SandboxError> {
    candidates
        .into_iter()
        .flatten()
        .find(|url| !url.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| SandboxError::Invalid(format!("{what} has no notify_url to call")))
}

pub async fn deliver_xml(http: &reqwest::Client, url: &str, body: &str, count: usize) -> Vec<Delivery> {
    deliver_concurrently(count, |_| {
        http.post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body.to_owned())
    })
    .await
}
