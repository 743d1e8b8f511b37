//! Configuration from the environment, read once per cold start. Any secret `X` may be
//! given as `X_PARAM`, the name of an SSM SecureString read here.

use crate::secret::Secret;
use std::collections::HashMap;

pub const DEFAULT_DOUYIN_API_BASE: &str = "https://developer.toutiao.com";
pub const DEFAULT_ORDER_VALID_SECONDS: i64 = 900;
pub const DEFAULT_RECONCILE_AFTER_SECONDS: i64 = 60;
pub const DEFAULT_CALLBACK_RETENTION_DAYS: i64 = 180;
/// Least time between two platform queries about one order from `GET /orders`.
pub const DEFAULT_ORDER_QUERY_GAP_SECONDS: i64 = 3;
pub const DEFAULT_ORDER_ENTRY_PAGE: &str = "pages/order/detail";

pub const DEFAULT_DOUYIN_OPEN_API_BASE: &str = "https://open.douyin.com";
pub const DEFAULT_DOUYIN_KEY_VERSION: &str = "1";

pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.mch.weixin.qq.com";
pub const DEFAULT_WECHAT_LOGIN_BASE: &str = "https://api.weixin.qq.com";

/// The account's own EventBridge bus.
pub const DEFAULT_EVENT_BUS_NAME: &str = "default";

/// Variables that may come from SSM as `X_PARAM`. The platform public key is no secret,
/// but a PEM is awkward in a template parameter, so it may come from SSM too.
const SECRET_VARS: [&str; 13] = [
    "DOUYIN_APP_SECRET",
    "DOUYIN_SALT",
    "DOUYIN_TOKEN",
    "DOUYIN_PRIVATE_KEY",
    "DOUYIN_PLATFORM_PUBLIC_KEY",
    "WECHAT_APP_SECRET",
    "WECHAT_API_KEY",
    "WECHAT_CLIENT_CERT",
    "WECHAT_APIV3_KEY",
    "WECHAT_MCH_PRIVATE_KEY",
    "WECHAT_PAY_PUBLIC_KEY",
    "ADMIN_API_KEY",
    "MERCHANT_WEBHOOK_SECRET",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("could not read SSM parameters: {0}")]
    Ssm(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub douyin: Option<DouyinConfig>,
    pub wechat: Option<WechatConfig>,
    pub admin_api_key: Option<Secret>,
    pub order_valid_seconds: i64,
    /// The mini-program page showing an order (order center and trade system links).
    pub order_entry_page: String,
    /// How old an unpaid order is before the reconciler first asks about it.
    pub reconcile_after_seconds: i64,
    /// How long kept callbacks stay in the table before TTL removes them.
    pub callback_retention_days: i64,
    /// `GET /orders` asks the platform about one order at most once per this many
    /// seconds (tt.pay polls; 0: every time).
    pub order_query_gap_seconds: i64,
    /// The EventBridge bus every merchant event is put on.
    pub event_bus_name: String,
    /// Where events are posted, when the merchant has a receiver.
    pub merchant_webhook: Option<MerchantWebhook>,
}

/// The merchant's webhook receiver and the secret its deliveries are signed with.
#[derive(Debug, Clone)]
pub struct MerchantWebhook {
    pub url: String,
    pub secret: Secret,
}

#[derive(Debug, Clone)]
pub struct DouyinConfig {
    pub app_id: String,
    /// Needed only where the app calls login or the token endpoint.
    pub app_secret: Option<Secret>,
    pub salt: Option<Secret>,
    pub token: Option<Secret>,
    pub api_base: String,
    pub notify_url: Option<String>,
    /// How new Douyin orders are made.
    pub pay_mode: DouyinPayMode,
    /// The trade system's settings, kept whatever the mode: after a switch back to
    /// ecpay, trade orders still get their callbacks, queries and refunds.
    pub trade: TradeConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DouyinPayMode {
    /// 担保支付: the server creates the order (`create_order`), the client pays with tt.pay.
    #[default]
    Ecpay,
    /// 通用交易系统: the client creates the order with tt.requestOrder from signed data.
    Trade,
}

/// Each function gets only the key it uses (prepay the private key, notify the public
/// one), so each is optional here and required where it is used.
#[derive(Debug, Clone)]
pub struct TradeConfig {
    /// The app's RSA private key (PEM) that signs `byteAuthorization`.
    pub private_key: Option<Secret>,
    /// The platform public key (PEM) that callbacks are verified with.
    pub platform_public_key: Option<String>,
    pub key_version: String,
    pub open_api_base: String,
}

#[derive(Debug, Clone)]
pub struct WechatConfig {
    pub app_id: String,
    /// Needed where the app logs users in.
    pub app_secret: Option<Secret>,
    pub mch_id: Option<String>,
    /// The APIv2 key: signs requests and answers, and decrypts refund notifies.
    pub api_key: Option<Secret>,
    pub api_base: String,
    pub login_base: String,
    pub notify_url: Option<String>,
    /// The merchant client certificate and its key (PEM, one after the other) that
    /// `secapi/pay/refund` requires.
    pub client_cert: Option<Secret>,
    /// Which API new orders are made with (`WECHAT_PAY_API`).
    pub pay_api: WechatPayApi,
    /// The merchant's APIv3 settings, when it has them.
    pub v3: Option<WechatV3Config>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WechatPayApi {
    V2,
    V3,
}

/// WeChat Pay APIv3 (CONTRACT section 11).
#[derive(Debug, Clone)]
pub struct WechatV3Config {
    /// 32 bytes: decrypts notifies and downloaded certificates.
    pub apiv3_key: Secret,
    /// The merchant API private key (PEM): signs requests and `paySign`.
    pub mch_private_key: Secret,
    /// The serial number of the merchant API certificate, named in every request.
    pub mch_cert_serial: String,
    /// The WeChat Pay public key; `None`: platform certificates are downloaded.
    pub pay_public_key: Option<PayPublicKey>,
}

/// A WeChat Pay public key (public-key mode) and its `PUB_KEY_ID_...`.
#[derive(Debug, Clone)]
pub struct PayPublicKey {
    pub id: String,
    pub pem: String,
}

/// Where configuration values come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).filter(|v| !v.is_empty()).cloned()
    }
}

impl Config {
    /// Reads the environment, fetching `_PARAM` secrets from SSM in one call.
    pub async fn load(aws: &crate::aws::SdkConfig) -> Result<Self, ConfigError> {
        Self::load_from(&ProcessEnv, aws).await
    }

    /// [`Config::load`] from any source of variables (tests).
    pub async fn load_from(source: &dyn Source, aws: &crate::aws::SdkConfig) -> Result<Self, ConfigError> {
        let params = fetch_ssm_params(source, aws).await?;
        Self::from_source(source, &params)
    }

    /// Builds the configuration from `source`, with `params` holding the values of any
    /// `_PARAM` secrets already fetched.
    pub fn from_source(source: &dyn Source, params: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let secret = |name: &'static str| -> Option<Secret> {
            source.get(name).or_else(|| params.get(name).cloned()).map(Secret::new)
        };
        let table_name = source.get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let douyin = match source.get("DOUYIN_APP_ID") {
            None => None,
            Some(app_id) => Some(DouyinConfig {
                app_id,
                app_secret: secret("DOUYIN_APP_SECRET"),
                salt: secret("DOUYIN_SALT"),
                token: secret("DOUYIN_TOKEN"),
                api_base: base_url(source, "DOUYIN_API_BASE", DEFAULT_DOUYIN_API_BASE)?,
                notify_url: source.get("DOUYIN_NOTIFY_URL"),
                pay_mode: pay_mode(source)?,
                trade: trade_config(source, &secret)?,
            }),
        };
        let wechat = match source.get("WECHAT_APP_ID") {
            None => None,
            Some(app_id) => Some(WechatConfig {
                app_id,
                app_secret: secret("WECHAT_APP_SECRET"),
                mch_id: source.get("WECHAT_MCH_ID"),
                api_key: secret("WECHAT_API_KEY"),
                api_base: base_url(source, "WECHAT_API_BASE", DEFAULT_WECHAT_API_BASE)?,
                login_base: base_url(source, "WECHAT_LOGIN_BASE", DEFAULT_WECHAT_LOGIN_BASE)?,
                notify_url: source.get("WECHAT_NOTIFY_URL"),
                client_cert: secret("WECHAT_CLIENT_CERT"),
                pay_api: wechat_pay_api(source)?,
                v3: wechat_v3_config(source, &secret)?,
            }),
        };
        if let Some(wechat) = &wechat
            && wechat.pay_api == WechatPayApi::V3
        {
            if wechat.v3.is_none() {
                return Err(ConfigError::Missing("WECHAT_APIV3_KEY"));
            }
            if wechat.mch_id.is_none() {
                return Err(ConfigError::Missing("WECHAT_MCH_ID"));
            }
        }
        let order_valid_seconds = positive(source, "ORDER_VALID_SECONDS", DEFAULT_ORDER_VALID_SECONDS)?;
        Ok(Config {
            table_name,
            douyin,
            wechat,
            admin_api_key: secret("ADMIN_API_KEY"),
            order_valid_seconds,
            order_entry_page: source
                .get("DOUYIN_ORDER_ENTRY_PAGE")
                .unwrap_or_else(|| DEFAULT_ORDER_ENTRY_PAGE.to_owned()),
            // 0: ask at once (local runs and tests).
            reconcile_after_seconds: at_least(source, "RECONCILE_AFTER_SECONDS", 0, DEFAULT_RECONCILE_AFTER_SECONDS)?,
            callback_retention_days: positive(source, "CALLBACK_RETENTION_DAYS", DEFAULT_CALLBACK_RETENTION_DAYS)?,
            order_query_gap_seconds: at_least(source, "ORDER_QUERY_GAP_SECONDS", 0, DEFAULT_ORDER_QUERY_GAP_SECONDS)?,
            event_bus_name: source
                .get("EVENT_BUS_NAME")
                .unwrap_or_else(|| DEFAULT_EVENT_BUS_NAME.to_owned()),
            merchant_webhook: merchant_webhook(source, &secret)?,
        })
    }
}

/// A whole number above zero, or the default when unset.
fn positive(source: &dyn Source, name: &'static str, default: i64) -> Result<i64, ConfigError> {
    at_least(source, name, 1, default)
}

/// A whole number of at least `min`, or the default when unset.
fn at_least(source: &dyn Source, name: &'static str, min: i64, default: i64) -> Result<i64, ConfigError> {
    match source.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= min)
            .ok_or_else(|| ConfigError::Invalid {
                name,
                why: format!("a whole number of at least {min}"),
            }),
    }
}

fn pay_mode(source: &dyn Source) -> Result<DouyinPayMode, ConfigError> {
    match source.get("DOUYIN_PAY_MODE").as_deref() {
        None | Some("ecpay") => Ok(DouyinPayMode::Ecpay),
        Some("trade") => Ok(DouyinPayMode::Trade),
        Some(_) => Err(ConfigError::Invalid {
            name: "DOUYIN_PAY_MODE",
            why: "ecpay or trade".into(),
        }),
    }
}

fn wechat_pay_api(source: &dyn Source) -> Result<WechatPayApi, ConfigError> {
    match source.get("WECHAT_PAY_API").as_deref() {
        None | Some("v2") => Ok(WechatPayApi::V2),
        Some("v3") => Ok(WechatPayApi::V3),
        Some(_) => Err(ConfigError::Invalid {
            name: "WECHAT_PAY_API",
            why: "v2 or v3".into(),
        }),
    }
}

/// The APIv3 settings: none at all, or the key, the private key and its certificate's
/// serial together (a half-configured merchant fails at cold start, not at the first
/// payment); the public key and its id go together too.
fn wechat_v3_config(
    source: &dyn Source,
    secret: &dyn Fn(&'static str) -> Option<Secret>,
) -> Result<Option<WechatV3Config>, ConfigError> {
    let apiv3_key = secret("WECHAT_APIV3_KEY");
    let private_key = secret("WECHAT_MCH_PRIVATE_KEY");
    let serial = source.get("WECHAT_MCH_CERT_SERIAL");
    let public_key = secret("WECHAT_PAY_PUBLIC_KEY");
    let public_key_id = source.get("WECHAT_PAY_PUBLIC_KEY_ID");
    if apiv3_key.is_none() && private_key.is_none() && serial.is_none() && public_key.is_none() {
        return Ok(None);
    }
    let apiv3_key = apiv3_key.ok_or(ConfigError::Missing("WECHAT_APIV3_KEY"))?;
    if apiv3_key.expose().len() != 32 {
        // The usual cause of "message authentication failed" on every notify.
        return Err(ConfigError::Invalid {
            name: "WECHAT_APIV3_KEY",
            why: format!("the APIv3 key is 32 characters, this one {}", apiv3_key.expose().len()),
        });
    }
    let mch_private_key = private_key.ok_or(ConfigError::Missing("WECHAT_MCH_PRIVATE_KEY"))?;
    let mch_cert_serial = serial.ok_or(ConfigError::Missing("WECHAT_MCH_CERT_SERIAL"))?;
    let pay_public_key = match (public_key, public_key_id) {
        (None, None) => None,
        (Some(pem), Some(id)) if id.starts_with("PUB_KEY_ID_") => Some(PayPublicKey {
            id,
            pem: unescape_newlines(pem.expose()),
        }),
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                name: "WECHAT_PAY_PUBLIC_KEY_ID",
                why: "the id shown beside the key, PUB_KEY_ID_...".into(),
            });
        }
        (Some(_), None) => return Err(ConfigError::Missing("WECHAT_PAY_PUBLIC_KEY_ID")),
        (None, Some(_)) => return Err(ConfigError::Missing("WECHAT_PAY_PUBLIC_KEY")),
    };
    Ok(Some(WechatV3Config {
        apiv3_key,
        mch_private_key: Secret::new(unescape_newlines(mch_private_key.expose())),
        mch_cert_serial,
        pay_public_key,
    }))
}

fn trade_config(
    source: &dyn Source,
    secret: &dyn Fn(&'static str) -> Option<Secret>,
) -> Result<TradeConfig, ConfigError> {
    let private_key = secret("DOUYIN_PRIVATE_KEY");
    let public_key = secret("DOUYIN_PLATFORM_PUBLIC_KEY");
    let key_version = source
        .get("DOUYIN_KEY_VERSION")
        .unwrap_or_else(|| DEFAULT_DOUYIN_KEY_VERSION.to_owned());
    if key_version.is_empty() || !key_version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::Invalid {
            name: "DOUYIN_KEY_VERSION",
            why: "the key version number shown in the console".into(),
        });
    }
    Ok(TradeConfig {
        private_key: private_key.map(|k| Secret::new(unescape_newlines(k.expose()))),
        platform_public_key: public_key.map(|k| unescape_newlines(k.expose())),
        key_version,
        open_api_base: base_url(source, "DOUYIN_OPEN_API_BASE", DEFAULT_DOUYIN_OPEN_API_BASE)?,
    })
}

/// A PEM given on one line with `\n` escapes (env files hold no newlines) as PEM text.
fn unescape_newlines(value: &str) -> String {
    value.replace("\\n", "\n")
}

fn base_url(source: &dyn Source, name: &'static str, default: &str) -> Result<String, ConfigError> {
    let url = source.get(name).unwrap_or_else(|| default.to_owned());
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name,
            why: "an http(s) URL".into(),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The webhook receiver: https, or http to this machine for local runs (a plain-http
/// receiver elsewhere would let anyone on the way read and replay the events).
fn merchant_webhook(
    source: &dyn Source,
    secret: &dyn Fn(&'static str) -> Option<Secret>,
) -> Result<Option<MerchantWebhook>, ConfigError> {
    const NAME: &str = "MERCHANT_WEBHOOK_URL";
    let Some(url) = source.get(NAME) else {
        return Ok(None);
    };
    let invalid = |why: &str| ConfigError::Invalid {
        name: NAME,
        why: why.into(),
    };
    let parsed = reqwest::Url::parse(&url).map_err(|_| invalid("not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if !host.is_empty() => {}
        "http" if loopback => {}
        _ => return Err(invalid("an https URL (http only to a loopback address)")),
    }
    let secret = secret("MERCHANT_WEBHOOK_SECRET").ok_or(ConfigError::Missing("MERCHANT_WEBHOOK_SECRET"))?;
    Ok(Some(MerchantWebhook { url, secret }))
}

/// Reads every secret given as `X_PARAM` from SSM, decrypted, keyed by `X`.
async fn fetch_ssm_params(
    source: &dyn Source,
    aws: &crate::aws::SdkConfig,
) -> Result<HashMap<String, String>, ConfigError> {
    let wanted: Vec<(&str, String)> = SECRET_VARS
        .iter()
        .filter(|var| source.get(var).is_none())
        .filter_map(|var| source.get(&format!("{var}_PARAM")).map(|name| (*var, name)))
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let ssm = aws_sdk_ssm::Client::new(aws);
    let names: Vec<String> = wanted.iter().map(|(_, name)| name.clone()).collect();
    let answer = ssm
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| ConfigError::Ssm(aws_sdk_ssm::error::DisplayErrorContext(e).to_string()))?;
    if let Some(missing) = answer.invalid_parameters().first() {
        return Err(ConfigError::Ssm(format!("parameter {missing} not found")));
    }
    let by_name: HashMap<&str, &str> = answer
        .parameters()
        .iter()
        .filter_map(|p| Some((p.name()?, p.value()?)))
        .collect();
    wanted
        .iter()
        .map(|(var, name)| {
            by_name
                .get(name.as_str())
                .map(|value| ((*var).to_owned(), (*value).to_owned()))
                .ok_or_else(|| ConfigError::Ssm(format!("parameter {name} has no value")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_douyin_settings_with_defaults() {
        let source = env(&[
            ("TABLE_NAME", "t"),
            ("DOUYIN_APP_ID", "tt1"),
            ("DOUYIN_APP_SECRET", "s3cret"),
            ("DOUYIN_SALT", "salt"),
        ]);
        let config = Config::from_source(&source, &HashMap::new()).unwrap();
        let douyin = config.douyin.unwrap();
        assert_eq!(douyin.api_base, DEFAULT_DOUYIN_API_BASE);
        assert_eq!(douyin.app_secret.unwrap().expose(), "s3cret");
        assert!(douyin.token.is_none());
        assert_eq!(config.order_valid_seconds, 900);
    }

    #[test]
    fn params_fill_secrets_and_errors_name_only_variables() {
        let source = env(&[
            ("TABLE_NAME", "t"),
            ("DOUYIN_APP_ID", "tt1"),
            ("DOUYIN_API_BASE", "http://127.0.0.1:1/"),
        ]);
        let without = Config::from_source(&source, &HashMap::new()).unwrap();
        assert!(without.douyin.unwrap().app_secret.is_none());
        let err = Config::from_source(&env(&[("DOUYIN_APP_ID", "tt1")]), &HashMap::new()).unwrap_err();
        assert_eq!(err.to_string(), "TABLE_NAME is required");
        let params = env(&[("DOUYIN_APP_SECRET", "from-ssm")]);
        let config = Config::from_source(&source, &params).unwrap();
        let douyin = config.douyin.unwrap();
        assert_eq!(douyin.app_secret.as_ref().unwrap().expose(), "from-ssm");
        assert_eq!(douyin.api_base, "http://127.0.0.1:1");
        assert!(!format!("{douyin:?}").contains("from-ssm"));
    }

    #[test]
    fn wechat_v3_settings_come_whole_and_keep_their_secrets_out_of_debug() {
        let base = [
            ("TABLE_NAME", "t"),
            ("WECHAT_APP_ID", "wx1"),
            ("WECHAT_MCH_ID", "1900000109"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_source(&env(&pairs), &HashMap::new())
        };
        let v2 = with(&[]).unwrap().wechat.unwrap();
        assert_eq!((v2.pay_api, v2.v3.is_none()), (WechatPayApi::V2, true));
        let err = |extra: &[(&str, &str)]| with(extra).unwrap_err().to_string();
        assert_eq!(err(&[("WECHAT_PAY_API", "v3")]), "WECHAT_APIV3_KEY is required");
        assert_eq!(err(&[("WECHAT_PAY_API", "V3")]), "WECHAT_PAY_API is invalid: v2 or v3");
        let key = "0123456789abcdef0123456789ABCDEF";
        let whole = [
            ("WECHAT_PAY_API", "v3"),
            ("WECHAT_APIV3_KEY", key),
            (
                "WECHAT_MCH_PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----\\nmerchant-bits\\n-----END PRIVATE KEY-----",
            ),
            ("WECHAT_MCH_CERT_SERIAL", "5F1C72E2A8931B72A2E13AF8DEE92471EB397115"),
        ];
        assert_eq!(err(&whole[..3]), "WECHAT_MCH_CERT_SERIAL is required");
        let short = [("WECHAT_APIV3_KEY", "0123456789abcdef"), whole[2], whole[3]];
        assert!(err(&short).contains("32 characters, this one 16"));
        assert!(!err(&short).contains("0123456789abcdef"));
        let wechat = with(&whole).unwrap().wechat.unwrap();
        let v3 = wechat.v3.as_ref().unwrap();
        assert_eq!(wechat.pay_api, WechatPayApi::V3);
        assert!(v3.mch_private_key.expose().contains("\nmerchant-bits\n"));
        assert!(v3.pay_public_key.is_none());
        let debug = format!("{wechat:?}");
        assert!(!debug.contains(key) && !debug.contains("merchant-bits"));

        let mut public = whole.to_vec();
        public.push((
            "WECHAT_PAY_PUBLIC_KEY",
            "-----BEGIN PUBLIC KEY-----\\nP\\n-----END PUBLIC KEY-----",
        ));
        assert_eq!(err(&public), "WECHAT_PAY_PUBLIC_KEY_ID is required");
        public.push(("WECHAT_PAY_PUBLIC_KEY_ID", "PUB_KEY_ID_0114232134912410000000000000"));
        let v3 = with(&public).unwrap().wechat.unwrap().v3.unwrap();
        let key = v3.pay_public_key.unwrap();
        assert_eq!(key.id, "PUB_KEY_ID_0114232134912410000000000000");
        assert!(key.pem.contains("\nP\n"));
        // v3 settings may be there while new orders still go to v2 (before a switch).
        let mut staged = whole.to_vec();
        staged[0] = ("WECHAT_PAY_API", "v2");
        assert_eq!(with(&staged).unwrap().wechat.unwrap().pay_api, WechatPayApi::V2);
    }

    #[test]
    fn trade_mode_needs_both_keys_and_keeps_the_private_one_out_of_debug() {
        let base = [("TABLE_NAME", "t"), ("DOUYIN_APP_ID", "tt1")];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_source(&env(&pairs), &HashMap::new())
        };
        let ecpay = with(&[]).unwrap().douyin.unwrap();
        assert_eq!(ecpay.pay_mode, DouyinPayMode::Ecpay);
        // Each function gets only the key it uses: none is required at this level.
        let bare = with(&[("DOUYIN_PAY_MODE", "trade")]).unwrap().douyin.unwrap();
        assert!(bare.trade.private_key.is_none());
        assert!(with(&[("DOUYIN_PAY_MODE", "Trade")]).is_err());
        let kept = with(&[("DOUYIN_PLATFORM_PUBLIC_KEY", "p")]).unwrap().douyin.unwrap();
        assert_eq!(kept.pay_mode, DouyinPayMode::Ecpay);
        assert_eq!(kept.trade.platform_public_key.as_deref(), Some("p"));
        let keys = [
            ("DOUYIN_PAY_MODE", "trade"),
            (
                "DOUYIN_PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----\\nsecret-bits\\n-----END PRIVATE KEY-----",
            ),
            ("DOUYIN_PLATFORM_PUBLIC_KEY", "public"),
        ];
        let douyin = with(&keys).unwrap().douyin.unwrap();
        let trade = &douyin.trade;
        assert_eq!(trade.key_version, "1");
        assert_eq!(trade.open_api_base, DEFAULT_DOUYIN_OPEN_API_BASE);
        assert!(trade.private_key.as_ref().unwrap().expose().contains("\nsecret-bits\n"));
        assert!(!format!("{douyin:?}").contains("secret-bits"));
        let mut bad_version = keys.to_vec();
        bad_version.push(("DOUYIN_KEY_VERSION", "v2"));
        assert!(with(&bad_version).is_err());
    }

    #[test]
    fn the_webhook_is_https_or_loopback_and_needs_its_secret() {
        let with = |pairs: &[(&str, &str)], params: &[(&str, &str)]| {
            let mut all = vec![("TABLE_NAME", "t")];
            all.extend_from_slice(pairs);
            Config::from_source(&env(&all), &env(params))
        };
        let plain = with(&[], &[]).unwrap();
        assert_eq!(plain.event_bus_name, "default");
        assert!(plain.merchant_webhook.is_none());
        assert_eq!(with(&[("EVENT_BUS_NAME", "shop")], &[]).unwrap().event_bus_name, "shop");
        for url in [
            "https://shop.example.com/hooks",
            "http://127.0.0.1:8080/hooks",
            "http://localhost:9/h",
            "http://[::1]:9/h",
        ] {
            let config = with(
                &[("MERCHANT_WEBHOOK_URL", url), ("MERCHANT_WEBHOOK_SECRET", "whsec_1")],
                &[],
            );
            let webhook = config.unwrap().merchant_webhook.unwrap();
            assert_eq!((webhook.url.as_str(), webhook.secret.expose()), (url, "whsec_1"));
        }
        for url in [
            "http://shop.example.com/hooks",
            "http://10.0.0.8/h",
            "ftp://x/y",
            "shop.example.com",
        ] {
            let err = with(
                &[("MERCHANT_WEBHOOK_URL", url), ("MERCHANT_WEBHOOK_SECRET", "whsec_1")],
                &[],
            )
            .unwrap_err();
            assert!(
                err.to_string().starts_with("MERCHANT_WEBHOOK_URL is invalid"),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains("whsec_1"));
        }
        let err = with(&[("MERCHANT_WEBHOOK_URL", "https://shop.example.com/h")], &[]).unwrap_err();
        assert_eq!(err.to_string(), "MERCHANT_WEBHOOK_SECRET is required");
        let from_ssm = with(
            &[("MERCHANT_WEBHOOK_URL", "https://shop.example.com/h")],
            &[("MERCHANT_WEBHOOK_SECRET", "whsec_ssm")],
        )
        .unwrap();
        let webhook = from_ssm.merchant_webhook.unwrap();
        assert_eq!(webhook.secret.expose(), "whsec_ssm");
        assert!(!format!("{webhook:?}").contains("whsec_ssm"));
    }

    #[test]
    fn bad_values_are_refused() {
        let source = env(&[("TABLE_NAME", "t"), ("ORDER_VALID_SECONDS", "soon")]);
        assert!(Config::from_source(&source, &HashMap::new()).is_err());
        let source = env(&[
            ("TABLE_NAME", "t"),
            ("DOUYIN_APP_ID", "a"),
            ("DOUYIN_APP_SECRET", "b"),
            ("DOUYIN_API_BASE", "ftp://x"),
        ]);
        assert!(Config::from_source(&source, &HashMap::new()).is_err());
        assert!(Config::from_source(&env(&[]), &HashMap::new()).is_err());
    }
}
