//! A scripted trade-system double for unit tests of the services.

use super::client::{ItemOrder, TradeApi, TradeOrderQuery, TradeRefundRequest, TradeSettleRequest};
use crate::douyin::money::MoneyQuery;
use crate::douyin::order_center::FreshToken;
use crate::error::PlatformError;
use crate::secret::Secret;
use async_trait::async_trait;
use std::sync::Mutex;

#[derive(Default)]
pub struct FakeTrade {
    pub tokens_issued: Mutex<usize>,
    /// Tokens the fake refuses (as the platform does after a newer one or expiry).
    pub refused_tokens: Mutex<Vec<String>>,
    /// `None`: the platform does not know the order.
    pub order_answer: Mutex<Option<Result<TradeOrderQuery, PlatformError>>>,
    pub refunds: Mutex<Vec<TradeRefundRequest>>,
    pub settles: Mutex<Vec<TradeSettleRequest>>,
    pub refund_answer: Mutex<Option<MoneyQuery>>,
}

impl FakeTrade {
    fn check(&self, token: &Secret) -> Result<(), PlatformError> {
        if self.refused_tokens.lock().unwrap().iter().any(|t| t == token.expose()) {
            return Err(PlatformError::rejected(28001003, "access-token is invalid"));
        }
        Ok(())
    }

    pub fn paid(order_id: &str, amount: i64, items: &[i64]) -> TradeOrderQuery {
        TradeOrderQuery {
            order_id: order_id.into(),
            pay_status: "SUCCESS".into(),
            total_amount: amount,
            pay_time: Some(1_732_240_000_000),
            pay_channel: "10".into(),
            items: items
                .iter()
                .enumerate()
                .map(|(i, amount)| ItemOrder {
                    item_order_id: format!("{order_id}-item{i}"),
                    amount: *amount,
                })
                .collect(),
        }
    }
}

#[async_trait]
impl TradeApi for FakeTrade {
    async fn fetch_client_token(&self) -> Result<FreshToken, PlatformError> {
        let mut issued = self.tokens_issued.lock().unwrap();
        *issued += 1;
        Ok(FreshToken {
            token: Secret::new(format!("clt.{issued}")),
            expires_in: 7200,
        })
    }

    async fn query_order(&self, token: &Secret, _out_order_no: &str) -> Result<Option<TradeOrderQuery>, PlatformError> {
        self.check(token)?;
        self.order_answer.lock().unwrap().clone().transpose()
    }

    async fn create_refund(&self, token: &Secret, refund: &TradeRefundRequest) -> Result<String, PlatformError> {
        self.check(token)?;
        self.refunds.lock().unwrap().push(refund.clone());
        Ok(format!("rid-{}", refund.out_refund_no))
    }

    async fn query_refund(&self, token: &Secret, _no: &str) -> Result<Option<MoneyQuery>, PlatformError> {
        self.check(token)?;
        Ok(self.refund_answer.lock().unwrap().clone())
    }

    async fn create_settle(&self, token: &Secret, settle: &TradeSettleRequest) -> Result<String, PlatformError> {
        self.check(token)?;
        self.settles.lock().unwrap().push(settle.clone());
        Ok(format!("sid-{}", settle.out_settle_no))
    }

    async fn query_settle(&self, token: &Secret, _no: &str) -> Result<Option<MoneyQuery>, PlatformError> {
        self.check(token)?;
        Ok(None)
    }
}
