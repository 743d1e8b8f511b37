//! Time as the platform reports it: unix seconds, and Beijing wall-clock text.

use std::time::{SystemTime, UNIX_EPOCH};

/// Beijing time (UTC+8, no daylight saving) is what both platforms report.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time: the `pay_time` of Douyin's `query_order`,
/// the `success_time` of WeChat's refund notify.
pub fn beijing_datetime(unix_secs: i64) -> String {
    let [year, month, day, hour, minute, second] = beijing_fields(unix_secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// `yyyyMMddHHmmss` in Beijing time: WeChat Pay's `time_end`.
pub fn beijing_compact(unix_secs: i64) -> String {
    let [year, month, day, hour, minute, second] = beijing_fields(unix_secs);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

fn beijing_fields(unix_secs: i64) -> [i64; 6] {
    let local = unix_secs + BEIJING_OFFSET_SECS;
    let (days, secs_of_day) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    [
        year,
        month,
        day,
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60,
    ]
}

/// `yyyyMMddHHmmss` in Beijing time to unix seconds (WeChat's `time_expire`); `None`
/// unless it is exactly 14 digits naming a real instant.
pub fn parse_beijing_compact(text: &str) -> Option<i64> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(8..10)?, number(10..12)?, number(12..14)?);
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Rejects 31 April and the like: the date must survive the round trip.
    if day < 1 || civil_from_days(days) != (year, month, day) {
        return None;
    }
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - BEIJING_OFFSET_SECS)
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    use minipay::domain::time::{parse_beijing_compact as backend_parse_compact, parse_beijing_time};

    #[test]
    fn formats_known_instants_in_beijing_time() {
        assert_eq!(beijing_datetime(0), "1970-01-01 08:00:00");
        // 2024-08-04 11:13:06 UTC (the paid_at of douyin.md vector (c)).
        assert_eq!(beijing_datetime(1_722_769_986), "2024-08-04 19:13:06");
        // Beijing midnight (16:00 UTC) around a leap day.
        assert_eq!(beijing_datetime(1_709_222_399), "2024-02-29 23:59:59");
        assert_eq!(beijing_datetime(1_709_222_400), "2024-03-01 00:00:00");
        assert_eq!(beijing_compact(1_722_769_986), "20240804191306");
    }

    #[test]
    fn parses_compact_times_strictly() {
        for secs in [
            0,
            951_782_400,
            1_709_222_399,
            1_709_222_400,
            1_722_769_986,
            4_102_444_799,
        ] {
            assert_eq!(parse_beijing_compact(&beijing_compact(secs)), Some(secs));
        }
        for bad in [
            "20240431120000",
            "20240229240000",
            "2024080419130",
            "2024-08-04 19:1",
            "20241301000000",
        ] {
            assert_eq!(parse_beijing_compact(bad), None, "{bad}");
        }
        assert!(parse_beijing_compact("20240229120000").is_some());
        assert_eq!(parse_beijing_compact("20230229120000"), None);
    }

    #[test]
    fn round_trips_with_the_backend_parser() {
        for secs in [0, 951_782_400, 1_709_164_800, 1_722_769_986, 4_102_444_799] {
            assert_eq!(parse_beijing_time(&beijing_datetime(secs)), Some(secs));
            assert_eq!(backend_parse_compact(&beijing_compact(secs)), Some(secs));
        }
    }
}
