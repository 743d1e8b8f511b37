//! What the sandbox pretends to be: one Douyin mini-app and, optionally, one WeChat
//! mini-program with its WeChat Pay merchant, with their console settings.

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
}

/// The WeChat mini-program (login) and its WeChat Pay merchant (v2 API).
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
}

impl SandboxConfig {
    /// Reads `SANDBOX_APP_ID`, `SANDBOX_APP_SECRET`, `SANDBOX_SALT`, `SANDBOX_TOKEN`
    /// (all required: a sandbox silently running with other credentials than the
    /// backend would only produce confusing sign errors) and `SANDBOX_NOTIFY_URL`,
    /// then the WeChat settings (see [`WechatSandboxConfig::from_env`]).
    pub fn from_env() -> Result<SandboxConfig, String> {
        let required = |name: &str| env(name).ok_or_else(|| format!("{name} must be set"));
        Ok(SandboxConfig {
            app_id: required("SANDBOX_APP_ID")?,
            app_secret: required("SANDBOX_APP_SECRET")?,
            salt: required("SANDBOX_SALT")?,
            token: required("SANDBOX_TOKEN")?,
            notify_url: env("SANDBOX_NOTIFY_URL"),
            wechat: WechatSandboxConfig::from_env()?,
        })
    }
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
    /// reason as missing Douyin settings. `SANDBOX_WECHAT_NOTIFY_URL` is optional.
    pub fn from_env() -> Result<Option<WechatSandboxConfig>, String> {
        Self::from_values(WECHAT_VARIABLES.map(env), env("SANDBOX_WECHAT_NOTIFY_URL"))
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
        let all = WechatSandboxConfig::from_values([some("wx1"), some("s"), some("m"), some("k")], some("http://n"));
        assert_eq!(all.unwrap().unwrap().notify_url.as_deref(), Some("http://n"));
        let partial = WechatSandboxConfig::from_values([some("wx1"), None, some("m"), None], None).unwrap_err();
        assert!(partial.starts_with("SANDBOX_WECHAT_APP_SECRET, SANDBOX_WECHAT_API_KEY must be set"));
    }
}
