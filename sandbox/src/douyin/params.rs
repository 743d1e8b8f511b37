//! Strict readers for request parameters: strings must be JSON strings and numbers
//! JSON integers, because the platform signs and stores what it receives and a client
//! that sends `"100"` or `100.0` is a bug the sandbox must surface.

use crate::notify_url::{self, UrlRules};
use serde_json::{Map, Value};
use std::ops::RangeInclusive;

/// A parameter problem; the text names the field, as the platform's `err_tips` do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

const PREFIX: &str = "参数错误: ";

impl ParamError {
    pub fn new(field: &str, problem: impl std::fmt::Display) -> ParamError {
        ParamError(format!("{PREFIX}{field} {problem}"))
    }

    /// The same problem found inside `parent` (a JSON string field parsed into an
    /// object): `img is required` becomes `order_detail.item_list[0].img is required`,
    /// so that the message points at the exact nested field.
    pub fn inside(self, parent: &str) -> ParamError {
        match self.0.strip_prefix(PREFIX) {
            Some(rest) => ParamError(format!("{PREFIX}{parent}.{rest}")),
            None => self,
        }
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A required non-empty string.
pub fn required_str<'a>(params: &'a Map<String, Value>, field: &str) -> Result<&'a str, ParamError> {
    optional_str(params, field)?.ok_or_else(|| ParamError::new(field, "is required"))
}

/// An optional string; absent, `null` and `""` all mean "not given" (none of them is signed).
pub fn optional_str<'a>(params: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ParamError> {
    match params.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ParamError::new(
            field,
            format!("must be a string, not {}", describe(other)),
        )),
    }
}

/// A required JSON integer within `range`.
pub fn required_int(params: &Map<String, Value>, field: &str, range: RangeInclusive<i64>) -> Result<i64, ParamError> {
    optional_int(params, field, range)?.ok_or_else(|| ParamError::new(field, "is required"))
}

/// An optional JSON integer within `range`.
pub fn optional_int(
    params: &Map<String, Value>,
    field: &str,
    range: RangeInclusive<i64>,
) -> Result<Option<i64>, ParamError> {
    let value = match params.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) if n.is_f64() => {
            return Err(ParamError::new(field, format!("must be an integer, not the float {n}")));
        }
        Some(Value::Number(n)) => n.as_i64(),
        Some(other) => {
            return Err(ParamError::new(
                field,
                format!("must be an integer, not {}", describe(other)),
            ));
        }
    };
    match value {
        Some(v) if range.contains(&v) => Ok(Some(v)),
        _ => Err(ParamError::new(
            field,
            format!("must be in [{}, {}]", range.start(), range.end()),
        )),
    }
}

/// At most `max` bytes of UTF-8.
pub fn max_bytes(field: &str, value: &str, max: usize) -> Result<(), ParamError> {
    if value.len() > max {
        return Err(ParamError::new(field, format!("is longer than {max} bytes")));
    }
    Ok(())
}

/// At most `max` characters (Unicode scalar values).
pub fn max_chars(field: &str, value: &str, max: usize) -> Result<(), ParamError> {
    if value.chars().count() > max {
        return Err(ParamError::new(field, format!("is longer than {max} characters")));
    }
    Ok(())
}

/// A merchant number (`out_order_no`, later `out_refund_no`, `out_settle_no`): at most
/// 64 of `[0-9A-Za-z_*-]`.
pub fn merchant_no(field: &str, value: &str) -> Result<(), ParamError> {
    max_bytes(field, value, 64)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*'))
    {
        return Err(ParamError::new(
            field,
            "may only contain digits, letters, '_', '-' and '*'",
        ));
    }
    Ok(())
}

/// A required merchant number (see [`merchant_no`]).
pub fn required_merchant_no<'a>(params: &'a Map<String, Value>, field: &str) -> Result<&'a str, ParamError> {
    let no = required_str(params, field)?;
    merchant_no(field, no)?;
    Ok(no)
}

/// An optional string of at most `max` bytes.
pub fn optional_bounded_str<'a>(
    params: &'a Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<&'a str>, ParamError> {
    let value = optional_str(params, field)?;
    if let Some(text) = value {
        max_bytes(field, text, max)?;
    }
    Ok(value)
}

/// An optional notify URL, checked by `rules` (public https, see [`crate::notify_url`]).
pub fn optional_notify_url<'a>(
    params: &'a Map<String, Value>,
    field: &str,
    rules: UrlRules,
) -> Result<Option<&'a str>, ParamError> {
    let value = optional_str(params, field)?;
    if let Some(url) = value {
        notify_url::check(url, rules).map_err(|problem| ParamError::new(field, problem))?;
    }
    Ok(value)
}

/// The longest prefix of `value` that fits in `max` bytes without splitting a character.
pub fn truncate_bytes(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn integers_must_be_json_integers_in_range() {
        let p = params(json!({"a": 5, "f": 5.0, "s": "5", "big": 20_000_000_000_i64, "neg": -1}));
        assert_eq!(required_int(&p, "a", 1..=10), Ok(5));
        assert!(required_int(&p, "f", 1..=10).unwrap_err().0.contains("float"));
        assert!(required_int(&p, "s", 1..=10).unwrap_err().0.contains("a string"));
        assert!(required_int(&p, "big", 1..=10_000_000_000).is_err());
        assert!(required_int(&p, "neg", 1..=10).is_err());
        assert!(
            required_int(&p, "missing", 1..=10)
                .unwrap_err()
                .0
                .contains("missing is required")
        );
        assert_eq!(optional_int(&p, "missing", 1..=10), Ok(None));
    }

    #[test]
    fn strings_must_be_json_strings() {
        let p = params(json!({"s": "x", "n": 1, "e": "", "z": null}));
        assert_eq!(required_str(&p, "s"), Ok("x"));
        assert!(required_str(&p, "n").unwrap_err().0.contains("must be a string"));
        assert!(required_str(&p, "e").is_err());
        assert_eq!(optional_str(&p, "z"), Ok(None));
    }

    #[test]
    fn lengths_count_bytes_and_characters_separately() {
        let chinese = "中".repeat(42); // 126 bytes, 42 characters
        assert!(max_bytes("subject", &chinese, 128).is_ok() && max_chars("subject", &chinese, 42).is_ok());
        assert!(max_chars("subject", &"a".repeat(43), 42).is_err());
        assert!(max_bytes("subject", &"中".repeat(43), 128).is_err());
    }

    #[test]
    fn merchant_numbers() {
        assert!(merchant_no("out_order_no", "Ab_09-*").is_ok());
        assert!(merchant_no("out_order_no", "a b").is_err());
        assert!(merchant_no("out_order_no", &"1".repeat(65)).is_err());
    }

    #[test]
    fn nested_problems_name_the_whole_path() {
        let item = params(json!({"price": "1"}));
        let problem = required_int(&item, "price", 0..=10)
            .unwrap_err()
            .inside("order_detail.item_list[0]");
        assert!(
            problem
                .0
                .starts_with("参数错误: order_detail.item_list[0].price must be an integer")
        );
        assert_eq!(
            ParamError("free text".into()).inside("x"),
            ParamError("free text".into())
        );
    }

    #[test]
    fn bounded_and_merchant_number_readers() {
        let p = params(json!({"no": "R-1", "bad": "R 1", "url": "x".repeat(9)}));
        assert_eq!(required_merchant_no(&p, "no"), Ok("R-1"));
        assert!(required_merchant_no(&p, "bad").is_err());
        assert!(required_merchant_no(&p, "missing").is_err());
        assert_eq!(optional_bounded_str(&p, "missing", 8), Ok(None));
        assert!(
            optional_bounded_str(&p, "url", 8)
                .unwrap_err()
                .0
                .contains("url is longer than 8 bytes")
        );
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_bytes("中文", 4), "中");
        assert_eq!(truncate_bytes("abc", 4), "abc");
    }
}
