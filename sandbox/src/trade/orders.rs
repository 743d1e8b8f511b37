//! The trade orders the platform holds: made by `tt.requestOrder`, then paid, or
//! ended unpaid by a cancel or their expiry (douyin-trade.md §2, §5).

use crate::error::SandboxError;
use crate::random;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `pay_status` in `order_query/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradePayStatus {
    /// Unpaid (or being paid).
    Process,
    Success,
    /// The platform says FAIL "does not occur at present"; the sandbox never reports it.
    Fail,
    /// Ended unpaid: expired, or cancelled (`TIME_OUT` / `USER_CANCEL`).
    Timeout,
}

impl TradePayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TradePayStatus::Process => "PROCESS",
            TradePayStatus::Success => "SUCCESS",
            TradePayStatus::Fail => "FAIL",
            TradePayStatus::Timeout => "TIMEOUT",
        }
    }
}

/// One goods order: the platform makes one per unit of the sku's quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOrder {
    pub item_order_id: String,
    pub sku_id: String,
    /// The unit price, fen.
    pub item_order_amount: i64,
}

/// The payment, once made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePayment {
    pub pay_channel: i64,
    pub channel_pay_id: String,
    pub user_bill_pay_id: String,
    /// Unix ms; also the callback's `event_time`, so a resent callback is the same.
    pub pay_time: i64,
}

/// An unpaid order's end by cancel, as its `payment` callback reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeCancel {
    /// `USER_CANCEL` or `TIME_OUT`.
    pub message: String,
    /// Unix ms.
    pub event_time: i64,
}

/// A trade order as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeOrder {
    pub order_id: String,
    pub out_order_no: String,
    pub merchant_uid: String,
    pub total_amount: i64,
    pub sku_id: String,
    pub price: i64,
    pub quantity: i64,
    pub title: String,
    /// The sku's goods `type`.
    pub goods_type: i64,
    pub tag_group_id: String,
    pub item_orders: Vec<ItemOrder>,
    /// The `data` string exactly as signed: a repeat must be byte-identical.
    pub data: String,
    /// Where callbacks go: `payNotifyUrl`, else the console one.
    pub notify_url: Option<String>,
    /// As reported now (TIMEOUT once cancelled or expired).
    pub pay_status: TradePayStatus,
    /// Unix ms of the order's creation.
    pub trade_time: i64,
    /// Unix ms from which an unpaid order is over.
    pub expires_at: i64,
    pub payment: Option<TradePayment>,
    pub cancel: Option<TradeCancel>,
    /// Refunded by SUCCESS refunds; filled in when read.
    pub refunded_amount: i64,
    /// Being refunded by PROCESSING refunds; filled in when read.
    pub refunding_amount: i64,
}

impl TradeOrder {
    fn pay(&mut self, pay_channel: i64, now: i64) {
        self.pay_status = TradePayStatus::Success;
        self.payment = Some(TradePayment {
            pay_channel,
            channel_pay_id: random::digits(28),
            user_bill_pay_id: format!("DTPP{}", random::digits(24)),
            pay_time: now,
        });
    }

    /// The status at `now` (ms): the stored one, but an unpaid order past its expiry
    /// is TIMEOUT.
    pub fn status_at(&self, now: i64) -> TradePayStatus {
        match self.pay_status {
            TradePayStatus::Process if now >= self.expires_at => TradePayStatus::Timeout,
            stored => stored,
        }
    }
}

/// What an accepted `tt.requestOrder` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTradeOrder {
    pub out_order_no: String,
    pub merchant_uid: String,
    pub total_amount: i64,
    pub sku_id: String,
    pub price: i64,
    pub quantity: i64,
    pub title: String,
    pub goods_type: i64,
    pub tag_group_id: String,
    pub pay_expire_seconds: i64,
    pub notify_url: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct TradeOrderBook {
    /// By `out_order_no`.
    orders: HashMap<String, TradeOrder>,
}

impl TradeOrderBook {
    /// The order as stored (`pay_status` not yet brought to `now`).
    pub fn get(&self, out_order_no: &str) -> Option<&TradeOrder> {
        self.orders.get(out_order_no)
    }

    pub fn by_order_id(&self, order_id: &str) -> Option<&TradeOrder> {
        self.orders.values().find(|order| order.order_id == order_id)
    }

    /// A new unpaid order with its item orders.
    pub fn create(&mut self, new: NewTradeOrder, now: i64) -> TradeOrder {
        let item_orders = (0..new.quantity)
            .map(|_| ItemOrder {
                item_order_id: format!("ot{}", random::digits(19)),
                sku_id: new.sku_id.clone(),
                item_order_amount: new.price,
            })
            .collect();
        let order = TradeOrder {
            order_id: format!("motb{}", random::digits(23)),
            out_order_no: new.out_order_no.clone(),
            merchant_uid: new.merchant_uid,
            total_amount: new.total_amount,
            sku_id: new.sku_id,
            price: new.price,
            quantity: new.quantity,
            title: new.title,
            goods_type: new.goods_type,
            tag_group_id: new.tag_group_id,
            item_orders,
            data: new.data,
            notify_url: new.notify_url,
            pay_status: TradePayStatus::Process,
            trade_time: now,
            expires_at: now + new.pay_expire_seconds * 1000,
            payment: None,
            cancel: None,
            refunded_amount: 0,
            refunding_amount: 0,
        };
        self.orders.insert(new.out_order_no, order.clone());
        order
    }

    /// Pays an unpaid, live order; a paid one stays as it was (the callback is resent).
    /// An order that ended unpaid (cancelled or expired) is paid only `late`: the money
    /// came in after the end, as real payments sometimes do. It keeps its `cancel`,
    /// the record of how it had ended.
    pub fn pay(
        &mut self,
        out_order_no: &str,
        pay_channel: i64,
        now: i64,
        late: bool,
    ) -> Result<TradeOrder, SandboxError> {
        let order = self.live(out_order_no)?;
        match order.status_at(now) {
            TradePayStatus::Success => {}
            TradePayStatus::Process => order.pay(pay_channel, now),
            TradePayStatus::Timeout if late => order.pay(pay_channel, now),
            ended => return Err(ended_error(out_order_no, ended, order.cancel.as_ref())),
        }
        Ok(order.clone())
    }

    /// Moves the paid order's payment (and creation) `ms` into the past: tests cannot
    /// wait out the days before an order may be settled.
    pub fn age(&mut self, out_order_no: &str, ms: i64) -> Result<TradeOrder, SandboxError> {
        let order = self.live(out_order_no)?;
        let Some(payment) = order.payment.as_mut() else {
            return Err(SandboxError::Conflict(format!(
                "order {out_order_no} is not paid; only a payment ages"
            )));
        };
        payment.pay_time -= ms;
        order.trade_time -= ms;
        order.expires_at -= ms;
        Ok(order.clone())
    }

    /// Ends an unpaid order with `message`; a repeat with the same message changes
    /// nothing (the callback is resent), another message or a paid order is refused.
    pub fn cancel(&mut self, out_order_no: &str, message: &str, now: i64) -> Result<TradeOrder, SandboxError> {
        let order = self.live(out_order_no)?;
        match (&order.cancel, order.pay_status) {
            // Checked first: a cancelled order may have been paid late since.
            (_, TradePayStatus::Success) => {
                return Err(SandboxError::Conflict(format!("order {out_order_no} is paid")));
            }
            (Some(done), _) if done.message == message => {}
            (Some(done), _) => {
                return Err(SandboxError::Conflict(format!(
                    "order {out_order_no} was already cancelled with {}",
                    done.message
                )));
            }
            (None, _) => {
                order.pay_status = TradePayStatus::Timeout;
                order.cancel = Some(TradeCancel {
                    message: message.to_owned(),
                    event_time: now,
                });
            }
        }
        Ok(order.clone())
    }

    fn live(&mut self, out_order_no: &str) -> Result<&mut TradeOrder, SandboxError> {
        self.orders
            .get_mut(out_order_no)
            .ok_or_else(|| SandboxError::UnknownOrder(out_order_no.to_owned()))
    }
}

fn ended_error(out_order_no: &str, status: TradePayStatus, cancel: Option<&TradeCancel>) -> SandboxError {
    let why = cancel.map_or_else(|| "expired".to_owned(), |c| format!("cancelled ({})", c.message));
    SandboxError::Conflict(format!(
        "order {out_order_no} is {} ({why}); a payment after the end needs late",
        status.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_order(no: &str, quantity: i64) -> NewTradeOrder {
        NewTradeOrder {
            out_order_no: no.into(),
            merchant_uid: "m".into(),
            total_amount: 100 * quantity,
            sku_id: "sku".into(),
            price: 100,
            quantity,
            title: "t".into(),
            goods_type: 401,
            tag_group_id: "tag".into(),
            pay_expire_seconds: 300,
            notify_url: None,
            data: "{}".into(),
        }
    }

    #[test]
    fn one_item_order_per_unit() {
        let mut book = TradeOrderBook::default();
        let order = book.create(new_order("A", 3), 1_000);
        assert_eq!(order.item_orders.len(), 3);
        assert!(order.item_orders.iter().all(|item| item.item_order_amount == 100));
        assert_eq!(order.expires_at, 301_000);
        assert_eq!(book.by_order_id(&order.order_id).unwrap().out_order_no, "A");
    }

    #[test]
    fn paying_cancelling_and_expiry() {
        let mut book = TradeOrderBook::default();
        book.create(new_order("A", 1), 0);
        book.create(new_order("B", 1), 0);
        book.create(new_order("C", 1), 0);
        let paid = book.pay("A", 10, 5, false).unwrap();
        assert_eq!(book.pay("A", 1, 9, false).unwrap(), paid, "a repeat changes nothing");
        assert!(book.cancel("A", "USER_CANCEL", 9).is_err());

        let cancelled = book.cancel("B", "USER_CANCEL", 7).unwrap();
        assert_eq!(cancelled.status_at(7), TradePayStatus::Timeout);
        assert_eq!(book.cancel("B", "USER_CANCEL", 8).unwrap(), cancelled);
        assert!(book.cancel("B", "TIME_OUT", 8).is_err());
        assert!(
            book.pay("B", 10, 9, false)
                .unwrap_err()
                .to_string()
                .contains("cancelled (USER_CANCEL)")
        );

        assert!(
            book.pay("C", 10, 300_000, false)
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
        assert!(book.cancel("C", "TIME_OUT", 300_000).is_ok(), "expiry is then reported");
        assert!(matches!(book.pay("Z", 10, 0, true), Err(SandboxError::UnknownOrder(_))));
    }

    #[test]
    fn only_paid_orders_age() {
        let mut book = TradeOrderBook::default();
        book.create(new_order("A", 1), 1_000);
        assert!(book.age("A", 5_000).unwrap_err().to_string().contains("not paid"));
        book.pay("A", 10, 2_000, false).unwrap();
        let aged = book.age("A", 86_400_000).unwrap();
        assert_eq!(aged.payment.as_ref().unwrap().pay_time, 2_000 - 86_400_000);
        assert_eq!(
            (aged.trade_time, aged.status_at(3_000)),
            (1_000 - 86_400_000, TradePayStatus::Success)
        );
    }

    #[test]
    fn ended_orders_can_be_paid_late() {
        let mut book = TradeOrderBook::default();
        book.create(new_order("B", 1), 0);
        book.create(new_order("C", 1), 0);
        book.cancel("B", "USER_CANCEL", 7).unwrap();
        for (no, now) in [("B", 9), ("C", 300_000)] {
            let paid = book.pay(no, 10, now, true).unwrap();
            assert_eq!(paid.status_at(now + 1), TradePayStatus::Success, "{no}");
            assert_eq!(paid.payment.as_ref().unwrap().pay_time, now);
            assert_eq!(book.pay(no, 1, now + 5, false).unwrap(), paid, "then it is simply paid");
        }
        assert_eq!(book.get("B").unwrap().cancel.as_ref().unwrap().message, "USER_CANCEL");
        assert!(
            book.cancel("B", "USER_CANCEL", 20)
                .unwrap_err()
                .to_string()
                .contains("is paid")
        );
    }
}
