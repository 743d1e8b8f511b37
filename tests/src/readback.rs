//! What a platform callback changed, read back. A test that drives a callback checks that
//! every delivery was acknowledged ([`assert_acknowledged`]) and then the state the
//! callback was to change, as the back office reads it (`GET /admin/orders/{no}`: the
//! order with its refunds and settlements, [`OrderView`]) and, for the money held
//! reserved, in the table (`crate::money::reserved`).

use crate::ADMIN_KEY;
use crate::client::ApiClient;
use sandbox::Delivery;
use serde_json::Value;

/// Every delivery of a callback was answered 200, and there was at least one.
pub fn assert_acknowledged(deliveries: &[Delivery]) {
    assert!(!deliveries.is_empty(), "no callback was delivered");
    for delivery in deliveries {
        assert_eq!(delivery.status, 200, "a delivery was refused: {}", delivery.body);
    }
}

/// An order with its refunds and settlements, as `GET /admin/orders/{no}` answers.
#[derive(Debug)]
pub struct OrderView {
    pub body: Value,
}

impl OrderView {
    pub async fn read(api: &ApiClient, out_order_no: &str) -> OrderView {
        let answer = api.get(&format!("/admin/orders/{out_order_no}"), Some(ADMIN_KEY)).await;
        assert_eq!(answer.status, 200, "GET /admin/orders/{out_order_no}: {}", answer.text);
        OrderView { body: answer.body }
    }

    pub fn status(&self) -> &str {
        self.body["order"]["status"].as_str().expect("order status")
    }

    pub fn total_amount(&self) -> i64 {
        self.body["order"]["total_amount"].as_i64().expect("total_amount")
    }

    pub fn refunded_amount(&self) -> i64 {
        self.body["order"]["refunded_amount"].as_i64().expect("refunded_amount")
    }

    /// Paid after it had ended unpaid.
    pub fn late(&self) -> bool {
        self.body["order"]["late"].as_bool().expect("late")
    }

    /// Status and amount of the refund `out_refund_no` of this order, if it has one.
    pub fn refund(&self, out_refund_no: &str) -> Option<(&str, i64)> {
        let refund = self.child("refunds", "out_refund_no", out_refund_no)?;
        Some((
            refund["status"].as_str().expect("refund status"),
            refund["refund_amount"].as_i64().expect("refund_amount"),
        ))
    }

    /// Status of the settlement `out_settle_no` of this order, if it has one.
    pub fn settlement(&self, out_settle_no: &str) -> Option<&str> {
        let settlement = self.child("settlements", "out_settle_no", out_settle_no)?;
        Some(settlement["status"].as_str().expect("settlement status"))
    }

    fn child(&self, list: &str, key: &str, value: &str) -> Option<&Value> {
        self.body[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list} in {}", self.body))
            .iter()
            .find(|child| child[key] == value)
    }
}
