//! `settle_params`: the split receivers of a settlement, sent as a JSON *string*
//! (douyin.md §3, §4) so that it can be signed. The sandbox parses that string as
//! strictly as the top-level parameters.

use super::params::{self, ParamError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const FIELD: &str = "settle_params";
pub const SETTLE_PARAMS_MAX_BYTES: usize = 2048;
pub const MAX_RECEIVERS: usize = 4;
/// Receivers together get at most 30% of the order.
const MAX_SHARE_PERCENT: i64 = 30;

/// One split receiver: a merchant and the fen it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleReceiver {
    pub merchant_uid: String,
    pub amount: i64,
}

/// `settle_params` once parsed: the JSON as sent, and the receivers it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleParams {
    pub json: Value,
    pub receivers: Vec<SettleReceiver>,
}

/// The receivers in `text`; `[]` (no receivers) is allowed: a settlement without a
/// split still has to be requested.
pub fn parse(text: &str) -> Result<SettleParams, ParamError> {
    params::max_bytes(FIELD, text, SETTLE_PARAMS_MAX_BYTES)?;
    let items = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(ParamError::new(FIELD, "must be a JSON array of receivers")),
        Err(e) => return Err(ParamError::new(FIELD, format!("is not valid JSON: {e}"))),
    };
    if items.len() > MAX_RECEIVERS {
        return Err(ParamError::new(
            FIELD,
            format!("has {} receivers; at most {MAX_RECEIVERS} per settle", items.len()),
        ));
    }
    let receivers = items
        .iter()
        .enumerate()
        .map(|(index, item)| receiver(index, item))
        .collect::<Result<_, _>>()?;
    Ok(SettleParams {
        json: Value::Array(items),
        receivers,
    })
}

fn receiver(index: usize, item: &Value) -> Result<SettleReceiver, ParamError> {
    let path = format!("{FIELD}[{index}]");
    let Value::Object(fields) = item else {
        return Err(ParamError::new(&path, "must be an object {merchant_uid, amount}"));
    };
    let read = || {
        Ok(SettleReceiver {
            merchant_uid: params::required_str(fields, "merchant_uid")?.to_owned(),
            amount: params::required_int(fields, "amount", super::ecpay::AMOUNT_RANGE)?,
        })
    };
    read().map_err(|e: ParamError| e.inside(&path))
}

/// Refuses receivers that together get more than 30% of `total_amount`.
pub fn check_share(receivers: &[SettleReceiver], total_amount: i64) -> Result<(), ParamError> {
    let shared: i64 = receivers.iter().map(|r| r.amount).sum();
    if shared * 100 > total_amount * MAX_SHARE_PERCENT {
        return Err(ParamError::new(
            FIELD,
            format!("receivers get {shared}, more than {MAX_SHARE_PERCENT}% of total_amount {total_amount}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_receivers() {
        assert_eq!(parse("[]").unwrap().receivers, []);
        let one = parse(r#"[{"merchant_uid":"m1","amount":30,"note":"kept"}]"#).unwrap();
        assert_eq!(
            one.receivers,
            [SettleReceiver {
                merchant_uid: "m1".into(),
                amount: 30
            }]
        );
        assert_eq!(
            one.json,
            serde_json::json!([{"merchant_uid":"m1","amount":30,"note":"kept"}])
        );
    }

    #[test]
    fn refuses_what_is_not_a_short_array_of_receivers() {
        let problem = |text: &str| parse(text).unwrap_err().0;
        assert!(problem("{}").contains("settle_params must be a JSON array"));
        assert!(problem("[").contains("not valid JSON"));
        assert!(problem(r#"[{"merchant_uid":"m","amount":"1"}]"#).contains("settle_params[0].amount"));
        assert!(problem(r#"[{"amount":1}]"#).contains("settle_params[0].merchant_uid is required"));
        assert!(problem(r#"[{"merchant_uid":"m","amount":0}]"#).contains("settle_params[0].amount"));
        assert!(problem("[1]").contains("settle_params[0] must be an object"));
        let five = format!("[{}]", [r#"{"merchant_uid":"m","amount":1}"#; 5].join(","));
        assert!(problem(&five).contains("at most 4"));
        let long = format!(r#"[{{"merchant_uid":"{}","amount":1}}]"#, "m".repeat(2048));
        assert!(problem(&long).contains("longer than 2048 bytes"));
    }

    #[test]
    fn receivers_get_at_most_30_percent() {
        let receivers = parse(r#"[{"merchant_uid":"a","amount":200},{"merchant_uid":"b","amount":100}]"#)
            .unwrap()
            .receivers;
        assert!(check_share(&receivers, 1000).is_ok());
        assert!(check_share(&receivers, 999).unwrap_err().0.contains("30%"));
        assert!(check_share(&[], 1).is_ok());
    }
}
