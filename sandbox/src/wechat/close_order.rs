//! `POST /pay/closeorder` (wechat.md §6): the merchant abandons an unpaid order, which
//! can then no longer be paid. A paid order cannot be closed.

use super::answer::{PayError, XmlAnswer};
use super::auth::authenticate;
use super::fields::{merchant_no, required};
use super::trade_state::TradeState;
use super::unified_order::{OUT_TRADE_NO_MAX, OUT_TRADE_NO_SYMBOLS};
use super::xml_body::WechatXml;
use super::{Fields, WechatState};
use crate::state::{SharedState, lock};
use axum::extract::State;

pub async fn close_order(State(state): State<SharedState>, WechatXml(params): WechatXml) -> XmlAnswer {
    let answerer = match authenticate(&state.config, &params) {
        Ok(answerer) => answerer,
        Err(answer) => return answer,
    };
    answerer.answer(close(&mut lock(&state.wechat), &params))
}

fn close(wechat: &mut WechatState, params: &Fields) -> Result<Fields, PayError> {
    required(params, "nonce_str")?;
    let out_trade_no = merchant_no(params, "out_trade_no", OUT_TRADE_NO_MAX, OUT_TRADE_NO_SYMBOLS)?;
    let order = wechat
        .orders
        .get(out_trade_no)
        .ok_or_else(|| PayError::Business("ORDERNOTEXIST", "订单不存在".into()))?;
    match order.trade_state {
        TradeState::Success | TradeState::Refund => Err(PayError::Business("ORDERPAID", "订单已支付，不能关单".into())),
        TradeState::Closed => Err(PayError::Business("ORDERCLOSED", "订单已关闭，无需继续调用".into())),
        TradeState::NotPay | TradeState::UserPaying | TradeState::PayError => {
            wechat
                .orders
                .close(out_trade_no)
                .map_err(|e| PayError::Business("SYSTEMERROR", e.to_string()))?;
            Ok(Fields::new())
        }
    }
}
