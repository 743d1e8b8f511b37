//! The `data` of `tt.requestOrder` (douyin-trade.md §2): a JSON string with camelCase
//! keys, read as strictly as the platform reads it (types, limits, unknown keys).

use super::SANDBOX_MERCHANT_UID;
use super::orders::NewTradeOrder;
use super::schema;
use crate::douyin::params::{self, ParamError};
use crate::notify_url;
use serde_json::{Map, Value};
use std::ops::RangeInclusive;

const TOP_LEVEL_KEYS: [&str; 10] = [
    "skuList",
    "outOrderNo",
    "totalAmount",
    "currency",
    "payExpireSeconds",
    "payNotifyUrl",
    "merchantUid",
    "orderEntrySchema",
    "limitPayWayList",
    "promotionId",
];
const SKU_KEYS: [&str; 8] = [
    "skuId",
    "price",
    "quantity",
    "title",
    "imageList",
    "type",
    "tagGroupId",
    "entrySchema",
];
const PRICE_RANGE: RangeInclusive<i64> = 1..=10_000_000_000;
const QUANTITY_RANGE: RangeInclusive<i64> = 1..=100;
/// 48 hours; 0 (or absent) means the default.
const PAY_EXPIRE_RANGE: RangeInclusive<i64> = 0..=172_800;
pub const DEFAULT_PAY_EXPIRE_SECONDS: i64 = 300;
const OUT_ORDER_NO_MAX_BYTES: usize = 64;
const TITLE_MAX_BYTES: usize = 256;
const IMAGE_URL_MAX_BYTES: usize = 512;

/// The order `data` asks for; `console_notify_url` is used when it names none.
pub fn parse(data: &str, console_notify_url: Option<&str>) -> Result<NewTradeOrder, ParamError> {
    let fields = match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err(ParamError::new("data", "must be a JSON object")),
        Err(e) => return Err(ParamError::new("data", format!("is not valid JSON: {e}"))),
    };
    only_known_keys(&fields, &TOP_LEVEL_KEYS, "data")?;
    let out_order_no = params::required_str(&fields, "outOrderNo")?;
    params::max_bytes("outOrderNo", out_order_no, OUT_ORDER_NO_MAX_BYTES)?;
    let total_amount = params::required_int(&fields, "totalAmount", PRICE_RANGE)?;
    let sku = single_sku(&fields)?;
    let currency = params::optional_str(&fields, "currency")?.unwrap_or("CNY");
    match currency {
        "CNY" => {}
        "DIAMOND" if sku.quantity == 1 => {}
        "DIAMOND" => {
            return Err(ParamError::new(
                "skuList[0].quantity",
                "must be 1 with currency DIAMOND",
            ));
        }
        other => {
            return Err(ParamError::new(
                "currency",
                format!("{other:?} is neither CNY nor DIAMOND"),
            ));
        }
    }
    let expected = sku.price.checked_mul(sku.quantity);
    if expected != Some(total_amount) {
        return Err(ParamError::new(
            "totalAmount",
            format!("{total_amount} is not price {} × quantity {}", sku.price, sku.quantity),
        ));
    }
    let pay_expire_seconds = match params::optional_int(&fields, "payExpireSeconds", PAY_EXPIRE_RANGE)? {
        None | Some(0) => DEFAULT_PAY_EXPIRE_SECONDS,
        Some(seconds) => seconds,
    };
    let notify_url = params::optional_notify_url(&fields, "payNotifyUrl", notify_url::TRADE)?;
    let merchant_uid = params::optional_bounded_str(&fields, "merchantUid", 64)?;
    let entry_schema = fields
        .get("orderEntrySchema")
        .ok_or_else(|| ParamError::new("orderEntrySchema", "is required"))?;
    schema::check("orderEntrySchema", entry_schema)?;
    limit_pay_ways(&fields)?;
    params::optional_str(&fields, "promotionId")?;
    Ok(NewTradeOrder {
        out_order_no: out_order_no.to_owned(),
        merchant_uid: merchant_uid.unwrap_or(SANDBOX_MERCHANT_UID).to_owned(),
        total_amount,
        sku_id: sku.sku_id,
        price: sku.price,
        quantity: sku.quantity,
        title: sku.title,
        goods_type: sku.goods_type,
        tag_group_id: sku.tag_group_id,
        pay_expire_seconds,
        notify_url: notify_url.or(console_notify_url).map(str::to_owned),
        data: data.to_owned(),
    })
}

struct Sku {
    sku_id: String,
    price: i64,
    quantity: i64,
    title: String,
    goods_type: i64,
    tag_group_id: String,
}

/// `skuList`: exactly one item "for now".
fn single_sku(fields: &Map<String, Value>) -> Result<Sku, ParamError> {
    let items = match fields.get("skuList") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Err(ParamError::new("skuList", "is required")),
        Some(_) => return Err(ParamError::new("skuList", "must be an array")),
    };
    let [item] = items.as_slice() else {
        return Err(ParamError::new(
            "skuList",
            format!("has {} items; exactly one is allowed", items.len()),
        ));
    };
    let Value::Object(item) = item else {
        return Err(ParamError::new("skuList[0]", "must be an object"));
    };
    sku(item).map_err(|e| e.inside("skuList[0]"))
}

fn sku(item: &Map<String, Value>) -> Result<Sku, ParamError> {
    only_known_keys(item, &SKU_KEYS, "sku")?;
    let sku_id = params::required_str(item, "skuId")?;
    let price = params::required_int(item, "price", PRICE_RANGE)?;
    let quantity = params::required_int(item, "quantity", QUANTITY_RANGE)?;
    let title = params::required_str(item, "title")?;
    params::max_bytes("title", title, TITLE_MAX_BYTES)?;
    image_list(item)?;
    let goods_type = params::required_int(item, "type", 1..=i64::MAX)?;
    let tag_group_id = params::required_str(item, "tagGroupId")?;
    if let Some(entry_schema) = item.get("entrySchema") {
        schema::check("entrySchema", entry_schema)?;
    }
    Ok(Sku {
        sku_id: sku_id.to_owned(),
        price,
        quantity,
        title: title.to_owned(),
        goods_type,
        tag_group_id: tag_group_id.to_owned(),
    })
}

/// Exactly one https image URL: an empty list is the classic "签名验签错误" on the
/// platform, and the cashier, itself served over https, loads only https images.
fn image_list(item: &Map<String, Value>) -> Result<(), ParamError> {
    let urls = match item.get("imageList") {
        Some(Value::Array(urls)) => urls,
        None | Some(Value::Null) => return Err(ParamError::new("imageList", "is required")),
        Some(_) => return Err(ParamError::new("imageList", "must be an array of one URL string")),
    };
    let [url] = urls.as_slice() else {
        return Err(ParamError::new(
            "imageList",
            format!("has {} URLs; exactly one is required", urls.len()),
        ));
    };
    match url {
        Value::String(url) if url.starts_with("https://") && url.len() > "https://".len() => {
            params::max_bytes("imageList[0]", url, IMAGE_URL_MAX_BYTES)
        }
        Value::String(url) => Err(ParamError::new("imageList[0]", format!("{url:?} is not an https URL"))),
        _ => Err(ParamError::new("imageList[0]", "must be a URL string")),
    }
}

/// `limitPayWayList`: payment methods to hide, 1 WeChat and 2 Alipay.
fn limit_pay_ways(fields: &Map<String, Value>) -> Result<(), ParamError> {
    match fields.get("limitPayWayList") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(ways)) if ways.iter().all(|way| way.as_i64().is_some_and(|w| w == 1 || w == 2)) => Ok(()),
        Some(_) => Err(ParamError::new(
            "limitPayWayList",
            "must be an array of 1 (WeChat) and 2 (Alipay)",
        )),
    }
}

fn only_known_keys(fields: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), ParamError> {
    match fields.keys().find(|key| !known.contains(&key.as_str())) {
        Some(unknown) => Err(ParamError::new(
            unknown,
            format!("is not a {what} field (keys are camelCase: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> Value {
        json!({
            "skuList": [{
                "skuId": "vip-30", "price": 990, "quantity": 2, "title": "月卡",
                "imageList": ["https://example.com/a.png"], "type": 401,
                "tagGroupId": "tag_group_7272625659888041996",
            }],
            "outOrderNo": "NO-1",
            "totalAmount": 1980,
            "orderEntrySchema": { "path": "pages/order/detail", "params": "{\"no\":\"NO-1\"}" },
        })
    }

    fn problem(edit: impl FnOnce(&mut Value)) -> String {
        let mut value = data();
        edit(&mut value);
        parse(&value.to_string(), None).unwrap_err().0
    }

    #[test]
    fn a_good_data_gives_the_order() {
        let text = data().to_string();
        let order = parse(&text, Some("https://console.test/n")).unwrap();
        assert_eq!((order.total_amount, order.quantity, order.goods_type), (1980, 2, 401));
        assert_eq!(
            (order.pay_expire_seconds, order.notify_url.as_deref()),
            (300, Some("https://console.test/n"))
        );
        assert_eq!((order.merchant_uid.as_str(), order.data), (SANDBOX_MERCHANT_UID, text));
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(problem(|d| d["skuList"][0]["price"] = json!("990")).contains("skuList[0].price must be an integer"));
        assert!(problem(|d| d["skuList"][0]["imageList"] = json!([])).contains("skuList[0].imageList has 0 URLs"));
        assert!(
            problem(|d| d["skuList"][0]["imageList"] = json!(["http://example.com/a.png"]))
                .contains("skuList[0].imageList[0] \"http://example.com/a.png\" is not an https URL")
        );
        assert!(
            problem(|d| d["payNotifyUrl"] = json!("http://127.0.0.1:9000/notify/douyin"))
                .contains("payNotifyUrl \"http://127.0.0.1:9000/notify/douyin\" is not an https URL")
        );
        assert!(problem(|d| d["totalAmount"] = json!(1990)).contains("totalAmount 1990 is not price 990 × quantity 2"));
        assert!(problem(|d| d["orderEntrySchema"]["path"] = json!("/pages/a")).contains("must not start with '/'"));
        assert!(problem(|d| d["skuList"][0]["quantity"] = json!(101)).contains("quantity must be in [1, 100]"));
        assert!(problem(|d| d["out_order_no"] = json!("x")).contains("out_order_no is not a data field"));
        assert!(problem(|d| d["skuList"][0]["cpExtra"] = json!("x")).contains("cpExtra is not a sku field"));
        assert!(problem(|d| d["payExpireSeconds"] = json!(172_801)).contains("payExpireSeconds"));
        assert!(problem(|d| d["skuList"][0]["title"] = json!("")).contains("title is required"));
        assert!(problem(|d| d["skuList"] = json!([d["skuList"][0], d["skuList"][0]])).contains("exactly one"));
        assert!(
            problem(|d| d.as_object_mut().unwrap().remove("orderEntrySchema").map(drop).unwrap())
                .contains("orderEntrySchema is required")
        );
        assert!(problem(|d| d["currency"] = json!("DIAMOND")).contains("must be 1 with currency DIAMOND"));
        assert!(parse("[]", None).unwrap_err().0.contains("data must be a JSON object"));
    }

    #[test]
    fn expiry_defaults_and_bounds() {
        let mut value = data();
        value["payExpireSeconds"] = json!(0);
        assert_eq!(parse(&value.to_string(), None).unwrap().pay_expire_seconds, 300);
        value["payExpireSeconds"] = json!(172_800);
        assert_eq!(parse(&value.to_string(), None).unwrap().pay_expire_seconds, 172_800);
    }
}
