//! `byteAuthorization`, the backend's signature over the `data` it hands to
//! `tt.requestOrder` (douyin-trade.md §3): `SHA256-RSA2048 ` then `appid`, `nonce_str`,
//! `timestamp`, `key_version` and `signature` as comma-separated `key=value` pairs in
//! any order, values quoted or not (the official pages disagree).

use super::keyring::Keyring;
use crate::config::TradeSandboxConfig;
use std::collections::HashMap;

const SCHEME: &str = "SHA256-RSA2048 ";
const KEYS: [&str; 5] = ["appid", "nonce_str", "timestamp", "key_version", "signature"];
/// How far the timestamp may be from now ("~1 h off is rejected").
pub const MAX_SKEW_SECS: i64 = 3600;

/// The string the app signs: fixed method and URI, then timestamp, nonce and `data`,
/// every line ending in `\n`, the last included.
pub fn signed_string(timestamp: &str, nonce_str: &str, data: &str) -> String {
    format!("POST\n/requestOrder\n{timestamp}\n{nonce_str}\n{data}\n")
}

/// Checks `value` for `data` against the app's console settings at `now` (unix s).
pub fn verify(
    value: &str,
    data: &str,
    app_id: &str,
    config: &TradeSandboxConfig,
    keys: &Keyring,
    now: i64,
) -> Result<(), String> {
    let pairs = parse(value)?;
    if pairs["appid"] != app_id {
        return Err(format!("byteAuthorization appid {} is not this app", pairs["appid"]));
    }
    if pairs["key_version"] != config.key_version {
        return Err(format!(
            "byteAuthorization key_version {} does not match the console's {}",
            pairs["key_version"], config.key_version
        ));
    }
    let timestamp = pairs["timestamp"];
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| format!("byteAuthorization timestamp {timestamp:?} is not unix seconds"))?;
    if (now - seconds).abs() > MAX_SKEW_SECS {
        return Err(format!(
            "byteAuthorization timestamp {seconds} is more than an hour from now ({now})"
        ));
    }
    let nonce_str = pairs["nonce_str"];
    if nonce_str.is_empty() {
        return Err("byteAuthorization nonce_str is empty".into());
    }
    let message = signed_string(timestamp, nonce_str, data);
    if !keys.verify_app(message.as_bytes(), pairs["signature"]) {
        return Err(
            "byteAuthorization signature does not verify (签名验签错误): SHA256withRSA over \
                    \"POST\\n/requestOrder\\n<timestamp>\\n<nonce_str>\\n<data>\\n\" with the app private key, \
                    standard Base64"
                .into(),
        );
    }
    Ok(())
}

/// The five pairs, each exactly once; values lose their surrounding double quotes.
fn parse(value: &str) -> Result<HashMap<&str, &str>, String> {
    let pairs = value
        .strip_prefix(SCHEME)
        .ok_or_else(|| format!("byteAuthorization must start with {SCHEME:?}"))?;
    let mut found = HashMap::new();
    for pair in pairs.split(',') {
        let (key, raw) = pair
            .trim()
            .split_once('=')
            .ok_or_else(|| format!("byteAuthorization part {pair:?} is not key=value"))?;
        if !KEYS.contains(&key) {
            return Err(format!("byteAuthorization has an unknown key {key:?}"));
        }
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(raw);
        if found.insert(key, unquoted).is_some() {
            return Err(format!("byteAuthorization has {key} twice"));
        }
    }
    if let Some(missing) = KEYS.iter().find(|key| !found.contains_key(*key)) {
        return Err(format!("byteAuthorization lacks {missing}"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_in_any_order_quoted_or_not() {
        let pairs =
            parse(r#"SHA256-RSA2048 appid=tt1,nonce_str="n",key_version=1,timestamp=5,signature=ab=="#).unwrap();
        assert_eq!(
            (pairs["nonce_str"], pairs["signature"], pairs["timestamp"]),
            ("n", "ab==", "5")
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        let full = "appid=a,nonce_str=n,timestamp=1,key_version=1,signature=s";
        assert!(parse(full).unwrap_err().contains("must start with"));
        assert!(
            parse(&format!("SHA256-RSA2048 {full},appid=b"))
                .unwrap_err()
                .contains("appid twice")
        );
        assert!(
            parse("SHA256-RSA2048 appid=a,nonce_str=n")
                .unwrap_err()
                .contains("lacks timestamp")
        );
        assert!(
            parse(&format!("SHA256-RSA2048 {full},x=1"))
                .unwrap_err()
                .contains("unknown key")
        );
        assert!(parse("SHA256-RSA2048 appid").unwrap_err().contains("not key=value"));
    }
}
