use crate::app::App;
use crate::domain::ids::{new_session_token, session_key_of};
use crate::domain::order::Platform;
use crate::domain::time::now_secs;
use crate::error::ApiError;
use crate::store::Session;
use crate::store::Store;
use serde::{Deserialize, Serialize};

/// How long a minipay session lasts.
pub const SESSION_SECS: i64 = 7 * 86_400;
const MAX_CODE_LEN: usize = 512;

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub code: String,
    #[serde(default)]
    pub anonymous_code: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct LoginAnswer {
    pub openid: String,
    pub unionid: Option<String>,
    pub session: String,
    pub expires_in: i64,
}

pub async fn login<S: Store + ?Sized>(app: &App<S>, request: LoginRequest) -> Result<LoginAnswer, ApiError> {
    let code = request.code.trim();
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(ApiError::invalid(
            "code must be the non-empty code from tt.login or wx.login",
        ));
    }
    let anonymous_code = request
        .anonymous_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if anonymous_code.is_some_and(|c| c.len() > MAX_CODE_LEN) {
        return Err(ApiError::invalid("anonymous_code is too long"));
    }
    let platform = match request.platform.as_deref() {
        None => Platform::Douyin,
        Some(name) => name
            .parse()
            .map_err(|_| ApiError::invalid("platform must be \"douyin\" or \"wechat\""))?,
    };
    let login = match platform {
        Platform::Douyin => app.douyin()?.code2session(code, anonymous_code).await?,
        Platform::Wechat => app.wechat_login()?.code2session(code).await?,
    };
    let token = new_session_token();
    let now = now_secs();
    let session = Session {
        openid: login.openid.clone(),
        unionid: login.unionid.clone(),
        platform,
        session_key: login.session_key,
        expires_at: now + SESSION_SECS,
    };
    app.store.put_session(&session_key_of(&token), &session).await?;
    Ok(LoginAnswer {
        openid: login.openid,
        unionid: login.unionid,
        session: token,
        expires_in: SESSION_SECS,
    })
}
