//! A refund finishing on the platform, then the refund notify (wechat.md §9): no sign,
//! the details encrypted in `req_info` with the APIv2 key, so that decrypting it is
//! what authenticates the notify.

use super::Fields;
use super::configured;
use super::notify_delivery::deliver_xml;
use super::orders::PayApi;
use super::refunds::{REFUND_ACCOUNT, REFUND_RECV_ACCOUNT, WechatRefund, WechatRefundStatus};
use super::req_info;
use super::xml::to_xml;
use crate::clock::{beijing_datetime, now_secs};
use crate::config::WechatSandboxConfig;
use crate::delivery::{Delivery, target};
use crate::douyin::CallbackOptions;
use crate::error::SandboxError;
use crate::random;
use crate::state::{State, lock};

/// Finishes the refund as `outcome` (SUCCESS, REFUNDCLOSE or CHANGE, once) and sends
/// the refund notify, whose `req_info` carries that `refund_status`; a repeat with the
/// same outcome only resends it. The notify goes to `options.notify_url`,
/// else the refund's own URL, else the merchant's (config), else the order's.
/// `options.tamper_signature` encrypts `req_info` with another key (the notify has no
/// sign to break), so the backend's decryption must fail.
pub async fn finish(
    state: &State,
    out_refund_no: &str,
    outcome: WechatRefundStatus,
    options: CallbackOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let config = configured(state)?;
    let (refund, url) = {
        let mut wechat = lock(&state.wechat);
        let current = wechat
            .refunds
            .get(out_refund_no)
            .ok_or_else(|| SandboxError::UnknownRefund(out_refund_no.into()))?;
        let order = wechat.orders.get(&current.out_trade_no);
        if order.as_ref().is_some_and(|order| order.api != PayApi::V2) {
            return Err(SandboxError::Conflict(format!(
                "refund {out_refund_no} is of an APIv3 order: finish it with wechat_v3_finish_refund"
            )));
        }
        let order_url = order.map(|order| order.notify_url);
        let candidates = [
            options.notify_url.as_deref(),
            current.notify_url.as_deref(),
            config.notify_url.as_deref(),
            order_url.as_deref(),
        ];
        let url = target(candidates, options.deliveries, &format!("refund {out_refund_no}"))?;
        (wechat.refunds.finish(out_refund_no, outcome, now_secs())?, url)
    };
    let body = refund_notify(config, &refund, options.tamper_signature);
    Ok(deliver_xml(&state.http, &url, &body, options.deliveries).await)
}

/// The plaintext of `req_info` for a finished refund.
pub fn req_info_fields(refund: &WechatRefund) -> Fields {
    let mut fields: Fields = [
        ("transaction_id", refund.transaction_id.clone()),
        ("out_trade_no", refund.out_trade_no.clone()),
        ("refund_id", refund.refund_id.clone()),
        ("out_refund_no", refund.out_refund_no.clone()),
        ("total_fee", refund.total_fee.to_string()),
        ("refund_fee", refund.refund_fee.to_string()),
        ("settlement_total_fee", refund.total_fee.to_string()),
        ("settlement_refund_fee", refund.refund_fee.to_string()),
        ("refund_status", refund.status.as_str().to_owned()),
        ("refund_recv_accout", REFUND_RECV_ACCOUNT.to_owned()),
        ("refund_account", REFUND_ACCOUNT.to_owned()),
        ("refund_request_source", "API".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    if refund.status == WechatRefundStatus::Success
        && let Some(at) = refund.success_at
    {
        fields.insert("success_time".to_owned(), beijing_datetime(at));
    }
    fields
}

/// `req_info` for a finished refund, its fields laid out in name order as WeChat's are.
fn encrypted_req_info(refund: &WechatRefund, key: &str) -> String {
    let fields = req_info_fields(refund);
    let plaintext = req_info::plaintext(fields.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    req_info::encrypt(&plaintext, key)
}

/// The notify body; `tamper` encrypts with a key the backend does not have.
pub fn refund_notify(config: &WechatSandboxConfig, refund: &WechatRefund, tamper: bool) -> String {
    let key = if tamper {
        format!("{}-not-the-merchant-key", config.api_key)
    } else {
        config.api_key.clone()
    };
    let fields = Fields::from([
        ("return_code".to_owned(), "SUCCESS".to_owned()),
        ("appid".to_owned(), config.app_id.clone()),
        ("mch_id".to_owned(), config.mch_id.clone()),
        ("nonce_str".to_owned(), random::alphanumeric(32)),
        ("req_info".to_owned(), encrypted_req_info(refund, &key)),
    ]);
    to_xml(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::req_info::decrypt as decrypt_req_info;
    use crate::wechat::xml::parse_flat;

    fn refund(status: WechatRefundStatus) -> WechatRefund {
        WechatRefund {
            out_refund_no: "R-1".into(),
            refund_id: "50000000000000000000000000001".into(),
            out_trade_no: "NO-1".into(),
            transaction_id: "4200002024080412345678901234".into(),
            total_fee: 1990,
            refund_fee: 500,
            refund_desc: None,
            notify_url: None,
            status,
            created_at: 1_722_769_900,
            success_at: (status == WechatRefundStatus::Success).then_some(1_722_769_986),
        }
    }

    fn config() -> WechatSandboxConfig {
        WechatSandboxConfig {
            app_id: "wx1".into(),
            mch_id: "1900000109".into(),
            api_key: "192006250b4c09247ec02edce69f6a2d".into(),
            ..WechatSandboxConfig::default()
        }
    }

    #[test]
    fn req_info_decrypts_with_the_merchant_key_only() {
        let config = config();
        let xml = refund_notify(&config, &refund(WechatRefundStatus::Success), false);
        let outer = parse_flat(xml.as_bytes()).unwrap();
        assert!(!outer.contains_key("sign"));
        assert_eq!(outer["return_code"], "SUCCESS");
        let inner = decrypt_req_info(&outer["req_info"], &config.api_key).unwrap();
        assert_eq!(inner, req_info_fields(&refund(WechatRefundStatus::Success)));
        assert_eq!(inner["success_time"], "2024-08-04 19:13:06");
        let forged = refund_notify(&config, &refund(WechatRefundStatus::Success), true);
        let outer = parse_flat(forged.as_bytes()).unwrap();
        assert!(decrypt_req_info(&outer["req_info"], &config.api_key).is_err());
    }

    #[test]
    fn only_successful_refunds_have_a_success_time() {
        for status in [WechatRefundStatus::RefundClose, WechatRefundStatus::Change] {
            let fields = req_info_fields(&refund(status));
            assert_eq!(fields["refund_status"], status.as_str());
            assert!(!fields.contains_key("success_time"));
        }
    }
}
