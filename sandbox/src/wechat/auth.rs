//! Who may call WeChat Pay: the checks every request passes first, in WeChat's order.
//! The sign comes before any business check (a sign error is a communication-level
//! FAIL); then `appid` and `mch_id` must be the sandbox's pair.
//!
//! The sign must be exactly the one WeChat computes with the request's `sign_type` (MD5
//! when absent): upper-case hex. A lower-case sign, or an HMAC sign without
//! `sign_type`, is 签名错误 as on the platform, however lenient a receiver may be.

use super::Fields;
use super::answer::{Answerer, PayError, XmlAnswer, communication_failure};
use super::fields::required;
use super::sign::{SignType, sign_matches};
use crate::config::SandboxConfig;

/// The `return_msg` of a sign that does not verify.
pub const SIGN_ERROR: &str = "签名错误";

/// The answerer for a request that passed, or the answer that refuses it.
pub fn authenticate<'a>(config: &'a SandboxConfig, params: &Fields) -> Result<Answerer<'a>, XmlAnswer> {
    let Some(wechat) = config.wechat.as_ref() else {
        return Err(communication_failure(
            "sandbox: WeChat Pay is not configured (SANDBOX_WECHAT_*)",
        ));
    };
    let sign_type = match params.get("sign_type").filter(|t| !t.is_empty()) {
        None => SignType::Md5,
        Some(named) => named.parse().map_err(|()| communication_failure("sign_type参数错误"))?,
    };
    if !sign_matches(params, &wechat.api_key, sign_type) {
        return Err(communication_failure(SIGN_ERROR));
    }
    let answerer = Answerer {
        config: wechat,
        sign_type,
    };
    merchant_matches(params, &wechat.app_id, &wechat.mch_id).map_err(|e| answerer.answer(Err(e)))?;
    Ok(answerer)
}

fn merchant_matches(params: &Fields, app_id: &str, mch_id: &str) -> Result<(), PayError> {
    let appid = required(params, "appid")?;
    let mch = required(params, "mch_id")?;
    if appid != app_id || mch != mch_id {
        return Err(PayError::Business(
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配".into(),
        ));
    }
    Ok(())
}
