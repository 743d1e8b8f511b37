//! The back office's reads (CONTRACT.md §10): orders listed newest first, one order
//! with its refunds, settlements and timeline, and the CSV export.

use super::admin_csv;
use super::admin_query::{csv_query, list_query, no_query};
use super::orders::OrderAnswer;
use crate::app::App;
use crate::domain::ids::valid_out_order_no;
use crate::domain::order::Order;
use crate::domain::refund::{Refund, RefundStatus, Settlement};
use crate::domain::timeline::{DeliveryState, Moment, timeline_with};
use crate::error::ApiError;
use crate::store::Store;
use crate::store::WebhookStatus;
use crate::store::admin::OrderCursor;
use serde::Serialize;

/// Orders read per table request of the export.
const EXPORT_PAGE: usize = 500;
/// A Lambda answer carries at most 6 MB; the export stops short of it with a 400.
const EXPORT_MAX_BYTES: usize = 5_000_000;

/// An order as `GET /orders` answers it, with what the back office needs besides.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AdminOrder {
    #[serde(flatten)]
    pub order: OrderAnswer,
    pub openid: String,
    pub sku: String,
    pub quantity: u32,
    pub created_at: i64,
    /// Paid after it had ended unpaid: deliver or refund.
    pub late: bool,
}

impl From<&Order> for AdminOrder {
    fn from(order: &Order) -> Self {
        AdminOrder {
            order: OrderAnswer::from(order),
            openid: order.openid.clone(),
            sku: order.sku.clone(),
            quantity: order.quantity,
            created_at: order.created_at,
            late: order.late,
        }
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OrderList {
    pub orders: Vec<AdminOrder>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RefundLine {
    pub out_refund_no: String,
    /// The platform's number; empty until it accepted the refund.
    pub refund_no: String,
    pub refund_amount: i64,
    pub status: RefundStatus,
    pub created_at: i64,
}

impl From<&Refund> for RefundLine {
    fn from(refund: &Refund) -> Self {
        RefundLine {
            out_refund_no: refund.out_refund_no.clone(),
            refund_no: refund.refund_no.clone().unwrap_or_default(),
            refund_amount: refund.refund_amount,
            status: refund.status,
            created_at: refund.created_at,
        }
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SettlementLine {
    pub out_settle_no: String,
    /// The platform's number; empty until it accepted the settlement.
    pub settle_no: String,
    pub status: RefundStatus,
    pub created_at: i64,
}

impl From<&Settlement> for SettlementLine {
    fn from(settlement: &Settlement) -> Self {
        SettlementLine {
            out_settle_no: settlement.out_settle_no.clone(),
            settle_no: settlement.settle_no.clone().unwrap_or_default(),
            status: settlement.status,
            created_at: settlement.created_at,
        }
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OrderDetail {
    pub order: AdminOrder,
    pub refunds: Vec<RefundLine>,
    pub settlements: Vec<SettlementLine>,
    pub timeline: Vec<Moment>,
}

/// `GET /admin/orders`: one page of orders, newest first.
pub async fn list_orders<S: Store + ?Sized>(app: &App<S>, query: Option<&str>) -> Result<OrderList, ApiError> {
    let query = list_query(query)?;
    let page = app
        .store
        .list_orders(&query.filter, query.limit, query.cursor.as_ref())
        .await?;
    Ok(OrderList {
        orders: page.orders.iter().map(AdminOrder::from).collect(),
        next_cursor: page.next_cursor.as_ref().map(OrderCursor::encode),
    })
}

/// `GET /admin/orders/{out_order_no}`: the order, what hangs off it, and its history.
pub async fn order_detail<S: Store + ?Sized>(
    app: &App<S>,
    out_order_no: &str,
    query: Option<&str>,
) -> Result<OrderDetail, ApiError> {
    no_query(query)?;
    if !valid_out_order_no(out_order_no) {
        return Err(ApiError::invalid("out_order_no must be up to 32 of [0-9A-Za-z_-]"));
    }
    let found = app
        .store
        .order_with_children(out_order_no)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {out_order_no}")))?;
    // In the order the events happened (their sequence keys), whatever the index's order.
    let mut webhooks: Vec<_> = found.webhooks.iter().collect();
    webhooks.sort_by(|a, b| a.sequence.cmp(&b.sequence));
    let deliveries: Vec<DeliveryState> = webhooks
        .into_iter()
        .map(|w| DeliveryState {
            event_type: w.event_type.clone(),
            state: match w.status {
                WebhookStatus::Delivered => "delivered",
                WebhookStatus::Undelivered => "undelivered",
                WebhookStatus::Pending => "pending",
            },
            at: w.last_attempt_at.unwrap_or(w.created_at),
        })
        .collect();
    Ok(OrderDetail {
        order: AdminOrder::from(&found.order),
        refunds: found.refunds.iter().map(RefundLine::from).collect(),
        settlements: found.settlements.iter().map(SettlementLine::from).collect(),
        timeline: timeline_with(
            &found.order,
            &found.refunds,
            &found.settlements,
            &found.callbacks,
            &deliveries,
        ),
    })
}

/// `GET /admin/orders.csv`: every matching order, newest first, written page by page
/// as the index is read (only one page of orders is held at a time).
pub async fn orders_csv<S: Store + ?Sized>(app: &App<S>, query: Option<&str>) -> Result<String, ApiError> {
    let filter = csv_query(query)?;
    let mut csv = String::from(admin_csv::HEADER);
    let (mut cursor, mut rows) = (None, 0usize);
    loop {
        let page = app.store.list_orders(&filter, EXPORT_PAGE, cursor.as_ref()).await?;
        for order in &page.orders {
            admin_csv::write_row(&mut csv, order);
        }
        rows += page.orders.len();
        if csv.len() > EXPORT_MAX_BYTES {
            return Err(ApiError::invalid(format!(
                "the export is over {} MB after {rows} orders, more than one answer carries; narrow from/to and export in parts",
                EXPORT_MAX_BYTES / 1_000_000
            )));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(csv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::order::{OrderStatus, Payment, Platform};
    use crate::error::ErrorCode;
    use crate::store::{MemoryStore, OrderStore, RefundStore};
    use std::collections::HashMap;
    use std::sync::Arc;

    /// The admin key of `events/admin-orders.json`.
    const EVENT_KEY: &str = "sample-admin-key-5d21";

    fn app() -> (App, Arc<MemoryStore>) {
        let env: HashMap<String, String> = [("TABLE_NAME", "t"), ("ADMIN_API_KEY", EVENT_KEY)]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let store = Arc::new(MemoryStore::new());
        let config = Config::from_source(&env, &HashMap::new()).unwrap();
        (App::with_store(config, store.clone()).unwrap(), store)
    }

    async fn put(store: &MemoryStore, no: &str, created_at: i64, openid: &str) {
        let order = Order {
            openid: openid.into(),
            sku: "course".into(),
            total_amount: 500,
            subject: "s".into(),
            body: String::new(),
            created_at,
            pay_deadline: created_at + 900,
            updated_at: created_at,
            ..crate::testing::fixtures::order(
                no,
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinEcpay,
                OrderStatus::Pending,
            )
        };
        store.insert_order(&order, no, None).await.unwrap();
    }

    #[tokio::test]
    async fn a_list_answers_the_contracts_fields_and_a_cursor_to_the_rest() {
        let (app, store) = app();
        for i in 0..3 {
            put(&store, &format!("o{i}"), 100 + i, "u1").await;
        }
        let first = list_orders(&app, Some("limit=2")).await.unwrap();
        let json = serde_json::to_value(&first).unwrap();
        assert_eq!(
            json["orders"][0],
            serde_json::json!({"out_order_no": "o2", "platform": "douyin", "status": "PENDING", "code": 9,
                "total_amount": 500, "refunded_amount": 0, "paid_at": null, "openid": "u1", "sku": "course",
                "quantity": 1, "created_at": 102, "late": false})
        );
        let cursor = first.next_cursor.expect("a second page");
        let second = list_orders(&app, Some(&format!("limit=2&cursor={cursor}")))
            .await
            .unwrap();
        assert_eq!(second.orders.len(), 1);
        assert_eq!(second.orders[0].order.out_order_no, "o0");
        assert_eq!(second.next_cursor, None);
    }

    #[tokio::test]
    async fn a_detail_carries_refunds_and_the_timeline_and_an_unknown_order_is_not_found() {
        let (app, store) = app();
        put(&store, "o1", 100, "u1").await;
        let payment = Payment {
            amount: 500,
            paid_at: 110,
            trade_no: "T".into(),
            channel: "1".into(),
        };
        store.mark_paid("o1", &payment, 110).await.unwrap();
        let refund = Refund {
            out_refund_no: "RF-1".into(),
            out_order_no: "o1".into(),
            refund_amount: 200,
            reason: "r".into(),
            status: RefundStatus::Processing,
            refund_no: None,
            all_settle: false,
            created_at: 120,
            updated_at: 120,
            attention: None,
        };
        store.begin_refund(&refund).await.unwrap();
        store.record_refund_no("RF-1", "P-1", 121).await.unwrap();
        let detail = serde_json::to_value(order_detail(&app, "o1", None).await.unwrap()).unwrap();
        assert_eq!(detail["order"]["status"], "PAID");
        assert_eq!(
            detail["refunds"],
            serde_json::json!([{"out_refund_no": "RF-1", "refund_no": "P-1", "refund_amount": 200,
                "status": "PROCESSING", "created_at": 120}])
        );
        assert_eq!(detail["settlements"], serde_json::json!([]));
        let at: Vec<i64> = detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["at"].as_i64().unwrap())
            .collect();
        assert_eq!(at, [100, 110, 120]);

        let missing = order_detail(&app, "nope", None).await.unwrap_err();
        assert_eq!(missing.code, ErrorCode::NotFound);
        let bad = order_detail(&app, "a*b", None).await.unwrap_err();
        assert_eq!(bad.code, ErrorCode::InvalidRequest);
    }

    #[tokio::test]
    async fn the_export_reads_every_page() {
        let (app, store) = app();
        // More than one page of the export.
        for i in 0..(EXPORT_PAGE as i64 + 3) {
            put(&store, &format!("o{i:04}"), 1000 + i, "u1").await;
        }
        put(&store, "early", 10, "u1").await;
        let csv = orders_csv(&app, Some("from=1000")).await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], admin_csv::HEADER.trim_end());
        assert_eq!(lines.len(), 1 + EXPORT_PAGE + 3);
        assert!(lines[1].starts_with("o0502,douyin,PENDING,500,0,u1,course,1,1502,,false"));
        assert!(!csv.contains("early"));
    }

    fn answer(response: lambda_http::Response<lambda_http::Body>) -> (u16, String, String) {
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = match response.body() {
            lambda_http::Body::Text(text) => text.clone(),
            other => panic!("unexpected body {other:?}"),
        };
        (response.status().as_u16(), kind, body)
    }

    #[tokio::test]
    async fn the_sample_event_lists_paid_orders_through_the_route() {
        let (app, store) = app();
        for (i, no) in ["o1", "o2", "o3"].into_iter().enumerate() {
            put(&store, no, 100 + i as i64, "u1").await;
        }
        for no in ["o1", "o3"] {
            let payment = Payment {
                amount: 500,
                paid_at: 200,
                trade_no: format!("T-{no}"),
                channel: "1".into(),
            };
            store.mark_paid(no, &payment, 200).await.unwrap();
        }
        let text = include_str!("../../../events/admin-orders.json");
        let event = || lambda_http::request::from_str(text).expect("event parses");
        let (status, kind, body) = answer(crate::routes::admin(&app, event()).await);
        assert_eq!((status, kind.as_str()), (200, "application/json"), "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let listed: Vec<_> = body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["out_order_no"].as_str().unwrap(), o["status"].as_str().unwrap()))
            .collect();
        assert_eq!(listed, [("o3", "PAID"), ("o1", "PAID")]);
        assert_eq!(body["next_cursor"], serde_json::Value::Null);

        let keyless = lambda_http::request::from_str(&text.replace("Bearer sample-admin-key-5d21", "Bearer other"))
            .expect("event parses");
        let (status, _, body) = answer(crate::routes::admin(&app, keyless).await);
        assert_eq!(status, 401, "{body}");
    }

    #[tokio::test]
    async fn the_export_is_csv_and_the_console_is_a_page_without_key() {
        let (app, store) = app();
        put(&store, "o1", 100, "u1").await;
        let request = |uri: &str| {
            lambda_http::http::Request::builder()
                .uri(uri)
                .header("authorization", format!("Bearer {EVENT_KEY}"))
                .body(lambda_http::Body::Empty)
                .unwrap()
        };
        let (status, kind, body) = answer(crate::routes::admin(&app, request("/prod/admin/orders.csv?to=100")).await);
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        assert_eq!(body.lines().count(), 2, "{body}");
        for path in ["/console", "/prod/console", "/lambda-url/admin/console"] {
            let page = lambda_http::http::Request::builder()
                .uri(path)
                .body(lambda_http::Body::Empty)
                .unwrap();
            let (status, kind, body) = answer(crate::routes::admin(&app, page).await);
            assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"), "{path}");
            assert!(body.starts_with("<!doctype html>"), "{path}");
        }
        let post = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/console")
            .body(lambda_http::Body::Empty)
            .unwrap();
        let (status, _, body) = answer(crate::routes::admin(&app, post).await);
        assert_eq!(status, 404, "{body}");
    }
}
