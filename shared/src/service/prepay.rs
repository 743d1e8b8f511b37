use crate::app::App;
use crate::channel::Channel;
use crate::domain::ids::new_out_order_no;
use crate::domain::order::{Order, OrderStatus, Platform, ecpay_valid_time, total_amount};
use crate::domain::time::now_secs;
use crate::error::{ApiError, PlatformError};
use crate::store::Store;
use crate::store::{CatalogItem, InsertOutcome, Session};
use serde::{Deserialize, Serialize};

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

pub async fn prepay<S: Store + ?Sized>(
    app: &App<S>,
    session: &Session,
    request: PrepayRequest,
    client_ip: &str,
) -> Result<PrepayAnswer, ApiError> {
    check(&request)?;
    let item = app.store.get_catalog_item(&request.sku).await?;
    prepay_item(app, session, request, item, client_ip).await
}

/// The request's own limits, checked before anything is read.
pub fn check(request: &PrepayRequest) -> Result<(), ApiError> {
    if request.sku.is_empty() || request.sku.len() > MAX_SKU_LEN {
        return Err(ApiError::invalid("sku must be a catalog sku"));
    }
    if !(1..=99).contains(&request.quantity) {
        return Err(ApiError::invalid("quantity must be from 1 to 99"));
    }
    Ok(())
}

/// Prepay with the catalog entry of the request's sku as read (with the session, in one
/// request: see `auth::session_with_item`).
pub async fn prepay_item<S: Store + ?Sized>(
    app: &App<S>,
    session: &Session,
    request: PrepayRequest,
    item: Option<CatalogItem>,
    client_ip: &str,
) -> Result<PrepayAnswer, ApiError> {
    check(&request)?;
    let channel = app.channels.for_new_order(session.platform)?;
    let item = item.ok_or_else(|| ApiError::not_found(format!("unknown sku {}", request.sku)))?;
    let amount = total_amount(item.price, request.quantity)
        .ok_or_else(|| ApiError::invalid("price times quantity is beyond what the platform accepts"))?;
    let reuse_key = format!(
        "{}#{}#{}#{}",
        session.platform.as_str(),
        session.openid,
        item.sku,
        request.quantity
    );
    let mut replaces: Option<String> = None;
    for _ in 0..SLOT_ATTEMPTS {
        let now = now_secs();
        let mut candidate = new_order(app, session, channel, &item, request.quantity, amount, now);
        channel.prepare(&mut candidate, &item).map_err(ApiError::internal)?;
        match app
            .store
            .insert_order(&candidate, &reuse_key, replaces.as_deref())
            .await?
        {
            InsertOutcome::Inserted => return place(channel, app, candidate, client_ip).await,
            InsertOutcome::SlotHeldBy(holder) => match app.store.get_order(&holder).await? {
                // An order made another way before a switch of channel is not handed out again.
                Some(order)
                    if order.reusable_at(now) && order.openid == session.openid && order.channel == channel.id() =>
                {
                    return place(channel, app, order, client_ip).await;
                }
                _ => replaces = Some(holder),
            },
        }
    }
    Err(ApiError::internal("too many concurrent orders for this item; retry"))
}

fn new_order<S: Store + ?Sized>(
    app: &App<S>,
    session: &Session,
    channel: &dyn Channel,
    item: &CatalogItem,
    quantity: u32,
    amount: i64,
    now: i64,
) -> Order {
    let texts = channel.texts(item);
    Order {
        out_order_no: new_out_order_no(now),
        platform: session.platform,
        channel: channel.id(),
        openid: session.openid.clone(),
        sku: item.sku.clone(),
        quantity,
        total_amount: amount,
        subject: texts.subject,
        body: texts.body,
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
        settle_succeeded: false,
    }
}

/// Makes sure the platform has the order, then answers with what the client pays with.
/// The platforms are idempotent on the order number (with identical parameters), so
/// repeating this after a failure between its two steps yields the same platform order.
async fn place<S: Store + ?Sized>(
    channel: &dyn Channel,
    app: &App<S>,
    order: Order,
    client_ip: &str,
) -> Result<PrepayAnswer, ApiError> {
    let order = match order.platform_order {
        Some(_) => order,
        None => match channel.place(&order, client_ip).await {
            // The mini-program places it itself.
            Ok(None) => order,
            Ok(Some(placed)) => app
                .store
                .record_platform_order(&order.out_order_no, &placed, now_secs())
                .await?
                .ok_or_else(|| ApiError::internal("order vanished while being placed"))?,
            Err(err @ PlatformError::Rejected { .. }) => {
                // The platform refuses every later call with this number: retire it.
                app.store
                    .finish_unpaid(&order.out_order_no, OrderStatus::Failed, now_secs())
                    .await?;
                return Err(err.into());
            }
            Err(err) => return Err(err.into()),
        },
    };
    let pay = channel.pay_params(&order, now_secs())?;
    Ok(PrepayAnswer {
        out_order_no: order.out_order_no.clone(),
        platform: order.platform,
        status: order.status,
        total_amount: order.total_amount,
        pay,
    })
}
