//! Douyin 担保支付 (ecpay v1, douyin.md §3): the server creates the order, the
//! mini-program pays with its token; refunds and settlements by our numbers.

use super::callback::{Ack, Inbound, Notice, Refusal, Reply, Verified};
use super::douyin_reply::DouyinReply;
use super::{Channel, ChannelId, OrderTexts, RefundAtPlatform, RefundNotMade, placed};
use crate::config::DouyinConfig;
use crate::domain::order::{Order, PaymentOutcome, PlatformOrder, ecpay_valid_time};
use crate::domain::refund::SettleStatus;
use crate::domain::refund::{Refund, Settlement};
use crate::domain::text::truncate;
use crate::domain::time::now_secs;
use crate::douyin::Douyin;
use crate::douyin::callback::{Callback, CallbackError, json_problem, names_another_app, order_named};
use crate::douyin::client::CreateOrder;
use crate::douyin::money::{CreateRefund, CreateSettle, MoneyQuery};
use crate::douyin::trade::callback::BYTE_SIGNATURE;
use crate::error::PlatformError;
use crate::secret::Secret;
use crate::store::CatalogItem;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

/// Ecpay's limits on `subject` and `body`.
const TEXT_MAX_CHARS: usize = 42;
const TEXT_MAX_BYTES: usize = 128;

pub struct EcpayChannel {
    douyin: Arc<dyn Douyin>,
    /// The pay window asked for (`valid_time`, clamped to what ecpay accepts).
    valid_seconds: i64,
    app_id: String,
    /// The console Token callbacks are signed with.
    token: Option<Secret>,
}

impl EcpayChannel {
    pub fn new(douyin: Arc<dyn Douyin>, config: &DouyinConfig, valid_seconds: i64) -> Self {
        EcpayChannel {
            douyin,
            valid_seconds,
            app_id: config.app_id.clone(),
            token: config.token.clone(),
        }
    }
}

/// Reads what a verified ecpay message says.
fn notice(callback: &Callback) -> Result<Notice, Refusal> {
    let bad_msg = |err: serde_json::Error| Refusal::Malformed(format!("msg is {}", json_problem(&err)));
    Ok(match callback.kind.as_str() {
        "payment" => {
            let msg = callback.payment().map_err(|err| Refusal::Malformed(err.to_string()))?;
            if !msg.is_success() {
                tracing::info!(out_order_no = %msg.cp_orderno, status = %msg.status, "unsuccessful payment callback acknowledged");
                return Ok(Notice::Nothing);
            }
            Notice::Paid {
                payment: msg.payment(now_secs()),
                out_order_no: msg.cp_orderno,
            }
        }
        "refund" => {
            let msg: RefundMsg = serde_json::from_str(&callback.msg).map_err(bad_msg)?;
            let success = match msg.status.as_str() {
                "SUCCESS" => true,
                "FAIL" => false,
                _ => return Ok(Notice::Nothing),
            };
            Notice::RefundEnded {
                out_refund_no: msg.cp_refundno,
                success,
                amount: msg.refund_amount,
            }
        }
        "settle" => {
            let msg: SettleMsg = serde_json::from_str(&callback.msg).map_err(bad_msg)?;
            let status = match msg.status.as_str() {
                "SUCCESS" => SettleStatus::Success,
                "FAIL" => SettleStatus::Fail,
                _ => return Ok(Notice::Nothing),
            };
            Notice::SettleEnded {
                out_settle_no: msg.cp_settle_no,
                status,
            }
        }
        other => {
            tracing::info!(kind = other, "verified callback kept and acknowledged");
            Notice::Nothing
        }
    })
}

/// The `msg` of a `refund` callback.
#[derive(Debug, Deserialize)]
struct RefundMsg {
    cp_refundno: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    refund_amount: Option<i64>,
}

/// The `msg` of a `settle` callback.
#[derive(Debug, Deserialize)]
struct SettleMsg {
    cp_settle_no: String,
    #[serde(default)]
    status: String,
}

/// `text` cut to ecpay's limits (shared with the trade system's body text, which
/// follows the same catalog rules).
pub(super) fn ecpay_text(text: &str) -> String {
    truncate(text, TEXT_MAX_CHARS, TEXT_MAX_BYTES).to_owned()
}

/// The body text of `item`: its own, or its subject when it has none.
pub(super) fn body_of(item: &CatalogItem) -> &str {
    if item.body.trim().is_empty() {
        &item.subject
    } else {
        &item.body
    }
}

#[async_trait]
impl Channel for EcpayChannel {
    fn id(&self) -> ChannelId {
        ChannelId::DouyinEcpay
    }

    fn texts(&self, item: &CatalogItem) -> OrderTexts {
        OrderTexts {
            subject: ecpay_text(&item.subject),
            body: ecpay_text(body_of(item)),
        }
    }

    async fn place(&self, order: &Order, _client_ip: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        let request = CreateOrder {
            out_order_no: order.out_order_no.clone(),
            total_amount: order.total_amount,
            subject: order.subject.clone(),
            body: order.body.clone(),
            valid_time: ecpay_valid_time(self.valid_seconds),
        };
        Ok(Some(self.douyin.create_order(&request).await?))
    }

    fn pay_params(&self, order: &Order, _now: i64) -> Result<serde_json::Value, PlatformError> {
        let placed = placed(order)?;
        Ok(serde_json::json!({"order_id": placed.order_id, "order_token": placed.order_token}))
    }

    async fn query_payment(&self, order: &Order, expired: bool, _now: i64) -> Result<PaymentOutcome, PlatformError> {
        if let Some(outcome) = order.unplaced_outcome(expired) {
            return Ok(outcome);
        }
        Ok(match self.douyin.query_order(&order.out_order_no).await? {
            Some(query) => query.outcome(),
            None if expired => PaymentOutcome::Timeout,
            None => PaymentOutcome::Pending,
        })
    }

    async fn refund(&self, _order: &Order, refund: &Refund) -> Result<String, RefundNotMade> {
        let request = CreateRefund {
            out_order_no: refund.out_order_no.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            refund_amount: refund.refund_amount,
            reason: refund.reason.clone(),
            all_settle: refund.all_settle,
        };
        Ok(self.douyin.create_refund(&request).await?)
    }

    async fn query_refund(&self, _order: &Order, refund: &Refund) -> Result<RefundAtPlatform, PlatformError> {
        let query = self.douyin.query_refund(&refund.out_refund_no).await?;
        Ok(RefundAtPlatform::from_money(query))
    }

    async fn settle(&self, settlement: &Settlement) -> Result<String, PlatformError> {
        let request = CreateSettle {
            out_order_no: settlement.out_order_no.clone(),
            out_settle_no: settlement.out_settle_no.clone(),
            settle_desc: settlement.settle_desc.clone(),
            settle_params: settlement.settle_params.clone(),
        };
        self.douyin.settle(&request).await
    }

    async fn query_settle(&self, settlement: &Settlement) -> Result<Option<MoneyQuery>, PlatformError> {
        Ok(Some(self.douyin.query_settle(&settlement.out_settle_no).await?))
    }

    /// Ecpay callbacks carry their signature in the body; the trade system's come with
    /// `Byte-Signature` headers.
    fn claims(&self, inbound: &Inbound) -> bool {
        inbound.header(BYTE_SIGNATURE).is_empty()
    }

    fn reply(&self, ack: Ack) -> Reply {
        DouyinReply::render(ack)
    }

    async fn read_callback(&self, inbound: &Inbound<'_>) -> Result<Verified, Refusal> {
        let Some(token) = self.token.as_ref() else {
            tracing::error!("DOUYIN_TOKEN is not configured; callbacks cannot be verified");
            return Err(Refusal::temporary("callback token not configured"));
        };
        let callback = match Callback::verify(inbound.body, token.expose()) {
            Ok(callback) => callback,
            Err(CallbackError::BadSignature) => {
                tracing::warn!("callback with a bad signature refused");
                return Err(Refusal::NotAuthentic("signature does not match".into()));
            }
            Err(err) => return Err(Refusal::Malformed(err.to_string())),
        };
        if names_another_app(&callback.msg, "appid", &self.app_id) {
            tracing::warn!("callback for another app refused");
            return Err(Refusal::NotAuthentic("callback is for another app".into()));
        }
        Ok(Verified {
            order: order_named(&callback.msg),
            notice: notice(&callback),
            kind: callback.kind,
        })
    }
}
