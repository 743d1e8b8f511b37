//! A settlement finishing on the platform: the money left escrow or could not, then
//! the `settle` callback (douyin.md §5) tells the backend.

use super::callback::{CallbackOptions, Delivery};
use super::settles::SandboxSettle;
use super::transfer_status::TransferStatus;
use crate::clock::now_secs;
use crate::error::SandboxError;
use crate::state::{State, lock};
use serde::Serialize;

/// The `msg` of a settle callback, fields in the platform's order (serde keeps
/// declaration order, and the backend must verify the exact bytes).
#[derive(Serialize)]
struct SettleMsg<'a> {
    app_id: &'a str,
    cp_settle_no: &'a str,
    cp_extra: &'a str,
    status: &'a str,
    rake: i64,
    commission: i64,
    settle_detail: &'a str,
    /// 0 unless the money moved.
    settled_at: i64,
    message: &'a str,
    order_id: &'a str,
    channel_settle_id: &'a str,
    settle_amount: i64,
    settle_no: &'a str,
    out_order_no: &'a str,
    /// Settlements the sandbox sends are always requested ones, never the 150-day auto-settle.
    is_auto_settle: bool,
}

/// The `msg` string of a settle callback for a finished settlement.
pub fn settle_msg(app_id: &str, settle: &SandboxSettle) -> String {
    let msg = SettleMsg {
        app_id,
        cp_settle_no: &settle.out_settle_no,
        cp_extra: &settle.cp_extra,
        status: settle.status.as_str(),
        rake: settle.rake,
        commission: 0,
        settle_detail: &settle.settle_detail,
        settled_at: settle.settled_at.unwrap_or_default(),
        message: settle.message(),
        order_id: &settle.order_id,
        channel_settle_id: &settle.channel_settle_id,
        settle_amount: settle.settle_amount,
        settle_no: &settle.settle_no,
        out_order_no: &settle.out_order_no,
        is_auto_settle: false,
    };
    serde_json::to_string(&msg).expect("plain fields serialize")
}

/// Finishes the settlement (SUCCESS or FAIL, once), a final one settling the order
/// total minus the refunds and partial settlements done by now, and sends the settle
/// callback; a repeat with the same outcome only resends it.
pub async fn finish(
    state: &State,
    out_settle_no: &str,
    success: bool,
    options: CallbackOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let now = now_secs();
    let (settle, url) = {
        let mut douyin = lock(&state.douyin);
        let current = douyin
            .settles
            .get(out_settle_no)
            .ok_or_else(|| SandboxError::UnknownSettle(out_settle_no.into()))?;
        let what = format!("settlement {out_settle_no}");
        let url = options.target(current.notify_url.as_deref(), &state.config, &what)?;
        // Used only by a final settlement: the order total less the refunds done and
        // the partial settlements (failed ones aside) by now.
        let rest_of_order = douyin
            .orders
            .get(&current.out_order_no, now)
            .map_or(current.settle_amount, |order| {
                order.total_amount
                    - douyin.refunds.refunded_total(&current.out_order_no)
                    - douyin.settles.partial_total(&current.out_order_no)
            });
        let outcome = TransferStatus::outcome(success);
        (douyin.settles.finish(out_settle_no, outcome, rest_of_order, now)?, url)
    };
    let msg = settle_msg(&state.config.app_id, &settle);
    Ok(options
        .send(&state.http, &url, &state.config.token, "settle", &msg)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::douyin::settle_params::SettleReceiver;

    #[test]
    fn settle_msg_has_the_platform_field_order() {
        let settle = SandboxSettle {
            out_settle_no: "S-1".into(),
            out_order_no: "NO-1".into(),
            order_id: "7398108028895054107".into(),
            settle_no: "7000000000000000002".into(),
            settle_desc: "d".into(),
            settle_params: serde_json::json!([{"merchant_uid": "m1", "amount": 10}]),
            receivers: vec![SettleReceiver {
                merchant_uid: "m1".into(),
                amount: 10,
            }],
            cp_extra: String::new(),
            notify_url: None,
            finish: None,
            is_final: true,
            status: TransferStatus::Success,
            created_at: 1_722_769_900,
            settled_at: Some(1_722_769_986),
            settle_amount: 1490,
            rake: 19,
            settle_detail: "商户号m1-分账金额(分)10".into(),
            channel_settle_id: "123".into(),
        };
        let expected = r#"{"app_id":"tt1","cp_settle_no":"S-1","cp_extra":"","status":"SUCCESS","rake":19,"commission":0,"settle_detail":"商户号m1-分账金额(分)10","settled_at":1722769986,"message":"","order_id":"7398108028895054107","channel_settle_id":"123","settle_amount":1490,"settle_no":"7000000000000000002","out_order_no":"NO-1","is_auto_settle":false}"#;
        assert_eq!(settle_msg("tt1", &settle), expected);
    }
}
