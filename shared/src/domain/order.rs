//! Orders: statuses, the transitions allowed between them, and what the mini-program
//! and the order center are told about each.

use super::channel::ChannelId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Douyin,
    Wechat,
}

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::Douyin, Platform::Wechat];

    /// The platform's name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Douyin => "Douyin",
            Platform::Wechat => "WeChat",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Douyin => "douyin",
            Platform::Wechat => "wechat",
        }
    }
}

impl FromStr for Platform {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "douyin" => Ok(Platform::Douyin),
            "wechat" => Ok(Platform::Wechat),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderStatus {
    Pending,
    Paid,
    Refunded,
    Failed,
    Timeout,
    Closed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Refunded,
        OrderStatus::Failed,
        OrderStatus::Timeout,
        OrderStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Refunded => "REFUNDED",
            OrderStatus::Failed => "FAILED",
            OrderStatus::Timeout => "TIMEOUT",
            OrderStatus::Closed => "CLOSED",
        }
    }

    /// The code tt.pay's `getOrderStatus` resolves with.
    pub fn get_order_status_code(self) -> u8 {
        match self {
            OrderStatus::Paid | OrderStatus::Refunded => 0,
            OrderStatus::Timeout => 1,
            OrderStatus::Failed => 2,
            OrderStatus::Closed => 3,
            OrderStatus::Pending => 9,
        }
    }

    /// Statuses from which a verified payment moves an order to PAID. A platform that
    /// took the money outranks an earlier guess that the payment failed or expired:
    /// losing a paid order costs more than correcting a status.
    pub fn payable_from() -> [OrderStatus; 4] {
        [
            OrderStatus::Pending,
            OrderStatus::Failed,
            OrderStatus::Timeout,
            OrderStatus::Closed,
        ]
    }

    /// Whether the platform still has to tell us how the payment ended.
    pub fn awaits_platform(self) -> bool {
        self == OrderStatus::Pending
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or(())
    }
}

/// How a PENDING order ended, as reported by a payment query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Still being paid, or no answer yet.
    Pending,
    Paid(Payment),
    Failed,
    Timeout,
    Closed,
    /// Unpaid past its deadline, but the platform would still take a payment until the
    /// order is closed there (WeChat): close it first, then it is CLOSED.
    Expired,
}

/// A successful payment as the platform reported it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payment {
    pub amount: i64,
    pub paid_at: i64,
    /// The platform's trade or payment number.
    pub trade_no: String,
    /// How the user paid (platform's code: 1 WeChat, 2 Alipay, 10 Douyin Pay ...).
    pub channel: String,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub out_order_no: String,
    pub platform: Platform,
    /// The way of paying it was made with; every later call about it goes there.
    pub channel: ChannelId,
    pub openid: String,
    pub sku: String,
    pub quantity: u32,
    pub total_amount: i64,
    pub subject: String,
    pub body: String,
    pub status: OrderStatus,
    pub created_at: i64,
    /// Last moment the platform accepts payment for it.
    pub pay_deadline: i64,
    /// The platform's order id and the token the client pays with, once the platform
    /// accepted the order.
    pub platform_order: Option<PlatformOrder>,
    pub payment: Option<Payment>,
    /// Refunds that succeeded.
    pub refunded_amount: i64,
    /// Refunds asked for and not yet finished.
    pub refunding_amount: i64,
    /// The latest settlement's status, once one was asked for (Douyin takes up to 50 per
    /// order).
    pub settle_status: Option<super::refund::SettleStatus>,
    /// A settlement of this order succeeded: its money left the guaranteed balance, whatever
    /// later settlements do.
    pub settle_succeeded: bool,
    pub updated_at: i64,
    /// Trade-system orders: the `data` string given to tt.requestOrder, kept because a
    /// reused order must be requested with the same bytes. `None` for ecpay and WeChat.
    pub trade_data: Option<String>,
    /// Paid after we had recorded it TIMEOUT, FAILED or CLOSED: the money was taken, and
    /// the merchant decides whether to deliver or refund.
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformOrder {
    pub order_id: String,
    pub order_token: String,
}

impl Order {
    /// Whether the same user asking for the same thing again should get this order back
    /// rather than a new one: still unpaid, and with enough time left to pay.
    /// What can still be refunded: the paid amount less refunds done and in flight.
    pub fn refundable(&self) -> i64 {
        match self.status {
            OrderStatus::Paid | OrderStatus::Refunded => {
                (self.total_amount - self.refunded_amount - self.refunding_amount).max(0)
            }
            _ => 0,
        }
    }

    /// Whether a refund must come from the settled balance (`all_settle`).
    pub fn settled(&self) -> bool {
        self.settle_succeeded || matches!(self.settle_status, Some(s) if s != super::refund::SettleStatus::Fail)
    }

    /// How the payment stands while the platform has never accepted the order (it gave
    /// no pay token or prepay id, so nobody can have paid it); `None` once it has.
    pub fn unplaced_outcome(&self, expired: bool) -> Option<PaymentOutcome> {
        self.platform_order.is_none().then_some(if expired {
            PaymentOutcome::Timeout
        } else {
            PaymentOutcome::Pending
        })
    }

    pub fn reusable_at(&self, now: i64) -> bool {
        self.status == OrderStatus::Pending && now + self.reuse_margin() < self.pay_deadline
    }

    /// A WeChat Pay v2 order that WeChat has not accepted yet is placed again when reused,
    /// and v2 refuses a `time_expire` less than five minutes after the request.
    fn reuse_margin(&self) -> i64 {
        if self.channel == ChannelId::WechatV2 && self.platform_order.is_none() {
            WECHAT_MIN_PAY_WINDOW_SECS
        } else {
            REUSE_MARGIN_SECS
        }
    }
}

/// Time a reused order must still have, so that the user can finish paying.
pub const REUSE_MARGIN_SECS: i64 = 60;

/// The shortest `time_expire` WeChat accepts, counted from the `unifiedorder` request:
/// "time_expire时间过短，刷卡至少1分钟，其他5分钟" (wechat.md §4).
pub const WECHAT_MIN_PAY_WINDOW_SECS: i64 = 300;

/// Ecpay accepts `valid_time` in [300, 172800] seconds.
pub fn ecpay_valid_time(configured: i64) -> i64 {
    configured.clamp(300, 172_800)
}

/// Ecpay's ceiling on `total_amount`, in fen.
pub const MAX_TOTAL_AMOUNT: i64 = 10_000_000_000;

/// Price times quantity, or `None` when it leaves the platform's range.
pub fn total_amount(price: i64, quantity: u32) -> Option<i64> {
    let total = price.checked_mul(i64::from(quantity))?;
    (1..=MAX_TOTAL_AMOUNT).contains(&total).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wechat_order_not_yet_placed_is_reused_only_with_five_minutes_left() {
        let now = 1_000_000;
        let mut order = Order {
            openid: "u1".into(),
            sku: "course".into(),
            subject: "s".into(),
            body: "b".into(),
            created_at: now - 600,
            pay_deadline: now + WECHAT_MIN_PAY_WINDOW_SECS,
            updated_at: now - 600,
            ..crate::testing::fixtures::order("o1", Platform::Wechat, ChannelId::WechatV2, OrderStatus::Pending)
        };
        for (platform, channel) in [
            (Platform::Douyin, ChannelId::DouyinEcpay),
            (Platform::Wechat, ChannelId::WechatV2),
        ] {
            (order.platform, order.channel) = (platform, channel);
            order.platform_order = Some(PlatformOrder {
                order_id: "p".into(),
                order_token: "t".into(),
            });
            assert!(order.reusable_at(now), "{channel:?} placed");
            order.platform_order = None;
            assert_eq!(
                order.reusable_at(now),
                channel != ChannelId::WechatV2,
                "{channel:?} not placed"
            );
            assert!(order.reusable_at(now - 1), "{channel:?} not placed, a second earlier");
        }
    }

    #[test]
    fn an_order_the_platform_never_accepted_ends_unpaid_only_past_its_deadline() {
        let mut order = Order {
            openid: "u1".into(),
            sku: "course".into(),
            subject: "s".into(),
            body: "b".into(),
            created_at: 0,
            pay_deadline: 900,
            updated_at: 0,
            ..crate::testing::fixtures::order("o1", Platform::Wechat, ChannelId::WechatV3, OrderStatus::Pending)
        };
        assert_eq!(order.unplaced_outcome(false), Some(PaymentOutcome::Pending));
        assert_eq!(order.unplaced_outcome(true), Some(PaymentOutcome::Timeout));
        order.platform_order = Some(PlatformOrder {
            order_id: "p".into(),
            order_token: "t".into(),
        });
        assert_eq!(order.unplaced_outcome(true), None, "a placed order is asked about");
    }

    #[test]
    fn platforms_are_named_as_people_write_them() {
        assert_eq!(Platform::Douyin.name(), "Douyin");
        assert_eq!(Platform::Wechat.name(), "WeChat");
    }

    #[test]
    fn get_order_status_codes_follow_tt_pay() {
        let codes: Vec<_> = OrderStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.get_order_status_code()))
            .collect();
        assert_eq!(
            codes,
            [
                ("PENDING", 9),
                ("PAID", 0),
                ("REFUNDED", 0),
                ("FAILED", 2),
                ("TIMEOUT", 1),
                ("CLOSED", 3)
            ]
        );
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
        }
        assert!("paid".parse::<OrderStatus>().is_err());
    }

    #[test]
    fn a_paid_or_refunded_order_is_never_paid_again() {
        let from = OrderStatus::payable_from();
        assert!(!from.contains(&OrderStatus::Paid));
        assert!(!from.contains(&OrderStatus::Refunded));
    }

    #[test]
    fn amounts_stay_in_range() {
        assert_eq!(total_amount(100, 3), Some(300));
        assert_eq!(total_amount(1, 1), Some(1));
        assert_eq!(total_amount(MAX_TOTAL_AMOUNT, 1), Some(10_000_000_000));
        assert_eq!(total_amount(5, 0), None);
        assert_eq!(total_amount(-5, 1), None);
        assert_eq!(total_amount(0, 1), None);
        assert_eq!(total_amount(MAX_TOTAL_AMOUNT, 2), None);
        assert_eq!(total_amount(i64::MAX, 99), None);
    }

    #[test]
    fn platforms_round_trip_through_text() {
        for platform in [Platform::Douyin, Platform::Wechat] {
            assert_eq!(platform.as_str().parse::<Platform>(), Ok(platform));
        }
        assert_eq!(Platform::Douyin.as_str(), "douyin");
        assert_eq!(Platform::Wechat.as_str(), "wechat");
        assert_eq!("Douyin".parse::<Platform>(), Err(()));
    }

    #[test]
    fn only_a_pending_order_awaits_the_platform() {
        for status in OrderStatus::ALL {
            assert_eq!(status.awaits_platform(), status == OrderStatus::Pending, "{status}");
        }
    }

    fn order(status: OrderStatus, total: i64, refunded: i64, refunding: i64) -> Order {
        Order {
            openid: "u".into(),
            total_amount: total,
            subject: "s".into(),
            body: String::new(),
            created_at: 0,
            pay_deadline: 1_000,
            refunded_amount: refunded,
            refunding_amount: refunding,
            updated_at: 0,
            ..crate::testing::fixtures::order("o", Platform::Douyin, ChannelId::DouyinEcpay, status)
        }
    }

    #[test]
    fn refundable_is_what_is_paid_less_refunds_done_and_in_flight() {
        assert_eq!(order(OrderStatus::Paid, 100, 0, 0).refundable(), 100);
        assert_eq!(order(OrderStatus::Paid, 100, 20, 30).refundable(), 50);
        assert_eq!(order(OrderStatus::Refunded, 100, 100, 0).refundable(), 0);
        // Never negative, whatever the counters say.
        assert_eq!(order(OrderStatus::Paid, 100, 80, 30).refundable(), 0);
        for unpaid in [
            OrderStatus::Pending,
            OrderStatus::Failed,
            OrderStatus::Timeout,
            OrderStatus::Closed,
        ] {
            assert_eq!(order(unpaid, 100, 0, 0).refundable(), 0, "{unpaid}");
        }
    }

    #[test]
    fn an_order_is_settled_unless_its_settlement_failed() {
        use crate::domain::refund::SettleStatus;
        let mut o = order(OrderStatus::Paid, 100, 0, 0);
        assert!(!o.settled());
        for (status, settled) in [
            (SettleStatus::Processing, true),
            (SettleStatus::Success, true),
            (SettleStatus::Fail, false),
        ] {
            o.settle_status = Some(status);
            assert_eq!(o.settled(), settled, "{status:?}");
        }
        // One settlement succeeded before the latest failed: its money is settled.
        o.settle_succeeded = true;
        assert!(o.settled());
    }

    #[test]
    fn a_pending_order_is_reused_only_with_more_than_the_margin_left() {
        let o = order(OrderStatus::Pending, 100, 0, 0);
        let deadline = o.pay_deadline;
        assert!(o.reusable_at(deadline - REUSE_MARGIN_SECS - 1));
        assert!(!o.reusable_at(deadline - REUSE_MARGIN_SECS));
        assert!(!o.reusable_at(deadline));
        assert!(o.reusable_at(0));
        assert!(!order(OrderStatus::Paid, 100, 0, 0).reusable_at(0));
        assert!(!order(OrderStatus::Timeout, 100, 0, 0).reusable_at(0));
    }

    #[test]
    fn valid_time_is_clamped() {
        assert_eq!(ecpay_valid_time(10), 300);
        assert_eq!(ecpay_valid_time(900), 900);
        assert_eq!(ecpay_valid_time(1_000_000), 172_800);
    }
}
