//! The Douyin general trade system (`trade_basic`, douyin-trade.md): the mini-program
//! places the order itself with `tt.requestOrder` from data we sign; queries, refunds
//! and settlements go to the platform with the shared client token.

use super::ecpay::{body_of, ecpay_text};
use super::{Channel, ChannelId, OrderTexts, RefundAtPlatform, RefundNotMade};
use crate::domain::ids::new_nonce;
use crate::domain::order::{Order, PaymentOutcome, PlatformOrder};
use crate::domain::refund::{Refund, Settlement};
use crate::domain::text::truncate;
use crate::douyin::money::MoneyQuery;
use crate::douyin::order_center::FreshToken;
use crate::douyin::trade::client::{TOKEN_REFUSED, TradeRefundRequest, TradeSettleRequest};
use crate::douyin::trade::items::allocate_refund;
use crate::douyin::trade::request_order::{RequestOrderSettings, order_entry_schema, request_order_data};
use crate::douyin::trade::{TradeApi, TradeKeys};
use crate::error::PlatformError;
use crate::secret::Secret;
use crate::store::{CatalogItem, Store};
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
    store: Arc<dyn Store>,
    settings: TradeSettings,
}

impl TradeChannel {
    pub fn new(trade: Arc<Trade>, store: Arc<dyn Store>, settings: TradeSettings) -> Self {
        TradeChannel { trade, store, settings }
    }

    async fn with_client_token<'a, T, F, Fut>(&'a self, call: F) -> Result<T, PlatformError>
    where
        F: Fn(&'a dyn TradeApi, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, PlatformError>>,
    {
        self.trade.with_client_token(self.store.as_ref(), call).await
    }
}

impl Trade {
    /// Runs a `trade_basic` call with the client token shared through `store` (see
    /// [`TokenCache::with_token`]).
    pub async fn with_client_token<'a, T, F, Fut>(&'a self, store: &dyn Store, call: F) -> Result<T, PlatformError>
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

    fn settles(&self) -> bool {
        true
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
}
