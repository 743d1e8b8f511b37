//! Outbound HTTP: one client per cold start, every call bounded in time and size.

use crate::error::PlatformError;
use serde_json::Value;
use std::time::Duration;

/// Time for one attempt of a platform call. Two attempts and the table writes fit well
/// inside the functions' timeout and API Gateway's 30 s.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Longest answer read from a platform; a bigger one is treated as garbage.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Pause before the one retry of an idempotent call.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The one HTTP client of a cold start: platforms, the merchant's webhook and the AWS SDK
/// (`crate::aws`) share its connection pools and its TLS roots, loaded once. It follows
/// no redirect: no platform API sends one, and a signed webhook must not be carried
/// elsewhere.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("minipay/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend and settings are static")
}

/// A platform answer: its HTTP status, headers (WeChat Pay v3 signs answers in them)
/// and body bytes.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, or `Unavailable` for a 5xx or something that does not parse.
    pub fn json(&self) -> Result<Value, PlatformError> {
        if self.status >= 500 {
            return Err(PlatformError::Unavailable(format!("answered HTTP {}", self.status)));
        }
        serde_json::from_slice(&self.body).map_err(|_| {
            PlatformError::Unavailable(format!("answered HTTP {} with a body that is not JSON", self.status))
        })
    }
}

/// Runs an idempotent platform call, and once more after a pause when its outcome is
/// unknown: the transport failed or timed out, or the answer says "try again" (`unknown`).
pub async fn retry_once_if_unknown<T, Fut>(
    attempt: impl Fn() -> Fut,
    unknown: impl Fn(&T) -> bool,
) -> Result<T, PlatformError>
where
    Fut: std::future::Future<Output = Result<T, PlatformError>>,
{
    match attempt().await {
        Ok(answer) if !unknown(&answer) => Ok(answer),
        Ok(_) | Err(PlatformError::Unavailable(_)) => {
            tokio::time::sleep(RETRY_PAUSE).await;
            attempt().await
        }
        Err(other) => Err(other),
    }
}

/// Sends a request and reads the answer, bounded by the client's timeouts and a size cap.
pub async fn send(request: reqwest::RequestBuilder) -> Result<Answer, PlatformError> {
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err(PlatformError::Unavailable("answer too large".into()));
        }
    }
    Ok(Answer { status, headers, body })
}

/// Says what went wrong without the URL's query string or any body.
fn describe(err: reqwest::Error) -> PlatformError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "answer broken off"
    } else {
        "request failed"
    };
    PlatformError::Unavailable(what.into())
}
