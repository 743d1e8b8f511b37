//! A page of the mini-program, `{"path", "params"}` (douyin-trade.md §2 Schema): where
//! Douyin's order, goods and refund pages link to. `params` is a JSON *string*.

use crate::douyin::params::{self, ParamError};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;

pub const PATH_MAX_BYTES: usize = 512;
pub const PARAMS_MAX_BYTES: usize = 512;

/// Checks the schema in `value`, named `field` in messages: an object with a `path`
/// (no leading `/`, no query, only letters, digits, `_` and `/`) and optionally
/// `params` (a string holding a JSON object with unique keys); nothing else.
pub fn check(field: &str, value: &Value) -> Result<(), ParamError> {
    let Value::Object(schema) = value else {
        return Err(ParamError::new(field, "must be an object {path, params}"));
    };
    if let Some(unknown) = schema.keys().find(|key| !matches!(key.as_str(), "path" | "params")) {
        return Err(ParamError::new(field, format!("has an unknown field {unknown}")));
    }
    let path = params::required_str(schema, "path").map_err(|e| e.inside(field))?;
    check_path(path).map_err(|e| e.inside(field))?;
    if let Some(text) = params::optional_str(schema, "params").map_err(|e| e.inside(field))? {
        check_params(text).map_err(|e| e.inside(field))?;
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), ParamError> {
    params::max_bytes("path", path, PATH_MAX_BYTES)?;
    if path.starts_with('/') {
        return Err(ParamError::new("path", format!("{path:?} must not start with '/'")));
    }
    if path.contains('?') {
        return Err(ParamError::new(
            "path",
            format!("{path:?} must not carry a query; use params"),
        ));
    }
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/'))
    {
        return Err(ParamError::new(
            "path",
            format!("{path:?} may only contain letters, digits, '_' and '/'"),
        ));
    }
    Ok(())
}

fn check_params(text: &str) -> Result<(), ParamError> {
    params::max_bytes("params", text, PARAMS_MAX_BYTES)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_map(UniqueKeys)
        .and_then(|()| deserializer.end())
        .map_err(|e| ParamError::new("params", format!("must be a JSON object string with unique keys: {e}")))
}

/// Reads a JSON object, refusing a key seen twice (`serde_json::Value` would keep the last).
struct UniqueKeys;

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<de::IgnoredAny>()?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem(value: Value) -> String {
        check("order_entry_schema", &value).unwrap_err().0
    }

    #[test]
    fn good_schemas_pass() {
        assert!(check("s", &json!({"path": "pages/order/detail", "params": "{\"id\":\"1\"}"})).is_ok());
        assert!(check("s", &json!({"path": "pages/index"})).is_ok());
    }

    #[test]
    fn bad_schemas_name_the_problem() {
        assert!(problem(json!({"path": "/pages/a"})).contains("order_entry_schema.path \"/pages/a\" must not start"));
        assert!(problem(json!({"path": "pages/a?x=1"})).contains("query"));
        assert!(problem(json!({"path": "pages/a-b"})).contains("only contain"));
        assert!(problem(json!({"path": "p".repeat(513)})).contains("512 bytes"));
        assert!(problem(json!({"path": "p", "params": {"id": 1}})).contains("params must be a string"));
        assert!(problem(json!({"path": "p", "params": "[1]"})).contains("JSON object string"));
        assert!(problem(json!({"path": "p", "params": "{\"a\":1,\"a\":2}"})).contains("duplicate key"));
        assert!(problem(json!({"path": "p", "params": "{} x"})).contains("JSON object string"));
        assert!(problem(json!({"params": "{}"})).contains("order_entry_schema.path is required"));
        assert!(problem(json!({"path": "p", "query": "x"})).contains("unknown field query"));
        assert!(problem(json!("pages/a")).contains("must be an object"));
    }
}
