//! WeChat Pay APIv3 calls, one pipeline each (A.1): build the JSON, sign and send it
//! ([`Transport`]), believe the answer only once its signature verifies ([`KeyRing`]),
//! then read WeChat's code: a 4xx code is a refusal, a 5xx, a rate limit or "system
//! error" leaves the outcome unknown.

use super::keyring::{KeyError, KeyRing};
use super::model::{
    CURRENCY, ErrorAnswer, JsapiOrder, OrderAmount, Payer, PrepayAnswer, Refund, RefundAmount, RefundRequest,
    Transaction,
};
use super::sign::{MerchantKey, MerchantSigner};
use super::transport::Transport;
use super::verify::{Signed, VerifyingKey};
use crate::config::{ConfigError, WechatConfig, WechatV3Config};
use crate::domain::ids::new_nonce;
use crate::domain::time::now_secs;
use crate::error::PlatformError;
use crate::outbound::{self, Answer};
use crate::secret::Secret;
use crate::store::TokenStore;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Codes that ask for the same request again: nothing certain was done.
const RETRY_CODES: [&str; 4] = [
    "SYSTEM_ERROR",
    "FREQUENCY_LIMITED",
    "RATELIMIT_EXCEEDED",
    "BIZERR_NEED_RETRY",
];
/// Query of an order WeChat does not have.
const ORDER_NOT_EXIST: &str = "ORDER_NOT_EXIST";
/// Close of an order closed before: the goal of the call.
const ORDER_CLOSED: &str = "ORDER_CLOSED";
/// Query of a refund WeChat does not have.
const RESOURCE_NOT_EXISTS: &str = "RESOURCE_NOT_EXISTS";

pub struct WechatV3Client {
    transport: Arc<Transport>,
    keys: KeyRing,
    app_id: String,
    mch_id: String,
    notify_url: Option<String>,
    apiv3_key: Secret,
}

/// A verified answer: its status and body.
struct Believed {
    status: u16,
    body: Vec<u8>,
}

impl WechatV3Client {
    /// Builds the client at cold start: keys that do not load are a configuration error
    /// now, not a failed payment later.
    pub fn new(
        config: &WechatConfig,
        v3: &WechatV3Config,
        http: reqwest::Client,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, ConfigError> {
        let mch_id = config.mch_id.clone().ok_or(ConfigError::Missing("WECHAT_MCH_ID"))?;
        // The key's own parse error is not repeated: it could quote the key.
        let key = MerchantKey::from_pem(v3.mch_private_key.expose()).map_err(|_| ConfigError::Invalid {
            name: "WECHAT_MCH_PRIVATE_KEY",
            why: "not a PEM RSA private key (apiclient_key.pem)".into(),
        })?;
        let public_key = match &v3.pay_public_key {
            None => None,
            Some(public) => Some(
                VerifyingKey::from_public_key_pem(&public.id, &public.pem).map_err(|why| ConfigError::Invalid {
                    name: "WECHAT_PAY_PUBLIC_KEY",
                    why,
                })?,
            ),
        };
        let signer = MerchantSigner::new(mch_id.clone(), v3.mch_cert_serial.clone(), key);
        let answer_key = public_key.as_ref().map(|k| k.id().to_owned());
        let transport = Arc::new(Transport::new(http, config.api_base.clone(), signer, answer_key));
        Ok(WechatV3Client {
            keys: KeyRing::new(transport.clone(), store, v3.apiv3_key.clone(), public_key),
            transport,
            app_id: config.app_id.clone(),
            mch_id,
            notify_url: config.notify_url.clone(),
            apiv3_key: v3.apiv3_key.clone(),
        })
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn mch_id(&self) -> &str {
        &self.mch_id
    }

    pub fn apiv3_key(&self) -> &Secret {
        &self.apiv3_key
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    fn notify_url(&self) -> Result<String, PlatformError> {
        self.notify_url
            .clone()
            .ok_or_else(|| PlatformError::Unavailable("WECHAT_NOTIFY_URL is not configured".into()))
    }

    /// The prepay id of a new (or identical repeated) JSAPI order.
    pub async fn prepay(
        &self,
        out_trade_no: &str,
        description: &str,
        total: i64,
        openid: &str,
        time_expire: &str,
    ) -> Result<String, PlatformError> {
        let order = JsapiOrder {
            appid: self.app_id.clone(),
            mchid: self.mch_id.clone(),
            description: description.to_owned(),
            out_trade_no: out_trade_no.to_owned(),
            time_expire: time_expire.to_owned(),
            notify_url: self.notify_url()?,
            amount: OrderAmount {
                total,
                currency: CURRENCY,
            },
            payer: Payer {
                openid: openid.to_owned(),
            },
        };
        let answer = self.call(Method::POST, "/v3/pay/transactions/jsapi", &order).await?;
        let prepay: PrepayAnswer = read(ok(answer)?)?;
        if prepay.prepay_id.is_empty() {
            return Err(PlatformError::Unavailable("prepay answer has no prepay_id".into()));
        }
        Ok(prepay.prepay_id)
    }

    /// The order as WeChat has it; `None` when it has none with this number.
    pub async fn query_order(&self, out_trade_no: &str) -> Result<Option<Transaction>, PlatformError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            path_part(out_trade_no),
            path_part(&self.mch_id)
        );
        let answer = self.call(Method::GET, &path, &()).await?;
        if answer.status == 404 && code_of(&answer).as_deref() == Some(ORDER_NOT_EXIST) {
            return Ok(None);
        }
        read(ok(answer)?).map(Some)
    }

    /// Closes an unpaid order (204); closing a closed order is no error.
    pub async fn close_order(&self, out_trade_no: &str) -> Result<(), PlatformError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{}/close", path_part(out_trade_no));
        let body = serde_json::json!({ "mchid": self.mch_id });
        let answer = self.call(Method::POST, &path, &body).await?;
        if code_of(&answer).as_deref() == Some(ORDER_CLOSED) {
            return Ok(());
        }
        ok(answer).map(|_| ())
    }

    /// Asks for a refund; idempotent on `out_refund_no`. No client certificate in v3.
    pub async fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund: i64,
        total: i64,
        reason: &str,
    ) -> Result<Refund, PlatformError> {
        let request = RefundRequest {
            out_trade_no: out_trade_no.to_owned(),
            out_refund_no: out_refund_no.to_owned(),
            reason: reason.to_owned(),
            notify_url: self.notify_url()?,
            amount: RefundAmount {
                refund,
                total,
                currency: CURRENCY,
            },
        };
        let answer = self.call(Method::POST, "/v3/refund/domestic/refunds", &request).await?;
        read(ok(answer)?)
    }

    /// How a refund stands; `None` when WeChat has none with this number.
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, PlatformError> {
        let path = format!("/v3/refund/domestic/refunds/{}", path_part(out_refund_no));
        let answer = self.call(Method::GET, &path, &()).await?;
        if answer.status == 404 && code_of(&answer).as_deref() == Some(RESOURCE_NOT_EXISTS) {
            return Ok(None);
        }
        read(ok(answer)?).map(Some)
    }

    /// The fields of `wx.requestPayment` for a prepay id, signed with the merchant key (A.6).
    pub fn pay_params(&self, prepay_id: &str, now: i64) -> serde_json::Value {
        let time_stamp = now.to_string();
        let nonce = new_nonce();
        let package = format!("prepay_id={prepay_id}");
        let pay_sign = self
            .transport
            .signer()
            .pay_sign(&self.app_id, &time_stamp, &nonce, &package);
        serde_json::json!({
            "timeStamp": time_stamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        })
    }

    /// Sends a call, once more when its outcome is unknown (the same body: every call
    /// here is idempotent on its numbers), and believes the answer only once verified.
    async fn call(&self, method: Method, path: &str, body: &impl Serialize) -> Result<Believed, PlatformError> {
        let bytes = if method == Method::GET {
            Vec::new()
        } else {
            serde_json::to_vec(body).map_err(|_| PlatformError::Unavailable("request does not serialise".into()))?
        };
        outbound::retry_once_if_unknown(
            || async {
                self.believe(self.transport.send(method.clone(), path, &bytes).await?)
                    .await
            },
            |answer| answer.status >= 500 || answer.status == 429 || code_of(answer).is_some_and(|c| retry_code(&c)),
        )
        .await
    }

    async fn believe(&self, answer: Answer) -> Result<Believed, PlatformError> {
        let Ok(signed) = Signed::from_headers(&answer.headers, &answer.body) else {
            return Err(PlatformError::Unavailable(format!(
                "answered HTTP {} without a signature",
                answer.status
            )));
        };
        match self.keys.verify(&signed, now_secs()).await {
            Ok(()) => Ok(Believed {
                status: answer.status,
                body: answer.body,
            }),
            Err(KeyError::Refused(why)) => {
                tracing::warn!(status = answer.status, why = ?why, "a WeChat Pay answer does not verify; not believed");
                Err(PlatformError::Unavailable("answer signature does not verify".into()))
            }
            Err(KeyError::Unavailable(err)) => Err(err),
        }
    }
}

fn retry_code(code: &str) -> bool {
    RETRY_CODES.contains(&code)
}

fn code_of(answer: &Believed) -> Option<String> {
    serde_json::from_slice::<ErrorAnswer>(&answer.body).ok().map(|e| e.code)
}

/// A 2xx answer, or what the error says: 5xx, 429 and "try again" codes leave the
/// outcome unknown; any other 4xx code is WeChat's refusal.
fn ok(answer: Believed) -> Result<Believed, PlatformError> {
    if (200..300).contains(&answer.status) {
        return Ok(answer);
    }
    if answer.status >= 500 {
        return Err(PlatformError::Unavailable(format!("answered HTTP {}", answer.status)));
    }
    let Ok(error) = serde_json::from_slice::<ErrorAnswer>(&answer.body) else {
        return Err(PlatformError::Unavailable(format!(
            "answered HTTP {} with a body that is not an error",
            answer.status
        )));
    };
    if answer.status == 429 || retry_code(&error.code) {
        return Err(PlatformError::unclear(error.code, error.message));
    }
    Err(PlatformError::rejected(error.code, error.message))
}

fn read<T: DeserializeOwned>(answer: Believed) -> Result<T, PlatformError> {
    serde_json::from_slice(&answer.body)
        .map_err(|_| PlatformError::Unavailable("answer is not the JSON the API documents".into()))
}

/// Order and refund numbers are `[0-9A-Za-z_-|*]` (A.1): only `|` and `*` need escaping
/// in a path; anything else is escaped too rather than trusted.
fn path_part(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
