//! What the sandbox pretends to be: one Douyin mini-app and, optionally, one WeChat
//! mini-program with its WeChat Pay merchant, with their console settings.

use crate::notify_url;
use crate::wechat_v3::WechatV3SandboxConfig;
use serde::{Deserialize, Serialize};

/// The console settings of the apps the sandbox hosts. The backend under test must
/// be configured with the same values, exactly as it would be with the real consoles.
///
/// Build it with `..SandboxConfig::default()` (or `wechat: None`) so that new
/// platforms do not break existing literals again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxConfig {
    /// The mini-app id (`appid` in login, `app_id` in ecpay).
    pub app_id: String,
    /// The app secret checked by `jscode2session`.
    pub app_secret: String,
    /// The ecpay SALT that request signs are checked with.
    pub salt: String,
    /// The console Token that callbacks are signed with.
    pub token: String,
    /// The console notify URL, used when an order carries no `notify_url` of its own.
    pub notify_url: Option<String>,
    /// The WeChat mini-program and merchant; `None` turns the WeChat endpoints off
    /// (they then refuse every call, as for an unknown app).
    #[serde(default)]
    pub wechat: Option<WechatSandboxConfig>,
    /// The general trade system (`trade_basic`, douyin-trade.md); `None` turns its
    /// endpoints off (they then refuse every call, as for an unknown app).
    #[serde(default)]
    pub trade: Option<TradeSandboxConfig>,
    /// Where the public https notify URLs the backend is configured with really lead
    /// (the platforms call https only, a local backend serves http); `None`: every URL
    /// is called as it is.
    #[serde(default)]
    pub tunnel: Option<Tunnel>,
}

/// A developer's tunnel (ngrok and the like): calls to `public_origin` reach
/// `local_origin`. The platforms check the public URL; only the delivery is rewritten.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// `https://host[:port]`, no path: what the backend's notify URLs start with.
    pub public_origin: String,
    /// `http://127.0.0.1:PORT`, no path: where the backend really listens.
    pub local_origin: String,
}

impl Tunnel {
    /// Both origins are scheme, host and optional port, with no path or trailing slash.
    pub fn check(&self) -> Result<(), String> {
        if !is_origin(&self.public_origin, &["https://"]) {
            return Err(format!(
                "the tunnel's public origin {:?} is not https://host[:port]",
                self.public_origin
            ));
        }
        if !is_origin(&self.local_origin, &["http://", "https://"]) {
            return Err(format!(
                "the tunnel's local origin {:?} is not http://host:port",
                self.local_origin
            ));
        }
        Ok(())
    }

    /// Where a call to `url` really goes: `url` with the public origin replaced by the
    /// local one when it starts with it, else `url` itself.
    pub fn resolve(&self, url: &str) -> String {
        match url.strip_prefix(self.public_origin.as_str()) {
            Some(rest) if rest.is_empty() || rest.starts_with(['/', '?', '#']) => {
                format!("{}{rest}", self.local_origin)
            }
            _ => url.to_owned(),
        }
    }
}

fn is_origin(text: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        text.strip_prefix(scheme).is_some_and(|authority| {
            !authority.is_empty()
                && authority
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
        })
    })
}

/// The RSA keys of the general trade system, as set in the console's 密钥设置.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeSandboxConfig {
    /// The app's public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY` PEM): checks
    /// the `byteAuthorization` of `tt.requestOrder`.
    pub app_public_key_pem: String,
    /// The platform's private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`
    /// PEM): signs the callbacks.
    pub platform_private_key_pem: String,
    /// The version of the app public key the console holds (`key_version`), "1" at first.
    pub key_version: String,
}

/// The WeChat mini-program (login) and its WeChat Pay merchant (v2 API, and v3 when
/// [`WechatSandboxConfig::v3`] is set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatSandboxConfig {
    /// The mini-program `appid`, also the `appid` of every pay call.
    pub app_id: String,
    /// The AppSecret checked by `sns/jscode2session`.
    pub app_secret: String,
    /// The merchant number (`mch_id`) bound to `app_id`.
    pub mch_id: String,
    /// The APIv2 key: signs requests, answers and notifies, and encrypts `req_info`.
    pub api_key: String,
    /// Where refund notifies go when neither the refund nor its order names a URL
    /// (the merchant-platform setting).
    #[serde(default)]
    pub notify_url: Option<String>,
    /// The merchant's API client certificate (PEM; a key after it is ignored): the only
    /// one `/secapi/` calls are accepted with. `None`, as for a merchant that never
    /// downloaded one, refuses every refund.
    #[serde(default)]
    pub client_cert_pem: Option<String>,
    /// The merchant's APIv3 settings; `None` turns the `/v3/` endpoints off (they then
    /// answer 400 INVALID_REQUEST, unsigned).
    #[serde(default)]
    pub v3: Option<WechatV3SandboxConfig>,
}

impl SandboxConfig {
    /// Reads `SANDBOX_APP_ID`, `SANDBOX_APP_SECRET`, `SANDBOX_SALT`, `SANDBOX_TOKEN`
    /// (all required: a sandbox silently running with other credentials than the
    /// backend would only produce confusing sign errors) and `SANDBOX_NOTIFY_URL`,
    /// then the WeChat settings (see [`WechatSandboxConfig::from_env`]), the trade
    /// keys, and the tunnel: both or neither of `SANDBOX_PUBLIC_ORIGIN` and
    /// `SANDBOX_LOCAL_ORIGIN`. The result is [`checked`](Self::check).
    pub fn from_env() -> Result<SandboxConfig, String> {
        let required = |name: &str| env(name).ok_or_else(|| format!("{name} must be set"));
        let tunnel = match (env("SANDBOX_PUBLIC_ORIGIN"), env("SANDBOX_LOCAL_ORIGIN")) {
            (Some(public_origin), Some(local_origin)) => Some(Tunnel {
                public_origin,
                local_origin,
            }),
            (None, None) => None,
            _ => return Err("SANDBOX_PUBLIC_ORIGIN and SANDBOX_LOCAL_ORIGIN go together (the tunnel)".into()),
        };
        let config = SandboxConfig {
            app_id: required("SANDBOX_APP_ID")?,
            app_secret: required("SANDBOX_APP_SECRET")?,
            salt: required("SANDBOX_SALT")?,
            token: required("SANDBOX_TOKEN")?,
            notify_url: env("SANDBOX_NOTIFY_URL"),
            wechat: WechatSandboxConfig::from_env()?,
            trade: TradeSandboxConfig::from_env()?,
            tunnel,
        };
        config.check()?;
        Ok(config)
    }

    /// What the consoles themselves refuse: a console notify URL that is not a public
    /// https URL (the same rules as the requests' `notify_url`s), and a malformed tunnel.
    pub fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.notify_url {
            // The console URL serves ecpay and the trade system: it must pass both.
            for rules in [notify_url::ECPAY, notify_url::TRADE] {
                notify_url::check(url, rules).map_err(|problem| format!("the console notify URL {problem}"))?;
            }
        }
        if let Some(url) = self.wechat.as_ref().and_then(|wechat| wechat.notify_url.as_ref()) {
            notify_url::check(url, notify_url::WECHAT)
                .map_err(|problem| format!("the WeChat merchant notify URL {problem}"))?;
        }
        if let Some(v3) = self.wechat.as_ref().and_then(|wechat| wechat.v3.as_ref()) {
            v3.check().map_err(|problem| format!("WeChat Pay APIv3: {problem}"))?;
        }
        self.tunnel.as_ref().map_or(Ok(()), Tunnel::check)
    }
}

impl TradeSandboxConfig {
    /// The trade system is on when `SANDBOX_TRADE_APP_PUBLIC_KEY` and
    /// `SANDBOX_TRADE_PLATFORM_PRIVATE_KEY` are both set (PEM text, where a literal
    /// `\n` stands for a newline because env files cannot hold newlines), off when
    /// neither is; one without the other is refused, and so are keys that do not parse.
    /// `SANDBOX_TRADE_KEY_VERSION` defaults to "1".
    pub fn from_env() -> Result<Option<TradeSandboxConfig>, String> {
        let config = Self::from_values(
            env("SANDBOX_TRADE_APP_PUBLIC_KEY"),
            env("SANDBOX_TRADE_PLATFORM_PRIVATE_KEY"),
            env("SANDBOX_TRADE_KEY_VERSION"),
        )?;
        if let Some(config) = &config {
            crate::trade::keyring::Keyring::load(config)?;
        }
        Ok(config)
    }

    fn from_values(
        app_public_key: Option<String>,
        platform_private_key: Option<String>,
        key_version: Option<String>,
    ) -> Result<Option<TradeSandboxConfig>, String> {
        match (app_public_key, platform_private_key) {
            (Some(public), Some(private)) => Ok(Some(TradeSandboxConfig {
                app_public_key_pem: unescape_newlines(&public),
                platform_private_key_pem: unescape_newlines(&private),
                key_version: key_version.unwrap_or_else(|| "1".into()),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => {
                Err("SANDBOX_TRADE_PLATFORM_PRIVATE_KEY must be set too (the trade system needs both keys)".into())
            }
            (None, Some(_)) => {
                Err("SANDBOX_TRADE_APP_PUBLIC_KEY must be set too (the trade system needs both keys)".into())
            }
        }
    }
}

/// PEM text from a one-line env value: the two characters `\n` become a newline.
fn unescape_newlines(value: &str) -> String {
    value.replace("\\n", "\n")
}

/// The WeChat credentials, read from these variables.
const WECHAT_VARIABLES: [&str; 4] = [
    "SANDBOX_WECHAT_APP_ID",
    "SANDBOX_WECHAT_APP_SECRET",
    "SANDBOX_WECHAT_MCH_ID",
    "SANDBOX_WECHAT_API_KEY",
];

impl WechatSandboxConfig {
    /// WeChat is on when all of `SANDBOX_WECHAT_APP_ID`, `_APP_SECRET`, `_MCH_ID` and
    /// `_API_KEY` are set, off when none is; some but not all is refused, for the same
    /// reason as missing Douyin settings. `SANDBOX_WECHAT_NOTIFY_URL` is optional, and so
    /// is `SANDBOX_WECHAT_CLIENT_CERT`, the merchant certificate refunds must be sent
    /// with (PEM, where a literal `\n` stands for a newline). APIv3 is read by
    /// [`WechatV3SandboxConfig::from_env`] and needs the v2 credentials too.
    pub fn from_env() -> Result<Option<WechatSandboxConfig>, String> {
        let config = Self::from_values(WECHAT_VARIABLES.map(env), env("SANDBOX_WECHAT_NOTIFY_URL"))?;
        let client_cert = env("SANDBOX_WECHAT_CLIENT_CERT").map(|pem| unescape_newlines(&pem));
        let config = Self::with_client_cert(config, client_cert)?;
        match (config, WechatV3SandboxConfig::from_env()?) {
            (None, Some(_)) => Err("SANDBOX_WECHAT_V3_* needs the SANDBOX_WECHAT_* credentials too".into()),
            (config, v3) => Ok(config.map(|config| WechatSandboxConfig { v3, ..config })),
        }
    }

    fn with_client_cert(
        config: Option<WechatSandboxConfig>,
        client_cert: Option<String>,
    ) -> Result<Option<WechatSandboxConfig>, String> {
        match (config, client_cert) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err("SANDBOX_WECHAT_CLIENT_CERT needs the SANDBOX_WECHAT_* credentials too".into()),
            (Some(_), Some(pem)) if crate::tls::first_certificate_der(&pem).is_none() => {
                Err("SANDBOX_WECHAT_CLIENT_CERT holds no PEM CERTIFICATE".into())
            }
            (Some(config), client_cert_pem) => Ok(Some(WechatSandboxConfig {
                client_cert_pem,
                ..config
            })),
        }
    }

    fn from_values(
        credentials: [Option<String>; 4],
        notify_url: Option<String>,
    ) -> Result<Option<WechatSandboxConfig>, String> {
        match credentials {
            [Some(app_id), Some(app_secret), Some(mch_id), Some(api_key)] => Ok(Some(WechatSandboxConfig {
                app_id,
                app_secret,
                mch_id,
                api_key,
                notify_url,
                client_cert_pem: None,
                v3: None,
            })),
            [None, None, None, None] => Ok(None),
            partial => {
                let missing: Vec<&str> = WECHAT_VARIABLES
                    .iter()
                    .zip(&partial)
                    .filter(|(_, value)| value.is_none())
                    .map(|(name, _)| *name)
                    .collect();
                Err(format!(
                    "{} must be set too (WeChat needs all four SANDBOX_WECHAT_* credentials)",
                    missing.join(", ")
                ))
            }
        }
    }
}

/// A variable's value; unset and empty are the same.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn wechat_is_all_or_nothing() {
        assert_eq!(
            WechatSandboxConfig::from_values([None, None, None, None], None),
            Ok(None)
        );
        let all = WechatSandboxConfig::from_values([some("wx1"), some("s"), some("m"), some("k")], some("https://n"));
        assert_eq!(all.unwrap().unwrap().notify_url.as_deref(), Some("https://n"));
        let partial = WechatSandboxConfig::from_values([some("wx1"), None, some("m"), None], None).unwrap_err();
        assert!(partial.starts_with("SANDBOX_WECHAT_APP_SECRET, SANDBOX_WECHAT_API_KEY must be set"));
    }

    #[test]
    fn the_merchant_certificate_needs_wechat_and_a_certificate() {
        let wechat = || WechatSandboxConfig::from_values([some("wx1"), some("s"), some("m"), some("k")], None).unwrap();
        assert_eq!(WechatSandboxConfig::with_client_cert(wechat(), None), Ok(wechat()));
        let merchant = crate::tls::MerchantCertificate::generate("m");
        let registered = WechatSandboxConfig::with_client_cert(wechat(), Some(merchant.identity_pem()))
            .unwrap()
            .unwrap();
        assert_eq!(registered.client_cert_pem, Some(merchant.identity_pem()));
        let key_only = WechatSandboxConfig::with_client_cert(wechat(), Some(merchant.key_pem)).unwrap_err();
        assert!(key_only.contains("no PEM CERTIFICATE"), "{key_only}");
        let alone = WechatSandboxConfig::with_client_cert(None, Some(merchant.cert_pem)).unwrap_err();
        assert!(alone.contains("needs the SANDBOX_WECHAT_* credentials"), "{alone}");
    }

    #[test]
    fn trade_is_both_keys_or_none() {
        assert_eq!(TradeSandboxConfig::from_values(None, None, some("3")), Ok(None));
        let on = TradeSandboxConfig::from_values(some("a\\nb"), some("c"), None)
            .unwrap()
            .unwrap();
        assert_eq!((on.app_public_key_pem.as_str(), on.key_version.as_str()), ("a\nb", "1"));
        let half = TradeSandboxConfig::from_values(some("a"), None, None).unwrap_err();
        assert!(half.starts_with("SANDBOX_TRADE_PLATFORM_PRIVATE_KEY must be set"));
        assert!(TradeSandboxConfig::from_values(None, some("c"), None).is_err());
    }

    fn tunnel() -> Tunnel {
        Tunnel {
            public_origin: "https://minipay.test".into(),
            local_origin: "http://127.0.0.1:9000".into(),
        }
    }

    #[test]
    fn the_tunnel_rewrites_only_its_own_origin() {
        let tunnel = tunnel();
        assert_eq!(
            tunnel.resolve("https://minipay.test/notify/douyin"),
            "http://127.0.0.1:9000/notify/douyin"
        );
        assert_eq!(tunnel.resolve("https://minipay.test"), "http://127.0.0.1:9000");
        assert_eq!(tunnel.resolve("https://minipay.test?a=1"), "http://127.0.0.1:9000?a=1");
        for other in [
            "https://minipay.tester/notify",
            "https://other.test/notify",
            "http://minipay.test/notify",
            "https://minipay.test.evil/notify",
        ] {
            assert_eq!(tunnel.resolve(other), other);
        }
    }

    #[test]
    fn consoles_refuse_http_notify_urls_and_bad_tunnels() {
        let good = SandboxConfig {
            notify_url: Some("https://minipay.test/notify/douyin".into()),
            wechat: Some(WechatSandboxConfig {
                notify_url: Some("https://minipay.test/notify/wechat".into()),
                ..WechatSandboxConfig::default()
            }),
            tunnel: Some(tunnel()),
            ..SandboxConfig::default()
        };
        assert_eq!(good.check(), Ok(()));
        let http_console = SandboxConfig {
            notify_url: Some("http://127.0.0.1:9000/notify/douyin".into()),
            ..good.clone()
        };
        assert!(http_console.check().unwrap_err().starts_with("the console notify URL"));
        let mut http_wechat = good.clone();
        http_wechat.wechat.as_mut().unwrap().notify_url = Some("https://minipay.test/n?x=1".into());
        assert!(
            http_wechat
                .check()
                .unwrap_err()
                .starts_with("the WeChat merchant notify URL")
        );
        for (public_origin, local_origin) in [
            ("http://minipay.test", "http://127.0.0.1:9000"),
            ("https://minipay.test/", "http://127.0.0.1:9000"),
            ("https://minipay.test", "127.0.0.1:9000"),
            ("https://minipay.test", "http://127.0.0.1:9000/api"),
        ] {
            let bad = SandboxConfig {
                tunnel: Some(Tunnel {
                    public_origin: public_origin.into(),
                    local_origin: local_origin.into(),
                }),
                ..good.clone()
            };
            assert!(bad.check().is_err(), "{public_origin} -> {local_origin}");
        }
    }
}
