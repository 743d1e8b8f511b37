//! `POST /pay/refundquery` (v2, <https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_5>):
//! where refunds stand, by `refund_id`, else `out_refund_no`, else `transaction_id`,
//! else `out_trade_no` (the last two list the order's refunds). No client certificate,
//! unlike the refund itself. Each refund's fields end in `_$n`, from 0.

use super::answer::{PayError, XmlAnswer};
use super::auth::authenticate;
use super::fields::{optional, required};
use super::refunds::{REFUND_ACCOUNT, REFUND_RECV_ACCOUNT, WechatRefund, WechatRefundStatus};
use super::xml_body::WechatXml;
use super::{Fields, WechatState};
use crate::clock::beijing_datetime;
use crate::state::{SharedState, lock};
use axum::extract::State;

/// An order's refunds listed without `offset`: WeChat asks merchants with more than 20
/// to query by refund number instead.
const LISTED_WITHOUT_OFFSET: usize = 20;
/// An order's refunds listed from `offset` on.
const LISTED_FROM_OFFSET: usize = 10;

pub async fn refund_query(State(state): State<SharedState>, WechatXml(params): WechatXml) -> XmlAnswer {
    let answerer = match authenticate(&state.config, &params) {
        Ok(answerer) => answerer,
        Err(answer) => return answer,
    };
    let result = required(&params, "nonce_str").and_then(|_| query(&lock(&state.wechat), &params));
    answerer.answer(result)
}

/// Which refunds the request names.
enum Key<'a> {
    RefundId(&'a str),
    OutRefundNo(&'a str),
    TransactionId(&'a str),
    OutTradeNo(&'a str),
}

impl Key<'_> {
    fn of(params: &Fields) -> Result<Key<'_>, PayError> {
        let named = |field| optional(params, field);
        named("refund_id")
            .map(Key::RefundId)
            .or_else(|| named("out_refund_no").map(Key::OutRefundNo))
            .or_else(|| named("transaction_id").map(Key::TransactionId))
            .or_else(|| named("out_trade_no").map(Key::OutTradeNo))
            .ok_or_else(|| {
                PayError::Business(
                    "LACK_PARAMS",
                    "缺少参数: refund_id, out_refund_no, transaction_id, out_trade_no 四选一".into(),
                )
            })
    }

    fn matches(&self, refund: &WechatRefund) -> bool {
        match self {
            Key::RefundId(id) => refund.refund_id == *id,
            Key::OutRefundNo(no) => refund.out_refund_no == *no,
            Key::TransactionId(id) => refund.transaction_id == *id,
            Key::OutTradeNo(no) => refund.out_trade_no == *no,
        }
    }
}

fn query(wechat: &WechatState, params: &Fields) -> Result<Fields, PayError> {
    let key = Key::of(params)?;
    let offset = offset(params)?;
    let matching: Vec<&WechatRefund> = wechat.refunds.all().filter(|r| key.matches(r)).collect();
    let listed = offset.map_or(LISTED_WITHOUT_OFFSET, |_| LISTED_FROM_OFFSET);
    let page: Vec<&WechatRefund> = matching
        .iter()
        .skip(offset.unwrap_or(0))
        .take(listed)
        .copied()
        .collect();
    let Some(first) = page.first() else {
        return Err(PayError::Business("REFUNDNOTEXIST", "退款订单查询失败".into()));
    };
    let mut fields = Fields::new();
    let mut put = |name: String, value: String| {
        fields.insert(name, value);
    };
    put("transaction_id".into(), first.transaction_id.clone());
    put("out_trade_no".into(), first.out_trade_no.clone());
    put("total_fee".into(), first.total_fee.to_string());
    put("cash_fee".into(), first.total_fee.to_string());
    put("fee_type".into(), "CNY".into());
    put("refund_count".into(), page.len().to_string());
    if offset.is_some() {
        put("total_refund_count".into(), matching.len().to_string());
    }
    for (n, refund) in page.iter().enumerate() {
        put(format!("out_refund_no_{n}"), refund.out_refund_no.clone());
        put(format!("refund_id_{n}"), refund.refund_id.clone());
        put(format!("refund_channel_{n}"), "ORIGINAL".into());
        put(format!("refund_fee_{n}"), refund.refund_fee.to_string());
        put(format!("settlement_refund_fee_{n}"), refund.refund_fee.to_string());
        put(format!("refund_status_{n}"), refund.status.as_str().into());
        put(format!("refund_account_{n}"), REFUND_ACCOUNT.into());
        put(format!("refund_recv_accout_{n}"), REFUND_RECV_ACCOUNT.into());
        if refund.status == WechatRefundStatus::Success
            && let Some(at) = refund.success_at
        {
            put(format!("refund_success_time_{n}"), beijing_datetime(at));
        }
    }
    Ok(fields)
}

/// `offset`: where in the order's refunds the list starts (a plain integer from 0).
fn offset(params: &Fields) -> Result<Option<usize>, PayError> {
    optional(params, "offset")
        .map(|text| {
            text.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse().ok())
                .flatten()
                .ok_or_else(|| PayError::invalid("offset", format!("{text} is not an integer from 0")))
        })
        .transpose()
}
