//! A scripted Douyin for the fuzz fixture: every call succeeds at once and nothing
//! leaves the process. `code2session` refuses the code "bad", as the platform would.

use async_trait::async_trait;
use minipay::domain::order::PlatformOrder;
use minipay::domain::refund::RefundStatus;
use minipay::douyin::client::{CreateOrder, DouyinApi, LoginSession, OrderQuery};
use minipay::douyin::money::{CreateRefund, CreateSettle, EcpayMoney, MoneyQuery};
use minipay::douyin::order_center::{FreshToken, OrderCenter, OrderPush};
use minipay::error::PlatformError;
use minipay::secret::Secret;

/// The platform's `session_key`: it must never reach an answer.
pub const SESSION_KEY: &str = "fuzz-session-key-never-shown";

pub struct ScriptedDouyin;

#[async_trait]
impl DouyinApi for ScriptedDouyin {
    async fn code2session(&self, code: &str, _anonymous_code: Option<&str>) -> Result<LoginSession, PlatformError> {
        if code == "bad" {
            return Err(PlatformError::BadLoginCode {
                code: "40018".into(),
                message: "bad code".into(),
            });
        }
        Ok(LoginSession {
            openid: format!("openid-{}", code.len()),
            unionid: None,
            session_key: Secret::new(SESSION_KEY),
        })
    }

    async fn create_order(&self, order: &CreateOrder) -> Result<PlatformOrder, PlatformError> {
        Ok(PlatformOrder {
            order_id: format!("id-{}", order.out_order_no),
            order_token: "tok".into(),
        })
    }

    async fn query_order(&self, _out_order_no: &str) -> Result<Option<OrderQuery>, PlatformError> {
        Ok(None)
    }
}

#[async_trait]
impl EcpayMoney for ScriptedDouyin {
    async fn create_refund(&self, refund: &CreateRefund) -> Result<String, PlatformError> {
        Ok(format!("rf-{}", refund.out_refund_no))
    }

    async fn query_refund(&self, out_refund_no: &str) -> Result<MoneyQuery, PlatformError> {
        Ok(MoneyQuery {
            status: RefundStatus::Processing,
            platform_no: format!("rf-{out_refund_no}"),
        })
    }

    async fn settle(&self, settle: &CreateSettle) -> Result<String, PlatformError> {
        Ok(format!("st-{}", settle.out_settle_no))
    }

    async fn query_settle(&self, out_settle_no: &str) -> Result<MoneyQuery, PlatformError> {
        Ok(MoneyQuery {
            status: RefundStatus::Processing,
            platform_no: format!("st-{out_settle_no}"),
        })
    }
}

#[async_trait]
impl OrderCenter for ScriptedDouyin {
    async fn fetch_access_token(&self) -> Result<FreshToken, PlatformError> {
        Ok(FreshToken {
            token: Secret::new("fuzz-access-token"),
            expires_in: 7200,
        })
    }

    async fn push_order(&self, _push: &OrderPush, _access_token: &Secret) -> Result<(), PlatformError> {
        Ok(())
    }
}
