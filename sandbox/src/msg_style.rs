//! How a callback's `msg` JSON text is written. Platforms' JSON encoders differ: some
//! escape every non-ASCII character (`"\u4e0d\u60f3"` for "不想"), some write keys in
//! another order. The signature covers the exact text sent, so a backend must verify
//! the raw bytes and then parse them, never re-serialize or rely on key order; these
//! options let a test send such text.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt::{self, Write as _};

/// How to write a `msg`; the default writes it as the sandbox builds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgStyle {
    /// Every non-ASCII character as a `\uXXXX` escape (UTF-16, as JSON escapes are).
    pub escape_unicode: bool,
    /// The top-level keys in reverse order.
    pub reorder_keys: bool,
}

impl MsgStyle {
    /// `msg` (a JSON object's text) written in this style: the same JSON value.
    pub fn write(self, msg: &str) -> String {
        let mut text = msg.to_owned();
        if self.reorder_keys {
            text = reversed_keys(&text);
        }
        if self.escape_unicode {
            text = escaped_unicode(&text);
        }
        text
    }
}

/// Non-ASCII characters can only occur inside JSON strings, where `\uXXXX` means the
/// same character: escaping every one of them anywhere keeps the value.
fn escaped_unicode(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii() {
            escaped.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            write!(escaped, "\\u{unit:04x}").expect("writing to a String cannot fail");
        }
    }
    escaped
}

/// The object's members in reverse order, each value's text untouched.
fn reversed_keys(text: &str) -> String {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let members = deserializer
        .deserialize_map(Members)
        .expect("the sandbox writes its msgs as JSON objects");
    let written: Vec<String> = members
        .iter()
        .rev()
        .map(|(key, value)| {
            let key = serde_json::to_string(key).expect("a string serializes");
            format!("{key}:{}", value.get())
        })
        .collect();
    format!("{{{}}}", written.join(","))
}

/// Reads a JSON object's members in the order written (`serde_json::Value` sorts them).
struct Members;

impl<'de> Visitor<'de> for Members {
    type Value = Vec<(String, Box<RawValue>)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
            members.push(member);
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const MSG: &str = r#"{"app_id":"tt1","refund_reason":["不想要了"],"detail":{"a":1,"b":"中"},"emoji":"😀","n":5}"#;

    fn value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_default_style_changes_nothing() {
        assert_eq!(MsgStyle::default().write(MSG), MSG);
    }

    #[test]
    fn escaping_keeps_the_value_in_ascii_text() {
        let escaped = MsgStyle {
            escape_unicode: true,
            ..MsgStyle::default()
        }
        .write(MSG);
        assert!(escaped.is_ascii(), "{escaped}");
        assert!(escaped.contains(r#"["\u4e0d\u60f3\u8981\u4e86"]"#), "{escaped}");
        assert!(escaped.contains(r#""\ud83d\ude00""#), "a surrogate pair: {escaped}");
        assert_eq!(value(&escaped), value(MSG));
    }

    #[test]
    fn reordering_reverses_the_top_level_keys_only() {
        let reordered = MsgStyle {
            reorder_keys: true,
            ..MsgStyle::default()
        }
        .write(MSG);
        assert_eq!(
            reordered,
            r#"{"n":5,"emoji":"😀","detail":{"a":1,"b":"中"},"refund_reason":["不想要了"],"app_id":"tt1"}"#
        );
        let both = MsgStyle {
            escape_unicode: true,
            reorder_keys: true,
        }
        .write(MSG);
        assert!(both.starts_with(r#"{"n":5,"emoji":"\ud83d\ude00""#), "{both}");
        assert_eq!(value(&both), value(MSG));
    }
}
