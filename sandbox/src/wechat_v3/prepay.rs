//! `POST /v3/pay/transactions/jsapi` (A.1): places a mini-program order and answers
//! `{"prepay_id"}`. Idempotent for identical parameters before `time_expire`; the same
//! `out_trade_no` with other parameters is refused. v2 and v3 share the merchant's
//! order numbers, as on WeChat Pay.

use super::answer::V3Answer;
use super::api_error::V3Error;
use super::body::{Body, max_bytes, merchant_no, notify_url};
use super::request::{V3Request, authenticate};
use crate::clock::{now_secs, parse_rfc3339};
use crate::config::WechatSandboxConfig;
use crate::state::{SharedState, lock};
use crate::wechat::identity::is_openid_of_app;
use crate::wechat::orders::{NewOrder, PayApi};
use crate::wechat::sign::SignType;
use crate::wechat::unified_order::{OUT_TRADE_NO_MAX, OUT_TRADE_NO_SYMBOLS};
use crate::wechat::{TradeState, WechatOrder};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

pub const OUT_TRADE_NO_MIN: usize = 6;
const DESCRIPTION_MAX_BYTES: usize = 127;
const ATTACH_MAX_BYTES: usize = 128;
/// `time_expire` is raised to at least this long after the prepay...
pub const MIN_PAY_WINDOW_SECS: i64 = 60;
/// ...and capped at this (A.1: "later than +90 days ⇒ capped").
pub const MAX_PAY_WINDOW_SECS: i64 = 90 * 86_400;
/// Without `time_expire`, an order can be paid for seven days.
pub const DEFAULT_PAY_WINDOW_SECS: i64 = 7 * 86_400;

pub async fn prepay(State(state): State<SharedState>, request: V3Request) -> Response {
    let platform = match authenticate(&state, &request) {
        Ok(platform) => platform,
        Err(refusal) => return *refusal,
    };
    let result = match state.config.wechat.as_ref() {
        Some(wechat) => place(&state, wechat, &request.body, now_secs()),
        None => Err(V3Error::system("WeChat is not configured")),
    };
    request.respond(platform, result)
}

fn place(
    state: &crate::state::State,
    wechat: &WechatSandboxConfig,
    bytes: &[u8],
    now: i64,
) -> Result<V3Answer, V3Error> {
    let body = Body::parse(bytes)?;
    let new = new_order(&body, wechat, now)?;
    let mut book = lock(&state.wechat);
    let order = match book.orders.get(&new.out_trade_no) {
        Some(existing) => {
            repeatable(&existing, &new, now)?;
            existing
        }
        None => book.orders.create(new, now),
    };
    Ok(V3Answer::Json(json!({ "prepay_id": order.prepay_id })))
}

fn new_order(body: &Body, wechat: &WechatSandboxConfig, now: i64) -> Result<NewOrder, V3Error> {
    let appid = body.text("appid")?;
    let mchid = body.text("mchid")?;
    if mchid != wechat.mch_id {
        return Err(V3Error::new(StatusCode::BAD_REQUEST, "MCH_NOT_EXISTS", "商户号不存在"));
    }
    if appid != wechat.app_id {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    let description = body.text("description")?;
    max_bytes("description", description, DESCRIPTION_MAX_BYTES)?;
    let out_trade_no = body.text("out_trade_no")?;
    merchant_no(
        "out_trade_no",
        out_trade_no,
        OUT_TRADE_NO_MIN,
        OUT_TRADE_NO_MAX,
        OUT_TRADE_NO_SYMBOLS,
    )?;
    let url = body.text("notify_url")?;
    notify_url("notify_url", url)?;
    let total = body.integer("amount.total")?;
    if total <= 0 {
        return Err(V3Error::param("amount.total", "必须大于0 (must be positive)"));
    }
    if let Some(currency) = body.optional_text("amount.currency")?
        && currency != "CNY"
    {
        return Err(V3Error::param("amount.currency", "只支持CNY"));
    }
    let openid = body.text("payer.openid")?;
    if !is_openid_of_app(appid, openid) {
        return Err(V3Error::param("payer.openid", "openid和appid不匹配"));
    }
    let attach = body.optional_text("attach")?;
    if let Some(attach) = attach {
        max_bytes("attach", attach, ATTACH_MAX_BYTES)?;
    }
    let time_expire = match body.optional_text("time_expire")? {
        Some(text) => parse_rfc3339(text)
            .ok_or_else(|| V3Error::param("time_expire", "不是RFC3339格式 (yyyy-MM-DDTHH:mm:ss+TIMEZONE)"))?,
        None => now + DEFAULT_PAY_WINDOW_SECS,
    }
    .clamp(now + MIN_PAY_WINDOW_SECS, now + MAX_PAY_WINDOW_SECS);
    Ok(NewOrder {
        out_trade_no: out_trade_no.to_owned(),
        api: PayApi::V3,
        params: body.flatten(),
        total_fee: total,
        body: description.to_owned(),
        attach: attach.map(str::to_owned),
        openid: Some(openid.to_owned()),
        trade_type: "JSAPI".to_owned(),
        notify_url: url.to_owned(),
        // Unused for v3 orders, whose notifies are RSA-signed JSON.
        sign_type: SignType::Md5,
        time_start: None,
        time_expire: Some(time_expire),
    })
}

/// Whether a repeated `out_trade_no` gets its order's `prepay_id` again.
fn repeatable(existing: &WechatOrder, new: &NewOrder, now: i64) -> Result<(), V3Error> {
    let forbidden = |code, message: &str| Err(V3Error::new(StatusCode::FORBIDDEN, code, message));
    if existing.api != PayApi::V3 || existing.params != new.params {
        return forbidden("OUT_TRADE_NO_USED", "商户订单号重复");
    }
    match existing.trade_state {
        TradeState::Success | TradeState::Refund => forbidden("ORDERPAID", "该订单已支付"),
        TradeState::Closed => Err(V3Error::new(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "订单已关闭")),
        TradeState::PayError => Err(V3Error::invalid("该订单支付失败，请使用新的商户订单号")),
        TradeState::NotPay | TradeState::UserPaying if existing.time_expire.is_some_and(|at| now > at) => Err(
            V3Error::invalid("订单已超过支付截止时间time_expire，请使用新的商户订单号"),
        ),
        TradeState::NotPay | TradeState::UserPaying => Ok(()),
    }
}
