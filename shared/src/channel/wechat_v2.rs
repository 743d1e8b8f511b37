//! WeChat Pay APIv2 (wechat.md): `unifiedorder` gives the prepay id the mini-program
//! pays with (`wx.requestPayment`, signed by us); expired unpaid orders are closed.

use super::{Channel, ChannelId, Closing, OrderTexts, RefundAtPlatform, RefundNotMade};
use crate::domain::order::{Order, PaymentOutcome, PlatformOrder};
use crate::domain::refund::Refund;
use crate::domain::text::truncate;
use crate::domain::time::beijing_compact;
use crate::error::PlatformError;
use crate::store::CatalogItem;
use crate::wechat::client::{UnifiedOrder, WechatApi, WechatRefundRequest};
use async_trait::async_trait;
use std::sync::Arc;

/// WeChat's limit on `body` (bytes).
const BODY_MAX_BYTES: usize = 127;
/// closeorder: the order was paid before it could be closed.
const ORDER_PAID: &str = "ORDERPAID";

pub struct WechatV2Channel {
    api: Arc<dyn WechatApi>,
}

impl WechatV2Channel {
    pub fn new(api: Arc<dyn WechatApi>) -> Self {
        WechatV2Channel { api }
    }
}

fn body_text(text: &str) -> String {
    truncate(text, usize::MAX, BODY_MAX_BYTES).to_owned()
}

#[async_trait]
impl Channel for WechatV2Channel {
    fn id(&self) -> ChannelId {
        ChannelId::WechatV2
    }

    fn texts(&self, item: &CatalogItem) -> OrderTexts {
        let body = if item.body.trim().is_empty() {
            &item.subject
        } else {
            &item.body
        };
        OrderTexts {
            subject: body_text(&item.subject),
            body: body_text(body),
        }
    }

    async fn place(&self, order: &Order, client_ip: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        let request = UnifiedOrder {
            out_trade_no: order.out_order_no.clone(),
            // WeChat shows `body` as what was bought: the subject, as before channels.
            body: body_text(&order.subject),
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
        let placed = order
            .platform_order
            .as_ref()
            .ok_or_else(|| PlatformError::Unavailable("the order was not placed".into()))?;
        self.api.request_payment(&placed.order_id, now)
    }

    async fn query_payment(&self, order: &Order, expired: bool, now: i64) -> Result<PaymentOutcome, PlatformError> {
        if order.platform_order.is_none() {
            // WeChat never gave us a prepay id for it, so nobody can have paid it.
            return Ok(if expired {
                PaymentOutcome::Timeout
            } else {
                PaymentOutcome::Pending
            });
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
}
