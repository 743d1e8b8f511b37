//! The AWS SDK on minipay's own HTTP client: one HTTPS stack and one root store per cold
//! start for the table, SSM, EventBridge and the platforms alike (the SDK's default
//! client would be a second hyper + rustls stack that loads the system roots again).
//! Every SDK request here has its body in memory, so the bytes are handed over as they are.

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::time::Duration;

/// The SDK configuration from the standard AWS environment (region, credentials,
/// `AWS_ENDPOINT_URL_*`), over `http`, with timeouts so that an outage answers fast.
pub async fn sdk_config(http: &reqwest::Client) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(sdk_http_client(http))
        .timeout_config(timeouts)
        .load()
        .await
}

/// `http` as the SDK's HTTP client.
pub fn sdk_http_client(http: &reqwest::Client) -> SharedHttpClient {
    SharedHttpClient::new(ReqwestClient(http.clone()))
}

#[derive(Debug, Clone)]
struct ReqwestClient(reqwest::Client);

impl HttpClient for ReqwestClient {
    /// The SDK's connect and read timeouts are within the client's own, and its attempt
    /// timeout bounds every call whatever they are; one connector serves them all.
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for ReqwestClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move { send(&client, request).await })
    }
}

async fn send(client: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(Box::new(e)))?;
    let (parts, body) = request.into_parts();
    let bytes = body
        .bytes()
        .ok_or_else(|| ConnectorError::user("a streaming request body is not supported here".into()))?
        .to_vec();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(bytes)
        .send()
        .await
        .map_err(transport_error)?;
    let mut answer = lambda_http::http::Response::builder().status(response.status());
    if let Some(headers) = answer.headers_mut() {
        *headers = std::mem::take(response.headers_mut());
    }
    let body = response.bytes().await.map_err(transport_error)?;
    let answer = answer
        .body(SdkBody::from(body))
        .map_err(|e| ConnectorError::other(Box::new(e), None))?;
    HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(Box::new(e), None))
}

/// Timeouts and connection failures are retryable transport errors for the SDK.
fn transport_error(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::timeout(Box::new(err))
    } else {
        ConnectorError::io(Box::new(err))
    }
}
