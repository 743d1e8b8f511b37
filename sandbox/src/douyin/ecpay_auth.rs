//! What every ecpay call passes before its own parameters are looked at (douyin.md §3,
//! §4): the app exists and the request is signed with its SALT. Shared by the order,
//! refund and settlement endpoints, which check in the platform's order: app, then
//! sign, then business parameters.

use super::codes;
use super::ecpay_sign::ecpay_sign;
use super::envelope::{DouyinBody, error};
use super::params::{self, ParamError};
use crate::config::SandboxConfig;
use axum::Json;
use serde_json::{Map, Value};

/// Ecpay bodies that are not JSON are a business-parameter error.
pub type EcpayBody = DouyinBody<{ codes::BAD_PARAMETER }>;

const SIGN_MAX_BYTES: usize = 344;
/// `app_id`, `thirdparty_id`, `store_uid` and other platform identifiers.
pub const ID_MAX_BYTES: usize = 64;

/// Checks the app and the sign. The sign is computed over the body exactly as
/// received, so a client that signs one value and sends another (`"1"` vs `1` is
/// fine, `1.0` vs `1` is not) fails here, and so does any object, array or float
/// value: those have no agreed signing rule (douyin.md §4), so no sign can match.
///
/// The sign is compared as text with the lower-case hex of §4 step 5: every official
/// demo sends lower case, and the platform compares the strings, so an upper-case
/// sign of the right digest is refused (2008) like any other wrong sign.
pub fn authenticate(config: &SandboxConfig, params: &Map<String, Value>) -> Result<(), Json<Value>> {
    if params.get("app_id").and_then(Value::as_str) != Some(config.app_id.as_str()) {
        return Err(error(codes::BAD_APP_ID, "app_id 不存在或不匹配 (bad app_id)"));
    }
    // Service providers add `thirdparty_id`; the sandbox app has none, so it is only type-checked.
    if let Err(ParamError(tips)) = params::optional_bounded_str(params, "thirdparty_id", ID_MAX_BYTES) {
        return Err(error(codes::BAD_PARAMETER, tips));
    }
    let received = params
        .get("sign")
        .and_then(Value::as_str)
        .filter(|s| s.len() <= SIGN_MAX_BYTES);
    let expected = ecpay_sign(params, &config.salt);
    match (received, expected) {
        (Some(received), Some(expected)) if received == expected => Ok(()),
        _ => Err(error(codes::BAD_SIGN, "验签异常")),
    }
}
