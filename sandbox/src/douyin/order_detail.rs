//! `order_detail` of an order-center push: a JSON *string* (douyin.md §6) holding the
//! order as the user's order list shows it. Parsed as strictly as top-level fields, and
//! each problem names the nested field (`order_detail.item_list[0].img`).

use super::params::{self, ParamError};
use serde_json::{Map, Value};

const FIELD: &str = "order_detail";
/// Fen and counts; no negative amounts.
const NON_NEGATIVE: std::ops::RangeInclusive<i64> = 0..=i64::MAX;

/// The parsed object of `text`, checked field by field.
pub fn parse(text: &str) -> Result<Value, ParamError> {
    let detail = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(detail)) => detail,
        Ok(_) => return Err(ParamError::new(FIELD, "must be a JSON object")),
        Err(e) => return Err(ParamError::new(FIELD, format!("is not valid JSON: {e}"))),
    };
    check(&detail).map_err(|e| e.inside(FIELD))?;
    Ok(Value::Object(detail))
}

fn check(detail: &Map<String, Value>) -> Result<(), ParamError> {
    // Re-pushing the same order_id updates the order: it is the key, so never empty.
    params::required_str(detail, "order_id")?;
    params::required_int(detail, "create_time", NON_NEGATIVE)?;
    string(detail, "status")?;
    params::required_int(detail, "amount", NON_NEGATIVE)?;
    params::required_int(detail, "total_price", NON_NEGATIVE)?;
    string(detail, "detail_url")?;
    let items = match detail.get("item_list") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => return Err(ParamError::new("item_list", "must not be empty")),
        None | Some(Value::Null) => return Err(ParamError::new("item_list", "is required")),
        Some(_) => return Err(ParamError::new("item_list", "must be an array")),
    };
    for (index, item) in items.iter().enumerate() {
        let path = format!("item_list[{index}]");
        let Value::Object(item) = item else {
            return Err(ParamError::new(&path, "must be an object"));
        };
        check_item(item).map_err(|e| e.inside(&path))?;
    }
    Ok(())
}

fn check_item(item: &Map<String, Value>) -> Result<(), ParamError> {
    params::required_str(item, "img")?;
    params::required_str(item, "title")?;
    // The line total, in fen.
    params::required_int(item, "price", NON_NEGATIVE)?;
    Ok(())
}

/// A present JSON string, possibly empty (the order list shows what it is given).
fn string(detail: &Map<String, Value>, field: &str) -> Result<(), ParamError> {
    match detail.get(field) {
        Some(Value::String(_)) => Ok(()),
        None => Err(ParamError::new(field, "is required")),
        Some(_) => Err(ParamError::new(field, "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail() -> Value {
        json!({
            "order_id": "NO-1", "create_time": 1_722_769_986, "status": "已支付", "amount": 1,
            "total_price": 1990, "detail_url": "pages/order/detail?id=NO-1",
            "item_list": [{ "img": "https://example.com/p.png", "title": "月卡", "price": 1990 }],
        })
    }

    fn problem(change: impl FnOnce(&mut Value)) -> String {
        let mut detail = detail();
        change(&mut detail);
        parse(&detail.to_string()).unwrap_err().0
    }

    #[test]
    fn a_complete_detail_parses_to_its_object() {
        assert_eq!(parse(&detail().to_string()), Ok(detail()));
    }

    #[test]
    fn problems_name_the_nested_field() {
        assert!(problem(|d| d["total_price"] = json!(19.9)).contains("order_detail.total_price must be an integer"));
        assert!(problem(|d| d["order_id"] = json!(7)).contains("order_detail.order_id must be a string"));
        assert!(problem(|d| d["status"] = json!(1)).contains("order_detail.status must be a string"));
        assert!(problem(|d| d["item_list"] = json!([])).contains("order_detail.item_list must not be empty"));
        assert!(
            problem(|d| d["item_list"][0]["img"] = json!("")).contains("order_detail.item_list[0].img is required")
        );
        assert!(problem(|d| d["item_list"][0]["price"] = json!("1")).contains("order_detail.item_list[0].price"));
        let missing = problem(|d| drop(d.as_object_mut().unwrap().remove("detail_url")));
        assert!(missing.contains("order_detail.detail_url is required"), "{missing}");
        assert!(
            parse("[]")
                .unwrap_err()
                .0
                .contains("order_detail must be a JSON object")
        );
        assert!(parse("{").unwrap_err().0.contains("order_detail is not valid JSON"));
    }
}
