//! `GET /v3/certificates` (A.1, A.7): every platform certificate, each encrypted with
//! the APIv3 key (AAD "certificate"), for merchants with certificates; a public-key-only
//! merchant gets WeChat's 404 RESOURCE_NOT_EXISTS.

use super::aead::{ALGORITHM, seal};
use super::answer::V3Answer;
use super::api_error::V3Error;
use super::platform::V3Platform;
use super::request::{V3Request, authenticate};
use super::settings::WechatV3Mode;
use crate::state::SharedState;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

/// WeChat's words to a merchant without platform certificates (wechatpay-java #354).
pub const NO_CERTIFICATES: &str = "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。可查看指引https://pay.weixin.qq.com/docs/merchant/products/platform-certificate/wxp-pub-key-guide/";

pub async fn certificates(State(state): State<SharedState>, request: V3Request) -> Response {
    let platform = match authenticate(&state, &request) {
        Ok(platform) => platform,
        Err(refusal) => return *refusal,
    };
    request.respond(platform, listing(platform))
}

fn listing(platform: &V3Platform) -> Result<V3Answer, V3Error> {
    if platform.mode() == WechatV3Mode::PublicKey {
        return Err(V3Error::not_exists(NO_CERTIFICATES));
    }
    let key = platform.config.apiv3_key.as_bytes();
    let data: Vec<Value> = platform
        .certificates()
        .into_iter()
        .map(|certificate| {
            let sealed = seal(key, "certificate", certificate.pem.as_bytes());
            json!({
                "serial_no": certificate.serial_no,
                "effective_time": certificate.effective_time,
                "expire_time": certificate.expire_time,
                "encrypt_certificate": {
                    "algorithm": ALGORITHM,
                    "nonce": sealed.nonce,
                    "associated_data": sealed.associated_data,
                    "ciphertext": sealed.ciphertext,
                },
            })
        })
        .collect();
    Ok(V3Answer::Json(json!({ "data": data })))
}
