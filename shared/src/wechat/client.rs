//! Typed WeChat Pay v2 calls (`unifiedorder`, `orderquery`, `secapi/pay/refund`): build, sign, send, verify the answer's sign,
//! check `return_code` and `result_code`, parse.

use super::sign::{SignType, sign, verify};
use super::xml::{parse_flat, to_xml};
use crate::config::WechatConfig;
use crate::domain::ids::new_nonce;
use crate::domain::order::{Payment, PaymentOutcome};
use crate::domain::time::parse_beijing_compact;
use crate::error::PlatformError;
use crate::outbound;
use crate::secret::Secret;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;

type Fields = BTreeMap<String, String>;

/// A JSAPI order as sent to `unifiedorder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrder {
    pub out_trade_no: String,
    pub body: String,
    pub total_fee: i64,
    pub openid: String,
    pub client_ip: String,
    /// "yyyyMMddHHmmss" Beijing time after which the order cannot be paid.
    pub time_expire: String,
}

/// `trade_state` of `orderquery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeQuery {
    /// None: the platform has no such order (ORDERNOTEXIST).
    pub trade_state: Option<String>,
    pub total_fee: Option<i64>,
    pub transaction_id: String,
    pub time_end: String,
    pub bank_type: String,
}

impl TradeQuery {
    /// What the trade state says of the payment; `expired` when the order's pay deadline
    /// has passed, so that an order never paid ends as TIMEOUT.
    pub fn outcome(&self, expired: bool, now: i64) -> PaymentOutcome {
        super::trade_state::outcome(self.trade_state.as_deref(), expired, || Payment {
            amount: self.total_fee.unwrap_or_default(),
            paid_at: parse_beijing_compact(&self.time_end).unwrap_or(now),
            trade_no: self.transaction_id.clone(),
            channel: self.bank_type.clone(),
        })
    }
}

/// A refund as `refundquery` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatRefundState {
    /// SUCCESS, REFUNDCLOSE, PROCESSING or CHANGE.
    pub refund_status: String,
    pub refund_id: String,
    pub refund_fee: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatRefundRequest {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub total_fee: i64,
    pub refund_fee: i64,
    pub refund_desc: String,
}

#[async_trait]
pub trait WechatApi: Send + Sync {
    /// The `prepay_id` of a new (or identical repeated) JSAPI order.
    async fn unified_order(&self, order: &UnifiedOrder) -> Result<String, PlatformError>;
    async fn order_query(&self, out_trade_no: &str) -> Result<TradeQuery, PlatformError>;
    /// The platform's `refund_id` once it accepted the refund.
    async fn refund(&self, refund: &WechatRefundRequest) -> Result<String, PlatformError>;
    /// Closes an unpaid order so that it can no longer be paid; `Ok` when it is closed
    /// now or was before, `Rejected` ORDERPAID when it was paid meanwhile.
    async fn close_order(&self, out_trade_no: &str) -> Result<(), PlatformError>;
    /// How a refund stands (`refundquery`); `None` when WeChat has no such refund.
    async fn refund_query(&self, out_refund_no: &str) -> Result<Option<WechatRefundState>, PlatformError>;
    /// The five fields of `wx.requestPayment` for a prepay id, with a fresh nonce and time.
    fn request_payment(&self, prepay_id: &str, now: i64) -> Result<Value, PlatformError>;
}

pub struct WechatClient {
    http: reqwest::Client,
    /// Carries the merchant client certificate (mutual TLS) for `secapi` calls.
    cert_http: Option<reqwest::Client>,
    config: WechatConfig,
}

/// `err_code` that asks for the same request again.
const RETRY_CODES: [&str; 2] = ["SYSTEMERROR", "BIZERR_NEED_RETRY"];
/// closeorder: the order is closed already (the goal of the call).
const ORDER_CLOSED: &str = "ORDERCLOSED";
/// refundquery: no refund with that number.
const REFUND_NOT_EXIST: &str = "REFUNDNOTEXIST";

impl WechatClient {
    /// Builds the client; a configured client certificate that does not load is an
    /// error at cold start rather than at the first refund.
    pub fn new(config: WechatConfig, http: reqwest::Client) -> Result<Self, String> {
        let cert_http = match &config.client_cert {
            None => None,
            Some(pem) => {
                let identity = reqwest::Identity::from_pem(pem.expose().as_bytes())
                    .map_err(|_| "WECHAT_CLIENT_CERT is not a PEM certificate and private key".to_owned())?;
                Some(
                    outbound::client_builder()
                        .identity(identity)
                        .build()
                        .map_err(|_| "WECHAT_CLIENT_CERT cannot be used for TLS".to_owned())?,
                )
            }
        };
        Ok(WechatClient {
            http,
            cert_http,
            config,
        })
    }

    fn api_key(&self) -> Result<&Secret, PlatformError> {
        self.config
            .api_key
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("WECHAT_API_KEY is not configured".into()))
    }

    fn mch_id(&self) -> Result<&str, PlatformError> {
        self.config
            .mch_id
            .as_deref()
            .ok_or_else(|| PlatformError::Unavailable("WECHAT_MCH_ID is not configured".into()))
    }

    /// The common fields and the business ones, signed (MD5).
    fn signed(&self, mut fields: Fields) -> Result<String, PlatformError> {
        fields.insert("appid".into(), self.config.app_id.clone());
        fields.insert("mch_id".into(), self.mch_id()?.to_owned());
        fields.insert("nonce_str".into(), new_nonce());
        let signature = sign(&fields, self.api_key()?.expose(), SignType::Md5);
        fields.insert("sign".into(), signature);
        Ok(to_xml(&fields))
    }

    async fn post_once(&self, client: &reqwest::Client, path: &str, body: &str) -> Result<Fields, PlatformError> {
        let request = client
            .post(format!("{}{path}", self.config.api_base))
            .header("content-type", "text/xml; charset=utf-8")
            .body(body.to_owned());
        let answer = outbound::send(request).await?;
        if answer.status >= 500 {
            return Err(PlatformError::Unavailable(format!("answered HTTP {}", answer.status)));
        }
        let fields =
            parse_flat(&answer.body).map_err(|_| PlatformError::Unavailable("answer is not WeChat Pay XML".into()))?;
        if fields.get("return_code").map(String::as_str) != Some("SUCCESS") {
            let why = fields.get("return_msg").cloned().unwrap_or_else(|| "no message".into());
            return Err(PlatformError::rejected("FAIL", why));
        }
        if fields.contains_key("sign") && !verify(&fields, self.api_key()?.expose()) {
            return Err(PlatformError::Unavailable("answer signature does not verify".into()));
        }
        Ok(fields)
    }

    /// Posts a signed call, retrying once (with the same body) when WeChat asks for it
    /// or the outcome is unknown: repeats with identical parameters are idempotent.
    async fn call(&self, client: &reqwest::Client, path: &str, fields: Fields) -> Result<Fields, PlatformError> {
        let body = self.signed(fields)?;
        outbound::retry_once_if_unknown(
            || self.post_once(client, path, &body),
            |answer| {
                answer
                    .get("err_code")
                    .is_some_and(|c| RETRY_CODES.contains(&c.as_str()))
            },
        )
        .await
    }
}

/// Fails unless `result_code` is SUCCESS, keeping WeChat's `err_code` and description.
fn business_ok(fields: Fields) -> Result<Fields, PlatformError> {
    if fields.get("result_code").map(String::as_str) == Some("SUCCESS") {
        return Ok(fields);
    }
    let code = fields.get("err_code").cloned().unwrap_or_else(|| "FAIL".into());
    let why = fields
        .get("err_code_des")
        .cloned()
        .unwrap_or_else(|| "no description".into());
    if RETRY_CODES.contains(&code.as_str()) {
        return Err(PlatformError::unclear(code, why));
    }
    Err(PlatformError::rejected(code, why))
}

fn field(fields: &Fields, key: &str) -> String {
    fields.get(key).cloned().unwrap_or_default()
}

#[async_trait]
impl WechatApi for WechatClient {
    async fn unified_order(&self, order: &UnifiedOrder) -> Result<String, PlatformError> {
        let notify_url = self
            .config
            .notify_url
            .clone()
            .ok_or_else(|| PlatformError::Unavailable("WECHAT_NOTIFY_URL is not configured".into()))?;
        let fields = Fields::from([
            ("body".into(), order.body.clone()),
            ("out_trade_no".into(), order.out_trade_no.clone()),
            ("total_fee".into(), order.total_fee.to_string()),
            ("spbill_create_ip".into(), order.client_ip.clone()),
            ("notify_url".into(), notify_url),
            ("trade_type".into(), "JSAPI".into()),
            ("openid".into(), order.openid.clone()),
            ("time_expire".into(), order.time_expire.clone()),
        ]);
        let answer = business_ok(self.call(&self.http, "/pay/unifiedorder", fields).await?)?;
        let prepay_id = field(&answer, "prepay_id");
        if prepay_id.is_empty() {
            return Err(PlatformError::Unavailable(
                "unifiedorder answer has no prepay_id".into(),
            ));
        }
        Ok(prepay_id)
    }

    async fn order_query(&self, out_trade_no: &str) -> Result<TradeQuery, PlatformError> {
        let fields = Fields::from([("out_trade_no".into(), out_trade_no.to_owned())]);
        let answer = self.call(&self.http, "/pay/orderquery", fields).await?;
        if answer.get("err_code").map(String::as_str) == Some("ORDERNOTEXIST") {
            return Ok(TradeQuery {
                trade_state: None,
                total_fee: None,
                transaction_id: String::new(),
                time_end: String::new(),
                bank_type: String::new(),
            });
        }
        let answer = business_ok(answer)?;
        Ok(TradeQuery {
            trade_state: Some(field(&answer, "trade_state")),
            total_fee: answer.get("total_fee").and_then(|f| f.parse().ok()),
            transaction_id: field(&answer, "transaction_id"),
            time_end: field(&answer, "time_end"),
            bank_type: field(&answer, "bank_type"),
        })
    }

    async fn refund(&self, refund: &WechatRefundRequest) -> Result<String, PlatformError> {
        let client = self.cert_http.as_ref().ok_or_else(|| {
            PlatformError::Unavailable("WECHAT_CLIENT_CERT is not configured; refunds need it".into())
        })?;
        let mut fields = Fields::from([
            ("out_trade_no".into(), refund.out_trade_no.clone()),
            ("out_refund_no".into(), refund.out_refund_no.clone()),
            ("total_fee".into(), refund.total_fee.to_string()),
            ("refund_fee".into(), refund.refund_fee.to_string()),
            ("refund_desc".into(), refund.refund_desc.clone()),
        ]);
        if let Some(url) = &self.config.notify_url {
            fields.insert("notify_url".into(), url.clone());
        }
        let answer = business_ok(self.call(client, "/secapi/pay/refund", fields).await?)?;
        let refund_id = field(&answer, "refund_id");
        if refund_id.is_empty() {
            return Err(PlatformError::Unavailable("refund answer has no refund_id".into()));
        }
        Ok(refund_id)
    }

    async fn close_order(&self, out_trade_no: &str) -> Result<(), PlatformError> {
        let fields = Fields::from([("out_trade_no".into(), out_trade_no.to_owned())]);
        match business_ok(self.call(&self.http, "/pay/closeorder", fields).await?) {
            Ok(_) => Ok(()),
            Err(PlatformError::Rejected { code, .. }) if code == ORDER_CLOSED => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn refund_query(&self, out_refund_no: &str) -> Result<Option<WechatRefundState>, PlatformError> {
        let fields = Fields::from([("out_refund_no".into(), out_refund_no.to_owned())]);
        let answer = self.call(&self.http, "/pay/refundquery", fields).await?;
        if answer.get("err_code").map(String::as_str) == Some(REFUND_NOT_EXIST) {
            return Ok(None);
        }
        let answer = business_ok(answer)?;
        // Refunds of the order are listed as `_0`, `_1`, ...: ours is the one with our number.
        let count: usize = answer.get("refund_count").and_then(|c| c.parse().ok()).unwrap_or(0);
        let ours =
            (0..count).find(|i| answer.get(&format!("out_refund_no_{i}")).map(String::as_str) == Some(out_refund_no));
        let Some(i) = ours else {
            return Ok(None);
        };
        let refund_status = field(&answer, &format!("refund_status_{i}"));
        if refund_status.is_empty() {
            return Err(PlatformError::Unavailable(
                "refundquery answer has no refund_status".into(),
            ));
        }
        Ok(Some(WechatRefundState {
            refund_status,
            refund_id: field(&answer, &format!("refund_id_{i}")),
            refund_fee: answer.get(&format!("refund_fee_{i}")).and_then(|f| f.parse().ok()),
        }))
    }

    fn request_payment(&self, prepay_id: &str, now: i64) -> Result<Value, PlatformError> {
        let time_stamp = now.to_string();
        let nonce = new_nonce();
        let package = format!("prepay_id={prepay_id}");
        let pay_sign = super::sign::pay_sign(
            &self.config.app_id,
            &time_stamp,
            &nonce,
            &package,
            SignType::Md5,
            self.api_key()?.expose(),
        );
        Ok(serde_json::json!({
            "timeStamp": time_stamp,
            "nonceStr": nonce,
            "package": package,
            "signType": SignType::Md5.as_str(),
            "paySign": pay_sign,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(state: Option<&str>) -> TradeQuery {
        TradeQuery {
            trade_state: state.map(str::to_owned),
            total_fee: Some(100),
            transaction_id: "4200".into(),
            time_end: "20240804191306".into(),
            bank_type: "CMB_DEBIT".into(),
        }
    }

    #[test]
    fn trade_states_map_onto_the_contract() {
        let paid = query(Some("SUCCESS")).outcome(false, 0);
        assert!(matches!(paid, PaymentOutcome::Paid(ref p) if p.amount == 100 && p.paid_at == 1_722_769_986));
        assert!(matches!(
            query(Some("REFUND")).outcome(false, 0),
            PaymentOutcome::Paid(_)
        ));
        assert_eq!(query(Some("CLOSED")).outcome(false, 0), PaymentOutcome::Closed);
        assert_eq!(query(Some("REVOKED")).outcome(false, 0), PaymentOutcome::Closed);
        assert_eq!(query(Some("PAYERROR")).outcome(false, 0), PaymentOutcome::Failed);
        assert_eq!(query(Some("NOTPAY")).outcome(false, 0), PaymentOutcome::Pending);
        assert_eq!(query(Some("NOTPAY")).outcome(true, 0), PaymentOutcome::Expired);
        assert_eq!(query(Some("USERPAYING")).outcome(true, 0), PaymentOutcome::Pending);
        assert_eq!(query(None).outcome(false, 0), PaymentOutcome::Pending);
        assert_eq!(query(None).outcome(true, 0), PaymentOutcome::Timeout);
    }
}
