//! A v3 request body read as WeChat Pay reads it: one JSON object, UTF-8 limited to 1–3
//! byte characters (A.2), fields addressed by dotted paths (`amount.total`), every
//! refusal a PARAM_ERROR naming its field.

use super::api_error::V3Error;
use crate::notify_url;
use crate::wechat::Fields;
use serde_json::{Map, Value};

/// A parsed request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Body(Map<String, Value>);

impl Body {
    pub fn parse(bytes: &[u8]) -> Result<Body, V3Error> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| V3Error::param("body", format!("不是合法的JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(V3Error::param("body", "不是JSON对象"));
        };
        if let Some(field) = four_byte_field(&map, "") {
            return Err(V3Error::param(
                &field,
                "不支持4字节UTF-8字符 (4-byte UTF-8 characters such as emoji)",
            ));
        }
        Ok(Body(map))
    }

    fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut value = self.0.get(parts.next()?)?;
        for part in parts {
            value = value.get(part)?;
        }
        Some(value).filter(|value| !value.is_null())
    }

    /// A string field that must be there and not be empty.
    pub fn text(&self, path: &str) -> Result<&str, V3Error> {
        self.optional_text(path)?
            .filter(|text| !text.is_empty())
            .ok_or_else(|| V3Error::param(path, "缺少必填参数 (missing)"))
    }

    /// A string field that may be absent (null counts as absent).
    pub fn optional_text(&self, path: &str) -> Result<Option<&str>, V3Error> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(V3Error::param(path, "必须是字符串 (must be a string)")),
        }
    }

    /// An integer field that must be there.
    pub fn integer(&self, path: &str) -> Result<i64, V3Error> {
        match self.get(path) {
            None => Err(V3Error::param(path, "缺少必填参数 (missing)")),
            Some(Value::Number(number)) => number
                .as_i64()
                .ok_or_else(|| V3Error::param(path, "必须是整数 (must be an integer)")),
            Some(_) => Err(V3Error::param(path, "必须是整数 (must be an integer)")),
        }
    }

    /// Every leaf as `path = text`, for comparing a repeated request with the first.
    pub fn flatten(&self) -> Fields {
        let mut fields = Fields::new();
        for (name, value) in &self.0 {
            flatten_into(&mut fields, name, value);
        }
        fields
    }
}

fn flatten_into(fields: &mut Fields, path: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map {
                flatten_into(fields, &format!("{path}.{name}"), inner);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                flatten_into(fields, &format!("{path}[{index}]"), inner);
            }
        }
        Value::String(text) => {
            fields.insert(path.to_owned(), text.clone());
        }
        other => {
            fields.insert(path.to_owned(), other.to_string());
        }
    }
}

/// The path of the first key or string holding a character outside the BMP.
fn four_byte_field(map: &Map<String, Value>, prefix: &str) -> Option<String> {
    let four_byte = |text: &str| text.chars().any(|c| c.len_utf8() == 4);
    for (name, value) in map {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let inner = match value {
            Value::String(text) if four_byte(text) => Some(path.clone()),
            Value::Object(inner) => four_byte_field(inner, &path),
            Value::Array(items) => items.iter().find_map(|item| match item {
                Value::Object(inner) => four_byte_field(inner, &path),
                Value::String(text) if four_byte(text) => Some(path.clone()),
                _ => None,
            }),
            _ => None,
        };
        if four_byte(name) {
            return Some(path);
        }
        if inner.is_some() {
            return inner;
        }
    }
    None
}

/// A merchant number: `min`..=`max` characters of letters, digits and `symbols`.
pub fn merchant_no(path: &str, value: &str, min: usize, max: usize, symbols: &str) -> Result<(), V3Error> {
    let allowed = value.chars().all(|c| c.is_ascii_alphanumeric() || symbols.contains(c));
    if !(min..=max).contains(&value.len()) || !allowed {
        return Err(V3Error::param(
            path,
            format!("必须是{min}到{max}位数字、大小写字母或{symbols}"),
        ));
    }
    Ok(())
}

pub fn max_bytes(path: &str, value: &str, max: usize) -> Result<(), V3Error> {
    if value.len() > max {
        return Err(V3Error::param(path, format!("长度超过{max}字节")));
    }
    Ok(())
}

pub fn max_chars(path: &str, value: &str, max: usize) -> Result<(), V3Error> {
    if value.chars().count() > max {
        return Err(V3Error::param(path, format!("长度超过{max}个字符")));
    }
    Ok(())
}

/// https, public, no query string (the same rules as v2's).
pub fn notify_url(path: &str, url: &str) -> Result<(), V3Error> {
    notify_url::check(url, notify_url::WECHAT).map_err(|problem| V3Error::param(path, problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_by_path_with_their_types() {
        let body = Body::parse(br#"{"amount":{"total":100,"currency":"CNY"},"payer":{"openid":""},"x":null}"#).unwrap();
        assert_eq!(body.integer("amount.total"), Ok(100));
        assert_eq!(body.text("amount.currency"), Ok("CNY"));
        assert_eq!(body.text("payer.openid").unwrap_err().code, "PARAM_ERROR");
        assert_eq!(body.optional_text("x"), Ok(None));
        assert!(body.integer("amount.currency").is_err());
        assert!(body.text("amount.total").is_err());
        let flat = body.flatten();
        assert_eq!(flat["amount.total"], "100");
        assert_eq!(flat["payer.openid"], "");
    }

    #[test]
    fn four_byte_characters_and_non_objects_are_refused() {
        let emoji = Body::parse("{\"a\":1,\"detail\":{\"goods\":[{\"name\":\"月卡😀\"}]}}".as_bytes()).unwrap_err();
        assert_eq!(emoji.detail.unwrap()["field"], "detail.goods.name");
        assert!(Body::parse("{\"description\":\"月卡 ™\"}".as_bytes()).is_ok());
        assert!(Body::parse(b"[1]").is_err());
        assert!(Body::parse(b"{").is_err());
    }

    #[test]
    fn merchant_numbers_follow_the_rules() {
        assert!(merchant_no("n", "ab-_|*9", 6, 32, "_-|*").is_ok());
        assert!(merchant_no("n", "abcde", 6, 32, "_-|*").is_err());
        assert!(merchant_no("n", &"a".repeat(33), 6, 32, "_-|*").is_err());
        assert!(merchant_no("n", "abc@def", 6, 32, "_-|*").is_err());
    }
}
