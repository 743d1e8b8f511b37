use crate::app::App;
use crate::config::DouyinPayMode;
use crate::domain::ids::{new_nonce, new_out_order_no};
use crate::domain::order::{Order, OrderStatus, Platform, PlatformOrder, ecpay_valid_time, total_amount};
use crate::domain::text::truncate;
use crate::domain::time::{beijing_compact, now_secs};
use crate::douyin::client::CreateOrder;
use crate::douyin::trade::request_order::{RequestOrderSettings, request_order_data};
use crate::error::{ApiError, PlatformError};
use crate::store::{CatalogItem, InsertOutcome, Session};
use crate::wechat::client::UnifiedOrder;
use serde::{Deserialize, Serialize};

/// Ecpay's limits on `subject` and `body`.
const SUBJECT_MAX_CHARS: usize = 42;
const SUBJECT_MAX_BYTES: usize = 128;
const MAX_SKU_LEN: usize = 64;
/// Attempts to take a reuse slot when other requests keep replacing it.
const SLOT_ATTEMPTS: usize = 4;

#[derive(Debug, Deserialize)]
pub struct PrepayRequest {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PrepayAnswer {
    pub out_order_no: String,
    pub platform: Platform,
    pub status: OrderStatus,
    pub total_amount: i64,
    pub pay: serde_json::Value,
}

/// WeChat's limit on `body` (bytes).
const WECHAT_BODY_MAX_BYTES: usize = 127;

pub async fn prepay(
    app: &App,
    session: &Session,
    request: PrepayRequest,
    client_ip: &str,
) -> Result<PrepayAnswer, ApiError> {
    if request.sku.is_empty() || request.sku.len() > MAX_SKU_LEN {
        return Err(ApiError::invalid("sku must be a catalog sku"));
    }
    if !(1..=99).contains(&request.quantity) {
        return Err(ApiError::invalid("quantity must be from 1 to 99"));
    }
    match session.platform {
        Platform::Douyin => drop(app.douyin()?),
        Platform::Wechat => drop(app.wechat()?),
    }
    let item = app
        .store
        .get_catalog_item(&request.sku)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown sku {}", request.sku)))?;
    let amount = total_amount(item.price, request.quantity)
        .ok_or_else(|| ApiError::invalid("price times quantity is beyond what the platform accepts"))?;
    let reuse_key = format!(
        "{}#{}#{}#{}",
        session.platform.as_str(),
        session.openid,
        item.sku,
        request.quantity
    );

    // Trade mode: each new order carries the signed data for tt.requestOrder.
    let trade = match &app.config.douyin {
        Some(d) if session.platform == Platform::Douyin && d.pay_mode == DouyinPayMode::Trade => {
            Some(RequestOrderSettings {
                order_entry_page: &app.config.order_entry_page,
                notify_url: d.notify_url.as_deref(),
                valid_seconds: app.config.order_valid_seconds,
            })
        }
        _ => None,
    };
    let trade_mode = trade.is_some();
    let mut replaces: Option<String> = None;
    for _ in 0..SLOT_ATTEMPTS {
        let now = now_secs();
        let mut candidate = new_order(app, session, &item, request.quantity, amount, now);
        if let Some(settings) = &trade {
            let data =
                request_order_data(&candidate, &item, settings).map_err(|e| ApiError::internal(e.to_string()))?;
            candidate.trade_data = Some(data);
        }
        match app
            .store
            .insert_order(&candidate, &reuse_key, replaces.as_deref())
            .await?
        {
            InsertOutcome::Inserted => return place(app, candidate, client_ip).await,
            InsertOutcome::SlotHeldBy(holder) => match app.store.get_order(&holder).await? {
                // An order made the other way before a mode switch is not handed out again.
                Some(order)
                    if order.reusable_at(now) && order.openid == session.openid && order.is_trade() == trade_mode =>
                {
                    return place(app, order, client_ip).await;
                }
                _ => replaces = Some(holder),
            },
        }
    }
    Err(ApiError::internal("too many concurrent orders for this item; retry"))
}

fn new_order(app: &App, session: &Session, item: &CatalogItem, quantity: u32, amount: i64, now: i64) -> Order {
    Order {
        out_order_no: new_out_order_no(now),
        platform: session.platform,
        openid: session.openid.clone(),
        sku: item.sku.clone(),
        quantity,
        total_amount: amount,
        subject: truncate(&item.subject, SUBJECT_MAX_CHARS, SUBJECT_MAX_BYTES).to_owned(),
        body: truncate(
            non_empty_or(&item.body, &item.subject),
            SUBJECT_MAX_CHARS,
            SUBJECT_MAX_BYTES,
        )
        .to_owned(),
        status: OrderStatus::Pending,
        created_at: now,
        pay_deadline: now + ecpay_valid_time(app.config.order_valid_seconds),
        platform_order: None,
        payment: None,
        refunded_amount: 0,
        refunding_amount: 0,
        settle_status: None,
        updated_at: now,
        trade_data: None,
        late: false,
    }
}

fn non_empty_or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() { fallback } else { text }
}

/// Makes sure the platform has the order, then answers with what the client pays with.
/// Both platforms are idempotent on the order number (with identical parameters), so
/// repeating this after a failure between its two steps yields the same platform order.
async fn place(app: &App, order: Order, client_ip: &str) -> Result<PrepayAnswer, ApiError> {
    if let Some(data) = &order.trade_data {
        return Ok(trade_answer(app, &order, data)?);
    }
    let order = match order.platform_order {
        Some(_) => order,
        None => {
            let placed = match create_platform_order(app, &order, client_ip).await {
                Ok(placed) => placed,
                Err(err @ PlatformError::Rejected { .. }) => {
                    // The platform refuses every later call with this number: retire it.
                    app.store
                        .finish_unpaid(&order.out_order_no, OrderStatus::Failed, now_secs())
                        .await?;
                    return Err(err.into());
                }
                Err(err) => return Err(err.into()),
            };
            app.store
                .record_platform_order(&order.out_order_no, &placed, now_secs())
                .await?
                .ok_or_else(|| ApiError::internal("order vanished while being placed"))?
        }
    };
    let placed = order
        .platform_order
        .as_ref()
        .ok_or_else(|| ApiError::internal("order has no platform order"))?;
    let pay = match order.platform {
        Platform::Douyin => serde_json::json!({"order_id": placed.order_id, "order_token": placed.order_token}),
        Platform::Wechat => app.wechat()?.request_payment(&placed.order_id, now_secs())?,
    };
    Ok(PrepayAnswer {
        out_order_no: order.out_order_no.clone(),
        platform: order.platform,
        status: order.status,
        total_amount: order.total_amount,
        pay,
    })
}

/// A trade order needs no platform call: the client places it with tt.requestOrder from
/// the stored data and a fresh signature.
fn trade_answer(app: &App, order: &Order, data: &str) -> Result<PrepayAnswer, PlatformError> {
    let keys = &app.trade()?.keys;
    let authorization = keys
        .byte_authorization(data, now_secs(), &new_nonce())
        .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
    Ok(PrepayAnswer {
        out_order_no: order.out_order_no.clone(),
        platform: order.platform,
        status: order.status,
        total_amount: order.total_amount,
        pay: serde_json::json!({"data": data, "byteAuthorization": authorization}),
    })
}

async fn create_platform_order(app: &App, order: &Order, client_ip: &str) -> Result<PlatformOrder, PlatformError> {
    match order.platform {
        Platform::Douyin => {
            let request = CreateOrder {
                out_order_no: order.out_order_no.clone(),
                total_amount: order.total_amount,
                subject: order.subject.clone(),
                body: order.body.clone(),
                valid_time: ecpay_valid_time(app.config.order_valid_seconds),
            };
            app.douyin_platform()?.create_order(&request).await
        }
        Platform::Wechat => {
            let request = UnifiedOrder {
                out_trade_no: order.out_order_no.clone(),
                body: truncate(&order.subject, usize::MAX, WECHAT_BODY_MAX_BYTES).to_owned(),
                total_fee: order.total_amount,
                openid: order.openid.clone(),
                client_ip: client_ip.to_owned(),
                time_expire: beijing_compact(order.pay_deadline),
            };
            let prepay_id = app.wechat_platform()?.unified_order(&request).await?;
            Ok(PlatformOrder {
                order_id: prepay_id.clone(),
                order_token: prepay_id,
            })
        }
    }
}
