//! A scripted Douyin double for unit tests of the services.

use super::client::{CreateOrder, DouyinApi, LoginSession, OrderQuery};
use crate::domain::order::PlatformOrder;
use crate::error::PlatformError;
use crate::secret::Secret;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct FakeDouyin {
    pub created: Mutex<HashMap<String, CreateOrder>>,
    pub create_calls: Mutex<usize>,
    pub create_failures: Mutex<Vec<PlatformError>>,
    pub query_answer: Mutex<Option<Result<Option<OrderQuery>, PlatformError>>>,
}

#[async_trait]
impl DouyinApi for FakeDouyin {
    async fn code2session(&self, code: &str, _anonymous: Option<&str>) -> Result<LoginSession, PlatformError> {
        if code == "bad" {
            return Err(PlatformError::BadLoginCode {
                code: "40018".into(),
                message: "bad code".into(),
            });
        }
        Ok(LoginSession {
            openid: format!("openid-{code}"),
            unionid: None,
            session_key: Secret::new("fake-session-key"),
        })
    }

    async fn create_order(&self, order: &CreateOrder) -> Result<PlatformOrder, PlatformError> {
        *self.create_calls.lock().unwrap() += 1;
        if let Some(err) = self.create_failures.lock().unwrap().pop() {
            return Err(err);
        }
        self.created
            .lock()
            .unwrap()
            .entry(order.out_order_no.clone())
            .or_insert_with(|| order.clone());
        Ok(PlatformOrder {
            order_id: format!("id-{}", order.out_order_no),
            order_token: "tok".into(),
        })
    }

    async fn query_order(&self, _out_order_no: &str) -> Result<Option<OrderQuery>, PlatformError> {
        self.query_answer.lock().unwrap().clone().unwrap_or(Ok(None))
    }
}

#[async_trait]
impl super::EcpayMoney for FakeDouyin {
    async fn create_refund(&self, refund: &super::money::CreateRefund) -> Result<String, PlatformError> {
        Ok(format!("rf-{}", refund.out_refund_no))
    }
    async fn query_refund(&self, _no: &str) -> Result<super::money::MoneyQuery, PlatformError> {
        Err(PlatformError::Unavailable("not scripted".into()))
    }
    async fn settle(&self, settle: &super::money::CreateSettle) -> Result<String, PlatformError> {
        Ok(format!("st-{}", settle.out_settle_no))
    }
    async fn query_settle(&self, _no: &str) -> Result<super::money::MoneyQuery, PlatformError> {
        Err(PlatformError::Unavailable("not scripted".into()))
    }
}

#[async_trait]
impl super::OrderCenter for FakeDouyin {
    async fn fetch_access_token(&self) -> Result<super::order_center::FreshToken, PlatformError> {
        Ok(super::order_center::FreshToken {
            token: Secret::new("fake-access-token"),
            expires_in: 7200,
        })
    }
    async fn push_order(&self, _push: &super::order_center::OrderPush, _token: &Secret) -> Result<(), PlatformError> {
        Ok(())
    }
}
