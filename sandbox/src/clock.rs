//! Time as the platform reports it: unix seconds, and Beijing wall-clock text.

use std::time::{SystemTime, UNIX_EPOCH};

/// Beijing time (UTC+8, no daylight saving) is what `query_order` reports.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time, the `pay_time` format of `query_order`.
pub fn beijing_datetime(unix_secs: i64) -> String {
    let local = unix_secs + BEIJING_OFFSET_SECS;
    let (days, secs_of_day) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs_of_day / 3600, secs_of_day % 3600 / 60, secs_of_day % 60);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm),
/// to avoid a date crate for one format.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minipay::douyin::client::parse_beijing_time;

    #[test]
    fn formats_known_instants_in_beijing_time() {
        assert_eq!(beijing_datetime(0), "1970-01-01 08:00:00");
        // 2024-08-04 11:13:06 UTC (the paid_at of douyin.md vector (c)).
        assert_eq!(beijing_datetime(1_722_769_986), "2024-08-04 19:13:06");
        // Beijing midnight (16:00 UTC) around a leap day.
        assert_eq!(beijing_datetime(1_709_222_399), "2024-02-29 23:59:59");
        assert_eq!(beijing_datetime(1_709_222_400), "2024-03-01 00:00:00");
    }

    #[test]
    fn round_trips_with_the_backend_parser() {
        for secs in [0, 951_782_400, 1_709_164_800, 1_722_769_986, 4_102_444_799] {
            assert_eq!(parse_beijing_time(&beijing_datetime(secs)), Some(secs));
        }
    }
}
