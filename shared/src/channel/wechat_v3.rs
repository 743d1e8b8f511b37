//! WeChat Pay APIv3 (wechat-v3-reconcile.md A): JSAPI prepay, the mini-program pays with
//! an RSA `paySign`; notifies are signed by WeChat's key and encrypted with the APIv3
//! key; refunds need no client certificate.

use super::callback::{Ack, Inbound, Notice, Refusal, Reply, Verified};
use super::wechat_v2::wechat_texts;
use super::{Channel, ChannelId, Closing, OrderTexts, RefundAtPlatform, RefundNotMade, placed};
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::{Order, Payment, PaymentOutcome, PlatformOrder};
use crate::domain::refund::Refund;
use crate::domain::time::{beijing_rfc3339, now_secs, parse_rfc3339};
use crate::error::PlatformError;
use crate::store::CatalogItem;
use crate::wechat::fields::description;
use crate::wechat::trade_state;
use crate::wechat::v3::client::WechatV3Client;
use crate::wechat::v3::model::{RefundNotice, Transaction};
use crate::wechat::v3::notify::{Decrypted, NotifyError, read_notify};
use async_trait::async_trait;
use std::sync::Arc;

pub struct WechatV3Channel {
    client: Arc<WechatV3Client>,
}

impl WechatV3Channel {
    pub fn new(client: Arc<WechatV3Client>) -> Self {
        WechatV3Channel { client }
    }

    fn payment_notice(&self, transaction: Transaction) -> Result<Notice, Refusal> {
        if transaction.appid != self.client.app_id() || transaction.mchid != self.client.mch_id() {
            return Err(Refusal::NotAuthentic("notify is for another app or merchant".into()));
        }
        if transaction.trade_state != "SUCCESS" {
            return Ok(Notice::Nothing);
        }
        let Some(amount) = transaction.amount.as_ref().map(|a| a.total) else {
            return Err(Refusal::Malformed("a paid transaction without its amount".into()));
        };
        Ok(Notice::Paid {
            out_order_no: transaction.out_trade_no.clone(),
            payment: payment_of(&transaction, amount, now_secs()),
        })
    }

    fn refund_notice(&self, refund: RefundNotice) -> Result<Notice, Refusal> {
        if refund.mchid != self.client.mch_id() {
            return Err(Refusal::NotAuthentic("notify is for another merchant".into()));
        }
        let out_refund_no = refund.out_refund_no;
        Ok(match refund.refund_status.as_str() {
            "SUCCESS" => Notice::RefundEnded {
                out_refund_no,
                success: true,
                amount: Some(refund.amount.refund),
            },
            "CLOSED" => Notice::RefundEnded {
                out_refund_no,
                success: false,
                amount: Some(refund.amount.refund),
            },
            // Neither refunded nor failed: the money could not reach the user's account.
            "ABNORMAL" => Notice::RefundNeedsAttention {
                out_refund_no,
                why: "ABNORMAL".into(),
            },
            _ => Notice::Nothing,
        })
    }

    fn read_decrypted(&self, decrypted: Decrypted) -> Result<Verified, Refusal> {
        let malformed = |what: &str| Refusal::Malformed(format!("{what} plaintext does not parse"));
        match decrypted.original_type.as_str() {
            "transaction" => {
                let transaction: Transaction =
                    serde_json::from_slice(&decrypted.plaintext).map_err(|_| malformed("transaction"))?;
                Ok(Verified {
                    kind: "payment".into(),
                    order: order_named(&transaction.out_trade_no),
                    notice: self.payment_notice(transaction),
                })
            }
            "refund" => {
                let refund: RefundNotice =
                    serde_json::from_slice(&decrypted.plaintext).map_err(|_| malformed("refund"))?;
                Ok(Verified {
                    kind: "refund".into(),
                    order: order_named(&refund.out_trade_no),
                    notice: self.refund_notice(refund),
                })
            }
            // Authentic but of a kind we never asked for: kept, nothing changes.
            other => Ok(Verified {
                kind: format!("v3 {}", decrypted.event_type),
                order: None,
                notice: if other.is_empty() {
                    Err(Refusal::Malformed("resource has no original_type".into()))
                } else {
                    Ok(Notice::Nothing)
                },
            }),
        }
    }
}

fn order_named(out_trade_no: &str) -> Option<String> {
    Some(out_trade_no.to_owned()).filter(|no| valid_out_order_no(no))
}

fn payment_of(transaction: &Transaction, amount: i64, now: i64) -> Payment {
    Payment {
        amount,
        paid_at: transaction
            .success_time
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(now),
        trade_no: transaction.transaction_id.clone(),
        channel: transaction.bank_type.clone(),
    }
}

#[async_trait]
impl Channel for WechatV3Channel {
    fn id(&self) -> ChannelId {
        ChannelId::WechatV3
    }

    fn texts(&self, item: &CatalogItem) -> OrderTexts {
        wechat_texts(item)
    }

    async fn place(&self, order: &Order, _client_ip: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        let prepay_id = self
            .client
            .prepay(
                &order.out_order_no,
                &description(&order.subject),
                order.total_amount,
                &order.openid,
                &beijing_rfc3339(order.pay_deadline),
            )
            .await?;
        Ok(Some(PlatformOrder {
            order_id: prepay_id.clone(),
            order_token: prepay_id,
        }))
    }

    fn pay_params(&self, order: &Order, now: i64) -> Result<serde_json::Value, PlatformError> {
        let placed = placed(order)?;
        Ok(self.client.pay_params(&placed.order_id, now))
    }

    async fn query_payment(&self, order: &Order, expired: bool, now: i64) -> Result<PaymentOutcome, PlatformError> {
        if let Some(outcome) = order.unplaced_outcome(expired) {
            return Ok(outcome);
        }
        let transaction = self.client.query_order(&order.out_order_no).await?;
        let state = transaction.as_ref().map(|t| t.trade_state.as_str());
        Ok(trade_state::outcome(state, expired, || {
            let transaction = transaction.as_ref().expect("a paid state comes with its transaction");
            let amount = transaction.amount.as_ref().map_or(0, |a| a.total);
            payment_of(transaction, amount, now)
        }))
    }

    /// A close WeChat refuses may be of an order paid meanwhile: the order's state says.
    async fn close(&self, order: &Order) -> Result<Closing, PlatformError> {
        let refused = match self.client.close_order(&order.out_order_no).await {
            Ok(()) => return Ok(Closing::Closed),
            Err(err @ PlatformError::Rejected { .. }) => err,
            Err(err) => return Err(err),
        };
        match self.client.query_order(&order.out_order_no).await? {
            Some(t) if matches!(t.trade_state.as_str(), "SUCCESS" | "REFUND") => Ok(Closing::AlreadyPaid),
            Some(t) if matches!(t.trade_state.as_str(), "CLOSED" | "REVOKED") => Ok(Closing::Closed),
            _ => Err(refused),
        }
    }

    async fn refund(&self, order: &Order, refund: &Refund) -> Result<String, RefundNotMade> {
        let answer = self
            .client
            .refund(
                &refund.out_order_no,
                &refund.out_refund_no,
                refund.refund_amount,
                order.total_amount,
                &refund.reason,
            )
            .await?;
        Ok(answer.refund_id)
    }

    async fn query_refund(&self, _order: &Order, refund: &Refund) -> Result<RefundAtPlatform, PlatformError> {
        Ok(match self.client.query_refund(&refund.out_refund_no).await? {
            None => RefundAtPlatform::Unknown,
            Some(r) => match r.status.as_str() {
                "SUCCESS" => RefundAtPlatform::Success,
                "CLOSED" => RefundAtPlatform::Fail,
                "ABNORMAL" => RefundAtPlatform::NeedsAttention("ABNORMAL".into()),
                _ => RefundAtPlatform::Processing { refund_no: r.refund_id },
            },
        })
    }

    /// v3 notifies are JSON (v2's are XML).
    fn claims(&self, inbound: &Inbound) -> bool {
        inbound.body.trim_ascii_start().starts_with(b"{")
    }

    async fn read_callback(&self, inbound: &Inbound<'_>) -> Result<Verified, Refusal> {
        match read_notify(&self.client, inbound.headers, inbound.body, now_secs()).await {
            Ok(decrypted) => self.read_decrypted(decrypted),
            Err(NotifyError::NotAuthentic(why)) => {
                tracing::warn!(why = ?why, "v3 notify refused: not verified");
                Err(Refusal::NotAuthentic(format!("signature not verified: {why}")))
            }
            Err(NotifyError::Malformed(what)) => Err(Refusal::Malformed(what.into())),
            Err(NotifyError::Undecryptable) => {
                tracing::error!("a v3 notify signed by WeChat does not decrypt: check WECHAT_APIV3_KEY");
                Err(Refusal::temporary("notify could not be decrypted"))
            }
            Err(NotifyError::Unavailable(err)) => {
                tracing::warn!(error = %err, "v3 notify kept for WeChat's retry: keys unavailable");
                Err(Refusal::Temporary {
                    status: 503,
                    reason: "verification keys unavailable".into(),
                })
            }
        }
    }

    /// v3 acknowledgement (A.5): 200 with SUCCESS; a refusal is 4xx/5xx with FAIL.
    fn reply(&self, ack: Ack) -> Reply {
        match ack {
            Ack::Done { .. } => Reply::json(200, &serde_json::json!({"code": "SUCCESS", "message": "成功"})),
            Ack::Refused(refusal) => Reply::json(
                refusal.status(),
                &serde_json::json!({"code": "FAIL", "message": refusal.reason()}),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
