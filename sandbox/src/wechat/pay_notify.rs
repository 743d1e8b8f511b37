//! The payment notify (wechat.md §7): the order's fields as WeChat sends them, signed
//! with the order's sign type, and options to forge or vary it so that tests can check
//! how strictly (and how leniently) the backend reads it.

use super::Fields;
use super::identity::openid_of;
use super::order_query::BANK_TYPE;
use super::orders::WechatOrder;
use super::sign::sign;
use super::xml::{Form, XmlWriter};
use crate::clock::beijing_compact;
use crate::config::WechatSandboxConfig;
use crate::delivery::tampered;
use crate::random;
use serde::{Deserialize, Serialize};

/// The unknown field `extra_field` adds.
pub const EXTRA_FIELD: &str = "sandbox_extra";
/// Its value: raw characters that must be signed as they are, not escaped.
pub const EXTRA_VALUE: &str = "扩展字段 & <more>";
/// Who pays orders that name no payer (all but JSAPI).
const ANONYMOUS_PAYER: &str = "sandbox-payer";

/// How `wechat_pay` reports the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WechatPayOptions {
    /// How many copies of the notify to send at once (0: none, like a lost notify).
    pub deliveries: usize,
    /// Overrides `total_fee` (and `cash_fee`) in the notify only, signed as sent: the
    /// order keeps its amount, and the backend must compare them.
    pub total_fee: Option<i64>,
    /// Sends a sign that does not verify.
    pub tamper_signature: bool,
    /// Adds the unknown field `sandbox_extra`, covered by the sign, as WeChat may add
    /// fields without notice (a verifier must keep every received field).
    pub extra_field: bool,
    /// Sends `sign_type` (covered by the sign); WeChat sometimes does, sometimes not.
    pub sign_type_field: bool,
    /// Overrides where the notify goes (else the order's `notify_url`).
    pub notify_url: Option<String>,
    /// Also pays an order that had ended unpaid (CLOSED, PAYERROR, or past its
    /// `time_expire`): a payment that completes after the order ended, as WeChat
    /// sometimes takes (wechat-v3-reconcile.md C.1). Without it such an order is refused.
    pub late: bool,
    /// Writes the fields out of name order (`sign` first, the rest backwards): a
    /// reader must not depend on the order of the elements.
    pub reordered: bool,
    /// Writes non-ASCII values as character references (`&#26376;`) instead of CDATA:
    /// the same values to any XML reader, and signed as such.
    pub escaped_unicode: bool,
}

impl Default for WechatPayOptions {
    fn default() -> Self {
        WechatPayOptions {
            deliveries: 1,
            total_fee: None,
            tamper_signature: false,
            extra_field: false,
            sign_type_field: false,
            notify_url: None,
            late: false,
            reordered: false,
            escaped_unicode: false,
        }
    }
}

/// The notify body for a paid order.
pub fn payment_notify(config: &WechatSandboxConfig, order: &WechatOrder, options: &WechatPayOptions) -> String {
    let total_fee = options.total_fee.unwrap_or(order.total_fee).to_string();
    let openid = order
        .openid
        .clone()
        .unwrap_or_else(|| openid_of(&config.app_id, ANONYMOUS_PAYER));
    let mut fields = Fields::new();
    let mut put = |name: &str, value: &str| {
        fields.insert(name.to_owned(), value.to_owned());
    };
    put("return_code", "SUCCESS");
    put("return_msg", "OK");
    put("appid", &config.app_id);
    put("mch_id", &config.mch_id);
    put("nonce_str", &random::alphanumeric(32));
    put("result_code", "SUCCESS");
    put("openid", &openid);
    put("is_subscribe", "N");
    put("trade_type", &order.trade_type);
    put("bank_type", BANK_TYPE);
    put("total_fee", &total_fee);
    put("fee_type", "CNY");
    put("cash_fee", &total_fee);
    put("transaction_id", order.transaction_id.as_deref().unwrap_or_default());
    put("out_trade_no", &order.out_trade_no);
    put("time_end", &order.paid_at.map(beijing_compact).unwrap_or_default());
    if let Some(attach) = &order.attach {
        put("attach", attach);
    }
    if options.sign_type_field {
        put("sign_type", order.sign_type().as_str());
    }
    if options.extra_field {
        put(EXTRA_FIELD, EXTRA_VALUE);
    }
    let mut signature = sign(&fields, &config.api_key, order.sign_type());
    if options.tamper_signature {
        signature = tampered(&signature);
    }
    fields.insert("sign".to_owned(), signature);
    notify_xml(&fields, options)
}

/// The body as WeChat writes it: values in CDATA but `total_fee` bare (readers must
/// accept both), in name order unless `reordered`.
fn notify_xml(fields: &Fields, options: &WechatPayOptions) -> String {
    let mut order: Vec<(&String, &String)> = fields.iter().collect();
    if options.reordered {
        order.reverse();
        order.sort_by_key(|(name, _)| name.as_str() != "sign");
    }
    let mut xml = XmlWriter::new("xml", "");
    for (name, value) in order {
        let form = if name == "total_fee" {
            Form::Text
        } else if options.escaped_unicode && !value.is_ascii() {
            Form::EscapedUnicode
        } else {
            Form::Cdata
        };
        xml.field(name, value, form);
    }
    xml.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::sign::{SignType, verifies as verify};
    use crate::wechat::trade_state::TradeState;
    use crate::wechat::xml::parse_flat;

    fn config() -> WechatSandboxConfig {
        WechatSandboxConfig {
            app_id: "wx1".into(),
            app_secret: "s".into(),
            mch_id: "1900000109".into(),
            api_key: "192006250b4c09247ec02edce69f6a2d".into(),
            ..WechatSandboxConfig::default()
        }
    }

    fn paid_order(sign_type: SignType) -> WechatOrder {
        WechatOrder {
            out_trade_no: "NO-1".into(),
            api: crate::wechat::orders::PayApi::V2,
            prepay_id: "wx1".into(),
            params: Fields::new(),
            total_fee: 1990,
            body: "b".into(),
            attach: Some("a=1&b=2".into()),
            openid: Some(openid_of("wx1", "alice")),
            trade_type: "JSAPI".into(),
            notify_url: "http://n".into(),
            sign_type: sign_type.as_str().into(),
            time_expire: None,
            trade_state: TradeState::Success,
            created_at: 1_722_769_900,
            paid_at: Some(1_722_769_986),
            transaction_id: Some("4200002024080412345678901234".into()),
        }
    }

    #[test]
    fn notifies_verify_with_bare_total_fee_and_extra_fields() {
        let config = config();
        let options = WechatPayOptions {
            extra_field: true,
            ..WechatPayOptions::default()
        };
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            let xml = payment_notify(&config, &paid_order(sign_type), &options);
            assert!(xml.contains("<total_fee>1990</total_fee>"), "{xml}");
            let fields = parse_flat(xml.as_bytes()).unwrap();
            assert!(verify(&fields, &config.api_key));
            assert_eq!(fields[EXTRA_FIELD], EXTRA_VALUE);
            assert_eq!(fields["time_end"], "20240804191306");
            assert_eq!(fields["attach"], "a=1&b=2");
            assert!(!fields.contains_key("sign_type"));
        }
    }

    #[test]
    fn options_forge_the_amount_and_the_sign() {
        let config = config();
        let forged = WechatPayOptions {
            total_fee: Some(1),
            sign_type_field: true,
            ..WechatPayOptions::default()
        };
        let fields =
            parse_flat(payment_notify(&config, &paid_order(SignType::HmacSha256), &forged).as_bytes()).unwrap();
        assert!(verify(&fields, &config.api_key));
        assert_eq!((fields["total_fee"].as_str(), fields["cash_fee"].as_str()), ("1", "1"));
        assert_eq!(fields["sign_type"], "HMAC-SHA256");
        let tampered = WechatPayOptions {
            tamper_signature: true,
            ..WechatPayOptions::default()
        };
        let fields = parse_flat(payment_notify(&config, &paid_order(SignType::Md5), &tampered).as_bytes()).unwrap();
        assert!(!verify(&fields, &config.api_key));
    }

    #[test]
    fn notifies_can_come_reordered_and_with_escaped_unicode() {
        let config = config();
        let plain = payment_notify(&config, &paid_order(SignType::Md5), &WechatPayOptions::default());
        assert!(plain.starts_with("<xml><appid>"), "{plain}");
        let varied = WechatPayOptions {
            reordered: true,
            escaped_unicode: true,
            extra_field: true,
            ..WechatPayOptions::default()
        };
        let xml = payment_notify(&config, &paid_order(SignType::Md5), &varied);
        assert!(xml.starts_with("<xml><sign>"), "{xml}");
        assert!(xml.find("<transaction_id>") < xml.find("<appid>"), "{xml}");
        assert!(
            xml.contains("<sandbox_extra>&#25193;&#23637;&#23383;&#27573; &amp; &lt;more&gt;</sandbox_extra>"),
            "{xml}"
        );
        let fields = parse_flat(xml.as_bytes()).unwrap();
        assert!(verify(&fields, &config.api_key));
        assert_eq!(fields[EXTRA_FIELD], EXTRA_VALUE);
    }
}
