//! `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` `{"mchid"}` (A.1): 204
//! with no body. Closing a closed order is answered 204 again; a paid order cannot be
//! closed (ORDERPAID, as v2 names it: the reference quotes no v3 code for it).

use super::answer::V3Answer;
use super::api_error::V3Error;
use super::body::Body;
use super::request::{V3Request, authenticate};
use crate::state::{SharedState, lock};
use crate::wechat::TradeState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

pub async fn close(State(state): State<SharedState>, Path(out_trade_no): Path<String>, request: V3Request) -> Response {
    let platform = match authenticate(&state, &request) {
        Ok(platform) => platform,
        Err(refusal) => return *refusal,
    };
    let result = close_order(&state, &request.body, &out_trade_no);
    request.respond(platform, result)
}

fn close_order(state: &crate::state::State, bytes: &[u8], out_trade_no: &str) -> Result<V3Answer, V3Error> {
    let body = Body::parse(bytes)?;
    let mchid = body.text("mchid")?;
    let ours = state
        .config
        .wechat
        .as_ref()
        .is_some_and(|wechat| wechat.mch_id == mchid);
    if !ours {
        return Err(V3Error::new(StatusCode::BAD_REQUEST, "MCH_NOT_EXISTS", "商户号不存在"));
    }
    let mut wechat = lock(&state.wechat);
    let order = wechat.orders.get(out_trade_no).ok_or_else(V3Error::no_order)?;
    match order.trade_state {
        TradeState::Success | TradeState::Refund => Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "ORDERPAID",
            "订单已支付，不能关单",
        )),
        TradeState::Closed => Ok(V3Answer::NoContent),
        TradeState::NotPay | TradeState::UserPaying | TradeState::PayError => {
            wechat
                .orders
                .close(out_trade_no)
                .map_err(|e| V3Error::system(e.to_string()))?;
            Ok(V3Answer::NoContent)
        }
    }
}
