//! What the Douyin order center is told when an order changes (douyin.md §6).

use super::channel::ChannelId;
use super::order::{Order, OrderStatus};

/// `order_status` and the matching `status` text of an order push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushStatus {
    pub code: u8,
    pub text: &'static str,
}

const PENDING: PushStatus = PushStatus {
    code: 0,
    text: "待支付",
};
const PAID: PushStatus = PushStatus {
    code: 1,
    text: "已支付",
};
const CANCELLED: PushStatus = PushStatus {
    code: 2,
    text: "已取消",
};
const TIMED_OUT: PushStatus = PushStatus {
    code: 2,
    text: "已超时",
};
const REFUNDING: PushStatus = PushStatus {
    code: 5,
    text: "退款中",
};
const REFUNDED: PushStatus = PushStatus {
    code: 6,
    text: "已退款",
};
const REFUND_FAILED: PushStatus = PushStatus {
    code: 8,
    text: "退款失败",
};

/// The push an order change calls for: created, paid, timed out or closed, refund in
/// flight, refunded, refund failed. `None` when the change is not one the order center
/// shows (a platform id recorded, a settlement) or the order is not an ecpay order.
pub fn push_status(old: Option<&Order>, new: &Order) -> Option<PushStatus> {
    // The order center is ecpay's: the trade system keeps its own in step.
    if new.channel != ChannelId::DouyinEcpay {
        return None;
    }
    let Some(old) = old else {
        return Some(status_of(new));
    };
    if new.refunding_amount > old.refunding_amount {
        return Some(REFUNDING);
    }
    if new.refunded_amount > old.refunded_amount {
        return Some(if new.status == OrderStatus::Refunded {
            REFUNDED
        } else {
            PAID
        });
    }
    if new.refunding_amount < old.refunding_amount {
        return Some(REFUND_FAILED);
    }
    (new.status != old.status).then(|| status_of(new))
}

/// `update_time` (ms) of a push: the order center keeps the newest, and stream records
/// carry whole seconds only, so the order's version orders changes within a second.
pub fn update_time(updated_at_secs: i64, version: i64) -> i64 {
    updated_at_secs * 1000 + version.rem_euclid(1000)
}

fn status_of(order: &Order) -> PushStatus {
    match order.status {
        OrderStatus::Pending => PENDING,
        OrderStatus::Paid => PAID,
        OrderStatus::Refunded => REFUNDED,
        OrderStatus::Timeout => TIMED_OUT,
        OrderStatus::Failed | OrderStatus::Closed => CANCELLED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::Platform;

    #[test]
    fn trade_orders_are_never_pushed() {
        let mut order = order(OrderStatus::Paid, 0, 0);
        assert!(push_status(None, &order).is_some());
        order.channel = ChannelId::DouyinTrade;
        order.trade_data = Some("{}".into());
        assert_eq!(push_status(None, &order), None);
        let before = order.clone();
        order.refunding_amount = 10;
        assert_eq!(push_status(Some(&before), &order), None);
    }

    fn order(status: OrderStatus, refunded: i64, refunding: i64) -> Order {
        Order {
            openid: "u".into(),
            subject: "s".into(),
            body: "b".into(),
            created_at: 0,
            pay_deadline: 0,
            refunded_amount: refunded,
            refunding_amount: refunding,
            updated_at: 0,
            ..crate::testing::fixtures::order(
                "o",
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinEcpay,
                status,
            )
        }
    }

    #[test]
    fn every_change_the_contract_names_is_pushed() {
        use OrderStatus::*;
        let code = |old: Option<Order>, new: Order| push_status(old.as_ref(), &new).map(|p| p.code);
        assert_eq!(code(None, order(Pending, 0, 0)), Some(0));
        assert_eq!(code(Some(order(Pending, 0, 0)), order(Paid, 0, 0)), Some(1));
        assert_eq!(code(Some(order(Pending, 0, 0)), order(Timeout, 0, 0)), Some(2));
        assert_eq!(code(Some(order(Pending, 0, 0)), order(Closed, 0, 0)), Some(2));
        assert_eq!(code(Some(order(Paid, 0, 0)), order(Paid, 0, 40)), Some(5));
        assert_eq!(code(Some(order(Paid, 0, 40)), order(Paid, 40, 0)), Some(1));
        assert_eq!(code(Some(order(Paid, 60, 40)), order(Refunded, 100, 0)), Some(6));
        assert_eq!(code(Some(order(Paid, 0, 40)), order(Paid, 0, 0)), Some(8));
        assert_eq!(code(Some(order(Pending, 0, 0)), order(Pending, 0, 0)), None);
    }

    #[test]
    fn later_versions_push_later_times_within_a_second() {
        assert!(update_time(1_732_240_000, 4) > update_time(1_732_240_000, 3));
        assert!(update_time(1_732_240_001, 1) > update_time(1_732_240_000, 999));
        assert_eq!(update_time(1_732_240_000, 3).to_string().len(), 13);
    }

    #[test]
    fn texts_agree_with_codes_and_wechat_is_not_pushed() {
        let mut wechat = order(OrderStatus::Paid, 0, 0);
        wechat.platform = Platform::Wechat;
        wechat.channel = ChannelId::WechatV2;
        assert_eq!(push_status(None, &wechat), None);
        assert_eq!(
            push_status(None, &order(OrderStatus::Timeout, 0, 0)).unwrap().text,
            "已超时"
        );
    }
}
