//! `POST /pay/unifiedorder` (wechat.md §4): places an order and answers its
//! `prepay_id`. Idempotent on `out_trade_no` only for identical parameters (nonce and
//! sign aside): WeChat uses that as the idempotency key and refuses changed repeats.

use super::Fields;
use super::answer::{PayError, XmlAnswer};
use super::auth::authenticate;
use super::fields::{self, compact_time, fee, max_bytes, merchant_no, one_of, optional, required};
use super::identity::is_openid_of_app;
use super::orders::{NewOrder, PayApi, WechatOrder};
use super::sign::SignType;
use super::trade_state::TradeState;
use super::xml_body::WechatXml;
use crate::clock::now_secs;
use crate::random;
use crate::state::{SharedState, lock};
use axum::extract::State;

const TRADE_TYPES: [&str; 4] = ["JSAPI", "NATIVE", "APP", "MWEB"];
/// Symbols allowed in `out_trade_no` besides letters and digits.
pub const OUT_TRADE_NO_SYMBOLS: &str = "_-|*";
pub const OUT_TRADE_NO_MAX: usize = 32;
const NONCE_MAX_BYTES: usize = 32;
const BODY_MAX_BYTES: usize = 127;
const ATTACH_MAX_BYTES: usize = 127;
const DEVICE_INFO_MAX_BYTES: usize = 32;
/// Not part of the request: a repeat may change them freely.
const PER_CALL_FIELDS: [&str; 2] = ["nonce_str", "sign"];
/// The shortest time to pay `time_expire` may leave, counted from the request (wechat.md
/// §4): five minutes, one for 刷卡 (micropay), which the sandbox does not serve.
pub const MIN_PAY_WINDOW_SECS: i64 = 5 * 60;
/// WeChat's words for a `time_expire` too close to the request.
const PAY_WINDOW_TOO_SHORT: &str = "time_expire时间过短，刷卡至少1分钟，其他5分钟";

pub async fn unified_order(State(state): State<SharedState>, WechatXml(params): WechatXml) -> XmlAnswer {
    let answerer = match authenticate(&state.config, &params) {
        Ok(answerer) => answerer,
        Err(answer) => return answer,
    };
    answerer.answer(place(
        &state,
        &params,
        answerer.config.app_id.as_str(),
        answerer.sign_type,
    ))
}

fn place(state: &crate::state::State, params: &Fields, app_id: &str, sign_type: SignType) -> Result<Fields, PayError> {
    let new = new_order(params, app_id, sign_type)?;
    let mut wechat = lock(&state.wechat);
    let now = now_secs();
    let order = match wechat.orders.get(&new.out_trade_no) {
        Some(existing) => {
            repeatable(&existing, &new)?;
            existing
        }
        None => {
            pay_window_fits(&new, now)?;
            wechat.orders.create(new, now)
        }
    };
    Ok(answer_fields(&order))
}

/// The request's fields, checked against the field table of wechat.md §4.
fn new_order(params: &Fields, app_id: &str, sign_type: SignType) -> Result<NewOrder, PayError> {
    max_bytes("nonce_str", required(params, "nonce_str")?, NONCE_MAX_BYTES)?;
    let out_trade_no = merchant_no(params, "out_trade_no", OUT_TRADE_NO_MAX, OUT_TRADE_NO_SYMBOLS)?;
    let body = required(params, "body")?;
    max_bytes("body", body, BODY_MAX_BYTES)?;
    let total_fee = fee(params, "total_fee")?;
    fields::ip("spbill_create_ip", required(params, "spbill_create_ip")?)?;
    let notify_url = required(params, "notify_url")?;
    fields::notify_url("notify_url", notify_url)?;
    let trade_type = one_of("trade_type", required(params, "trade_type")?, &TRADE_TYPES)?;
    let openid = optional(params, "openid");
    if trade_type == "JSAPI" {
        let openid = openid.ok_or_else(|| PayError::Business("LACK_PARAMS", "JSAPI支付必须传openid".into()))?;
        if !is_openid_of_app(app_id, openid) {
            return Err(PayError::Business("INVALID_REQUEST", "appid和openid不匹配".into()));
        }
    }
    if trade_type == "NATIVE" {
        required(params, "product_id")?;
    }
    let attach = optional(params, "attach");
    if let Some(attach) = attach {
        max_bytes("attach", attach, ATTACH_MAX_BYTES)?;
    }
    if let Some(device_info) = optional(params, "device_info") {
        max_bytes("device_info", device_info, DEVICE_INFO_MAX_BYTES)?;
    }
    if let Some(fee_type) = optional(params, "fee_type") {
        one_of("fee_type", fee_type, &["CNY"])?;
    }
    let time_start = optional(params, "time_start")
        .map(|text| compact_time("time_start", text))
        .transpose()?;
    let time_expire = optional(params, "time_expire")
        .map(|text| compact_time("time_expire", text))
        .transpose()?;
    Ok(NewOrder {
        out_trade_no: out_trade_no.to_owned(),
        api: PayApi::V2,
        params: params
            .iter()
            .filter(|(name, _)| !PER_CALL_FIELDS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        total_fee,
        body: body.to_owned(),
        attach: attach.map(str::to_owned),
        openid: openid.map(str::to_owned),
        trade_type: trade_type.to_owned(),
        notify_url: notify_url.to_owned(),
        sign_type,
        time_start,
        time_expire,
    })
}

/// `time_expire` is set once, with the first order: it must then leave at least
/// [`MIN_PAY_WINDOW_SECS`] from the request, and come after `time_start`. A repeat is
/// judged by its parameters alone (a changed `time_expire` is a changed request).
fn pay_window_fits(new: &NewOrder, now: i64) -> Result<(), PayError> {
    let Some(time_expire) = new.time_expire else {
        return Ok(());
    };
    if new.time_start.is_some_and(|time_start| time_expire <= time_start) {
        return Err(PayError::invalid("time_expire", "not after time_start"));
    }
    if time_expire - now < MIN_PAY_WINDOW_SECS {
        return Err(PayError::Business("INVALID_REQUEST", PAY_WINDOW_TOO_SHORT.into()));
    }
    Ok(())
}

/// Whether a repeated `out_trade_no` gets its order's `prepay_id` again.
fn repeatable(existing: &WechatOrder, new: &NewOrder) -> Result<(), PayError> {
    match existing.trade_state {
        TradeState::Success | TradeState::Refund => Err(PayError::Business("ORDERPAID", "该订单已支付".into())),
        TradeState::Closed => Err(PayError::Business("ORDERCLOSED", "该订单已关闭".into())),
        TradeState::PayError => Err(PayError::Business(
            "INVALID_REQUEST",
            "该订单支付失败，请使用新的商户订单号".into(),
        )),
        TradeState::NotPay | TradeState::UserPaying if existing.params != new.params => {
            Err(PayError::Business("INVALID_REQUEST", "201 商户订单号重复".into()))
        }
        TradeState::NotPay | TradeState::UserPaying => Ok(()),
    }
}

/// The business fields of a successful answer.
fn answer_fields(order: &WechatOrder) -> Fields {
    let mut fields = Fields::from([
        ("trade_type".to_owned(), order.trade_type.clone()),
        ("prepay_id".to_owned(), order.prepay_id.clone()),
    ]);
    match order.trade_type.as_str() {
        "NATIVE" => {
            let code_url = format!("weixin://wxpay/bizpayurl?pr={}", random::alphanumeric(7));
            fields.insert("code_url".to_owned(), code_url);
        }
        "MWEB" => {
            let mweb_url = format!(
                "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package={}",
                order.prepay_id,
                random::digits(10)
            );
            fields.insert("mweb_url".to_owned(), mweb_url);
        }
        _ => {}
    }
    fields
}
