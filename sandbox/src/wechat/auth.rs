//! Who may call WeChat Pay: the checks every request passes first, in WeChat's order.
//! The sign comes before any business check (a sign error is a communication-level
//! FAIL); then `appid` and `mch_id` must be the sandbox's pair.

use super::Fields;
use super::answer::{Answerer, PayError, XmlAnswer, communication_failure};
use super::fields::required;
use crate::config::SandboxConfig;
use minipay::wechat::sign::{SignType, verify};

/// The `return_msg` of a sign that does not verify.
pub const SIGN_ERROR: &str = "签名错误";

/// An MD5 sign in hex; a request without `sign_type` must carry one.
const MD5_SIGN_LEN: usize = 32;

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
    // `verify` also accepts an HMAC sign without `sign_type` (notifies need that), but
    // WeChat reads a request without `sign_type` as MD5: refuse what production would.
    let sign_len_fits = sign_type != SignType::Md5 || params.get("sign").is_some_and(|s| s.len() == MD5_SIGN_LEN);
    if !sign_len_fits || !verify(params, &wechat.api_key) {
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
