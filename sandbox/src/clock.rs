//! Time as the platforms report it: unix seconds and milliseconds, and Beijing wall-clock
//! text (Douyin `yyyy-MM-dd HH:mm:ss`, WeChat `yyyyMMddHHmmss`). China keeps one offset
//! all year (UTC+8, no daylight saving), so Beijing text is plain calendar arithmetic on
//! the unix time shifted by eight hours. Written here rather than shared with the
//! backend, so that a calendar bug on one side shows up as a mismatch.

use std::time::{SystemTime, UNIX_EPOCH};

const BEIJING_OFFSET_SECS: i64 = 8 * 3600;
const SECS_PER_DAY: i64 = 86_400;

/// Unix seconds now.
pub fn now_secs() -> i64 {
    now_millis().div_euclid(1000)
}

/// Unix milliseconds: the trade system reports every time in ms.
pub fn now_millis() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// A wall-clock instant in Beijing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WallClock {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_year(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The Beijing wall clock at unix second `secs`: whole days since 1970-01-01 are
/// walked off year by year, then month by month.
fn wall_clock(secs: i64) -> WallClock {
    let local = secs + BEIJING_OFFSET_SECS;
    let mut days = local.div_euclid(SECS_PER_DAY);
    let time_of_day = local.rem_euclid(SECS_PER_DAY);
    let mut year = 1970;
    while days < 0 {
        year -= 1;
        days += days_in_year(year);
    }
    while days >= days_in_year(year) {
        days -= days_in_year(year);
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    WallClock {
        year,
        month,
        day: days + 1,
        hour: time_of_day / 3600,
        minute: time_of_day % 3600 / 60,
        second: time_of_day % 60,
    }
}

/// The unix second of a Beijing wall-clock instant; `None` for a date or time that
/// does not exist (31 April, 29 February of a common year, 24:00:00).
fn unix_secs(clock: WallClock) -> Option<i64> {
    let WallClock {
        year,
        month,
        day,
        hour,
        minute,
        second,
    } = clock;
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second);
    if !valid {
        return None;
    }
    let (from, to, sign) = if year >= 1970 {
        (1970, year, 1)
    } else {
        (year, 1970, -1)
    };
    let whole_years: i64 = (from..to).map(days_in_year).sum::<i64>() * sign;
    let whole_months: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    let days = whole_years + whole_months + day - 1;
    Some(days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - BEIJING_OFFSET_SECS)
}

/// "yyyy-MM-dd HH:mm:ss" in Beijing time (Douyin's `pay_time`).
pub fn beijing_datetime(secs: i64) -> String {
    let c = wall_clock(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// "yyyyMMddHHmmss" in Beijing time (WeChat's `time_end`, `time_expire`).
pub fn beijing_compact(secs: i64) -> String {
    let c = wall_clock(secs);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// "yyyyMMddHHmmss" in Beijing time to unix seconds: exactly 14 digits of a time that exists.
pub fn parse_beijing_compact(text: &str) -> Option<i64> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| text[from..to].parse::<i64>().ok();
    unix_secs(WallClock {
        year: field(0, 4)?,
        month: field(4, 6)?,
        day: field(6, 8)?,
        hour: field(8, 10)?,
        minute: field(10, 12)?,
        second: field(12, 14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds and their Beijing time, as `TZ=Asia/Shanghai date -d @secs` prints them.
    const KNOWN: [(i64, &str); 9] = [
        (-28_800, "1970-01-01 00:00:00"),
        (0, "1970-01-01 08:00:00"),
        (951_782_400, "2000-02-29 08:00:00"),
        (1_582_934_400, "2020-02-29 08:00:00"),
        (1_709_222_399, "2024-02-29 23:59:59"),
        (1_709_222_400, "2024-03-01 00:00:00"),
        // The paid_at of douyin.md vector (c).
        (1_722_769_986, "2024-08-04 19:13:06"),
        (4_102_444_799, "2100-01-01 07:59:59"),
        // 2100 is not a leap year: 28 February is followed by 1 March.
        (4_107_542_400, "2100-03-01 08:00:00"),
    ];

    #[test]
    fn formats_known_instants_in_beijing_time() {
        for (secs, text) in KNOWN {
            assert_eq!(beijing_datetime(secs), text, "{secs}");
            let compact: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(beijing_compact(secs), compact, "{secs}");
        }
    }

    #[test]
    fn parses_known_compact_times() {
        for (secs, text) in KNOWN {
            let compact: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(parse_beijing_compact(&compact), Some(secs), "{compact}");
        }
        assert_eq!(parse_beijing_compact("19691231235959"), Some(-28_801));
    }

    #[test]
    fn refuses_times_that_do_not_exist_or_are_malformed() {
        for bad in [
            "20240431120000",
            "20240229240000",
            "20240229236000",
            "20240229235960",
            "20230229120000",
            "21000229120000",
            "20241301000000",
            "20240001000000",
            "20240100000000",
            "2024080419130",
            "202408041913066",
            "2024-08-04 19:1",
            "+2024080419130",
        ] {
            assert_eq!(parse_beijing_compact(bad), None, "{bad}");
        }
        assert!(parse_beijing_compact("20000229120000").is_some(), "2000 is a leap year");
    }

    #[test]
    fn every_day_of_a_leap_cycle_round_trips() {
        // 1 January 2023 to 31 December 2028, one instant a day at a moving time of day.
        let start = 1_672_502_400;
        for day in 0..(6 * 366) {
            let secs = start + day * SECS_PER_DAY + day * 37 % SECS_PER_DAY;
            assert_eq!(parse_beijing_compact(&beijing_compact(secs)), Some(secs), "{secs}");
        }
    }

    #[test]
    fn the_clock_reads_the_present() {
        // 2024-01-01 and 2100-01-01: any machine running these tests is in between.
        assert!((1_704_038_400..4_102_416_000).contains(&now_secs()));
        assert!((now_millis() / 1000 - now_secs()).abs() <= 1);
    }
}
