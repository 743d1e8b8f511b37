//! A refund finishing on the platform: the money went back or could not, then the
//! `refund` callback (douyin.md §5) tells the backend.

use super::callback::{CallbackOptions, Delivery};
use super::refunds::SandboxRefund;
use super::transfer_status::TransferStatus;
use crate::clock::now_secs;
use crate::error::SandboxError;
use crate::state::{State, lock};
use serde::Serialize;

/// The `msg` of a refund callback, fields in the platform's order (serde keeps
/// declaration order, and the backend must verify the exact bytes).
#[derive(Serialize)]
struct RefundMsg<'a> {
    appid: &'a str,
    cp_refundno: &'a str,
    cp_extra: &'a str,
    status: &'a str,
    refund_amount: i64,
    is_all_settled: bool,
    /// 0 unless the money went back.
    refunded_at: i64,
    message: &'a str,
    order_id: &'a str,
    refund_no: &'a str,
}

/// The `msg` string of a refund callback for a finished refund.
pub fn refund_msg(app_id: &str, refund: &SandboxRefund) -> String {
    let msg = RefundMsg {
        appid: app_id,
        cp_refundno: &refund.out_refund_no,
        cp_extra: &refund.cp_extra,
        status: refund.status.as_str(),
        refund_amount: refund.refund_amount,
        is_all_settled: refund.all_settle,
        refunded_at: refund.refunded_at.unwrap_or_default(),
        message: refund.message(),
        order_id: &refund.order_id,
        refund_no: &refund.refund_no,
    };
    serde_json::to_string(&msg).expect("plain fields serialize")
}

/// Finishes the refund (SUCCESS or FAIL, once) and sends the refund callback; a
/// repeat with the same outcome only resends it.
pub async fn finish(
    state: &State,
    out_refund_no: &str,
    success: bool,
    options: CallbackOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let (refund, url) = {
        let mut douyin = lock(&state.douyin);
        let current = douyin
            .refunds
            .get(out_refund_no)
            .ok_or_else(|| SandboxError::UnknownRefund(out_refund_no.into()))?;
        let what = format!("refund {out_refund_no}");
        let url = options.target(current.notify_url.as_deref(), &state.config, &what)?;
        let outcome = TransferStatus::outcome(success);
        (douyin.refunds.finish(out_refund_no, outcome, now_secs())?, url)
    };
    let msg = refund_msg(&state.config.app_id, &refund);
    Ok(options
        .send(&state.http, &url, &state.config.token, "refund", &msg)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_msg_has_the_platform_field_order() {
        let refund = SandboxRefund {
            out_refund_no: "R-1".into(),
            out_order_no: "NO-1".into(),
            order_id: "7398108028895054107".into(),
            refund_no: "7000000000000000001".into(),
            refund_amount: 500,
            reason: "r".into(),
            all_settle: true,
            cp_extra: "x".into(),
            notify_url: None,
            status: TransferStatus::Success,
            created_at: 1_722_769_900,
            refunded_at: Some(1_722_769_986),
        };
        let expected = r#"{"appid":"tt1","cp_refundno":"R-1","cp_extra":"x","status":"SUCCESS","refund_amount":500,"is_all_settled":true,"refunded_at":1722769986,"message":"","order_id":"7398108028895054107","refund_no":"7000000000000000001"}"#;
        assert_eq!(refund_msg("tt1", &refund), expected);
    }
}
