//! Time as the platforms report it: unix seconds and milliseconds, and Beijing wall-clock
//! text (Douyin `yyyy-MM-dd HH:mm:ss`, WeChat v2 `yyyyMMddHHmmss`, WeChat v3 RFC 3339
//! `yyyy-MM-ddTHH:mm:ss+08:00`). China keeps one offset
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

/// RFC 3339 in Beijing time, as WeChat Pay v3 writes every time:
/// "2024-08-04T19:13:06+08:00".
pub fn beijing_rfc3339(secs: i64) -> String {
    let c = wall_clock(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The Beijing calendar date of `secs`: (year, month, day).
pub fn beijing_date(secs: i64) -> (i64, i64, i64) {
    let c = wall_clock(secs);
    (c.year, c.month, c.day)
}

/// The value of a run of ASCII digits (no sign, no space).
fn digits_value(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// RFC 3339 with any offset (`Z`, `+08:00`, `-05:30`) and optional fractional seconds
/// (dropped) to unix seconds; `None` for anything else, or a time that does not exist.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !shape_ok || !text.is_ascii() {
        return None;
    }
    let number = |from: usize, to: usize| digits_value(&text[from..to]);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = digits_value(&rest[1..3])?;
            let minutes = digits_value(&rest[4..6])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let magnitude = hours * 3600 + minutes * 60;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    let as_beijing = unix_secs(WallClock {
        year: number(0, 4)?,
        month: number(5, 7)?,
        day: number(8, 10)?,
        hour: number(11, 13)?,
        minute: number(14, 16)?,
        second: number(17, 19)?,
    })?;
    Some(as_beijing + BEIJING_OFFSET_SECS - offset)
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
    #[test]
    fn rfc3339_round_trips_in_beijing_time_and_reads_any_offset() {
        for (secs, _) in KNOWN {
            assert_eq!(parse_rfc3339(&beijing_rfc3339(secs)), Some(secs), "{secs}");
        }
        assert_eq!(beijing_rfc3339(1_722_769_986), "2024-08-04T19:13:06+08:00");
        assert_eq!(parse_rfc3339("2024-08-04T11:13:06Z"), Some(1_722_769_986));
        assert_eq!(parse_rfc3339("2024-08-04T06:13:06.123-05:00"), Some(1_722_769_986));
        assert_eq!(beijing_date(1_722_769_986), (2024, 8, 4));
        for bad in [
            "2024-08-04 19:13:06+08:00",
            "2024-08-04T19:13:06",
            "2024-08-04T19:13:06+0800",
            "2024-08-04T19:13:06.+08:00",
            "2024-02-30T19:13:06+08:00",
            "2024-08-04T24:00:00Z",
            "2024-08-04T19:13:06+24:00",
            "20240804191306",
            "2024-08-04T19:13:06+08:00x",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
