//! The AWS SDK on minipay's own HTTP client: one HTTPS stack and one root store per cold
//! start for the table, SSM, EventBridge and the platforms alike (the SDK's default
//! client would be a second hyper + rustls stack that loads the system roots again).
//! Every SDK request here has its body in memory, so the bytes are handed over as they are.
//!
//! The configuration is read from the environment Lambda gives a function (region,
//! the execution role's credentials, `AWS_ENDPOINT_URL[_<SERVICE>]`), not through
//! `aws-config`'s default chain: its profile, SSO, web-identity, IMDS and ECS providers
//! (and a whole STS client) were a sixth of every binary and part of every init, and a
//! Lambda function uses none of them. To run a function locally against AWS with a
//! profile, export its credentials first (`aws configure export-credentials --format env`).

use crate::config::{ConfigError, ProcessEnv, Source};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
pub use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use std::time::Duration;

/// The SDK configuration from the environment, over `http`, with timeouts so that an
/// outage answers fast. A missing region or credential is a configuration error at cold
/// start rather than a failed first request.
pub fn sdk_config(http: &reqwest::Client) -> Result<SdkConfig, ConfigError> {
    sdk_config_from(&ProcessEnv, http)
}

/// [`sdk_config`] from any source of variables (tests).
pub fn sdk_config_from(env: &dyn Source, http: &reqwest::Client) -> Result<SdkConfig, ConfigError> {
    let region = env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .ok_or(ConfigError::Missing("AWS_REGION"))?;
    let credentials = Credentials::new(
        env.get("AWS_ACCESS_KEY_ID")
            .ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?,
        env.get("AWS_SECRET_ACCESS_KEY")
            .ok_or(ConfigError::Missing("AWS_SECRET_ACCESS_KEY"))?,
        env.get("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(sdk_http_client(http))
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("the tokio sleep is compiled in"))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard())
        .service_config(EndpointUrls(endpoint_urls(env)))
        .build())
}

/// `AWS_ENDPOINT_URL` and the `AWS_ENDPOINT_URL_<SERVICE>` variables (moto, LocalStack),
/// as the SDK names them.
fn endpoint_urls(env: &dyn Source) -> Vec<(String, String)> {
    [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_ENDPOINT_URL_EVENTBRIDGE",
    ]
    .into_iter()
    .filter_map(|name| env.get(name).map(|url| (name.to_owned(), url)))
    .collect()
}

/// Answers the SDK's question "which endpoint URL for this service": the service's own
/// variable first, then the global one, as the SDK's environment loader does.
#[derive(Debug)]
struct EndpointUrls(Vec<(String, String)>);

impl LoadServiceConfig for EndpointUrls {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        let lookup = |name: &str| self.0.iter().find(|(n, _)| n == name).map(|(_, url)| url.clone());
        lookup(&format!("{}_{service}", key.env())).or_else(|| lookup(key.env()))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "ap-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("AWS_SESSION_TOKEN", "session-token-example"),
    ];

    fn key(service_id: &str) -> ServiceConfigKey<'_> {
        ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn lambdas_environment_is_the_configuration() {
        use aws_credential_types::provider::ProvideCredentials;
        let sdk = sdk_config_from(&env(&LAMBDA), &crate::outbound::http_client()).unwrap();
        assert_eq!(sdk.region().unwrap().as_ref(), "ap-east-1");
        let credentials = sdk.credentials_provider().unwrap().provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.session_token(), Some("session-token-example"));
        assert!(
            !format!("{sdk:?}").contains("EXAMPLEKEY"),
            "the secret key is not printed"
        );
    }

    #[test]
    fn a_missing_region_or_key_is_named_at_cold_start() {
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let vars: Vec<_> = LAMBDA.into_iter().filter(|(k, _)| *k != missing).collect();
            match sdk_config_from(&env(&vars), &crate::outbound::http_client()) {
                Err(ConfigError::Missing(name)) => assert_eq!(name, missing),
                other => panic!("{missing}: {:?}", other.map(|_| ())),
            }
        }
        let default_region = [("AWS_DEFAULT_REGION", "cn-north-1"), LAMBDA[1], LAMBDA[2]];
        let sdk = sdk_config_from(&env(&default_region), &crate::outbound::http_client()).unwrap();
        assert_eq!(sdk.region().unwrap().as_ref(), "cn-north-1");
    }

    #[test]
    fn a_services_own_endpoint_url_comes_before_the_global_one() {
        let urls = EndpointUrls(endpoint_urls(&env(&[
            ("AWS_ENDPOINT_URL", "http://global:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://table:2"),
        ])));
        assert_eq!(urls.load_config(key("DynamoDB")).as_deref(), Some("http://table:2"));
        assert_eq!(urls.load_config(key("SSM")).as_deref(), Some("http://global:1"));
        assert_eq!(urls.load_config(key("EventBridge")).as_deref(), Some("http://global:1"));
        let none = EndpointUrls(endpoint_urls(&env(&[("AWS_ENDPOINT_URL_SSM", "http://ssm:3")])));
        assert_eq!(none.load_config(key("SSM")).as_deref(), Some("http://ssm:3"));
        assert_eq!(none.load_config(key("DynamoDB")), None);
    }
}
