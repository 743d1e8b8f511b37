//! Refunds and settlements: their states, and what a finished refund does to its order.

use super::order::{Order, OrderStatus};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RefundStatus {
    Processing,
    Success,
    Fail,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Fail => "FAIL",
        }
    }
}

impl FromStr for RefundStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [RefundStatus::Processing, RefundStatus::Success, RefundStatus::Fail]
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(())
    }
}

/// Settlements share the refund's three states.
pub type SettleStatus = RefundStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub out_refund_no: String,
    pub out_order_no: String,
    pub refund_amount: i64,
    pub reason: String,
    pub status: RefundStatus,
    /// The platform's refund number, once it accepted the refund.
    pub refund_no: Option<String>,
    /// Refunded from the settled balance (the order was settled first).
    pub all_settle: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Why a person must look at this refund (WeChat's `CHANGE`: the money could not go
    /// back to the card); it stays PROCESSING and its amount reserved meanwhile.
    pub attention: Option<String>,
}

impl Refund {
    /// Whether a repeated request asks for the same refund (then it gets the same answer).
    pub fn same_request(&self, out_order_no: &str, refund_amount: i64, reason: &str) -> bool {
        self.out_order_no == out_order_no && self.refund_amount == refund_amount && self.reason == reason
    }
}

/// Refund numbers with this prefix are the platform's (refunds users start); the back
/// office cannot use them, or its refund could take the number of a user's.
/// Longest refund reason kept, whoever gives it.
pub const REASON_MAX_CHARS: usize = 100;

pub const USER_REFUND_PREFIX: &str = "dyu-";

/// Our number for a refund the user started on the platform (`pre_create_refund`):
/// made from the platform's refund id, so a repeated callback gets the same answer and
/// the `refund` callback finds it even when it carries no `out_refund_no`.
pub fn user_refund_no(refund_id: &str) -> String {
    const PREFIX: &str = USER_REFUND_PREFIX;
    let fits = !refund_id.is_empty()
        && refund_id.len() + PREFIX.len() <= 64
        && refund_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fits {
        format!("{PREFIX}{refund_id}")
    } else {
        use sha2::Digest as _;
        format!(
            "{PREFIX}{}",
            &hex::encode(sha2::Sha256::digest(refund_id.as_bytes()))[..48]
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub out_settle_no: String,
    pub out_order_no: String,
    pub settle_desc: String,
    /// The receivers as the JSON string sent and signed.
    pub settle_params: String,
    pub status: SettleStatus,
    pub settle_no: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The money fields of an order after a refund of `amount` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundedOrder {
    pub refunded_amount: i64,
    pub refunding_amount: i64,
    pub refundable: i64,
    pub status: OrderStatus,
}

/// What a refund that was in flight does to its order when it succeeds or fails.
pub fn refund_result(order: &Order, amount: i64, success: bool) -> RefundedOrder {
    let refunding_amount = (order.refunding_amount - amount).max(0);
    let refunded_amount = if success {
        order.refunded_amount + amount
    } else {
        order.refunded_amount
    };
    let status = if success && refunded_amount >= order.total_amount {
        OrderStatus::Refunded
    } else {
        order.status
    };
    RefundedOrder {
        refunded_amount,
        refunding_amount,
        refundable: (order.total_amount - refunded_amount - refunding_amount).max(0),
        status,
    }
}

/// Receivers of a settlement may take at most this share of the order (percent).
pub const SETTLE_RECEIVERS_MAX_PERCENT: i64 = 30;
pub const SETTLE_RECEIVERS_MAX: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleReceiver {
    pub merchant_uid: String,
    pub amount: i64,
}

/// Checks receivers against the platform's rules, returning what is wrong.
pub fn check_receivers(receivers: &[SettleReceiver], order_total: i64) -> Result<(), String> {
    if receivers.len() > SETTLE_RECEIVERS_MAX {
        return Err(format!("at most {SETTLE_RECEIVERS_MAX} receivers per settlement"));
    }
    if receivers
        .iter()
        .any(|r| r.merchant_uid.trim().is_empty() || r.amount < 1)
    {
        return Err("every receiver needs a merchant_uid and an amount of at least 1 fen".into());
    }
    // i128: amounts come from the back office and may be absurd; nothing may wrap.
    let sum: i128 = receivers.iter().map(|r| i128::from(r.amount)).sum();
    if sum * 100 > i128::from(order_total) * i128::from(SETTLE_RECEIVERS_MAX_PERCENT) {
        return Err(format!(
            "receivers may take at most {SETTLE_RECEIVERS_MAX_PERCENT}% of the order"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_refund_numbers_are_stable_and_valid() {
        assert_eq!(user_refund_no("7292048374532"), "dyu-7292048374532");
        assert_eq!(user_refund_no("a_B-9"), "dyu-a_B-9");
        // Ids that cannot be used as they are: "dyu-" and the first 48 hex digits of their
        // SHA-256, from python3 -c 'import hashlib; print(hashlib.sha256(
        //   "refund/with spaces and 中文".encode()).hexdigest()[:48])' (and "9" * 80, "").
        let odd = user_refund_no("refund/with spaces and 中文");
        assert_eq!(odd, "dyu-9bb91001a57ae72388362412ed6fecc1090e7dacab60f68b");
        assert!(crate::domain::ids::valid_back_office_no(&odd));
        let long = user_refund_no(&"9".repeat(80));
        assert_eq!(long, "dyu-7ddb73c1a93e35ddf8e7bf98fddf75c614f1678405e4c5ee");
        assert!(crate::domain::ids::valid_back_office_no(&long));
        assert_eq!(
            user_refund_no(""),
            "dyu-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
        );
        // The longest id kept as it is, and one character more.
        assert_eq!(user_refund_no(&"7".repeat(60)), format!("dyu-{}", "7".repeat(60)));
        assert_ne!(user_refund_no(&"7".repeat(61)), format!("dyu-{}", "7".repeat(61)));
        assert_eq!(user_refund_no(&"7".repeat(61)).len(), 52);
    }
    use crate::domain::order::{Platform, PlatformOrder};

    fn paid(total: i64, refunded: i64, refunding: i64) -> Order {
        Order {
            openid: "u".into(),
            total_amount: total,
            subject: "s".into(),
            body: "b".into(),
            created_at: 0,
            pay_deadline: 0,
            platform_order: Some(PlatformOrder {
                order_id: "1".into(),
                order_token: "t".into(),
            }),
            refunded_amount: refunded,
            refunding_amount: refunding,
            updated_at: 0,
            ..crate::testing::fixtures::order(
                "o",
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinEcpay,
                OrderStatus::Paid,
            )
        }
    }

    #[test]
    fn a_partial_refund_keeps_the_order_paid() {
        let after = refund_result(&paid(100, 0, 30), 30, true);
        assert_eq!(
            after,
            RefundedOrder {
                refunded_amount: 30,
                refunding_amount: 0,
                refundable: 70,
                status: OrderStatus::Paid
            }
        );
    }

    #[test]
    fn the_last_refund_makes_the_order_refunded() {
        let after = refund_result(&paid(100, 70, 30), 30, true);
        assert_eq!(after.status, OrderStatus::Refunded);
        assert_eq!((after.refunded_amount, after.refundable), (100, 0));
    }

    #[test]
    fn one_of_two_refunds_in_flight_ending_keeps_the_other_reserved() {
        let after = refund_result(&paid(100, 10, 50), 20, true);
        assert_eq!(
            after,
            RefundedOrder {
                refunded_amount: 30,
                refunding_amount: 30,
                refundable: 40,
                status: OrderStatus::Paid
            }
        );
        let after = refund_result(&paid(100, 10, 50), 20, false);
        assert_eq!((after.refunding_amount, after.refundable), (30, 60));
    }

    #[test]
    fn a_failed_refund_gives_the_amount_back() {
        let after = refund_result(&paid(100, 20, 50), 50, false);
        assert_eq!(
            after,
            RefundedOrder {
                refunded_amount: 20,
                refunding_amount: 0,
                refundable: 80,
                status: OrderStatus::Paid
            }
        );
    }

    #[test]
    fn refund_statuses_round_trip_through_text() {
        for (status, text) in [
            (RefundStatus::Processing, "PROCESSING"),
            (RefundStatus::Success, "SUCCESS"),
            (RefundStatus::Fail, "FAIL"),
        ] {
            assert_eq!(status.as_str(), text);
            assert_eq!(text.parse::<RefundStatus>(), Ok(status));
        }
        assert_eq!("success".parse::<RefundStatus>(), Err(()));
    }

    #[test]
    fn a_repeated_request_is_the_same_only_if_order_amount_and_reason_agree() {
        let refund = Refund {
            out_refund_no: "RF-1".into(),
            out_order_no: "o".into(),
            refund_amount: 30,
            reason: "r".into(),
            status: RefundStatus::Processing,
            refund_no: None,
            all_settle: false,
            created_at: 0,
            updated_at: 0,
            attention: None,
        };
        assert!(refund.same_request("o", 30, "r"));
        assert!(!refund.same_request("o2", 30, "r"));
        assert!(!refund.same_request("o", 31, "r"));
        assert!(!refund.same_request("o", 30, "other"));
    }

    #[test]
    fn receivers_follow_the_platform_rules() {
        let r = |amount| SettleReceiver {
            merchant_uid: "m".into(),
            amount,
        };
        assert!(check_receivers(&[], 100).is_ok());
        assert!(check_receivers(&[r(30)], 100).is_ok());
        assert!(check_receivers(&[r(31)], 100).is_err());
        assert!(check_receivers(&[r(1)], 100).is_ok());
        assert!(check_receivers(&[r(1), r(1), r(1), r(1)], 1000).is_ok());
        assert!(check_receivers(&[r(1), r(1), r(1), r(1), r(1)], 1000).is_err());
        let nobody = SettleReceiver {
            merchant_uid: " ".into(),
            amount: 5,
        };
        assert!(check_receivers(&[nobody], 100).is_err());
        assert!(check_receivers(&[r(0)], 100).is_err());
        // Found by fuzzing: sums that overflowed i64 wrapped negative and passed.
        assert!(check_receivers(&[r(100_000_000_000_000_000)], 10_000).is_err());
        assert!(check_receivers(&[r(i64::MAX), r(1)], 10_000).is_err());
    }
}
