//! When a webhook that failed is tried again: 1 m, 5 m, 15 m, 1 h, 2 h, 4 h, 8 h, then
//! every 8 h, until 24 h after the first attempt (a last try at that moment), then it
//! is kept as undelivered for the operator.

/// Pause after the n-th failed attempt (the last repeats).
pub const BACKOFF_SECS: [i64; 7] = [60, 300, 900, 3_600, 7_200, 14_400, 28_800];
/// How long after the first attempt a webhook is still tried.
pub const GIVE_UP_AFTER_SECS: i64 = 24 * 3_600;

/// When to try again after `attempts` failed attempts, the first at `first_attempt_at`,
/// the last at `now`; `None`: give up (the 24 hours are over).
pub fn retry_at(first_attempt_at: i64, attempts: i64, now: i64) -> Option<i64> {
    let last_chance = first_attempt_at + GIVE_UP_AFTER_SECS;
    if now >= last_chance {
        return None;
    }
    let step = usize::try_from(attempts - 1).unwrap_or(0).min(BACKOFF_SECS.len() - 1);
    Some((now + BACKOFF_SECS[step]).min(last_chance))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_then_tries_every_eight_hours() {
        let delays: Vec<i64> = (1..=9).map(|n| retry_at(0, n, 0).unwrap()).collect();
        assert_eq!(delays, [60, 300, 900, 3_600, 7_200, 14_400, 28_800, 28_800, 28_800]);
    }

    #[test]
    fn a_last_try_at_24_hours_then_gives_up() {
        // Failing every time, tried when due: 1 + 9 attempts, the last one 24 h after
        // the first.
        let (mut now, mut attempts, mut times) = (1_000, 1, vec![1_000]);
        // Bounded: a schedule that never gives up fails here rather than spinning.
        while let Some(next) = retry_at(1_000, attempts, now).filter(|_| attempts < 100) {
            now = next;
            attempts += 1;
            times.push(now);
        }
        assert_eq!(*times.last().unwrap(), 1_000 + GIVE_UP_AFTER_SECS);
        assert_eq!(attempts, 10);
        assert!(times.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(retry_at(1_000, 3, 1_000 + GIVE_UP_AFTER_SECS + 5), None);
    }
}
