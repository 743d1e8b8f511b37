//! `order/v2/push`: the order center (douyin.md §6), where the backend mirrors each
//! order into the user's Douyin order list. Answers `err_code`/`err_msg`/`body`, not
//! the ecpay envelope. The real platform may answer bad input with HTTP 400; the
//! sandbox always answers 200 so that clients are tested on `err_code` alone.

use super::codes;
use super::order_detail;
use super::params::{self, ParamError};
use crate::clock::now_secs;
use crate::json_body::parse_object;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::ops::RangeInclusive;

pub const APP_NAME: &str = "douyin";
/// 0 pending payment, 1 paid, 2 cancelled, 4 fulfilled, 5 refunding, 6 refunded, 8 refund failed.
const ORDER_STATUSES: [i64; 7] = [0, 1, 2, 4, 5, 6, 8];
/// Milliseconds: exactly 13 digits, so a client sending seconds is caught.
const UPDATE_TIME_MS: RangeInclusive<i64> = 1_000_000_000_000..=9_999_999_999_999;

/// An accepted push, as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRecord {
    pub access_token: String,
    pub open_id: String,
    pub update_time: i64,
    pub order_type: i64,
    pub order_status: i64,
    /// Parsed from the `order_detail` JSON string.
    pub order_detail: Value,
    /// The whole body, with `order_detail` replaced by its parsed object.
    pub body: Value,
}

/// Why a push was refused: the `err_code` and `err_msg` of the answer.
struct Refusal(i64, String);

impl From<ParamError> for Refusal {
    fn from(ParamError(message): ParamError) -> Refusal {
        Refusal(codes::MISSING_PARAMETER, message)
    }
}

fn answer(err_code: i64, err_msg: &str) -> Json<Value> {
    Json(json!({ "err_code": err_code, "err_msg": err_msg, "body": "" }))
}

/// `POST /api/apps/order/v2/push`: the token is checked first, then the fields.
pub async fn push(State(state): State<SharedState>, body: Bytes) -> Json<Value> {
    let params = match parse_object(&body) {
        Ok(params) => params,
        Err(reason) => return answer(codes::MISSING_PARAMETER, &reason),
    };
    let mut douyin = lock(&state.douyin);
    let now = now_secs();
    let access_token = params
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|token| douyin.tokens.is_valid(token, now));
    let Some(access_token) = access_token else {
        return answer(codes::BAD_ACCESS_TOKEN, "access_token invalid");
    };
    match read(&params, access_token) {
        Ok(record) => {
            douyin.pushes.push(record);
            answer(codes::OK, "")
        }
        Err(Refusal(err_code, err_msg)) => answer(err_code, &err_msg),
    }
}

fn read(params: &Map<String, Value>, access_token: &str) -> Result<PushRecord, Refusal> {
    if params.get("app_name").and_then(Value::as_str) != Some(APP_NAME) {
        return Err(Refusal(codes::BAD_APP_NAME, format!("app_name must be \"{APP_NAME}\"")));
    }
    let open_id = params::required_str(params, "open_id").map_err(|ParamError(m)| Refusal(codes::BAD_OPEN_ID, m))?;
    let update_time = params::required_int(params, "update_time", UPDATE_TIME_MS)?;
    let order_detail = order_detail::parse(params::required_str(params, "order_detail")?)?;
    // 0 for ordinary orders; others (tickets, coupons, hotels) are accepted as numbers.
    let order_type = params::required_int(params, "order_type", 0..=i64::MAX)?;
    let order_status = params::required_int(params, "order_status", 0..=8)?;
    if !ORDER_STATUSES.contains(&order_status) {
        return Err(ParamError::new(
            "order_status",
            format!("{order_status} is not one of {ORDER_STATUSES:?}"),
        )
        .into());
    }
    for field in ["extra", "scene", "launch_from", "location"] {
        params::optional_str(params, field)?;
    }
    let mut body = params.clone();
    body.insert("order_detail".into(), order_detail.clone());
    Ok(PushRecord {
        access_token: access_token.to_owned(),
        open_id: open_id.to_owned(),
        update_time,
        order_type,
        order_status,
        order_detail,
        body: Value::Object(body),
    })
}
