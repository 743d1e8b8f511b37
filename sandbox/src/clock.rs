//! Time as the platform reports it: unix seconds, and Beijing wall-clock text.

// One calendar for the backend and its stand-in: the sandbox formats what the backend parses.
pub use minipay::domain::time::{beijing_compact, beijing_datetime, now_secs, parse_beijing_compact};

/// Unix milliseconds: the trade system reports every time in ms.
pub fn now_millis() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
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
