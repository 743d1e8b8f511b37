//! The v3 Refund object (A.1, A.5): what the refund API and query answer, and the
//! plaintext of a refund notify. v3 names the v2 statuses differently: REFUNDCLOSE is
//! CLOSED, CHANGE (退款异常) is ABNORMAL.

use crate::clock::beijing_rfc3339;
use crate::wechat::refunds::REFUND_RECV_ACCOUNT;
use crate::wechat::{WechatRefund, WechatRefundStatus};
use serde_json::{Value, json};

/// `status` / `refund_status` of a refund.
pub fn v3_status(status: WechatRefundStatus) -> &'static str {
    match status {
        WechatRefundStatus::Processing => "PROCESSING",
        WechatRefundStatus::Success => "SUCCESS",
        WechatRefundStatus::RefundClose => "CLOSED",
        WechatRefundStatus::Change => "ABNORMAL",
    }
}

/// The Refund JSON of the refund API and query.
pub fn refund_json(refund: &WechatRefund) -> Value {
    let mut body = json!({
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": REFUND_RECV_ACCOUNT,
        "create_time": beijing_rfc3339(refund.created_at),
        "status": v3_status(refund.status),
        "funds_account": "AVAILABLE",
        "amount": amount(refund),
        "promotion_detail": [],
    });
    if let Some(at) = refund.success_at {
        body["success_time"] = json!(beijing_rfc3339(at));
    }
    body
}

fn amount(refund: &WechatRefund) -> Value {
    json!({
        "total": refund.total_fee,
        "refund": refund.refund_fee,
        "payer_total": refund.total_fee,
        "payer_refund": refund.refund_fee,
        "settlement_total": refund.total_fee,
        "settlement_refund": refund.refund_fee,
        "discount_refund": 0,
        "currency": "CNY",
        "from": [],
    })
}

/// The plaintext of a refund notify (REFUND.SUCCESS.md's fields).
pub fn refund_notify_json(mch_id: &str, refund: &WechatRefund) -> Value {
    let mut body = json!({
        "mchid": mch_id,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "refund_status": v3_status(refund.status),
        "user_received_account": REFUND_RECV_ACCOUNT,
        "amount": {
            "total": refund.total_fee,
            "refund": refund.refund_fee,
            "payer_total": refund.total_fee,
            "payer_refund": refund.refund_fee,
        },
    });
    if let Some(at) = refund.success_at {
        body["success_time"] = json!(beijing_rfc3339(at));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(status: WechatRefundStatus) -> WechatRefund {
        WechatRefund {
            out_refund_no: "R-1".into(),
            refund_id: "50000000000000000000000000001".into(),
            out_trade_no: "NO-1".into(),
            transaction_id: "4200".into(),
            total_fee: 1990,
            refund_fee: 500,
            refund_desc: None,
            notify_url: None,
            status,
            created_at: 1_722_769_900,
            success_at: (status == WechatRefundStatus::Success).then_some(1_722_769_986),
        }
    }

    #[test]
    fn refunds_in_v3_words() {
        let processing = refund_json(&refund(WechatRefundStatus::Processing));
        assert_eq!(processing["status"], "PROCESSING");
        assert!(processing.get("success_time").is_none());
        assert_eq!(processing["amount"]["refund"], 500);
        let done = refund_notify_json("1900000109", &refund(WechatRefundStatus::Success));
        assert_eq!(done["refund_status"], "SUCCESS");
        assert_eq!(done["success_time"], "2024-08-04T19:13:06+08:00");
        assert_eq!(v3_status(WechatRefundStatus::RefundClose), "CLOSED");
        assert_eq!(v3_status(WechatRefundStatus::Change), "ABNORMAL");
    }
}
