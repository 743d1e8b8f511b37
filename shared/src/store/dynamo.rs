//! The single DynamoDB table. Every state change is a conditional write or a
//! transaction; failed conditions come back with the old item so that a duplicate
//! costs one request.

use super::*;
use crate::domain::channel::ChannelId;
use crate::domain::order::Platform;
use crate::domain::refund::{RefundStatus, RefundedOrder, refund_result};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

mod batch;
mod callbacks;
mod webhooks;
pub(crate) use webhooks::webhook_from_item;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    requests: AtomicU64,
    /// How long a kept callback stays before TTL removes it.
    callback_retention_secs: i64,
}

/// The sparse index of open items (unpaid orders, refunds and settlements in flight):
/// only items carrying `open_shard` are in it, sorted by `due_at`.
pub const OPEN_INDEX: &str = "open-by-due";
const OPEN_SHARD: &str = "OPEN";
/// Kept callbacks expire after this long unless configured otherwise.
pub const DEFAULT_CALLBACK_RETENTION_SECS: i64 = 180 * 86_400;

/// Reuse slots outlive their order by a day, then TTL removes them.
const SLOT_GRACE_SECS: i64 = 86_400;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            requests: AtomicU64::new(0),
            callback_retention_secs: DEFAULT_CALLBACK_RETENTION_SECS,
        }
    }

    pub fn with_callback_retention(mut self, secs: i64) -> Self {
        self.callback_retention_secs = secs;
        self
    }

    /// The client of a loaded SDK configuration (`crate::aws::sdk_config`: region,
    /// credentials, `AWS_ENDPOINT_URL_DYNAMODB`, timeouts so that an outage answers fast).
    pub fn from_sdk(config: &crate::aws::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    /// DynamoDB requests made so far (for benchmarks and tests of request counts).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a transaction; `Ok(false)` when it was cancelled (a condition failed or it
    /// collided with another transaction), so that the caller can look and decide.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        self.count();
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    /// The order with its version, for updates conditioned on nobody having changed it.
    async fn get_order_versioned(&self, out_order_no: &str) -> Result<Option<(Order, i64)>, StoreError> {
        let Some(item) = self.get(order_pk(out_order_no), ORDER_SK).await? else {
            return Ok(None);
        };
        Ok(Some((order_from_item(&item)?, get_n(&item, "version")?)))
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        self.count();
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(answer.item)
    }
}

pub(crate) fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(err: SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(err).to_string())
}

/// The item as it was when an update's condition failed (`None`: there was no item);
/// any other failure is an outage.
fn old_item_on_condition_failure(err: SdkError<UpdateItemError>) -> Result<Option<Item>, StoreError> {
    match err {
        SdkError::ServiceError(context) => match context.into_err() {
            UpdateItemError::ConditionalCheckFailedException(e) => Ok(e.item),
            other => Err(StoreError::Unavailable(DisplayErrorContext(other).to_string())),
        },
        other => Err(unavailable(other)),
    }
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn order_pk(out_order_no: &str) -> String {
    format!("ORDER#{out_order_no}")
}
pub(crate) const ORDER_SK: &str = "ORDER";

fn session_pk(token_hash: &str) -> String {
    format!("SESSION#{token_hash}")
}
const SESSION_SK: &str = "SESSION";

fn slot_pk(reuse_key: &str) -> String {
    format!("REUSE#{reuse_key}")
}
const SLOT_SK: &str = "REUSE";

fn catalog_pk(sku: &str) -> String {
    format!("SKU#{sku}")
}
const CATALOG_SK: &str = "SKU";

pub(crate) fn get_s(item: &Item, key: &str) -> Result<String, StoreError> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Malformed(format!("missing string attribute {key}"))),
    }
}

fn opt_s(item: &Item, key: &str) -> Option<String> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

pub(crate) fn get_n(item: &Item, key: &str) -> Result<i64, StoreError> {
    match item.get(key) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Malformed(format!("{key} is not an integer"))),
        _ => Err(StoreError::Malformed(format!("missing number attribute {key}"))),
    }
}

fn opt_n(item: &Item, key: &str) -> Option<i64> {
    get_n(item, key).ok()
}

fn order_to_item(order: &Order) -> Item {
    let mut item = Item::from([
        ("pk".into(), s(order_pk(&order.out_order_no))),
        ("sk".into(), s(ORDER_SK)),
        ("entity".into(), s("ORDER")),
        ("out_order_no".into(), s(&order.out_order_no)),
        ("platform".into(), s(order.platform.as_str())),
        ("channel".into(), s(order.channel.as_str())),
        ("openid".into(), s(&order.openid)),
        ("sku".into(), s(&order.sku)),
        ("quantity".into(), n(i64::from(order.quantity))),
        ("total_amount".into(), n(order.total_amount)),
        ("subject".into(), s(&order.subject)),
        ("body".into(), s(&order.body)),
        ("status".into(), s(order.status.as_str())),
        ("created_at".into(), n(order.created_at)),
        ("pay_deadline".into(), n(order.pay_deadline)),
        ("refunded_amount".into(), n(order.refunded_amount)),
        ("refunding_amount".into(), n(order.refunding_amount)),
        ("refundable".into(), n(order.refundable())),
        ("updated_at".into(), n(order.updated_at)),
        ("version".into(), n(1)),
    ]);
    if order.status.awaits_platform() {
        item.extend(open_attributes(order.created_at));
    }
    if order.late {
        item.insert("late".into(), AttributeValue::Bool(true));
    }
    if order.settle_succeeded {
        item.insert("settle_succeeded".into(), AttributeValue::Bool(true));
    }
    if let Some(po) = &order.platform_order {
        item.insert("platform_order_id".into(), s(&po.order_id));
        item.insert("order_token".into(), s(&po.order_token));
    }
    if let Some(p) = &order.payment {
        item.extend(payment_attributes(p));
    }
    if let Some(data) = &order.trade_data {
        item.insert("trade_data".into(), s(data));
    }
    item
}

/// What puts an item in the open index, first due at `due_at`.
fn open_attributes(due_at: i64) -> [(String, AttributeValue); 3] {
    [
        ("open_shard".into(), s(OPEN_SHARD)),
        ("due_at".into(), n(due_at)),
        ("checks".into(), n(0)),
    ]
}

fn payment_attributes(p: &Payment) -> [(String, AttributeValue); 3] {
    [
        ("paid_at".into(), n(p.paid_at)),
        ("trade_no".into(), s(&p.trade_no)),
        ("pay_channel".into(), s(&p.channel)),
    ]
}

/// Orders in DynamoDB's item form, as table reads and stream records carry them.
pub fn order_from_item(item: &Item) -> Result<Order, StoreError> {
    let platform_order = match (opt_s(item, "platform_order_id"), opt_s(item, "order_token")) {
        (Some(order_id), Some(order_token)) => Some(PlatformOrder { order_id, order_token }),
        _ => None,
    };
    let payment = opt_n(item, "paid_at").map(|paid_at| Payment {
        amount: opt_n(item, "total_amount").unwrap_or_default(),
        paid_at,
        trade_no: opt_s(item, "trade_no").unwrap_or_default(),
        channel: opt_s(item, "pay_channel").unwrap_or_default(),
    });
    let platform: Platform = get_s(item, "platform")?
        .parse()
        .map_err(|_| StoreError::Malformed("unknown platform".into()))?;
    let trade_data = opt_s(item, "trade_data");
    let channel = match opt_s(item, "channel") {
        Some(channel) => channel
            .parse()
            .map_err(|_| StoreError::Malformed("unknown channel".into()))?,
        // Stored before orders recorded their channel.
        None => ChannelId::of_legacy(platform, trade_data.is_some()),
    };
    Ok(Order {
        out_order_no: get_s(item, "out_order_no")?,
        platform,
        channel,
        openid: get_s(item, "openid")?,
        sku: get_s(item, "sku")?,
        quantity: u32::try_from(get_n(item, "quantity")?).map_err(|_| StoreError::Malformed("quantity".into()))?,
        total_amount: get_n(item, "total_amount")?,
        subject: get_s(item, "subject")?,
        body: get_s(item, "body")?,
        status: get_s(item, "status")?
            .parse()
            .map_err(|_| StoreError::Malformed("unknown order status".into()))?,
        created_at: get_n(item, "created_at")?,
        pay_deadline: get_n(item, "pay_deadline")?,
        platform_order,
        payment,
        refunded_amount: opt_n(item, "refunded_amount").unwrap_or_default(),
        refunding_amount: opt_n(item, "refunding_amount").unwrap_or_default(),
        settle_status: opt_s(item, "settle_status").and_then(|s| s.parse().ok()),
        updated_at: opt_n(item, "updated_at").unwrap_or_default(),
        trade_data,
        late: matches!(item.get("late"), Some(AttributeValue::Bool(true))),
        settle_succeeded: matches!(item.get("settle_succeeded"), Some(AttributeValue::Bool(true))),
    })
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn put_session(&self, token_hash: &str, session: &Session) -> Result<(), StoreError> {
        self.count();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(session_pk(token_hash)))
            .item("sk", s(SESSION_SK))
            .item("entity", s("SESSION"))
            .item("openid", s(&session.openid))
            .item("platform", s(session.platform.as_str()))
            .item("session_key", s(session.session_key.expose()))
            .item("expires_at", n(session.expires_at))
            .item("ttl", n(session.expires_at))
            // A token is fresh randomness: a collision would be a bug, never overwrite.
            .condition_expression("attribute_not_exists(pk)");
        if let Some(unionid) = &session.unionid {
            put = put.item("unionid", s(unionid));
        }
        put.send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        match self.get(session_pk(token_hash), SESSION_SK).await? {
            Some(item) => session_from_item(&item, now),
            None => Ok(None),
        }
    }
}

/// A session item, unless it expired at `now`.
fn session_from_item(item: &Item, now: i64) -> Result<Option<Session>, StoreError> {
    let session = Session {
        openid: get_s(item, "openid")?,
        unionid: opt_s(item, "unionid"),
        platform: get_s(item, "platform")?
            .parse()
            .map_err(|_| StoreError::Malformed("unknown platform".into()))?,
        session_key: Secret::new(get_s(item, "session_key")?),
        expires_at: get_n(item, "expires_at")?,
    };
    // TTL deletes lazily: an expired item can still be read.
    Ok((session.expires_at > now).then_some(session))
}

/// A catalog entry as operators load it, checked.
fn catalog_from_item(sku: &str, item: &Item) -> Result<CatalogItem, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("catalog entry {sku}: {what}"));
    let price = get_n(item, "price").map_err(|_| malformed("price must be a whole number of fen"))?;
    if price < 1 {
        return Err(malformed("price must be at least 1 fen"));
    }
    Ok(CatalogItem {
        sku: sku.to_owned(),
        price,
        subject: get_s(item, "subject").map_err(|_| malformed("subject missing"))?,
        body: opt_s(item, "body").unwrap_or_default(),
        image: opt_s(item, "image").unwrap_or_default(),
        goods_type: match item.get("goods_type") {
            None => None,
            Some(_) => Some(get_n(item, "goods_type").map_err(|_| malformed("goods_type must be a number"))?),
        },
        tag_group_id: opt_s(item, "tag_group_id"),
    })
}

#[async_trait]
impl CatalogStore for DynamoStore {
    async fn get_catalog_item(&self, sku: &str) -> Result<Option<CatalogItem>, StoreError> {
        self.get(catalog_pk(sku), CATALOG_SK)
            .await?
            .map(|item| catalog_from_item(sku, &item))
            .transpose()
    }
}

#[async_trait]
impl OrderStore for DynamoStore {
    async fn get_order(&self, out_order_no: &str) -> Result<Option<Order>, StoreError> {
        self.get(order_pk(out_order_no), ORDER_SK)
            .await?
            .as_ref()
            .map(order_from_item)
            .transpose()
    }

    async fn insert_order(
        &self,
        order: &Order,
        reuse_key: &str,
        replaces: Option<&str>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut slot = Put::builder()
            .table_name(&self.table)
            .item("pk", s(slot_pk(reuse_key)))
            .item("sk", s(SLOT_SK))
            .item("entity", s("REUSE"))
            .item("out_order_no", s(&order.out_order_no))
            .item("ttl", n(order.pay_deadline + SLOT_GRACE_SECS));
        slot = match replaces {
            None => slot.condition_expression("attribute_not_exists(pk)"),
            Some(old) => slot
                .condition_expression("attribute_not_exists(pk) OR out_order_no = :old")
                .expression_attribute_values(":old", s(old)),
        };
        let order_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(order_to_item(order)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Malformed(e.to_string()))?;
        let slot = slot.build().map_err(|e| StoreError::Malformed(e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().put(slot).build(),
            TransactWriteItem::builder().put(order_put).build(),
        ];
        if self.transact(items).await? {
            return Ok(InsertOutcome::Inserted);
        }
        match self.reuse_slot(reuse_key).await? {
            Some(holder) => Ok(InsertOutcome::SlotHeldBy(holder)),
            // The slot holder went away between the two requests: the caller retries.
            None => Err(StoreError::Unavailable("reuse slot changed concurrently".into())),
        }
    }

    async fn reuse_slot(&self, reuse_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(slot_pk(reuse_key), SLOT_SK)
            .await?
            .and_then(|item| opt_s(&item, "out_order_no")))
    }

    async fn record_platform_order(
        &self,
        out_order_no: &str,
        platform_order: &PlatformOrder,
        now: i64,
    ) -> Result<Option<Order>, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(order_pk(out_order_no)))
            .key("sk", s(ORDER_SK))
            .update_expression("SET platform_order_id = :id, order_token = :token, updated_at = :now ADD version :one")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(platform_order_id)")
            .expression_attribute_values(":id", s(&platform_order.order_id))
            .expression_attribute_values(":token", s(&platform_order.order_token))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(answer) => answer.attributes.as_ref().map(order_from_item).transpose(),
            Err(err) => old_item_on_condition_failure(err)?
                .as_ref()
                .map(order_from_item)
                .transpose(),
        }
    }

    async fn mark_paid(&self, out_order_no: &str, payment: &Payment, now: i64) -> Result<PaidOutcome, StoreError> {
        // The common case, a PENDING order, costs one request; a late payment two.
        let mut from = OrderStatus::Pending;
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            match self.pay_from(out_order_no, payment, from, now).await? {
                Ok(order) => return Ok(PaidOutcome::Applied(order)),
                Err(None) => return Ok(PaidOutcome::NotFound),
                Err(Some(order)) => {
                    if !OrderStatus::payable_from().contains(&order.status) {
                        return Ok(PaidOutcome::AlreadyPaid(order));
                    }
                    if order.total_amount != payment.amount {
                        return Ok(PaidOutcome::AmountMismatch {
                            expected: order.total_amount,
                        });
                    }
                    from = order.status;
                }
            }
        }
        Err(StoreError::Unavailable("order is busy; retry".into()))
    }

    async fn finish_unpaid(
        &self,
        out_order_no: &str,
        status: OrderStatus,
        now: i64,
    ) -> Result<Option<Order>, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(order_pk(out_order_no)))
            .key("sk", s(ORDER_SK))
            .update_expression("SET #status = :to, updated_at = :now ADD version :one REMOVE open_shard, due_at")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(status.as_str()))
            .expression_attribute_values(":pending", s(OrderStatus::Pending.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(answer) => answer.attributes.as_ref().map(order_from_item).transpose(),
            Err(err) => old_item_on_condition_failure(err)?
                .as_ref()
                .map(order_from_item)
                .transpose(),
        }
    }
}

fn refund_pk(out_refund_no: &str) -> String {
    format!("REFUND#{out_refund_no}")
}
const REFUND_SK: &str = "REFUND";

fn settle_pk(out_settle_no: &str) -> String {
    format!("SETTLE#{out_settle_no}")
}
const SETTLE_SK: &str = "SETTLE";

fn token_pk(key: &str) -> String {
    format!("TOKEN#{key}")
}
const TOKEN_SK: &str = "TOKEN";

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Malformed(e.to_string()))
}

/// Refunds in DynamoDB's item form, as table reads and stream records carry them.
pub fn refund_from_item(item: &Item) -> Result<Refund, StoreError> {
    Ok(Refund {
        out_refund_no: get_s(item, "out_refund_no")?,
        out_order_no: get_s(item, "out_order_no")?,
        refund_amount: get_n(item, "refund_amount")?,
        reason: get_s(item, "reason")?,
        status: get_s(item, "status")?
            .parse()
            .map_err(|_| StoreError::Malformed("refund status".into()))?,
        refund_no: opt_s(item, "refund_no"),
        all_settle: matches!(item.get("all_settle"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at")?,
        updated_at: opt_n(item, "updated_at").unwrap_or_default(),
        attention: opt_s(item, "attention"),
    })
}

/// Settlements in DynamoDB's item form, as table reads and stream records carry them.
pub fn settlement_from_item(item: &Item) -> Result<Settlement, StoreError> {
    Ok(Settlement {
        out_settle_no: get_s(item, "out_settle_no")?,
        out_order_no: get_s(item, "out_order_no")?,
        settle_desc: get_s(item, "settle_desc")?,
        settle_params: get_s(item, "settle_params")?,
        status: get_s(item, "status")?
            .parse()
            .map_err(|_| StoreError::Malformed("settle status".into()))?,
        settle_no: opt_s(item, "settle_no"),
        created_at: get_n(item, "created_at")?,
        updated_at: opt_n(item, "updated_at").unwrap_or_default(),
    })
}

/// Moves an order from `:from` to PAID, if the amount is its own.
pub(crate) const PAY_UPDATE: &str = "SET #status = :paid, paid_at = :paid_at, trade_no = :trade_no, \
     pay_channel = :channel, refundable = :amount, late = :late, updated_at = :now \
     ADD version :one REMOVE open_shard, due_at";
pub(crate) const PAY_CONDITION: &str = "attribute_exists(pk) AND total_amount = :amount AND #status = :from";

/// The values of [`PAY_UPDATE`] and [`PAY_CONDITION`]; paid from anything but PENDING
/// is late.
pub(crate) fn pay_values(payment: &Payment, from: OrderStatus, now: i64) -> Item {
    Item::from([
        (":paid".to_owned(), s(OrderStatus::Paid.as_str())),
        (":from".to_owned(), s(from.as_str())),
        (":paid_at".to_owned(), n(payment.paid_at)),
        (":trade_no".to_owned(), s(&payment.trade_no)),
        (":channel".to_owned(), s(&payment.channel)),
        (":late".to_owned(), AttributeValue::Bool(from != OrderStatus::Pending)),
        (":now".to_owned(), n(now)),
        (":one".to_owned(), n(1)),
        (":amount".to_owned(), n(payment.amount)),
    ])
}

/// Attempts of a read-then-conditional-write before giving up on a busy item.
const OPTIMISTIC_ATTEMPTS: usize = 5;

impl DynamoStore {
    /// The transaction item that ends an in-flight refund or settlement, once: its status
    /// moves from PROCESSING to `to` or the whole transaction is cancelled. So is it when
    /// an attribute of `unchanged` differs from the value given (`None`: absent).
    fn end_in_flight(
        &self,
        pk: String,
        sk: &str,
        to: RefundStatus,
        now: i64,
        unchanged: &[(&str, Option<&str>)],
    ) -> Result<Update, StoreError> {
        let mut condition = "#status = :processing".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET #status = :to, updated_at = :now REMOVE open_shard, due_at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":processing", s(RefundStatus::Processing.as_str()))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (i, (attr, value)) in unchanged.iter().enumerate() {
            update = update.expression_attribute_names(format!("#u{i}"), *attr);
            match value {
                Some(value) => {
                    condition.push_str(&format!(" AND #u{i} = :u{i}"));
                    update = update.expression_attribute_values(format!(":u{i}"), s(*value));
                }
                None => condition.push_str(&format!(" AND attribute_not_exists(#u{i})")),
            }
        }
        built(update.condition_expression(condition).build())
    }

    /// The transaction item that writes an order's money fields as `after` says, if the
    /// order is still at `version` (the one they were computed from).
    pub(crate) fn move_money_exact(
        &self,
        out_order_no: &str,
        after: &RefundedOrder,
        version: i64,
        now: i64,
    ) -> Result<Update, StoreError> {
        built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(order_pk(out_order_no)))
                .key("sk", s(ORDER_SK))
                .update_expression(
                    "SET refunded_amount = :refunded, refunding_amount = :refunding, refundable = :refundable, \
                     #status = :status, updated_at = :now ADD version :one",
                )
                .condition_expression("version = :version")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":refunded", n(after.refunded_amount))
                .expression_attribute_values(":refunding", n(after.refunding_amount))
                .expression_attribute_values(":refundable", n(after.refundable))
                .expression_attribute_values(":status", s(after.status.as_str()))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":version", n(version))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )
    }

    /// Moves the order from `from` to PAID if the amount matches: the order afterwards,
    /// or the order as it was when the condition failed (`None`: no such order).
    async fn pay_from(
        &self,
        out_order_no: &str,
        payment: &Payment,
        from: OrderStatus,
        now: i64,
    ) -> Result<Result<Order, Option<Order>>, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(order_pk(out_order_no)))
            .key("sk", s(ORDER_SK))
            .update_expression(PAY_UPDATE)
            .condition_expression(PAY_CONDITION)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(pay_values(payment, from, now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(answer) => {
                let item = answer
                    .attributes
                    .ok_or_else(|| StoreError::Malformed("update returned nothing".into()))?;
                Ok(Ok(order_from_item(&item)?))
            }
            Err(err) => Ok(Err(old_item_on_condition_failure(err)?
                .as_ref()
                .map(order_from_item)
                .transpose()?)),
        }
    }

    /// Sets a string attribute of an item once, unless it is set (the platform's numbers).
    async fn set_once(
        &self,
        pk: String,
        sk: &str,
        attr: &str,
        value: &str,
        now: i64,
    ) -> Result<Option<Item>, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET #attr = :value, updated_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#attr)")
            .expression_attribute_names("#attr", attr)
            .expression_attribute_values(":value", s(value))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(answer) => Ok(answer.attributes),
            Err(err) => old_item_on_condition_failure(err),
        }
    }
}

#[async_trait]
impl RefundStore for DynamoStore {
    async fn begin_refund(&self, refund: &Refund) -> Result<BeginRefund, StoreError> {
        let mut item = Item::from([
            ("pk".into(), s(refund_pk(&refund.out_refund_no))),
            ("sk".into(), s(REFUND_SK)),
            ("entity".into(), s("REFUND")),
            ("out_refund_no".into(), s(&refund.out_refund_no)),
            ("out_order_no".into(), s(&refund.out_order_no)),
            ("refund_amount".into(), n(refund.refund_amount)),
            ("reason".into(), s(&refund.reason)),
            ("status".into(), s(refund.status.as_str())),
            ("all_settle".into(), AttributeValue::Bool(refund.all_settle)),
            ("created_at".into(), n(refund.created_at)),
            ("updated_at".into(), n(refund.updated_at)),
        ]);
        if let Some(no) = &refund.refund_no {
            item.insert("refund_no".into(), s(no));
        }
        item.extend(open_attributes(refund.created_at));
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            let put = built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(pk)")
                    .build(),
            )?;
            let take = built(
                Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(order_pk(&refund.out_order_no)))
                    .key("sk", s(ORDER_SK))
                    .update_expression(
                        "SET refundable = refundable - :amount, refunding_amount = refunding_amount + :amount, \
                         updated_at = :now ADD version :one",
                    )
                    .condition_expression("attribute_exists(pk) AND #status = :paid AND refundable >= :amount")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":amount", n(refund.refund_amount))
                    .expression_attribute_values(":paid", s(OrderStatus::Paid.as_str()))
                    .expression_attribute_values(":now", n(refund.created_at))
                    .expression_attribute_values(":one", n(1))
                    .build(),
            )?;
            let items = vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().update(take).build(),
            ];
            if self.transact(items).await? {
                return Ok(BeginRefund::Started(refund.clone()));
            }
            if let Some(existing) = self.get_refund(&refund.out_refund_no).await? {
                return Ok(BeginRefund::Exists(existing));
            }
            let Some(order) = self.get_order(&refund.out_order_no).await? else {
                return Ok(BeginRefund::OrderNotFound);
            };
            if order.status != OrderStatus::Paid || order.refundable() < refund.refund_amount {
                return Ok(BeginRefund::NotRefundable(order));
            }
            // Cancelled by a concurrent transaction on the order: try again.
        }
        Err(StoreError::Unavailable(
            "order is busy with concurrent refunds; retry".into(),
        ))
    }

    async fn get_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, StoreError> {
        self.get(refund_pk(out_refund_no), REFUND_SK)
            .await?
            .as_ref()
            .map(refund_from_item)
            .transpose()
    }

    async fn record_refund_no(
        &self,
        out_refund_no: &str,
        refund_no: &str,
        now: i64,
    ) -> Result<Option<Refund>, StoreError> {
        self.set_once(refund_pk(out_refund_no), REFUND_SK, "refund_no", refund_no, now)
            .await?
            .as_ref()
            .map(refund_from_item)
            .transpose()
    }

    async fn finish_refund(&self, seen: &Refund, success: bool, now: i64) -> Result<Finish<Refund>, StoreError> {
        let to = if success {
            RefundStatus::Success
        } else {
            RefundStatus::Fail
        };
        let out_refund_no = seen.out_refund_no.as_str();
        let mut known = Some(seen.clone());
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            let refund = match known.take() {
                Some(refund) => refund,
                None => match self.get_refund(out_refund_no).await? {
                    Some(refund) => refund,
                    None => return Ok(Finish::NotFound),
                },
            };
            if refund.status != RefundStatus::Processing {
                return Ok(Finish::AlreadyFinished(refund));
            }
            let Some((order, version)) = self.get_order_versioned(&refund.out_order_no).await? else {
                return Ok(Finish::NotFound);
            };
            let after = refund_result(&order, refund.refund_amount, success);
            // As seen, or the answer would hide what was recorded meanwhile: a stale
            // copy costs a read and another try.
            let seen_fields = [
                ("refund_no", refund.refund_no.as_deref()),
                ("attention", refund.attention.as_deref()),
            ];
            let end_refund = self.end_in_flight(refund_pk(out_refund_no), REFUND_SK, to, now, &seen_fields)?;
            let move_money = self.move_money_exact(&refund.out_order_no, &after, version, now)?;
            let items = vec![
                TransactWriteItem::builder().update(end_refund).build(),
                TransactWriteItem::builder().update(move_money).build(),
            ];
            if self.transact(items).await? {
                return Ok(Finish::Applied(Refund {
                    status: to,
                    updated_at: now,
                    ..refund
                }));
            }
        }
        Err(StoreError::Unavailable("order is busy; retry".into()))
    }
}

#[async_trait]
impl SettleStore for DynamoStore {
    async fn begin_settle(&self, settlement: &Settlement, refunded_seen: i64) -> Result<BeginSettle, StoreError> {
        let mut item = Item::from([
            ("pk".into(), s(settle_pk(&settlement.out_settle_no))),
            ("sk".into(), s(SETTLE_SK)),
            ("entity".into(), s("SETTLE")),
            ("out_settle_no".into(), s(&settlement.out_settle_no)),
            ("out_order_no".into(), s(&settlement.out_order_no)),
            ("settle_desc".into(), s(&settlement.settle_desc)),
            ("settle_params".into(), s(&settlement.settle_params)),
            ("status".into(), s(settlement.status.as_str())),
            ("created_at".into(), n(settlement.created_at)),
            ("updated_at".into(), n(settlement.updated_at)),
        ]);
        item.extend(open_attributes(settlement.created_at));
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            let put = built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(pk)")
                    .build(),
            )?;
            let mark = built(
                Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(order_pk(&settlement.out_order_no)))
                    .key("sk", s(ORDER_SK))
                    .update_expression("SET settle_status = :processing, updated_at = :now ADD version :one")
                    .condition_expression(
                        "attribute_exists(pk) AND #status = :paid AND refunding_amount = :zero \
                         AND refunded_amount = :refunded",
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":processing", s(SettleStatus::Processing.as_str()))
                    .expression_attribute_values(":paid", s(OrderStatus::Paid.as_str()))
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":refunded", n(refunded_seen))
                    .expression_attribute_values(":now", n(settlement.created_at))
                    .expression_attribute_values(":one", n(1))
                    .build(),
            )?;
            let items = vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().update(mark).build(),
            ];
            if self.transact(items).await? {
                return Ok(BeginSettle::Started(settlement.clone()));
            }
            if let Some(existing) = self.get_settlement(&settlement.out_settle_no).await? {
                return Ok(BeginSettle::Exists(existing));
            }
            match self.get_order(&settlement.out_order_no).await? {
                None => return Ok(BeginSettle::OrderNotFound),
                Some(order) if order.status != OrderStatus::Paid => return Ok(BeginSettle::NotPaid(order)),
                Some(order) if order.refunding_amount > 0 => return Ok(BeginSettle::RefundInFlight(order)),
                Some(order) if order.refunded_amount != refunded_seen => return Ok(BeginSettle::OrderChanged(order)),
                Some(_) => {}
            }
        }
        Err(StoreError::Unavailable("order is busy; retry".into()))
    }

    async fn get_settlement(&self, out_settle_no: &str) -> Result<Option<Settlement>, StoreError> {
        self.get(settle_pk(out_settle_no), SETTLE_SK)
            .await?
            .as_ref()
            .map(settlement_from_item)
            .transpose()
    }

    async fn record_settle_no(
        &self,
        out_settle_no: &str,
        settle_no: &str,
        now: i64,
    ) -> Result<Option<Settlement>, StoreError> {
        self.set_once(settle_pk(out_settle_no), SETTLE_SK, "settle_no", settle_no, now)
            .await?
            .as_ref()
            .map(settlement_from_item)
            .transpose()
    }

    async fn finish_settle(
        &self,
        out_settle_no: &str,
        status: SettleStatus,
        now: i64,
    ) -> Result<Finish<Settlement>, StoreError> {
        for _ in 0..OPTIMISTIC_ATTEMPTS {
            let Some(settlement) = self.get_settlement(out_settle_no).await? else {
                return Ok(Finish::NotFound);
            };
            if settlement.status != SettleStatus::Processing {
                return Ok(Finish::AlreadyFinished(settlement));
            }
            let end = self.end_in_flight(settle_pk(out_settle_no), SETTLE_SK, status, now, &[])?;
            // A success is remembered apart from the latest status: a later settlement that
            // fails does not put the settled money back in the guaranteed balance.
            let set = if status == SettleStatus::Success {
                "SET settle_status = :to, settle_succeeded = :succeeded, updated_at = :now ADD version :one"
            } else {
                "SET settle_status = :to, updated_at = :now ADD version :one"
            };
            let mut mark = Update::builder()
                .table_name(&self.table)
                .key("pk", s(order_pk(&settlement.out_order_no)))
                .key("sk", s(ORDER_SK))
                .update_expression(set)
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":to", s(status.as_str()))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":one", n(1));
            if status == SettleStatus::Success {
                mark = mark.expression_attribute_values(":succeeded", AttributeValue::Bool(true));
            }
            let mark = built(mark.build())?;
            let items = vec![
                TransactWriteItem::builder().update(end).build(),
                TransactWriteItem::builder().update(mark).build(),
            ];
            if self.transact(items).await? {
                return Ok(Finish::Applied(Settlement {
                    status,
                    updated_at: now,
                    ..settlement
                }));
            }
        }
        Err(StoreError::Unavailable("settlement is busy; retry".into()))
    }
}

impl DynamoStore {
    /// A kept callback's item: keyed by the digest of its bytes, so that a redelivery of
    /// the same bytes finds the first receipt.
    pub(crate) fn callback_item(&self, received: &Received<'_>) -> Item {
        let digest = hex::encode(Sha256::digest(received.raw_body));
        let body = match std::str::from_utf8(received.raw_body) {
            Ok(text) => s(text),
            Err(_) => AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(received.raw_body)),
        };
        let mut item = Item::from([
            ("pk".to_owned(), s(format!("CALLBACK#{digest}"))),
            ("sk".to_owned(), s("CALLBACK")),
            ("entity".to_owned(), s("CALLBACK")),
            ("platform".to_owned(), s(received.platform.as_str())),
            ("kind".to_owned(), s(received.kind)),
            ("body".to_owned(), body),
            ("received_at".to_owned(), n(received.at)),
            ("ttl".to_owned(), n(received.at + self.callback_retention_secs)),
        ]);
        // With the order it concerns, it is in the order's index (`by-order-time`) and
        // its timeline; without, in no index at all.
        if let Some(no) = received.out_order_no {
            item.insert("out_order_no".to_owned(), s(no));
            item.insert("created_at".to_owned(), n(received.at));
        }
        item
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn keep_callback(
        &self,
        platform: Platform,
        kind: &str,
        raw_body: &[u8],
        out_order_no: Option<&str>,
        received_at: i64,
    ) -> Result<(), StoreError> {
        let item = self.callback_item(&Received {
            platform,
            kind,
            raw_body,
            out_order_no,
            at: received_at,
        });
        self.count();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // The first receipt is the one kept: a redelivery of the same bytes adds nothing.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn get_token(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        let Some(item) = self.get(token_pk(key), TOKEN_SK).await? else {
            return Ok(None);
        };
        Ok(Some(StoredToken {
            token: opt_s(&item, "token").map(Secret::new),
            expires_at: opt_n(&item, "expires_at").unwrap_or_default(),
            version: opt_n(&item, "version").unwrap_or_default(),
            lease_until: opt_n(&item, "lease_until").unwrap_or_default(),
        }))
    }

    async fn take_lease(&self, key: &str, owner: &str, seen: i64, now: i64, until: i64) -> Result<bool, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(token_pk(key)))
            .key("sk", s(TOKEN_SK))
            .update_expression("SET lease_owner = :me, lease_until = :until, entity = :entity")
            .condition_expression(
                "(attribute_not_exists(lease_until) OR lease_until < :now) \
                 AND (attribute_not_exists(version) OR version = :seen)",
            )
            .expression_attribute_values(":seen", n(seen))
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":entity", s("TOKEN"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => old_item_on_condition_failure(err).map(|_| false),
        }
    }

    async fn save_token(
        &self,
        key: &str,
        owner: &str,
        token: &Secret,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(token_pk(key)))
            .key("sk", s(TOKEN_SK))
            .update_expression(
                "SET #token = :token, expires_at = :expires, #ttl = :ttl ADD version :one REMOVE lease_owner, lease_until",
            )
            .condition_expression("lease_owner = :me")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":token", s(token.expose()))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":ttl", n(expires_at + 86_400))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":me", s(owner))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(answer) => Ok(Some(
                answer
                    .attributes
                    .as_ref()
                    .and_then(|a| opt_n(a, "version"))
                    .unwrap_or(0),
            )),
            Err(err) => old_item_on_condition_failure(err).map(|_| None),
        }
    }

    async fn release_lease(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(token_pk(key)))
            .key("sk", s(TOKEN_SK))
            .update_expression("REMOVE lease_owner, lease_until")
            .condition_expression("lease_owner = :me")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => old_item_on_condition_failure(err).map(|_| ()),
        }
    }

    async fn expire_token(&self, key: &str, version: i64) -> Result<(), StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(token_pk(key)))
            .key("sk", s(TOKEN_SK))
            .update_expression("SET expires_at = :zero")
            .condition_expression("version = :version")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":version", n(version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => old_item_on_condition_failure(err).map(|_| ()),
        }
    }
}

fn open_key(key: &OpenKey) -> (String, &'static str) {
    match key {
        OpenKey::Order(no) => (order_pk(no), ORDER_SK),
        OpenKey::Refund(no) => (refund_pk(no), REFUND_SK),
        OpenKey::Settlement(no) => (settle_pk(no), SETTLE_SK),
        OpenKey::Webhook(id) => (webhooks::webhook_pk(id), webhooks::WEBHOOK_SK),
    }
}

fn due_from_item(item: &Item) -> Result<Due, StoreError> {
    let open = match get_s(item, "entity")?.as_str() {
        "ORDER" => OpenItem::Order(order_from_item(item)?),
        "REFUND" => OpenItem::Refund(refund_from_item(item)?),
        "SETTLE" => OpenItem::Settlement(settlement_from_item(item)?),
        "WEBHOOK" => OpenItem::Webhook(webhooks::webhook_from_item(item)?),
        other => return Err(StoreError::Malformed(format!("{other} item in the open index"))),
    };
    Ok(Due {
        item: open,
        due_at: get_n(item, "due_at")?,
        checks: opt_n(item, "checks").unwrap_or_default(),
    })
}

/// A page cursor: the index position of the last item read (table and index keys).
fn encode_cursor(key: &Item) -> Option<String> {
    let pk = opt_s(key, "pk")?;
    let sk = opt_s(key, "sk")?;
    let due_at = opt_n(key, "due_at")?;
    Some(serde_json::json!({ "pk": pk, "sk": sk, "due_at": due_at }).to_string())
}

fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    let bad = || StoreError::Malformed("page cursor".into());
    let value: serde_json::Value = serde_json::from_str(cursor).map_err(|_| bad())?;
    let text = |k: &str| {
        value
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(bad)
    };
    Ok(Item::from([
        ("pk".into(), s(text("pk")?)),
        ("sk".into(), s(text("sk")?)),
        ("open_shard".into(), s(OPEN_SHARD)),
        (
            "due_at".into(),
            n(value
                .get("due_at")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(bad)?),
        ),
    ]))
}

/// Whether an update failed only on its condition (`Ok(false)`) or the table failed.
fn condition_failed(err: SdkError<UpdateItemError>) -> Result<bool, StoreError> {
    old_item_on_condition_failure(err).map(|_| false)
}

#[async_trait]
impl ReconcileStore for DynamoStore {
    async fn due_items(&self, now: i64, limit: i32, start: Option<String>) -> Result<DuePage, StoreError> {
        self.count();
        let start = start.as_deref().map(decode_cursor).transpose()?;
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_INDEX)
            .key_condition_expression("open_shard = :open AND due_at <= :now")
            .expression_attribute_values(":open", s(OPEN_SHARD))
            .expression_attribute_values(":now", n(now))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        for item in answer.items() {
            match due_from_item(item) {
                Ok(due) => items.push(due),
                // One bad item must not stop every other from being looked at.
                Err(err) => tracing::error!(error = %err, "unreadable item in the open index skipped"),
            }
        }
        Ok(DuePage {
            items,
            next: answer.last_evaluated_key().and_then(encode_cursor),
        })
    }

    async fn claim(&self, key: &OpenKey, seen_due: i64, next_due: i64, now: i64) -> Result<bool, StoreError> {
        let (pk, sk) = open_key(key);
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET due_at = :next, asked_at = :now ADD checks :one")
            .condition_expression("due_at = :seen AND attribute_exists(open_shard)")
            .expression_attribute_values(":next", n(next_due))
            .expression_attribute_values(":seen", n(seen_due))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => condition_failed(err),
        }
    }

    async fn claim_order_query(&self, out_order_no: &str, now: i64, min_gap: i64) -> Result<bool, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(order_pk(out_order_no)))
            .key("sk", s(ORDER_SK))
            .update_expression("SET asked_at = :now")
            .condition_expression("#status = :pending AND (attribute_not_exists(asked_at) OR asked_at <= :before)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(OrderStatus::Pending.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":before", n(now - min_gap))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => condition_failed(err),
        }
    }

    async fn flag_refund(&self, out_refund_no: &str, attention: &str, now: i64) -> Result<Option<Refund>, StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(refund_pk(out_refund_no)))
            .key("sk", s(REFUND_SK))
            .update_expression("SET attention = :why, updated_at = :now")
            .condition_expression("#status = :processing")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":why", s(attention))
            .expression_attribute_values(":processing", s(RefundStatus::Processing.as_str()))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let item = match result {
            Ok(answer) => answer.attributes,
            Err(err) => old_item_on_condition_failure(err)?,
        };
        item.as_ref().map(refund_from_item).transpose()
    }
}

#[cfg(test)]
mod order_item_tests {
    use super::{order_from_item, order_to_item};
    use crate::domain::channel::ChannelId;
    use crate::domain::order::{Order, OrderStatus, Platform};
    use aws_sdk_dynamodb::types::AttributeValue;

    fn order(platform: Platform, channel: ChannelId) -> Order {
        crate::testing::fixtures::order("MP1", platform, channel, OrderStatus::Pending)
    }

    #[test]
    fn an_order_item_names_its_channel_and_reads_back_with_it() {
        for (platform, channel) in [
            (Platform::Douyin, ChannelId::DouyinEcpay),
            (Platform::Douyin, ChannelId::DouyinTrade),
            (Platform::Wechat, ChannelId::WechatV2),
        ] {
            let order = order(platform, channel);
            let item = order_to_item(&order);
            assert_eq!(item.get("channel"), Some(&AttributeValue::S(channel.as_str().into())));
            assert_eq!(order_from_item(&item).unwrap(), order);
        }
    }

    #[test]
    fn an_order_stored_before_channels_gets_the_one_it_was_made_with() {
        let mut trade = order(Platform::Douyin, ChannelId::DouyinTrade);
        trade.trade_data = Some("{}".into());
        for order in [
            order(Platform::Douyin, ChannelId::DouyinEcpay),
            trade,
            order(Platform::Wechat, ChannelId::WechatV2),
        ] {
            let mut item = order_to_item(&order);
            item.remove("channel");
            assert_eq!(order_from_item(&item).unwrap().channel, order.channel);
        }
        let mut unknown = order_to_item(&order(Platform::Douyin, ChannelId::DouyinEcpay));
        unknown.insert("channel".into(), AttributeValue::S("alipay".into()));
        assert!(order_from_item(&unknown).is_err());
    }
}
