//! The ecpay orders the platform holds, and the state changes a payer causes.

use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Processing,
    Success,
    Fail,
    /// Never stored: an unpaid order reports it once its `valid_time` has run out.
    Timeout,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Processing => "PROCESSING",
            OrderStatus::Success => "SUCCESS",
            OrderStatus::Fail => "FAIL",
            OrderStatus::Timeout => "TIMEOUT",
        }
    }
}

/// An order as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxOrder {
    pub out_order_no: String,
    pub order_id: String,
    pub order_token: String,
    pub total_amount: i64,
    pub subject: String,
    pub body: String,
    pub valid_time: i64,
    /// As stored: the platform silently truncates it to 2048 bytes.
    pub cp_extra: String,
    /// Where payment callbacks go: the order's own `notify_url`, else the console one.
    pub notify_url: Option<String>,
    /// As reported now (TIMEOUT once an unpaid order has expired).
    pub status: OrderStatus,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    /// The platform's payment number, assigned when paid.
    pub payment_order_no: Option<String>,
}

impl SandboxOrder {
    pub fn expires_at(&self) -> i64 {
        self.created_at + self.valid_time
    }

    fn status_at(&self, now: i64) -> OrderStatus {
        match self.status {
            OrderStatus::Processing if now >= self.expires_at() => OrderStatus::Timeout,
            stored => stored,
        }
    }

    fn pay(&mut self, now: i64) {
        self.status = OrderStatus::Success;
        self.paid_at = Some(now);
        self.payment_order_no = Some(format!("PCP{}", random::digits(24)));
    }

    /// A copy with the status as reported at `now`.
    fn view_at(&self, now: i64) -> SandboxOrder {
        SandboxOrder {
            status: self.status_at(now),
            ..self.clone()
        }
    }
}

/// The parameters of an accepted `create_order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub out_order_no: String,
    pub total_amount: i64,
    pub subject: String,
    pub body: String,
    pub valid_time: i64,
    pub cp_extra: String,
    pub notify_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct OrderBook {
    orders: HashMap<String, SandboxOrder>,
    /// Numbers whose first `create_order` failed: the platform keeps failing them
    /// ("use a new number", douyin.md §3), so a client retrying a fixed request with
    /// the same number learns it here rather than in production.
    failed_numbers: HashSet<String>,
}

impl OrderBook {
    pub fn get(&self, out_order_no: &str, now: i64) -> Option<SandboxOrder> {
        self.orders.get(out_order_no).map(|order| order.view_at(now))
    }

    pub fn first_call_failed(&self, out_order_no: &str) -> bool {
        self.failed_numbers.contains(out_order_no)
    }

    /// Records a refused first `create_order` for this number.
    pub fn remember_failure(&mut self, out_order_no: &str) {
        if !self.orders.contains_key(out_order_no) {
            self.failed_numbers.insert(out_order_no.to_owned());
        }
    }

    /// Creates the order, or returns the existing one unchanged: the platform is
    /// idempotent on `out_order_no` and ignores changed parameters on repeats.
    pub fn create(&mut self, new: NewOrder, now: i64) -> SandboxOrder {
        let order = self
            .orders
            .entry(new.out_order_no.clone())
            .or_insert_with(|| SandboxOrder {
                // Real order ids are 19-digit numbers starting with 7.
                order_id: format!("7{}", random::digits(18)),
                order_token: random::alphanumeric(64),
                out_order_no: new.out_order_no,
                total_amount: new.total_amount,
                subject: new.subject,
                body: new.body,
                valid_time: new.valid_time,
                cp_extra: new.cp_extra,
                notify_url: new.notify_url,
                status: OrderStatus::Processing,
                created_at: now,
                paid_at: None,
                payment_order_no: None,
            });
        order.view_at(now)
    }

    fn existing(&mut self, out_order_no: &str) -> Result<&mut SandboxOrder, SandboxError> {
        self.orders
            .get_mut(out_order_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_order_no.to_owned()))
    }

    /// The payer paid. Paying a paid order changes nothing (the callback is merely
    /// sent again); a failed or expired order can be paid only `late`: the money came
    /// in after the order had ended, as real payments sometimes do.
    pub fn mark_paid(&mut self, out_order_no: &str, now: i64, late: bool) -> Result<SandboxOrder, SandboxError> {
        let order = self.existing(out_order_no)?;
        match order.status_at(now) {
            OrderStatus::Success => {}
            OrderStatus::Processing => order.pay(now),
            OrderStatus::Fail | OrderStatus::Timeout if late => order.pay(now),
            ended => {
                return Err(conflict(
                    out_order_no,
                    "paid (a payment after the end needs late)",
                    ended,
                ));
            }
        }
        Ok(order.view_at(now))
    }

    /// The payment failed (no callback follows, as on the platform).
    pub fn mark_failed(&mut self, out_order_no: &str, now: i64) -> Result<SandboxOrder, SandboxError> {
        let order = self.existing(out_order_no)?;
        match order.status_at(now) {
            OrderStatus::Processing => order.status = OrderStatus::Fail,
            OrderStatus::Fail => {}
            blocked => return Err(conflict(out_order_no, "failed", blocked)),
        }
        Ok(order.view_at(now))
    }

    /// Moves the paid order's payment (and creation) `secs` into the past: tests cannot
    /// wait out the days before an order may be settled. A resent callback then
    /// reports the earlier `paid_at`, as the platform would.
    pub fn age(&mut self, out_order_no: &str, secs: i64, now: i64) -> Result<SandboxOrder, SandboxError> {
        let order = self.existing(out_order_no)?;
        match (order.status_at(now), order.paid_at) {
            (OrderStatus::Success, Some(paid_at)) => {
                order.paid_at = Some(paid_at - secs);
                order.created_at -= secs;
            }
            (status, _) => return Err(conflict(out_order_no, "aged (only a payment ages)", status)),
        }
        Ok(order.view_at(now))
    }

    /// Moves the creation time back so that the unpaid order has timed out now: tests
    /// cannot wait out the minimum `valid_time` of five minutes.
    pub fn expire(&mut self, out_order_no: &str, now: i64) -> Result<SandboxOrder, SandboxError> {
        let order = self.existing(out_order_no)?;
        match order.status_at(now) {
            OrderStatus::Processing => order.created_at = now - order.valid_time,
            OrderStatus::Timeout => {}
            blocked => return Err(conflict(out_order_no, "expired", blocked)),
        }
        Ok(order.view_at(now))
    }
}

fn conflict(out_order_no: &str, wanted: &str, status: OrderStatus) -> SandboxError {
    SandboxError::Conflict(format!(
        "order {out_order_no} is {} and cannot be {wanted}",
        status.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_order(no: &str, amount: i64) -> NewOrder {
        NewOrder {
            out_order_no: no.into(),
            total_amount: amount,
            subject: "s".into(),
            body: "b".into(),
            valid_time: 300,
            cp_extra: String::new(),
            notify_url: None,
        }
    }

    #[test]
    fn create_is_idempotent_and_ignores_changes() {
        let mut book = OrderBook::default();
        let first = book.create(new_order("A1", 100), 1000);
        assert_eq!(first.order_id.len(), 19);
        let again = book.create(new_order("A1", 999), 1001);
        assert_eq!(
            (again.order_id, again.order_token, again.total_amount),
            (first.order_id, first.order_token, 100)
        );
    }

    #[test]
    fn unpaid_orders_time_out_and_cannot_be_paid() {
        let mut book = OrderBook::default();
        book.create(new_order("A1", 100), 1000);
        assert_eq!(book.get("A1", 1299).unwrap().status, OrderStatus::Processing);
        assert_eq!(book.get("A1", 1300).unwrap().status, OrderStatus::Timeout);
        assert!(matches!(
            book.mark_paid("A1", 1300, false),
            Err(SandboxError::Conflict(_))
        ));
    }

    #[test]
    fn paid_orders_stay_paid() {
        let mut book = OrderBook::default();
        book.create(new_order("A1", 100), 1000);
        let paid = book.mark_paid("A1", 1010, false).unwrap();
        assert_eq!((paid.status, paid.paid_at), (OrderStatus::Success, Some(1010)));
        let again = book.mark_paid("A1", 1020, false).unwrap();
        assert_eq!(again, paid);
        // Still SUCCESS long after valid_time.
        assert_eq!(book.get("A1", 99_999).unwrap().status, OrderStatus::Success);
        assert!(book.mark_failed("A1", 1030).is_err());
        assert!(matches!(
            book.mark_paid("nope", 1, true),
            Err(SandboxError::UnknownOrder(_))
        ));
    }

    #[test]
    fn failed_orders_cannot_be_paid() {
        let mut book = OrderBook::default();
        book.create(new_order("A1", 100), 1000);
        assert_eq!(book.mark_failed("A1", 1001).unwrap().status, OrderStatus::Fail);
        assert!(book.mark_paid("A1", 1002, false).is_err());
        assert_eq!(book.get("A1", 99_999).unwrap().status, OrderStatus::Fail);
    }

    #[test]
    fn expire_times_the_order_out_now() {
        let mut book = OrderBook::default();
        book.create(new_order("A1", 100), 1000);
        assert_eq!(book.expire("A1", 1005).unwrap().status, OrderStatus::Timeout);
        assert!(book.mark_paid("A1", 1005, false).is_err());
    }

    #[test]
    fn only_paid_orders_age() {
        let mut book = OrderBook::default();
        book.create(new_order("A1", 100), 1000);
        assert!(
            book.age("A1", 86_400, 1001)
                .unwrap_err()
                .to_string()
                .contains("PROCESSING")
        );
        book.mark_paid("A1", 1010, false).unwrap();
        let aged = book.age("A1", 86_400, 1020).unwrap();
        assert_eq!((aged.paid_at, aged.created_at), (Some(1010 - 86_400), 1000 - 86_400));
        assert_eq!(aged.status, OrderStatus::Success);
        assert!(matches!(book.age("nope", 1, 1), Err(SandboxError::UnknownOrder(_))));
    }

    #[test]
    fn ended_orders_can_be_paid_late() {
        let mut book = OrderBook::default();
        book.create(new_order("T", 100), 1000);
        book.create(new_order("F", 100), 1000);
        book.mark_failed("F", 1001).unwrap();
        let refused = book.mark_paid("T", 1300, false).unwrap_err().to_string();
        assert_eq!(
            refused,
            "order T is TIMEOUT and cannot be paid (a payment after the end needs late)"
        );
        for no in ["T", "F"] {
            let paid = book.mark_paid(no, 1400, true).unwrap();
            assert_eq!((paid.status, paid.paid_at), (OrderStatus::Success, Some(1400)), "{no}");
            assert!(paid.payment_order_no.is_some());
            assert_eq!(book.get(no, 99_999).unwrap().status, OrderStatus::Success);
        }
    }
}
