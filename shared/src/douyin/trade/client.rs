//! `trade_basic` server calls and the client token (douyin-trade.md §4, §5): unsigned
//! JSON POSTs carrying `access-token`, answered in `{err_no, err_msg, data}`.

use super::request_order::Schema;
use crate::config::DouyinConfig;
use crate::domain::order::{Payment, PaymentOutcome};
use crate::domain::refund::RefundStatus;
use crate::douyin::money::MoneyQuery;
use crate::douyin::order_center::FreshToken;
use crate::error::PlatformError;
use crate::outbound;
use crate::secret::Secret;
use async_trait::async_trait;
use serde_json::{Value, json};

/// `err_no` values that refuse the client token itself: refresh it and try once more.
pub const TOKEN_REFUSED: [&str; 4] = ["28001003", "28001008", "2190008", "2190002"];
/// "System error, retry with the same parameters" (13000) and settle's 23000.
const RETRYABLE_ERR_NO: [i64; 2] = [13000, 23000];
/// Answers that say nothing certain about the request: the retry codes and "too
/// frequent" (12001), which a gateway may send whatever became of the call.
const UNCLEAR_ERR_NO: [i64; 3] = [13000, 23000, 12001];
/// `order_query/`: the platform has no such order (the client never placed it). The
/// docs name no code; 20000 is the "not found" of the trade_basic APIs.
const ORDER_NOT_FOUND: i64 = 20000;
/// settle_create: this `out_settle_no` exists; the settlement must be looked up.
const SETTLE_EXISTS: i64 = 23111;

/// One goods (item) order of a trade order: refunds name these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOrder {
    pub item_order_id: String,
    pub amount: i64,
}

/// The answer of `order_query/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeOrderQuery {
    pub order_id: String,
    /// `PROCESS`, `SUCCESS`, `FAIL` or `TIMEOUT`.
    pub pay_status: String,
    pub total_amount: i64,
    /// Milliseconds.
    pub pay_time: Option<i64>,
    pub pay_channel: String,
    pub items: Vec<ItemOrder>,
}

impl TradeOrderQuery {
    pub fn outcome(&self, now: i64) -> PaymentOutcome {
        match self.pay_status.as_str() {
            "SUCCESS" => PaymentOutcome::Paid(Payment {
                amount: self.total_amount,
                paid_at: self.pay_time.map_or(now, |ms| ms / 1000),
                trade_no: self.order_id.clone(),
                channel: self.pay_channel.clone(),
            }),
            "TIMEOUT" => PaymentOutcome::Timeout,
            "FAIL" => PaymentOutcome::Failed,
            _ => PaymentOutcome::Pending,
        }
    }
}

/// A refund as sent to `refund_create/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeRefundRequest {
    pub order_id: String,
    pub out_refund_no: String,
    pub reason: String,
    pub refund_total_amount: i64,
    /// How much of each item order; empty with `refund_all`.
    pub items: Vec<ItemOrder>,
    pub refund_all: bool,
    pub order_entry_schema: Schema,
}

/// A settlement as sent to `settle_create/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeSettleRequest {
    pub out_order_no: String,
    pub out_settle_no: String,
    pub settle_desc: String,
    /// Third-party receivers as a JSON string, if any.
    pub settle_params: Option<String>,
}

#[async_trait]
pub trait TradeApi: Send + Sync {
    /// A new client token; only the shared token cache calls this.
    async fn fetch_client_token(&self) -> Result<FreshToken, PlatformError>;
    /// `None` when the platform does not know the order (the client never placed it).
    async fn query_order(&self, token: &Secret, out_order_no: &str) -> Result<Option<TradeOrderQuery>, PlatformError>;
    /// The platform's refund id; a refund made before under the same number (its answer
    /// lost) is looked up and adopted rather than refused.
    async fn create_refund(&self, token: &Secret, refund: &TradeRefundRequest) -> Result<String, PlatformError>;
    async fn query_refund(&self, token: &Secret, out_refund_no: &str) -> Result<Option<MoneyQuery>, PlatformError>;
    /// The platform's settle id; a settlement made before under the same number is
    /// looked up rather than refused.
    async fn create_settle(&self, token: &Secret, settle: &TradeSettleRequest) -> Result<String, PlatformError>;
    async fn query_settle(&self, token: &Secret, out_settle_no: &str) -> Result<Option<MoneyQuery>, PlatformError>;
}

pub struct TradeClient {
    http: reqwest::Client,
    app_id: String,
    app_secret: Option<Secret>,
    base: String,
    notify_url: Option<String>,
}

impl TradeClient {
    pub fn new(douyin: &DouyinConfig, http: reqwest::Client) -> Self {
        TradeClient {
            http,
            app_id: douyin.app_id.clone(),
            app_secret: douyin.app_secret.clone(),
            base: douyin.trade.open_api_base.clone(),
            notify_url: douyin.notify_url.clone(),
        }
    }

    async fn post_once(&self, path: &str, token: &Secret, body: &Value) -> Result<Value, PlatformError> {
        let request = self
            .http
            .post(format!("{}/api/trade_basic/v1/developer/{path}", self.base))
            .header("access-token", token.expose())
            .json(body);
        // Business errors come with HTTP 200 or 400 alike: read the body either way.
        outbound::send(request).await?.json()
    }

    /// Every `trade_basic` call is safe to repeat (queries, and creations keyed by our
    /// numbers), so one retry when the outcome is unknown.
    async fn call(&self, path: &str, token: &Secret, body: &Value) -> Result<Value, PlatformError> {
        outbound::retry_once_if_unknown(
            || self.post_once(path, token, body),
            |answer| RETRYABLE_ERR_NO.contains(&err_no(answer)),
        )
        .await
    }
}

fn err_no(answer: &Value) -> i64 {
    answer.get("err_no").and_then(Value::as_i64).unwrap_or(-1)
}

/// The `data` of a successful answer, else the platform's code and message.
fn data_or_rejected(answer: Value) -> Result<Value, PlatformError> {
    match answer.get("err_no").and_then(Value::as_i64) {
        Some(0) => Ok(answer.get("data").cloned().unwrap_or(Value::Null)),
        Some(code) => {
            let message = ["err_msg", "err_tips"]
                .iter()
                .find_map(|k| answer.get(*k).and_then(Value::as_str))
                .unwrap_or("no message");
            if UNCLEAR_ERR_NO.contains(&code) {
                return Err(PlatformError::unclear(code, message));
            }
            Err(PlatformError::rejected(code, message))
        }
        None => Err(PlatformError::Unavailable("answer has no err_no".into())),
    }
}

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn number(value: &Value, key: &str) -> Option<i64> {
    match value.get(key) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

/// A field the answer must carry.
fn required_text(data: &Value, key: &str, call: &str) -> Result<String, PlatformError> {
    let value = text(data, key);
    if value.is_empty() {
        return Err(PlatformError::Unavailable(format!("{call} answer has no {key}")));
    }
    Ok(value)
}

/// The entry of a refund or settle list with our number, as its status and the
/// platform's id. Never another entry: a status read off someone else's refund could
/// release or double money.
fn find_money(list: &Value, (no_key, no): (&str, &str), (status_key, id_key): (&str, &str)) -> Option<MoneyQuery> {
    let found = list.as_array()?.iter().find(|entry| text(entry, no_key) == no)?;
    Some(MoneyQuery {
        status: money_status(&text(found, status_key)),
        platform_no: text(found, id_key),
    })
}

fn money_status(text: &str) -> RefundStatus {
    match text {
        "SUCCESS" => RefundStatus::Success,
        "FAIL" => RefundStatus::Fail,
        _ => RefundStatus::Processing,
    }
}

#[async_trait]
impl TradeApi for TradeClient {
    async fn fetch_client_token(&self) -> Result<FreshToken, PlatformError> {
        let secret = self
            .app_secret
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("DOUYIN_APP_SECRET is not configured".into()))?;
        let body = json!({
            "grant_type": "client_credential",
            "client_key": self.app_id,
            "client_secret": secret.expose(),
        });
        // Never retried here: a second token would cut the first one short.
        let request = self.http.post(format!("{}/oauth/client_token/", self.base)).json(&body);
        let answer = outbound::send(request).await?.json()?;
        let data = answer.get("data").cloned().unwrap_or(Value::Null);
        let code = number(&data, "error_code").unwrap_or(0);
        if code != 0 {
            return Err(PlatformError::rejected(code, text(&data, "description")));
        }
        let token = text(&data, "access_token");
        let expires_in = number(&data, "expires_in").unwrap_or(0);
        if token.is_empty() || expires_in <= 0 {
            return Err(PlatformError::Unavailable(
                "client_token answer has no access_token".into(),
            ));
        }
        Ok(FreshToken {
            token: Secret::new(token),
            expires_in,
        })
    }

    async fn query_order(&self, token: &Secret, out_order_no: &str) -> Result<Option<TradeOrderQuery>, PlatformError> {
        let answer = self
            .call("order_query/", token, &json!({ "out_order_no": out_order_no }))
            .await?;
        if err_no(&answer) == ORDER_NOT_FOUND {
            return Ok(None);
        }
        let data = data_or_rejected(answer)?;
        let pay_status = text(&data, "pay_status");
        if pay_status.is_empty() {
            return Err(PlatformError::Unavailable(
                "order_query answer has no pay_status".into(),
            ));
        }
        let total_amount = number(&data, "total_amount");
        if pay_status == "SUCCESS" && total_amount.is_none() {
            return Err(PlatformError::Unavailable(
                "order_query answer has no total_amount".into(),
            ));
        }
        let items = data
            .get("item_order_list")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|item| ItemOrder {
                        item_order_id: text(item, "item_order_id"),
                        amount: number(item, "item_order_amount").unwrap_or(0),
                    })
                    .filter(|item| !item.item_order_id.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(TradeOrderQuery {
            order_id: text(&data, "order_id"),
            pay_status,
            total_amount: total_amount.unwrap_or(0),
            pay_time: number(&data, "pay_time").filter(|t| *t > 0),
            pay_channel: text(&data, "pay_channel"),
            items,
        }))
    }

    async fn create_refund(&self, token: &Secret, refund: &TradeRefundRequest) -> Result<String, PlatformError> {
        let mut body = json!({
            "order_id": refund.order_id,
            "out_refund_no": refund.out_refund_no,
            // 999: "other"; the merchant's own words go in the text (under 50 characters).
            "refund_reason": [{"code": 999, "text": refund.reason.chars().take(49).collect::<String>()}],
            "refund_total_amount": refund.refund_total_amount,
            "order_entry_schema": refund.order_entry_schema,
        });
        if refund.refund_all {
            body["refund_all"] = json!(true);
        } else {
            body["item_order_detail"] = refund
                .items
                .iter()
                .map(|i| json!({"item_order_id": i.item_order_id, "refund_amount": i.amount}))
                .collect();
        }
        if let Some(url) = &self.notify_url {
            body["notify_url"] = json!(url);
        }
        match data_or_rejected(self.call("refund_create/", token, &body).await?) {
            Ok(data) => required_text(&data, "refund_id", "refund_create"),
            // The platform keeps one refund per out_refund_no: one made by an earlier
            // attempt whose answer was lost is ours, whatever this refusal says.
            Err(refused @ PlatformError::Rejected { .. }) => {
                match self.query_refund(token, &refund.out_refund_no).await {
                    Ok(Some(found)) if !found.platform_no.is_empty() => Ok(found.platform_no),
                    Ok(_) => Err(refused),
                    Err(lookup) => Err(lookup.into_unclear()),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn query_refund(&self, token: &Secret, out_refund_no: &str) -> Result<Option<MoneyQuery>, PlatformError> {
        let body = json!({ "out_refund_no": out_refund_no });
        let data = data_or_rejected(self.call("refund_query/", token, &body).await?)?;
        let list = data.get("refund_list").cloned().unwrap_or(Value::Null);
        Ok(find_money(
            &list,
            ("out_refund_no", out_refund_no),
            ("refund_status", "refund_id"),
        ))
    }

    async fn create_settle(&self, token: &Secret, settle: &TradeSettleRequest) -> Result<String, PlatformError> {
        let mut body = json!({
            "out_order_no": settle.out_order_no,
            "out_settle_no": settle.out_settle_no,
            "settle_desc": settle.settle_desc,
        });
        if let Some(params) = &settle.settle_params {
            body["settle_params"] = json!(params);
        }
        if let Some(url) = &self.notify_url {
            body["notify_url"] = json!(url);
        }
        let answer = self.call("settle_create/", token, &body).await?;
        if err_no(&answer) == SETTLE_EXISTS {
            // An earlier attempt got through before its answer was lost.
            return match self.query_settle(token, &settle.out_settle_no).await {
                Ok(Some(found)) if !found.platform_no.is_empty() => Ok(found.platform_no),
                Ok(_) => Err(PlatformError::unclear(
                    SETTLE_EXISTS,
                    "out_settle_no exists but settle_query does not list it yet",
                )),
                Err(lookup) => Err(lookup.into_unclear()),
            };
        }
        required_text(&data_or_rejected(answer)?, "settle_id", "settle_create")
    }

    async fn query_settle(&self, token: &Secret, out_settle_no: &str) -> Result<Option<MoneyQuery>, PlatformError> {
        let body = json!({ "out_settle_no": out_settle_no });
        // `data` is the list itself here, unlike every other answer.
        let list = data_or_rejected(self.call("settle_query/", token, &body).await?)?;
        Ok(find_money(
            &list,
            ("out_settle_no", out_settle_no),
            ("settle_status", "settle_id"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Value {
        json!([
            {"out_refund_no": "theirs", "refund_status": "SUCCESS", "refund_id": "r-1"},
            {"out_refund_no": "ours", "refund_status": "PROCESSING", "refund_id": "r-2"},
        ])
    }

    #[test]
    fn find_money_takes_only_the_entry_with_our_number() {
        let keys = ("refund_status", "refund_id");
        let ours = find_money(&list(), ("out_refund_no", "ours"), keys).unwrap();
        assert_eq!(
            (ours.status, ours.platform_no.as_str()),
            (RefundStatus::Processing, "r-2")
        );
        // Never the first entry in place of a missing one: its SUCCESS is not ours.
        assert_eq!(find_money(&list(), ("out_refund_no", "missing"), keys), None);
        assert_eq!(find_money(&json!([]), ("out_refund_no", "ours"), keys), None);
    }

    #[test]
    fn retry_and_rate_limit_codes_leave_the_outcome_unknown() {
        for code in [13000, 23000, 12001] {
            let err = data_or_rejected(json!({"err_no": code, "err_msg": "busy"})).unwrap_err();
            assert!(!err.is_certain_refusal(), "{code}: {err}");
        }
        let err = data_or_rejected(json!({"err_no": 10000, "err_msg": "bad param"})).unwrap_err();
        assert!(err.is_certain_refusal());
        let err = data_or_rejected(json!({"data": {}})).unwrap_err();
        assert!(!err.is_certain_refusal(), "no err_no is garbage");
    }
}
