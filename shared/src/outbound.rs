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
/// (`crate::aws`) share its connection pools and its TLS roots. It follows no redirect:
/// no platform API sends one, and a signed webhook must not be carried elsewhere.
pub fn http_client() -> reqwest::Client {
    client_builder()
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("minipay/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend and settings are static")
}

/// The settings every outbound client has (the WeChat Pay client-certificate client adds
/// its identity to them): the roots below, the timeouts, no redirects.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_certs_only(roots(std::env::var_os("SSL_CERT_FILE").as_deref()))
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
}

/// The roots every HTTPS call trusts: Mozilla's, compiled in, and the certificates in
/// `SSL_CERT_FILE` when it is set (a local sandbox's CA, a company proxy). Compiled in
/// rather than the system store because reading and parsing the store was 2.3 ms of
/// every cold start (BENCHMARKS.md), and every host minipay calls (the platforms, AWS)
/// chains to a root in Mozilla's list; the price is a rebuild to take a new root list.
fn roots(ssl_cert_file: Option<&std::ffi::OsStr>) -> Vec<reqwest::Certificate> {
    let mut roots = MOZILLA_ROOTS.clone();
    if let Some(path) = ssl_cert_file {
        match std::fs::read(path).map(|pem| reqwest::Certificate::from_pem_bundle(&pem)) {
            Ok(Ok(extra)) => roots.extend(extra),
            _ => tracing::warn!(path = %path.to_string_lossy(), "SSL_CERT_FILE is not a readable PEM bundle; left out"),
        }
    }
    roots
}

static MOZILLA_ROOTS: std::sync::LazyLock<Vec<reqwest::Certificate>> = std::sync::LazyLock::new(|| {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
});

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

#[cfg(test)]
mod tests {
    use super::roots;
    use crate::testing::tools::TempFile;
    use webpki_root_certs::TLS_SERVER_ROOT_CERTS;

    fn pem_of(der: &[u8]) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
    }

    #[test]
    fn mozillas_roots_are_compiled_in() {
        assert!(TLS_SERVER_ROOT_CERTS.len() > 100);
        assert_eq!(roots(None).len(), TLS_SERVER_ROOT_CERTS.len());
    }

    #[test]
    fn ssl_cert_file_adds_its_certificates() {
        let bundle = pem_of(&TLS_SERVER_ROOT_CERTS[0]) + &pem_of(&TLS_SERVER_ROOT_CERTS[1]);
        let file = TempFile::new(bundle.as_bytes());
        assert_eq!(roots(Some(file.path().as_ref())).len(), TLS_SERVER_ROOT_CERTS.len() + 2);
    }

    #[test]
    fn an_unusable_ssl_cert_file_leaves_mozillas_roots() {
        let garbage = TempFile::new(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        for path in [garbage.path(), "/nonexistent/minipay-ca.pem"] {
            assert_eq!(roots(Some(path.as_ref())).len(), TLS_SERVER_ROOT_CERTS.len(), "{path}");
        }
        assert!(super::http_client().get("https://example.com").build().is_ok());
    }
}
