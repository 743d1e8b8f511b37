//! The Transaction object (A.1): what an order query answers and what a payment notify
//! encrypts. Payment details (`transaction_id`, `success_time`, `bank_type`,
//! `payer_total`) appear once the order is paid.

use crate::clock::beijing_rfc3339;
use crate::config::WechatSandboxConfig;
use crate::wechat::WechatOrder;
use crate::wechat::order_query::BANK_TYPE;
use serde_json::{Value, json};

/// The Transaction JSON of `order`; `total` overrides the amount (a forged notify).
pub fn transaction_json(config: &WechatSandboxConfig, order: &WechatOrder, total: Option<i64>) -> Value {
    let total = total.unwrap_or(order.total_fee);
    let paid = order.trade_state.is_paid();
    let mut transaction = json!({
        "appid": config.app_id,
        "mchid": config.mch_id,
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "trade_state": order.trade_state.as_str(),
        "trade_state_desc": order.trade_state.description(),
        "attach": order.attach.clone().unwrap_or_default(),
        "amount": { "total": total, "currency": "CNY", "payer_currency": "CNY" },
        "payer": {},
        "promotion_detail": [],
    });
    if paid {
        transaction["transaction_id"] = json!(order.transaction_id);
        transaction["bank_type"] = json!(BANK_TYPE);
        transaction["success_time"] = json!(order.paid_at.map(beijing_rfc3339));
        transaction["amount"]["payer_total"] = json!(total);
        transaction["payer"] = json!({ "openid": order.openid });
    }
    transaction
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::{PayApi, TradeState};

    fn order(state: TradeState) -> WechatOrder {
        WechatOrder {
            out_trade_no: "NO-1".into(),
            api: PayApi::V3,
            prepay_id: "wx1".into(),
            params: Default::default(),
            total_fee: 1990,
            body: "月卡".into(),
            attach: Some("a".into()),
            openid: Some("o1".into()),
            trade_type: "JSAPI".into(),
            notify_url: "https://n".into(),
            sign_type: "RSA".into(),
            time_expire: None,
            trade_state: state,
            created_at: 1_722_769_900,
            paid_at: state.is_paid().then_some(1_722_769_986),
            transaction_id: state.is_paid().then(|| "4200002024080412345678901234".into()),
        }
    }

    #[test]
    fn payment_details_appear_once_paid() {
        let config = WechatSandboxConfig {
            app_id: "wx1".into(),
            mch_id: "1900000109".into(),
            ..WechatSandboxConfig::default()
        };
        let unpaid = transaction_json(&config, &order(TradeState::NotPay), None);
        assert_eq!(unpaid["trade_state"], "NOTPAY");
        assert!(unpaid.get("transaction_id").is_none() && unpaid.get("success_time").is_none());
        assert_eq!(unpaid["payer"], json!({}));
        let paid = transaction_json(&config, &order(TradeState::Success), Some(1));
        assert_eq!(paid["success_time"], "2024-08-04T19:13:06+08:00");
        assert_eq!(
            paid["amount"],
            json!({"total": 1, "payer_total": 1, "currency": "CNY", "payer_currency": "CNY"})
        );
        assert_eq!(paid["payer"]["openid"], "o1");
        assert_eq!(
            (paid["appid"].as_str(), paid["mchid"].as_str()),
            (Some("wx1"), Some("1900000109"))
        );
    }
}
