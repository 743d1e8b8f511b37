//! `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=` (A.1): the Transaction
//! JSON. `mchid` is a query parameter, so it is inside the signed URL.

use super::answer::V3Answer;
use super::api_error::V3Error;
use super::request::{V3Request, authenticate};
use super::transaction::transaction_json;
use crate::state::{SharedState, lock};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

pub async fn query(State(state): State<SharedState>, Path(out_trade_no): Path<String>, request: V3Request) -> Response {
    let platform = match authenticate(&state, &request) {
        Ok(platform) => platform,
        Err(refusal) => return *refusal,
    };
    let result = answer(&state, &request, &out_trade_no);
    request.respond(platform, result)
}

fn answer(state: &crate::state::State, request: &V3Request, out_trade_no: &str) -> Result<V3Answer, V3Error> {
    let wechat = state
        .config
        .wechat
        .as_ref()
        .ok_or_else(|| V3Error::system("WeChat is not configured"))?;
    let mchid = query_param(&request.path_and_query, "mchid")
        .ok_or_else(|| V3Error::param("mchid", "缺少必填参数 (missing query parameter)"))?;
    if mchid != wechat.mch_id {
        return Err(V3Error::new(StatusCode::BAD_REQUEST, "MCH_NOT_EXISTS", "商户号不存在"));
    }
    let order = lock(&state.wechat)
        .orders
        .get(out_trade_no)
        .ok_or_else(V3Error::no_order)?;
    Ok(V3Answer::Json(transaction_json(wechat, &order, None)))
}

/// The value of `name` in the query of `path_and_query` (no decoding: the values WeChat
/// takes here are plain digits).
pub fn query_param<'a>(path_and_query: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = path_and_query.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_found_by_name() {
        assert_eq!(query_param("/v3/x?mchid=1900000109", "mchid"), Some("1900000109"));
        assert_eq!(query_param("/v3/x?a=1&mchid=2", "mchid"), Some("2"));
        assert_eq!(query_param("/v3/x?mchidx=2", "mchid"), None);
        assert_eq!(query_param("/v3/x", "mchid"), None);
    }
}
