use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `parts` are non-negative and at most four digits each (the callers parse only digits), so
/// none of the arithmetic here can overflow.
fn from_beijing_parts(parts: [i64; 6]) -> Option<i64> {
    let [year, month, day, hour, minute, second] = parts;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Rejects month 13, day 0, 31 April and the like: the date must survive the round trip.
    if civil_from_days(days) != (year, month, day) {
        return None;
    }
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - BEIJING_OFFSET_SECS)
}

/// "yyyy-MM-dd HH:mm:ss" in Beijing time (Douyin) to unix seconds.
pub fn parse_beijing_time(text: &str) -> Option<i64> {
    let (date, time) = text.trim().split_once(' ')?;
    let mut fields = date.split('-').chain(time.split(':')).map(digits);
    let mut parts = [0i64; 6];
    for part in &mut parts {
        *part = fields.next()??;
    }
    if fields.next().is_some() {
        return None;
    }
    from_beijing_parts(parts)
}

/// One to four ASCII digits: no sign (`-1` o'clock is no time) and no number large enough to
/// overflow the date arithmetic.
fn digits(text: &str) -> Option<i64> {
    let plain = (1..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| text.parse().ok()).flatten()
}

/// "yyyyMMddHHmmss" in Beijing time (WeChat) to unix seconds.
pub fn parse_beijing_compact(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    from_beijing_parts([n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?])
}

fn beijing_fields(unix_secs: i64) -> [i64; 6] {
    let local = unix_secs + BEIJING_OFFSET_SECS;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    [year, month, day, secs / 3600, secs % 3600 / 60, secs % 60]
}

/// Unix seconds as "yyyyMMddHHmmss" in Beijing time (WeChat's `time_expire`, `time_end`).
pub fn beijing_compact(unix_secs: i64) -> String {
    let [year, month, day, hour, minute, second] = beijing_fields(unix_secs);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

/// Unix seconds as "yyyy-MM-dd HH:mm:ss" in Beijing time (Douyin's `pay_time`).
pub fn beijing_datetime(unix_secs: i64) -> String {
    let [year, month, day, hour, minute, second] = beijing_fields(unix_secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// Unix seconds as RFC 3339 in Beijing time, "2018-06-08T10:34:56+08:00" (WeChat Pay
/// v3's `time_expire`).
pub fn beijing_rfc3339(unix_secs: i64) -> String {
    let [year, month, day, hour, minute, second] = beijing_fields(unix_secs);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}+08:00")
}

/// RFC 3339 "yyyy-MM-ddTHH:mm:ss[.fff](Z|±hh:mm)" to unix seconds (WeChat Pay v3's
/// `success_time`); fractions of a second are dropped.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't'])?;
    let (clock, offset) = match rest.strip_suffix(['Z', 'z']) {
        Some(clock) => (clock, 0),
        None => {
            let at = rest.rfind(['+', '-'])?;
            let (clock, zone) = rest.split_at(at);
            let (hours, minutes) = zone[1..].split_once(':')?;
            let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            (clock, sign * (hours * 3600 + minutes * 60))
        }
    };
    let clock = match clock.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) => whole,
        Some(_) => return None,
        None => clock,
    };
    let mut date_parts = date.split('-');
    let mut clock_parts = clock.split(':');
    let year = date_parts.next().filter(|y| y.len() == 4).and_then(digits)?;
    let mut parts = [year, 0, 0, 0, 0, 0];
    for part in &mut parts[1..3] {
        *part = two_digits(date_parts.next()?)?;
    }
    for part in &mut parts[3..] {
        *part = two_digits(clock_parts.next()?)?;
    }
    if date_parts.next().is_some() || clock_parts.next().is_some() {
        return None;
    }
    Some(from_beijing_parts(parts)? + BEIJING_OFFSET_SECS - offset)
}

fn two_digits(text: &str) -> Option<i64> {
    (text.len() == 2).then(|| digits(text)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3339_as_wechat_v3_writes_it() {
        // WeChat's own example (v3 prepay `time_expire`): 2018-06-08T10:34:56+08:00.
        assert_eq!(parse_rfc3339("2018-06-08T10:34:56+08:00"), Some(1_528_425_296));
        assert_eq!(beijing_rfc3339(1_528_425_296), "2018-06-08T10:34:56+08:00");
        assert_eq!(parse_rfc3339("2018-06-08T02:34:56Z"), Some(1_528_425_296));
        assert_eq!(parse_rfc3339("2018-06-08T02:34:56.789Z"), Some(1_528_425_296));
        assert_eq!(parse_rfc3339("2018-06-07T21:34:56-05:00"), Some(1_528_425_296));
        assert_eq!(parse_rfc3339("1970-01-01T08:00:00+08:00"), Some(0));
        for bad in [
            "",
            "2018-06-08 10:34:56+08:00",
            "2018-06-08T10:34:56",
            "2018-06-08T10:34:56+8:00",
            "2018-06-08T24:00:00+08:00",
            "2018-02-30T10:34:56+08:00",
            "2018-06-08T10:34:56+24:00",
            "2018-06-08T10:34:56.+08:00",
            "18-06-08T10:34:56+08:00",
            "2018-06-08T10:34:56:00+08:00",
            "-018-06-08T10:34:56+08:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(secs in 0i64..4_102_444_800) {
            prop_assert_eq!(parse_rfc3339(&beijing_rfc3339(secs)), Some(secs));
        }
    }

    #[test]
    fn beijing_time_to_unix() {
        assert_eq!(parse_beijing_time("2024-08-04 19:13:06"), Some(1_722_769_986));
        assert_eq!(parse_beijing_time("1970-01-01 08:00:00"), Some(0));
        assert_eq!(parse_beijing_time("2024-02-29 08:00:00"), Some(1_709_164_800));
        assert_eq!(parse_beijing_time("yesterday"), None);
        assert_eq!(parse_beijing_time("2024-13-01 00:00:00"), None);
        assert_eq!(parse_beijing_compact("20240804191306"), Some(1_722_769_986));
        assert_eq!(parse_beijing_compact("2024080419130"), None);
        assert_eq!(beijing_compact(1_722_769_986), "20240804191306");
        assert_eq!(beijing_datetime(1_722_769_986), "2024-08-04 19:13:06");
        assert_eq!(parse_beijing_compact("20240431120000"), None, "31 April");
        assert_eq!(
            parse_beijing_compact("20230229120000"),
            None,
            "29 February of a common year"
        );
        assert!(parse_beijing_compact("20240229120000").is_some());
    }

    #[test]
    fn now_is_the_system_clock_in_seconds_and_milliseconds() {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let (secs, millis) = (now_secs(), now_millis());
        assert!((secs - wall).abs() <= 1, "{secs} vs {wall}");
        assert!((millis / 1000 - wall).abs() <= 1, "{millis} vs {wall}");
    }

    #[test]
    fn every_field_is_checked_at_its_limits() {
        assert_eq!(parse_beijing_time("2024-12-31 23:59:59"), Some(1_735_660_799));
        assert_eq!(parse_beijing_time("2024-01-01 00:00:00"), Some(1_704_038_400));
        for bad in [
            "2024-00-10 12:00:00",
            "2024-13-10 12:00:00",
            "2024-01-00 12:00:00",
            "2024-01-32 12:00:00",
            "2024-01-10 24:00:00",
            "2024-01-10 12:60:00",
            "2024-01-10 12:00:60",
            "2024-01-10 12:00:00:00",
            "2024-01-10 12:00",
            "2024-01-10T12:00:00",
            "2024-01-10 12:00:xx",
            // Signs are no digits: -1 o'clock was once read as 23:00 the day before.
            "2024-01-10 -1:00:00",
            "2024-01-10 12:-5:00",
            "2024-01-10 12:00:-7",
            "2024-+1-10 12:00:00",
            "2024--1-10 12:00:00",
            // Absurd numbers are refused, not overflowed (a panic in a debug build).
            "2024-01-9223372036854775807 00:00:00",
            "9223372036854775807-01-01 00:00:00",
            "20240-01-01 00:00:00",
        ] {
            assert_eq!(parse_beijing_time(bad), None, "{bad}");
        }
        assert_eq!(parse_beijing_compact(" 20241231235959 "), Some(1_735_660_799));
        for bad in ["2024123123595", "202412312359590", "2024123123595x", "+2024123123595"] {
            assert_eq!(parse_beijing_compact(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_across_centuries_and_eras_convert_both_ways() {
        // Unix seconds of Beijing midnights, from Python's datetime (UTC+8): March and
        // February ends, the 400-year era boundary of 2000 and the century rule of 2100.
        for (text, unix) in [
            ("1970-01-01 00:00:00", -28_800),
            ("1999-12-31 00:00:00", 946_569_600),
            ("2000-02-29 00:00:00", 951_753_600),
            ("2000-03-01 00:00:00", 951_840_000),
            ("2100-02-28 00:00:00", 4_107_427_200),
            ("2100-03-01 00:00:00", 4_107_513_600),
            ("2400-02-29 00:00:00", 13_574_534_400),
            ("1900-03-01 00:00:00", -2_203_920_000),
        ] {
            assert_eq!(parse_beijing_time(text), Some(unix), "{text}");
            assert_eq!(beijing_datetime(unix), text);
        }
        assert_eq!(parse_beijing_time("2100-02-29 00:00:00"), None);
        assert_eq!(parse_beijing_time("1900-02-29 00:00:00"), None);
    }

    proptest! {
        #[test]
        fn compact_time_round_trips(unix in -2_208_988_800i64..13_574_534_400) {
            prop_assert_eq!(parse_beijing_compact(&beijing_compact(unix)), Some(unix));
            prop_assert_eq!(parse_beijing_time(&beijing_datetime(unix)), Some(unix));
        }
    }
}
