//! The `data` of `tt.requestOrder` (douyin-trade.md §2): camelCase JSON, serialised once
//! and kept, because the signature covers its exact bytes.

use crate::domain::order::{Order, ecpay_valid_time};
use crate::store::CatalogItem;
use serde::Serialize;

/// What a catalog entry lacks to be sold in trade mode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TradeItemError {
    #[error("catalog entry {0} has no goods_type and tag_group_id, which trade mode needs")]
    NoGoodsType(String),
    #[error("catalog entry {0} has no image, which trade mode needs (an empty imageList fails as a signature error)")]
    NoImage(String),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestOrderData<'a> {
    sku_list: [Sku<'a>; 1],
    out_order_no: &'a str,
    total_amount: i64,
    pay_expire_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pay_notify_url: Option<&'a str>,
    order_entry_schema: Schema,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Sku<'a> {
    sku_id: &'a str,
    price: i64,
    quantity: u32,
    title: &'a str,
    image_list: [&'a str; 1],
    #[serde(rename = "type")]
    goods_type: i64,
    tag_group_id: &'a str,
}

/// A mini-program page: `path` without a leading `/` or a query, `params` a JSON string.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Schema {
    pub path: String,
    pub params: String,
}

/// The order detail page of `out_order_no`, for `orderEntrySchema`, refunds and
/// `pre_create_refund` answers.
pub fn order_entry_schema(page: &str, out_order_no: &str) -> Schema {
    Schema {
        path: page.trim_start_matches('/').to_owned(),
        params: serde_json::json!({ "out_order_no": out_order_no }).to_string(),
    }
}

/// Settings the data takes from the deployment.
pub struct RequestOrderSettings<'a> {
    pub order_entry_page: &'a str,
    pub notify_url: Option<&'a str>,
    pub valid_seconds: i64,
}

/// The `data` string for a new order of `item`.
pub fn request_order_data(
    order: &Order,
    item: &CatalogItem,
    settings: &RequestOrderSettings,
) -> Result<String, TradeItemError> {
    let (Some(goods_type), Some(tag_group_id)) = (item.goods_type, item.tag_group_id.as_deref()) else {
        return Err(TradeItemError::NoGoodsType(item.sku.clone()));
    };
    if item.image.trim().is_empty() {
        return Err(TradeItemError::NoImage(item.sku.clone()));
    }
    let data = RequestOrderData {
        sku_list: [Sku {
            sku_id: &item.sku,
            price: item.price,
            quantity: order.quantity,
            title: &order.subject,
            image_list: [item.image.trim()],
            goods_type,
            tag_group_id,
        }],
        out_order_no: &order.out_order_no,
        total_amount: order.total_amount,
        // The same window as ecpay's valid_time; 0 would mean the platform's 300 s.
        pay_expire_seconds: ecpay_valid_time(settings.valid_seconds),
        pay_notify_url: settings.notify_url,
        order_entry_schema: order_entry_schema(settings.order_entry_page, &order.out_order_no),
    };
    Ok(serde_json::to_string(&data).expect("plain structs serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{OrderStatus, Platform};
    use serde_json::{Value, json};

    fn item() -> CatalogItem {
        CatalogItem {
            sku: "course-1".into(),
            price: 100,
            subject: "中文课程 \"引号\"".into(),
            body: String::new(),
            image: "https://example.com/a.png".into(),
            goods_type: Some(401),
            tag_group_id: Some("tag_group_7272625659888041996".into()),
        }
    }

    fn order() -> Order {
        Order {
            sku: "course-1".into(),
            quantity: 2,
            total_amount: 200,
            subject: "中文课程 \"引号\"".into(),
            body: String::new(),
            created_at: 0,
            pay_deadline: 900,
            updated_at: 0,
            ..crate::testing::fixtures::order(
                "MP0",
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinTrade,
                OrderStatus::Pending,
            )
        }
    }

    const SETTINGS: RequestOrderSettings<'static> = RequestOrderSettings {
        order_entry_page: "/pages/order/detail",
        notify_url: None,
        valid_seconds: 900,
    };

    #[test]
    fn data_has_the_camel_case_fields_of_the_reference() {
        let data = request_order_data(&order(), &item(), &SETTINGS).unwrap();
        let parsed: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            parsed,
            json!({
                "skuList": [{
                    "skuId": "course-1", "price": 100, "quantity": 2, "title": "中文课程 \"引号\"",
                    "imageList": ["https://example.com/a.png"], "type": 401,
                    "tagGroupId": "tag_group_7272625659888041996"
                }],
                "outOrderNo": "MP0",
                "totalAmount": 200,
                "payExpireSeconds": 900,
                "orderEntrySchema": {"path": "pages/order/detail", "params": "{\"out_order_no\":\"MP0\"}"}
            })
        );
        // Chinese text stays UTF-8, not \u escapes: the platform signs the same bytes.
        assert!(data.contains("中文课程"));
    }

    #[test]
    fn notify_url_is_sent_when_configured() {
        let settings = RequestOrderSettings {
            notify_url: Some("https://example.com/notify/douyin"),
            ..SETTINGS
        };
        let data = request_order_data(&order(), &item(), &settings).unwrap();
        assert!(data.contains(r#""payNotifyUrl":"https://example.com/notify/douyin""#));
    }

    #[test]
    fn entries_without_goods_type_or_image_are_refused() {
        let mut bare = item();
        bare.tag_group_id = None;
        assert_eq!(
            request_order_data(&order(), &bare, &SETTINGS),
            Err(TradeItemError::NoGoodsType("course-1".into()))
        );
        let mut no_image = item();
        no_image.image = " ".into();
        assert_eq!(
            request_order_data(&order(), &no_image, &SETTINGS),
            Err(TradeItemError::NoImage("course-1".into()))
        );
    }
}
