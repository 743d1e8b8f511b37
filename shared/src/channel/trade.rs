//! The Douyin general trade system (`trade_basic`, douyin-trade.md): the mini-program
//! places the order itself with `tt.requestOrder` from data we sign; queries, refunds
//! and settlements go to the platform with the shared client token.

use super::callback::{Ack, Inbound, Notice, Refusal, Reply, UserRefund, Verified};
use super::douyin_reply::DouyinReply;
use super::ecpay::{body_of, ecpay_text};
use super::{Channel, ChannelId, OrderTexts, RefundAtPlatform, RefundNotMade};
use crate::domain::ids::new_nonce;
use crate::domain::order::{Order, PaymentOutcome, PlatformOrder};
use crate::domain::order::{OrderStatus, Payment};
use crate::domain::refund::{REASON_MAX_CHARS, SettleStatus, user_refund_no};
use crate::domain::refund::{Refund, Settlement};
use crate::domain::text::truncate;
use crate::domain::time::now_secs;
use crate::douyin::CallbackError;
use crate::douyin::callback::{names_another_app, order_named};
use crate::douyin::money::MoneyQuery;
use crate::douyin::order_center::FreshToken;
use crate::douyin::trade::callback::{
    BYTE_NONCE, BYTE_SIGNATURE, BYTE_TIMESTAMP, PreCreateRefundMsg, TradePaymentMsg, TradeRefundMsg, TradeSettleMsg,
};
use crate::douyin::trade::client::{TOKEN_REFUSED, TradeRefundRequest, TradeSettleRequest};
use crate::douyin::trade::items::allocate_refund;
use crate::douyin::trade::request_order::{RequestOrderSettings, order_entry_schema, request_order_data};
use crate::douyin::trade::{TradeApi, TradeKeys};
use crate::douyin::trade::{TradeCallback, TradeHeaders};
use crate::error::PlatformError;
use crate::secret::Secret;
use crate::store::{CatalogItem, TokenStore};
use crate::token::{TokenCache, TokenSource};
use async_trait::async_trait;
use std::sync::Arc;

/// The trade system's limit on a sku `title` (douyin-trade.md §2).
const TITLE_MAX_BYTES: usize = 256;
/// `settle_params` of a settlement to the merchant alone.
const NO_RECEIVERS: &str = "[]";

/// The trade system's keys, its server calls and its client token.
pub struct Trade {
    pub keys: TradeKeys,
    pub api: Arc<dyn TradeApi>,
    pub token: TokenCache,
}

/// What the trade channel takes from the deployment's settings.
#[derive(Debug, Clone)]
pub struct TradeSettings {
    pub order_entry_page: String,
    pub notify_url: Option<String>,
    pub valid_seconds: i64,
}

pub struct TradeChannel {
    trade: Arc<Trade>,
    tokens: Arc<dyn TokenStore>,
    settings: TradeSettings,
}

const USER_REFUND_REASON: &str = "用户申请退款";

/// Reads what a verified trade message says.
fn notice(callback: &TradeCallback, order_entry_page: &str) -> Result<Notice, Refusal> {
    let malformed = |err: CallbackError| Refusal::Malformed(err.to_string());
    Ok(match callback.kind.as_str() {
        "payment" => {
            let msg: TradePaymentMsg = callback.parse().map_err(malformed)?;
            match msg.status.as_str() {
                "SUCCESS" => {
                    let now = now_secs();
                    Notice::Paid {
                        payment: Payment {
                            amount: msg.total_amount,
                            paid_at: msg.event_time.filter(|t| *t > 0).map_or(now, |ms| ms / 1000),
                            trade_no: msg.order_id.clone(),
                            channel: msg.pay_channel.clone(),
                        },
                        out_order_no: msg.out_order_no,
                    }
                }
                // Cancelled by the user or expired: final, and no close-order call exists.
                "CANCEL" => {
                    tracing::info!(out_order_no = %msg.out_order_no, reason = %msg.message, "trade order cancelled");
                    Notice::Unpaid {
                        out_order_no: msg.out_order_no,
                        status: OrderStatus::Closed,
                    }
                }
                other => {
                    tracing::info!(out_order_no = %msg.out_order_no, status = other, "payment callback acknowledged");
                    Notice::Nothing
                }
            }
        }
        "refund" => {
            let msg: TradeRefundMsg = callback.parse().map_err(malformed)?;
            let success = match msg.status.as_str() {
                "SUCCESS" => true,
                "FAIL" => false,
                _ => return Ok(Notice::Nothing),
            };
            // The platform may leave `out_refund_no` empty for refunds the user started;
            // those are numbered from the refund id.
            let out_refund_no = if msg.out_refund_no.is_empty() {
                user_refund_no(&msg.refund_id)
            } else {
                msg.out_refund_no
            };
            Notice::RefundEnded {
                out_refund_no,
                success,
                amount: msg.refund_total_amount,
            }
        }
        "settle" => {
            let msg: TradeSettleMsg = callback.parse().map_err(malformed)?;
            let status = match msg.status.as_str() {
                "SUCCESS" => SettleStatus::Success,
                "FAIL" => SettleStatus::Fail,
                _ => return Ok(Notice::Nothing),
            };
            Notice::SettleEnded {
                out_settle_no: msg.out_settle_no,
                status,
            }
        }
        "pre_create_refund" => {
            let msg: PreCreateRefundMsg = callback.parse().map_err(malformed)?;
            if msg.refund_total_amount < 1 {
                return Err(Refusal::Malformed("refund_total_amount must be at least 1 fen".into()));
            }
            let reason = msg.reason();
            let reason = truncate(
                if reason.is_empty() { USER_REFUND_REASON } else { &reason },
                REASON_MAX_CHARS,
                usize::MAX,
            )
            .to_owned();
            let out_refund_no = user_refund_no(&msg.refund_id);
            let schema = order_entry_schema(order_entry_page, &msg.out_order_no);
            Notice::UserRefund(UserRefund {
                reply_data: serde_json::json!({
                    "out_refund_no": out_refund_no,
                    "order_entry_schema": schema,
                }),
                out_order_no: msg.out_order_no,
                out_refund_no,
                refund_no: msg.refund_id,
                amount: msg.refund_total_amount,
                reason,
            })
        }
        other => {
            tracing::info!(kind = other, "verified trade callback kept and acknowledged");
            Notice::Nothing
        }
    })
}

impl TradeChannel {
    pub fn new(trade: Arc<Trade>, tokens: Arc<dyn TokenStore>, settings: TradeSettings) -> Self {
        TradeChannel {
            trade,
            tokens,
            settings,
        }
    }

    async fn with_client_token<'a, T, F, Fut>(&'a self, call: F) -> Result<T, PlatformError>
    where
        F: Fn(&'a dyn TradeApi, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, PlatformError>>,
    {
        self.trade.with_client_token(self.tokens.as_ref(), call).await
    }
}

impl Trade {
    /// Runs a `trade_basic` call with the client token shared through `store` (see
    /// [`TokenCache::with_token`]).
    pub async fn with_client_token<'a, T, F, Fut>(&'a self, store: &dyn TokenStore, call: F) -> Result<T, PlatformError>
    where
        F: Fn(&'a dyn TradeApi, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, PlatformError>>,
    {
        let api = self.api.as_ref();
        let refused = |e: &PlatformError| matches!(e, PlatformError::Rejected { code, .. } if TOKEN_REFUSED.contains(&code.as_str()));
        self.token
            .with_token(store, &ClientTokenSource(api), refused, |token| call(api, token))
            .await
    }
}

struct ClientTokenSource<'a>(&'a dyn TradeApi);

#[async_trait]
impl TokenSource for ClientTokenSource<'_> {
    async fn fetch(&self) -> Result<FreshToken, PlatformError> {
        self.0.fetch_client_token().await
    }
}

#[async_trait]
impl Channel for TradeChannel {
    fn id(&self) -> ChannelId {
        ChannelId::DouyinTrade
    }

    fn texts(&self, item: &CatalogItem) -> OrderTexts {
        OrderTexts {
            subject: truncate(&item.subject, usize::MAX, TITLE_MAX_BYTES).to_owned(),
            body: ecpay_text(body_of(item)),
        }
    }

    fn prepare(&self, order: &mut Order, item: &CatalogItem) -> Result<(), String> {
        let settings = RequestOrderSettings {
            order_entry_page: &self.settings.order_entry_page,
            notify_url: self.settings.notify_url.as_deref(),
            valid_seconds: self.settings.valid_seconds,
        };
        let data = request_order_data(order, item, &settings).map_err(|e| e.to_string())?;
        order.trade_data = Some(data);
        Ok(())
    }

    async fn place(&self, _order: &Order, _client_ip: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        // The mini-program places it with tt.requestOrder.
        Ok(None)
    }

    fn pay_params(&self, order: &Order, now: i64) -> Result<serde_json::Value, PlatformError> {
        let data = order
            .trade_data
            .as_deref()
            .ok_or_else(|| PlatformError::Unavailable("the order has no tt.requestOrder data".into()))?;
        let authorization = self
            .trade
            .keys
            .byte_authorization(data, now, &new_nonce())
            .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
        Ok(serde_json::json!({"data": data, "byteAuthorization": authorization}))
    }

    async fn query_payment(&self, order: &Order, expired: bool, now: i64) -> Result<PaymentOutcome, PlatformError> {
        let no = order.out_order_no.as_str();
        // The platform knows an order only once the client placed it (tt.requestOrder).
        let query = self
            .with_client_token(|api, token| async move { api.query_order(&token, no).await })
            .await?;
        Ok(match query {
            Some(query) => query.outcome(now),
            None if expired => PaymentOutcome::Timeout,
            None => PaymentOutcome::Pending,
        })
    }

    fn refund_reads_refunds(&self) -> bool {
        true
    }

    /// `refund_create/` names item orders, which only `order_query/` tells: the refund
    /// is split over them after what earlier refunds took.
    async fn refund(&self, order: &Order, refund: &Refund) -> Result<String, RefundNotMade> {
        let no = order.out_order_no.as_str();
        let placed = self
            .with_client_token(|api, token| async move { api.query_order(&token, no).await })
            .await?
            .ok_or_else(|| PlatformError::Unavailable("order_query does not know this paid order".into()))?;
        // This refund is already counted in flight.
        let already = order.refunded_amount + order.refunding_amount - refund.refund_amount;
        let first_and_whole = already == 0 && refund.refund_amount == order.total_amount;
        let items = match allocate_refund(&placed.items, already, refund.refund_amount) {
            Some(items) => items,
            None if placed.items.is_empty() && first_and_whole => Vec::new(),
            None => {
                return Err(RefundNotMade::Unallocatable(format!(
                    "the item orders of {no} cannot carry a refund of {} fen after the {already} fen refunded or in flight",
                    refund.refund_amount
                )));
            }
        };
        let request = TradeRefundRequest {
            order_id: placed.order_id,
            out_refund_no: refund.out_refund_no.clone(),
            reason: refund.reason.clone(),
            refund_total_amount: refund.refund_amount,
            refund_all: items.is_empty(),
            items,
            order_entry_schema: order_entry_schema(&self.settings.order_entry_page, no),
        };
        let request = &request;
        Ok(self
            .with_client_token(|api, token| async move { api.create_refund(&token, request).await })
            .await?)
    }

    async fn query_refund(&self, _order: &Order, refund: &Refund) -> Result<RefundAtPlatform, PlatformError> {
        let no = refund.out_refund_no.as_str();
        let query = self
            .with_client_token(|api, token| async move { api.query_refund(&token, no).await })
            .await?;
        Ok(query.map_or(RefundAtPlatform::Unknown, RefundAtPlatform::from_money))
    }

    async fn settle(&self, settlement: &Settlement) -> Result<String, PlatformError> {
        let request = TradeSettleRequest {
            out_order_no: settlement.out_order_no.clone(),
            out_settle_no: settlement.out_settle_no.clone(),
            settle_desc: settlement.settle_desc.clone(),
            // The trade system takes receivers only when there are third parties.
            settle_params: Some(settlement.settle_params.clone()).filter(|p| p != NO_RECEIVERS),
        };
        let request = &request;
        self.with_client_token(|api, token| async move { api.create_settle(&token, request).await })
            .await
    }

    async fn query_settle(&self, settlement: &Settlement) -> Result<Option<MoneyQuery>, PlatformError> {
        let no = settlement.out_settle_no.as_str();
        self.with_client_token(|api, token| async move { api.query_settle(&token, no).await })
            .await
    }

    fn claims(&self, inbound: &Inbound) -> bool {
        !inbound.header(BYTE_SIGNATURE).is_empty()
    }

    fn reply(&self, ack: Ack) -> Reply {
        DouyinReply::render(ack)
    }

    async fn read_callback(&self, inbound: &Inbound<'_>) -> Result<Verified, Refusal> {
        let headers = TradeHeaders {
            signature: inbound.header(BYTE_SIGNATURE).to_owned(),
            timestamp: inbound.header(BYTE_TIMESTAMP).to_owned(),
            nonce: inbound.header(BYTE_NONCE).to_owned(),
        };
        let keys = &self.trade.keys;
        let callback = match TradeCallback::verify(&headers, inbound.body, keys) {
            Ok(callback) => callback,
            Err(CallbackError::BadSignature) => {
                tracing::warn!("trade callback with a bad signature refused");
                return Err(Refusal::NotAuthentic("signature does not match".into()));
            }
            Err(CallbackError::NotConfigured(why)) => {
                tracing::error!(why = %why, "trade callback cannot be verified; the platform will retry");
                return Err(Refusal::temporary("callback key not configured"));
            }
            Err(err) => return Err(Refusal::Malformed(err.to_string())),
        };
        if names_another_app(&callback.msg, "app_id", &keys.app_id) {
            tracing::warn!("trade callback for another app refused");
            return Err(Refusal::NotAuthentic("callback is for another app".into()));
        }
        Ok(Verified {
            order: order_named(&callback.msg),
            notice: notice(&callback, &self.settings.order_entry_page),
            kind: callback.kind,
        })
    }
}
