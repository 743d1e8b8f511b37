//! WeChat Pay APIv2 (wechat.md): `unifiedorder` gives the prepay id the mini-program
//! pays with (`wx.requestPayment`, signed by us); expired unpaid orders are closed.

use super::callback::{Ack, Inbound, Notice, Refusal, Reply, Verified};
use super::wechat_v2_reply::WechatReply;
use super::{Channel, ChannelId, Closing, OrderTexts, RefundAtPlatform, RefundNotMade, placed};
use crate::config::WechatConfig;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::Payment;
use crate::domain::order::{Order, PaymentOutcome, PlatformOrder};
use crate::domain::refund::Refund;
use crate::domain::time::{beijing_compact, now_secs, parse_beijing_compact};
use crate::error::PlatformError;
use crate::secret::Secret;
use crate::store::CatalogItem;
use crate::wechat::client::{UnifiedOrder, WechatApi, WechatRefundRequest};
use crate::wechat::fields::description;
use crate::wechat::refund_notify::decrypt_req_info;
use crate::wechat::sign::verify;
use crate::wechat::xml::{XmlError, parse_flat};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// closeorder: the order was paid before it could be closed.
const ORDER_PAID: &str = "ORDERPAID";

pub struct WechatV2Channel {
    api: Arc<dyn WechatApi>,
    app_id: String,
    mch_id: Option<String>,
    /// The APIv2 key: checks notify signs and decrypts refund notifies.
    api_key: Option<Secret>,
}

impl WechatV2Channel {
    pub fn new(api: Arc<dyn WechatApi>, config: &WechatConfig) -> Self {
        WechatV2Channel {
            api,
            app_id: config.app_id.clone(),
            mch_id: config.mch_id.clone(),
            api_key: config.api_key.clone(),
        }
    }

    /// Whether a notify names our mini-program and merchant.
    fn ours(&self, fields: &BTreeMap<String, String>) -> bool {
        fields.get("appid") == Some(&self.app_id) && fields.get("mch_id") == self.mch_id.as_ref()
    }
}

/// The order a notify (or a refund notify's decrypted `req_info`) names: `out_trade_no`.
fn order_of(fields: &BTreeMap<String, String>) -> Option<String> {
    fields.get("out_trade_no").filter(|no| valid_out_order_no(no)).cloned()
}

fn text<'a>(fields: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    fields.get(key).map(String::as_str).unwrap_or_default()
}

/// What a verified payment notify says.
fn payment_notice(fields: &BTreeMap<String, String>) -> Result<Notice, Refusal> {
    if text(fields, "return_code") != "SUCCESS" || text(fields, "result_code") != "SUCCESS" {
        return Ok(Notice::Nothing);
    }
    let Ok(amount) = text(fields, "total_fee").parse::<i64>() else {
        return Err(Refusal::Malformed("total_fee is not a whole number of fen".into()));
    };
    let now = now_secs();
    Ok(Notice::Paid {
        out_order_no: text(fields, "out_trade_no").to_owned(),
        payment: Payment {
            amount,
            paid_at: parse_beijing_compact(text(fields, "time_end")).unwrap_or(now),
            trade_no: text(fields, "transaction_id").to_owned(),
            channel: text(fields, "bank_type").to_owned(),
        },
    })
}

/// What a decrypted refund notify says.
fn refund_notice(refund: &BTreeMap<String, String>) -> Result<Notice, Refusal> {
    let out_refund_no = text(refund, "out_refund_no").to_owned();
    let success = match text(refund, "refund_status") {
        "SUCCESS" => true,
        "REFUNDCLOSE" => false,
        // Neither refunded nor failed: the money could not reach the card.
        "CHANGE" => {
            return Ok(Notice::RefundNeedsAttention {
                out_refund_no,
                why: "CHANGE".into(),
            });
        }
        _ => return Ok(Notice::Nothing),
    };
    let Ok(amount) = text(refund, "refund_fee").parse::<i64>() else {
        return Err(Refusal::Malformed("refund_fee is not a whole number of fen".into()));
    };
    Ok(Notice::RefundEnded {
        out_refund_no,
        success,
        amount: Some(amount),
    })
}

/// An order's texts within WeChat Pay's limits (v2 and v3 alike).
pub(super) fn wechat_texts(item: &CatalogItem) -> OrderTexts {
    let body = if item.body.trim().is_empty() {
        &item.subject
    } else {
        &item.body
    };
    OrderTexts {
        subject: description(&item.subject),
        body: description(body),
    }
}

#[async_trait]
impl Channel for WechatV2Channel {
    fn id(&self) -> ChannelId {
        ChannelId::WechatV2
    }

    fn texts(&self, item: &CatalogItem) -> OrderTexts {
        wechat_texts(item)
    }

    async fn place(&self, order: &Order, client_ip: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        let request = UnifiedOrder {
            out_trade_no: order.out_order_no.clone(),
            // WeChat shows `body` as what was bought: the subject, as before channels.
            body: description(&order.subject),
            total_fee: order.total_amount,
            openid: order.openid.clone(),
            client_ip: client_ip.to_owned(),
            time_expire: beijing_compact(order.pay_deadline),
        };
        let prepay_id = self.api.unified_order(&request).await?;
        Ok(Some(PlatformOrder {
            order_id: prepay_id.clone(),
            order_token: prepay_id,
        }))
    }

    fn pay_params(&self, order: &Order, now: i64) -> Result<serde_json::Value, PlatformError> {
        let placed = placed(order)?;
        self.api.request_payment(&placed.order_id, now)
    }

    async fn query_payment(&self, order: &Order, expired: bool, now: i64) -> Result<PaymentOutcome, PlatformError> {
        if let Some(outcome) = order.unplaced_outcome(expired) {
            return Ok(outcome);
        }
        Ok(self.api.order_query(&order.out_order_no).await?.outcome(expired, now))
    }

    async fn close(&self, order: &Order) -> Result<Closing, PlatformError> {
        match self.api.close_order(&order.out_order_no).await {
            Ok(()) => Ok(Closing::Closed),
            Err(PlatformError::Rejected { code, .. }) if code == ORDER_PAID => Ok(Closing::AlreadyPaid),
            Err(err) => Err(err),
        }
    }

    async fn refund(&self, order: &Order, refund: &Refund) -> Result<String, RefundNotMade> {
        let request = WechatRefundRequest {
            out_trade_no: refund.out_order_no.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            total_fee: order.total_amount,
            refund_fee: refund.refund_amount,
            refund_desc: refund.reason.clone(),
        };
        Ok(self.api.refund(&request).await?)
    }

    async fn query_refund(&self, _order: &Order, refund: &Refund) -> Result<RefundAtPlatform, PlatformError> {
        Ok(match self.api.refund_query(&refund.out_refund_no).await? {
            None => RefundAtPlatform::Unknown,
            Some(q) => match q.refund_status.as_str() {
                "SUCCESS" => RefundAtPlatform::Success,
                "REFUNDCLOSE" => RefundAtPlatform::Fail,
                "CHANGE" => RefundAtPlatform::NeedsAttention("CHANGE".into()),
                _ => RefundAtPlatform::Processing { refund_no: q.refund_id },
            },
        })
    }

    /// v2 notifies are XML.
    fn claims(&self, inbound: &Inbound) -> bool {
        inbound.body.trim_ascii_start().starts_with(b"<")
    }

    fn reply(&self, ack: Ack) -> Reply {
        WechatReply::render(ack)
    }

    async fn read_callback(&self, inbound: &Inbound<'_>) -> Result<Verified, Refusal> {
        let Some(api_key) = self.api_key.as_ref() else {
            tracing::error!("WECHAT_API_KEY is not configured; notifies cannot be verified");
            return Err(Refusal::temporary("API key not configured"));
        };
        let fields = match parse_flat(inbound.body) {
            Ok(fields) => fields,
            Err(XmlError::Doctype) => {
                tracing::warn!("notify with a DOCTYPE refused");
                return Err(Refusal::Malformed("DOCTYPE is not accepted".into()));
            }
            Err(_) => return Err(Refusal::Malformed("body is not WeChat Pay XML".into())),
        };
        if let Some(req_info) = fields.get("req_info") {
            // No sign covers a refund notify: decrypting with our key is the authentication.
            let Ok(refund) = decrypt_req_info(req_info, api_key.expose()) else {
                tracing::warn!("refund notify that does not decrypt with our key refused");
                return Err(Refusal::NotAuthentic("req_info does not decrypt".into()));
            };
            if !self.ours(&fields) {
                return Err(Refusal::NotAuthentic("notify is for another merchant".into()));
            }
            return Ok(Verified {
                kind: "refund".into(),
                order: order_of(&refund),
                notice: refund_notice(&refund),
            });
        }
        if !verify(&fields, api_key.expose()) {
            tracing::warn!("notify with a bad signature refused");
            return Err(Refusal::NotAuthentic("signature does not match".into()));
        }
        if !self.ours(&fields) {
            return Err(Refusal::NotAuthentic("notify is for another merchant".into()));
        }
        Ok(Verified {
            kind: "payment".into(),
            order: order_of(&fields),
            notice: payment_notice(&fields),
        })
    }

    fn confirms_payments(&self) -> bool {
        true
    }

    /// A verified notify is confirmed by querying the order, as WeChat asks merchants to.
    async fn confirm_payment(&self, out_order_no: &str, payment: &Payment) -> Result<(), Refusal> {
        match self.api.order_query(out_order_no).await {
            Ok(q) if q.trade_state.as_deref() == Some("SUCCESS") && q.total_fee == Some(payment.amount) => Ok(()),
            Ok(_) => {
                tracing::error!(
                    out_trade_no = out_order_no,
                    "orderquery does not confirm the notified payment"
                );
                Err(Refusal::Conflict("payment not confirmed by orderquery".into()))
            }
            Err(err) => {
                tracing::warn!(error = %err, "orderquery failed; WeChat will resend the notify");
                Err(Refusal::Temporary {
                    status: 503,
                    reason: "payment could not be confirmed yet".into(),
                })
            }
        }
    }
}
