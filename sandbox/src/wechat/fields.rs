//! Field rules of the WeChat Pay v2 requests (wechat.md §4, §8): presence, lengths,
//! merchant numbers, amounts in fen, URLs. Each failure is the business error WeChat
//! gives: LACK_PARAMS for a missing field, INVALID_REQUEST for a malformed one.

use super::Fields;
use super::answer::PayError;
use crate::clock::parse_beijing_compact;
use std::net::IpAddr;

/// A field that must be present and non-empty.
pub fn required<'a>(params: &'a Fields, field: &str) -> Result<&'a str, PayError> {
    optional(params, field).ok_or_else(|| PayError::lack(field))
}

/// A field that may be absent; empty counts as absent (it is not signed either).
pub fn optional<'a>(params: &'a Fields, field: &str) -> Option<&'a str> {
    params.get(field).map(String::as_str).filter(|value| !value.is_empty())
}

pub fn max_bytes(field: &str, value: &str, max: usize) -> Result<(), PayError> {
    if value.len() > max {
        return Err(PayError::invalid(field, format!("longer than {max} bytes")));
    }
    Ok(())
}

pub fn max_chars(field: &str, value: &str, max: usize) -> Result<(), PayError> {
    if value.chars().count() > max {
        return Err(PayError::invalid(field, format!("longer than {max} characters")));
    }
    Ok(())
}

/// A merchant number: at most `max` letters, digits and the symbols in `symbols`.
pub fn merchant_no<'a>(params: &'a Fields, field: &str, max: usize, symbols: &str) -> Result<&'a str, PayError> {
    let value = required(params, field)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || symbols.contains(c);
    if value.len() > max || !value.chars().all(allowed) {
        let problem = format!("at most {max} letters, digits or {symbols}");
        return Err(PayError::invalid(field, problem));
    }
    Ok(value)
}

/// An amount in fen: a plain decimal integer of at least 1 ("0.12" is refused, as
/// WeChat refuses yuan amounts).
pub fn fee(params: &Fields, field: &str) -> Result<i64, PayError> {
    let text = required(params, field)?;
    let amount = text
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .filter(|amount| *amount >= 1);
    amount.ok_or_else(|| PayError::invalid(field, format!("{text} is not an integer amount in fen of at least 1")))
}

/// A public https URL without a query string, as WeChat requires of `notify_url`.
pub fn notify_url(field: &str, url: &str) -> Result<(), PayError> {
    crate::notify_url::check(url, crate::notify_url::WECHAT).map_err(|problem| PayError::invalid(field, problem))
}

/// The payer's IP address, v4 or v6.
pub fn ip(field: &str, value: &str) -> Result<(), PayError> {
    value
        .parse::<IpAddr>()
        .map(drop)
        .map_err(|_| PayError::invalid(field, format!("{value} is not an IP address")))
}

/// `yyyyMMddHHmmss` in Beijing time, as unix seconds.
pub fn compact_time(field: &str, value: &str) -> Result<i64, PayError> {
    parse_beijing_compact(value).ok_or_else(|| PayError::invalid(field, "not a yyyyMMddHHmmss time"))
}

/// One of `allowed`.
pub fn one_of<'a>(field: &str, value: &'a str, allowed: &[&str]) -> Result<&'a str, PayError> {
    if !allowed.contains(&value) {
        return Err(PayError::invalid(
            field,
            format!("{value} is not one of {}", allowed.join(", ")),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn err_code(result: Result<impl std::fmt::Debug, PayError>) -> &'static str {
        match result {
            Err(PayError::Business(code, _)) => code,
            other => panic!("expected a business error, got {other:?}"),
        }
    }

    #[test]
    fn fees_are_plain_positive_integers() {
        let ok = params(&[("total_fee", "1990")]);
        assert_eq!(fee(&ok, "total_fee"), Ok(1990));
        for bad in ["0", "0.12", "-1", "+5", "1e3", " 1", "99999999999999999999"] {
            assert_eq!(
                err_code(fee(&params(&[("total_fee", bad)]), "total_fee")),
                "INVALID_REQUEST",
                "{bad}"
            );
        }
        assert_eq!(err_code(fee(&params(&[("total_fee", "")]), "total_fee")), "LACK_PARAMS");
    }

    #[test]
    fn merchant_numbers_allow_only_their_symbols() {
        let symbols = "_-|*";
        assert!(merchant_no(&params(&[("n", "A_1-2|3*4")]), "n", 32, symbols).is_ok());
        assert!(merchant_no(&params(&[("n", "A@1")]), "n", 32, symbols).is_err());
        assert!(merchant_no(&params(&[("n", &"9".repeat(33))]), "n", 32, symbols).is_err());
        assert_eq!(err_code(merchant_no(&params(&[]), "n", 32, symbols)), "LACK_PARAMS");
    }

    #[test]
    fn notify_urls_are_https_without_query() {
        assert!(notify_url("u", "https://api.example.com/wechat/notify").is_ok());
        for bad in [
            "http://127.0.0.1:9000/n",
            "ftp://x/n",
            "https://x/n?a=1",
            "https:///n",
            "notify",
            "https://",
        ] {
            assert!(notify_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ips_and_times() {
        assert!(ip("ip", "203.0.113.7").is_ok() && ip("ip", "::1").is_ok());
        assert!(ip("ip", "localhost").is_err());
        assert_eq!(compact_time("t", "19700101080000"), Ok(0));
        assert!(compact_time("t", "2024-08-04").is_err());
    }
}
