//! When the platforms let an order be settled (douyin.md §3 create_refund and settle;
//! douyin-trade.md §7 settlement periods), shared by ecpay and the trade system, and the
//! test control that ages a payment so that these rules can be reached without waiting.

use crate::clock::beijing_datetime;
use crate::error::SandboxError;

/// "Settle possible after 7 days" (ecpay); the trade system's goods types that settle
/// after payment (content recharge, virtual recharge and services) also wait 7 days.
pub const SETTLE_WAIT_SECS: i64 = 7 * 86_400;

/// "≤50 settles per order (the 50th is final)" (ecpay).
pub const MAX_SETTLES_PER_ORDER: usize = 50;

/// How far a test may age a payment: enough to pass any waiting period, small enough to
/// stay a plausible date.
const MAX_AGE_DAYS: i64 = 3650;

/// Why an order paid at `paid_at` (unix s) cannot be settled at `now`, if it cannot yet.
pub fn too_early(paid_at: i64, now: i64) -> Option<String> {
    let settleable_from = paid_at + SETTLE_WAIT_SECS;
    (now < settleable_from).then(|| {
        format!(
            "the order was paid at {} and can be settled 7 days after payment, from {} (Beijing time)",
            beijing_datetime(paid_at),
            beijing_datetime(settleable_from)
        )
    })
}

/// `days` as seconds, for the age control; 1 to 3650 days.
pub fn age_secs(days: i64) -> Result<i64, SandboxError> {
    if !(1..=MAX_AGE_DAYS).contains(&days) {
        return Err(SandboxError::Invalid(format!(
            "days {days} is not within 1 to {MAX_AGE_DAYS}"
        )));
    }
    Ok(days * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_settle_seven_days_after_payment() {
        let paid_at = 1_722_769_986;
        let problem = too_early(paid_at, paid_at + SETTLE_WAIT_SECS - 1).unwrap();
        assert_eq!(
            problem,
            "the order was paid at 2024-08-04 19:13:06 and can be settled 7 days after payment, from 2024-08-11 19:13:06 (Beijing time)"
        );
        assert_eq!(too_early(paid_at, paid_at + SETTLE_WAIT_SECS), None);
    }

    #[test]
    fn ages_are_whole_plausible_days() {
        assert_eq!(age_secs(8), Ok(691_200));
        assert!(age_secs(0).is_err() && age_secs(-1).is_err() && age_secs(3651).is_err());
    }
}
