//! The WeChat Pay orders the platform holds, and the state changes a payer (or the
//! merchant closing the order) causes.

use super::Fields;
use super::sign::SignType;
use super::trade_state::TradeState;
use crate::clock::beijing_compact;
use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The API an order was placed with: its notifies come in that API's format. One
/// merchant has one order-number space, so both APIs see every order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayApi {
    /// XML, MD5 or HMAC-SHA256 with the APIv2 key (wechat.md).
    #[default]
    #[serde(rename = "v2")]
    V2,
    /// JSON, RSA signatures, AES-GCM resources (wechat-v3-reconcile.md A).
    #[serde(rename = "v3")]
    V3,
}

/// An order as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatOrder {
    pub out_trade_no: String,
    /// The API that placed it.
    #[serde(default)]
    pub api: PayApi,
    pub prepay_id: String,
    /// The `unifiedorder` parameters without `nonce_str` and `sign`: a repeat must
    /// send exactly these again.
    pub params: Fields,
    pub total_fee: i64,
    pub body: String,
    /// Echoed in queries and the payment notify.
    pub attach: Option<String>,
    /// The payer (required for JSAPI).
    pub openid: Option<String>,
    /// JSAPI, NATIVE, APP or MWEB.
    pub trade_type: String,
    /// Where payment notifies go.
    pub notify_url: String,
    /// "MD5" or "HMAC-SHA256": the order's answers and notifies are signed with it.
    pub sign_type: String,
    /// After this (unix seconds) the order can no longer be paid.
    pub time_expire: Option<i64>,
    pub trade_state: TradeState,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    /// WeChat's payment number (28 digits), assigned when paid.
    pub transaction_id: Option<String>,
}

impl WechatOrder {
    pub fn sign_type(&self) -> SignType {
        self.sign_type.parse().unwrap_or(SignType::Md5)
    }
}

/// The parameters of an accepted `unifiedorder` (or v3 prepay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub out_trade_no: String,
    pub api: PayApi,
    pub params: Fields,
    pub total_fee: i64,
    pub body: String,
    pub attach: Option<String>,
    pub openid: Option<String>,
    pub trade_type: String,
    pub notify_url: String,
    pub sign_type: SignType,
    /// When the merchant says the order was made (unix seconds), if it says.
    pub time_start: Option<i64>,
    pub time_expire: Option<i64>,
}

#[derive(Debug, Default)]
pub struct OrderBook {
    orders: HashMap<String, WechatOrder>,
}

impl OrderBook {
    pub fn get(&self, out_trade_no: &str) -> Option<WechatOrder> {
        self.orders.get(out_trade_no).cloned()
    }

    pub fn by_transaction_id(&self, transaction_id: &str) -> Option<WechatOrder> {
        self.orders
            .values()
            .find(|order| order.transaction_id.as_deref() == Some(transaction_id))
            .cloned()
    }

    /// Stores a new order (NOTPAY); the caller has checked that the number is free.
    pub fn create(&mut self, new: NewOrder, now: i64) -> WechatOrder {
        let order = WechatOrder {
            // "wx" + Beijing time + random, 36 characters like WeChat's.
            prepay_id: format!("wx{}{}", beijing_compact(now), random::alphanumeric(20).to_lowercase()),
            out_trade_no: new.out_trade_no,
            api: new.api,
            params: new.params,
            total_fee: new.total_fee,
            body: new.body,
            attach: new.attach,
            openid: new.openid,
            trade_type: new.trade_type,
            notify_url: new.notify_url,
            sign_type: new.sign_type.as_str().to_owned(),
            time_expire: new.time_expire,
            trade_state: TradeState::NotPay,
            created_at: now,
            paid_at: None,
            transaction_id: None,
        };
        self.orders.insert(order.out_trade_no.clone(), order.clone());
        order
    }

    fn existing(&mut self, out_trade_no: &str) -> Result<&mut WechatOrder, SandboxError> {
        self.orders
            .get_mut(out_trade_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_trade_no.to_owned()))
    }

    /// Moves an order from one of `from` to `to`; an order already in `to` stays as it
    /// is. `wanted` names the change for the refusal.
    fn change(
        &mut self,
        out_trade_no: &str,
        from: &[TradeState],
        to: TradeState,
        wanted: &str,
    ) -> Result<&mut WechatOrder, SandboxError> {
        let order = self.existing(out_trade_no)?;
        if order.trade_state != to && !from.contains(&order.trade_state) {
            return Err(SandboxError::Conflict(format!(
                "order {out_trade_no} is {} and cannot be {wanted}",
                order.trade_state
            )));
        }
        order.trade_state = to;
        Ok(order)
    }

    /// The payer paid. Paying a paid (or refunded) order changes nothing: the notify
    /// is merely sent again. Closed, failed and expired orders can be paid only `late`:
    /// the money came in after the order had ended, as WeChat payments sometimes do
    /// (after `time_expire`, or racing a close).
    pub fn mark_paid(&mut self, out_trade_no: &str, now: i64, late: bool) -> Result<WechatOrder, SandboxError> {
        let order = self.existing(out_trade_no)?;
        if order.trade_state.is_paid() {
            return Ok(order.clone());
        }
        let expired = order.trade_state.is_open() && order.time_expire.is_some_and(|deadline| now > deadline);
        if expired && !late {
            return Err(SandboxError::Conflict(format!(
                "order {out_trade_no} expired at its time_expire and cannot be paid (a payment after the end needs late)"
            )));
        }
        let payable: &[TradeState] = if late {
            &[
                TradeState::NotPay,
                TradeState::UserPaying,
                TradeState::Closed,
                TradeState::PayError,
            ]
        } else {
            &[TradeState::NotPay, TradeState::UserPaying]
        };
        let order = self.change(out_trade_no, payable, TradeState::Success, "paid unless late")?;
        order.paid_at = Some(now);
        order.transaction_id = Some(format!("4200{}{}", &beijing_compact(now)[..8], random::digits(16)));
        Ok(order.clone())
    }

    /// The payment failed (no notify follows).
    pub fn mark_failed(&mut self, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
        let from = [TradeState::NotPay, TradeState::UserPaying];
        self.change(out_trade_no, &from, TradeState::PayError, "failed")
            .map(|order| order.clone())
    }

    /// The payer is entering the password (USERPAYING), so queries see it in flight.
    pub fn mark_user_paying(&mut self, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
        self.change(
            out_trade_no,
            &[TradeState::NotPay],
            TradeState::UserPaying,
            "user paying",
        )
        .map(|order| order.clone())
    }

    /// The order is closed: it can no longer be paid.
    pub fn close(&mut self, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
        let from = [TradeState::NotPay, TradeState::UserPaying, TradeState::PayError];
        self.change(out_trade_no, &from, TradeState::Closed, "closed")
            .map(|order| order.clone())
    }

    /// A refund was accepted: the paid order reports REFUND from now on.
    pub fn mark_refunded(&mut self, out_trade_no: &str) -> Result<WechatOrder, SandboxError> {
        self.change(out_trade_no, &[TradeState::Success], TradeState::Refund, "refunded")
            .map(|order| order.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_order(no: &str) -> NewOrder {
        NewOrder {
            out_trade_no: no.into(),
            api: PayApi::V2,
            params: Fields::new(),
            total_fee: 100,
            body: "b".into(),
            attach: None,
            openid: None,
            trade_type: "JSAPI".into(),
            notify_url: "http://n".into(),
            sign_type: SignType::Md5,
            time_start: None,
            time_expire: Some(2000),
        }
    }

    #[test]
    fn created_orders_are_unpaid_with_a_prepay_id() {
        let mut book = OrderBook::default();
        let order = book.create(new_order("A1"), 1_722_769_986);
        assert_eq!(order.trade_state, TradeState::NotPay);
        assert!(order.prepay_id.starts_with("wx20240804191306"));
        assert_eq!(order.prepay_id.len(), 36);
        assert_eq!(book.get("A1"), Some(order));
    }

    #[test]
    fn paying_assigns_a_transaction_once() {
        let mut book = OrderBook::default();
        book.create(new_order("A1"), 1000);
        let paid = book.mark_paid("A1", 1010, false).unwrap();
        let transaction_id = paid.transaction_id.clone().unwrap();
        assert_eq!(transaction_id.len(), 28);
        assert!(transaction_id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(book.mark_paid("A1", 1020, false).unwrap(), paid);
        assert_eq!(book.by_transaction_id(&transaction_id), Some(paid));
        assert!(book.mark_failed("A1").is_err() && book.close("A1").is_err());
        assert_eq!(book.mark_refunded("A1").unwrap().trade_state, TradeState::Refund);
        assert!(book.mark_paid("A1", 1030, false).is_ok());
    }

    #[test]
    fn final_states_block_payment() {
        let mut book = OrderBook::default();
        book.create(new_order("A1"), 1000);
        assert_eq!(book.mark_user_paying("A1").unwrap().trade_state, TradeState::UserPaying);
        assert_eq!(book.mark_failed("A1").unwrap().trade_state, TradeState::PayError);
        assert!(book.mark_paid("A1", 1001, false).is_err());
        assert_eq!(book.close("A1").unwrap().trade_state, TradeState::Closed);
        assert_eq!(book.close("A1").unwrap().trade_state, TradeState::Closed);
        assert!(matches!(
            book.mark_paid("A9", 1, true),
            Err(SandboxError::UnknownOrder(_))
        ));
    }

    #[test]
    fn expired_orders_cannot_be_paid() {
        let mut book = OrderBook::default();
        book.create(new_order("A1"), 1000);
        assert!(matches!(
            book.mark_paid("A1", 2001, false),
            Err(SandboxError::Conflict(_))
        ));
        assert!(book.mark_paid("A1", 2000, false).is_ok());
    }

    #[test]
    fn ended_orders_can_be_paid_late() {
        let mut book = OrderBook::default();
        for no in ["C", "F", "E"] {
            book.create(new_order(no), 1000);
        }
        book.close("C").unwrap();
        book.mark_failed("F").unwrap();
        let refused = book.mark_paid("C", 1001, false).unwrap_err().to_string();
        assert_eq!(refused, "order C is CLOSED and cannot be paid unless late");
        for (no, now) in [("C", 1001), ("F", 1001), ("E", 2001)] {
            let paid = book.mark_paid(no, now, true).unwrap();
            assert_eq!(
                (paid.trade_state, paid.paid_at),
                (TradeState::Success, Some(now)),
                "{no}"
            );
            assert!(paid.transaction_id.is_some());
        }
    }
}
