//! The functions' AWS configuration as Lambda gives it (region, the role's credentials,
//! `AWS_ENDPOINT_URL[_<SERVICE>]`) against moto over real HTTP: secrets read from SSM at
//! cold start, each service at its own endpoint.

use aws_sdk_ssm::types::ParameterType;
use harness::table;
use minipay::config::{Config, ConfigError};
use std::collections::HashMap;

fn lambda_env(extra: &[(&str, String)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "role-session"),
        ("TABLE_NAME", "minipay"),
        ("DOUYIN_APP_ID", "tt_env_app"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    env
}

fn unique(prefix: &str) -> String {
    format!("/minipay-test/{prefix}-{}", rand::random::<u64>())
}

async fn put_secure(name: &str, value: &str) {
    let ssm = aws_sdk_ssm::Client::new(&table::sdk_config_at(&table::endpoint()));
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("moto stores the parameter");
}

fn sdk(env: &HashMap<String, String>) -> minipay::aws::SdkConfig {
    minipay::aws::sdk_config_from(env, &minipay::outbound::http_client()).expect("a complete environment")
}

#[tokio::test]
async fn secrets_named_by_param_are_read_from_ssm_at_its_own_endpoint() {
    let secret_name = unique("app-secret");
    let salt_name = unique("salt");
    put_secure(&secret_name, "秘密-app-secret-\"quoted\"").await;
    put_secure(&salt_name, "salt-0000").await;
    // The global endpoint is a closed port: SSM is reached only through its own variable.
    let env = lambda_env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        ("AWS_ENDPOINT_URL_SSM", table::endpoint()),
        ("DOUYIN_APP_SECRET_PARAM", secret_name),
        ("DOUYIN_SALT_PARAM", salt_name),
    ]);
    let config = Config::load_from(&env, &sdk(&env)).await.expect("the secrets are read");
    let douyin = config.douyin.unwrap();
    assert_eq!(douyin.app_secret.unwrap().expose(), "秘密-app-secret-\"quoted\"");
    assert_eq!(douyin.salt.unwrap().expose(), "salt-0000");
}

#[tokio::test]
async fn the_global_endpoint_serves_every_service_without_its_own() {
    let name = unique("token");
    put_secure(&name, "callback-token").await;
    let env = lambda_env(&[("AWS_ENDPOINT_URL", table::endpoint()), ("DOUYIN_TOKEN_PARAM", name)]);
    let config = Config::load_from(&env, &sdk(&env)).await.unwrap();
    assert_eq!(config.douyin.unwrap().token.unwrap().expose(), "callback-token");
    // The table client of the same configuration reaches the same endpoint.
    let tables = aws_sdk_dynamodb::Client::new(&sdk(&env)).list_tables().send().await;
    assert!(tables.is_ok(), "{tables:?}");
}

#[tokio::test]
async fn a_missing_parameter_fails_the_cold_start_without_quoting_any_secret() {
    let present = unique("present");
    put_secure(&present, "do-not-print-me").await;
    let env = lambda_env(&[
        ("AWS_ENDPOINT_URL", table::endpoint()),
        ("DOUYIN_APP_SECRET_PARAM", present),
        ("DOUYIN_SALT_PARAM", "/minipay-test/never-stored".to_owned()),
    ]);
    match Config::load_from(&env, &sdk(&env)).await {
        Err(ConfigError::Ssm(why)) => {
            assert!(why.contains("/minipay-test/never-stored"), "{why}");
            assert!(!why.contains("do-not-print-me"), "{why}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}
