//! What the sandbox pretends to be: one Douyin mini-app and its console settings.

use serde::{Deserialize, Serialize};

/// The console settings of the one app the sandbox hosts. The backend under test must
/// be configured with the same values, exactly as it would be with the real console.
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
}

impl SandboxConfig {
    /// Reads `SANDBOX_APP_ID`, `SANDBOX_APP_SECRET`, `SANDBOX_SALT`, `SANDBOX_TOKEN`
    /// (all required: a sandbox silently running with other credentials than the
    /// backend would only produce confusing sign errors) and `SANDBOX_NOTIFY_URL`.
    pub fn from_env() -> Result<SandboxConfig, String> {
        let required = |name: &str| match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(value),
            _ => Err(format!("{name} must be set")),
        };
        Ok(SandboxConfig {
            app_id: required("SANDBOX_APP_ID")?,
            app_secret: required("SANDBOX_APP_SECRET")?,
            salt: required("SANDBOX_SALT")?,
            token: required("SANDBOX_TOKEN")?,
            notify_url: std::env::var("SANDBOX_NOTIFY_URL").ok().filter(|url| !url.is_empty()),
        })
    }
}
