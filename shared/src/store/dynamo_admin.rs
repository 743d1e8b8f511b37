//! The back office's reads on DynamoDB. A list is one index read newest first: the
//! most selective one the filter allows (openid, then status, then every order), the
//! creation-time range in the key condition, the rest of the filter in a
//! FilterExpression. Never a scan.

use super::OrderStore;
use super::admin::{AdminStore, OrderCursor, OrderFilter, OrderPage, OrderWithChildren};
use super::dynamo::{
    DynamoStore, Item, ORDER_SK, get_n, get_s, n, order_from_item, order_pk, refund_from_item, s, settlement_from_item,
    unavailable, webhook_from_item,
};
use crate::domain::timeline::CallbackReceived;
use crate::error::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

/// Every order by creation time (`entity` = ORDER).
pub const BY_ENTITY_TIME: &str = "by-entity-time";
/// Orders of one status by creation time (refunds and settlements share it, under
/// statuses no order has).
pub const BY_STATUS_TIME: &str = "by-status-time";
/// One user's orders by creation time.
pub const BY_OPENID_TIME: &str = "by-openid-time";
/// An order, its refunds and settlements (and its events) by creation time.
pub const BY_ORDER_TIME: &str = "by-order-time";

const ORDER_ENTITY: &str = "ORDER";
/// Most items one request reads once a filter has dropped some: each further request
/// reads twice as many as the one before, up to this (DynamoDB stops a page at 1 MB
/// anyway, and an order is well under 1 KB).
const MAX_READ: i32 = 1000;

/// How one index is read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    index: &'static str,
    /// The partition: the index's hash attribute and its value.
    partition: (&'static str, String),
    /// Equalities left for the FilterExpression.
    filters: Vec<(&'static str, String)>,
    from: Option<i64>,
    to: Option<i64>,
    /// Oldest first (an order's history) or newest first (lists).
    oldest_first: bool,
}

impl Plan {
    /// All of one partition of `index`, newest first.
    pub(crate) fn partition(index: &'static str, attribute: &'static str, value: String) -> Plan {
        Plan {
            index,
            partition: (attribute, value),
            filters: Vec::new(),
            from: None,
            to: None,
            oldest_first: false,
        }
    }

    /// Only the items whose `attribute` is `value` (a FilterExpression).
    pub(crate) fn filtered(mut self, attribute: &'static str, value: String) -> Plan {
        self.filters.push((attribute, value));
        self
    }
}

/// The most selective index for `filter`: a user has few orders, a status many, and
/// every order is in the entity index.
fn list_plan(filter: &OrderFilter) -> Plan {
    let partition = if let Some(openid) = &filter.openid {
        (BY_OPENID_TIME, ("openid", openid.clone()))
    } else if let Some(status) = filter.status {
        (BY_STATUS_TIME, ("status", status.as_str().to_owned()))
    } else {
        (BY_ENTITY_TIME, ("entity", ORDER_ENTITY.to_owned()))
    };
    let (index, partition) = partition;
    // Only orders: refunds, settlements and events carry some of these attributes too.
    let wanted = [
        ("entity", Some(ORDER_ENTITY.to_owned())),
        ("status", filter.status.map(|st| st.as_str().to_owned())),
        ("platform", filter.platform.map(|p| p.as_str().to_owned())),
    ];
    let filters = wanted
        .into_iter()
        .filter(|(attr, _)| *attr != partition.0)
        .filter_map(|(attr, value)| Some((attr, value?)))
        .collect();
    Plan {
        index,
        partition,
        filters,
        from: filter.from,
        to: filter.to,
        oldest_first: false,
    }
}

fn children_plan(out_order_no: &str) -> Plan {
    Plan {
        index: BY_ORDER_TIME,
        partition: ("out_order_no", out_order_no.to_owned()),
        filters: Vec::new(),
        from: None,
        to: None,
        oldest_first: true,
    }
}

/// The index key of the order a cursor names, as DynamoDB's ExclusiveStartKey.
fn start_key(plan: &Plan, cursor: &OrderCursor) -> Item {
    Item::from([
        ("pk".to_owned(), s(order_pk(&cursor.out_order_no))),
        ("sk".to_owned(), s(ORDER_SK)),
        (plan.partition.0.to_owned(), s(&plan.partition.1)),
        ("created_at".to_owned(), n(cursor.created_at)),
    ])
}

/// One page of an index: its items and DynamoDB's LastEvaluatedKey.
type IndexPage = (Vec<Item>, Option<Item>);

impl DynamoStore {
    async fn read_index(&self, plan: &Plan, limit: Option<i32>, start: Option<Item>) -> Result<IndexPage, StoreError> {
        let mut key = "#p = :p".to_owned();
        match (plan.from, plan.to) {
            (Some(_), Some(_)) => key.push_str(" AND created_at BETWEEN :from AND :to"),
            (Some(_), None) => key.push_str(" AND created_at >= :from"),
            (None, Some(_)) => key.push_str(" AND created_at <= :to"),
            (None, None) => {}
        }
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(plan.index)
            .key_condition_expression(key)
            .expression_attribute_names("#p", plan.partition.0)
            .expression_attribute_values(":p", s(&plan.partition.1))
            .scan_index_forward(plan.oldest_first)
            .set_limit(limit)
            .set_exclusive_start_key(start);
        if let Some(from) = plan.from {
            query = query.expression_attribute_values(":from", n(from));
        }
        if let Some(to) = plan.to {
            query = query.expression_attribute_values(":to", n(to));
        }
        let mut conditions = Vec::new();
        for (i, (attr, value)) in plan.filters.iter().enumerate() {
            conditions.push(format!("#f{i} = :f{i}"));
            query = query
                .expression_attribute_names(format!("#f{i}"), *attr)
                .expression_attribute_values(format!(":f{i}"), s(value));
        }
        if !conditions.is_empty() {
            query = query.filter_expression(conditions.join(" AND "));
        }
        self.count();
        let answer = query.send().await.map_err(unavailable)?;
        Ok((answer.items.unwrap_or_default(), answer.last_evaluated_key))
    }
}

impl DynamoStore {
    /// Up to `wanted` items of the plan from `start`, reading on (more at a time) while
    /// the filter drops some, in at most `max_requests` queries: then also where the
    /// reading stopped (DynamoDB's LastEvaluatedKey), if the index goes on.
    pub(crate) async fn read_filtered(
        &self,
        plan: &Plan,
        wanted: usize,
        mut start: Option<Item>,
        max_requests: usize,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut read = i32::try_from(wanted).unwrap_or(MAX_READ).min(MAX_READ);
        let mut found = Vec::with_capacity(wanted);
        for _ in 0..max_requests {
            let (items, last) = self.read_index(plan, Some(read), start).await?;
            found.extend(items.into_iter().take(wanted - found.len()));
            match last {
                Some(key) if found.len() < wanted => {
                    start = Some(key);
                    read = read.saturating_mul(2).min(MAX_READ);
                }
                _ => return Ok((found, None)),
            }
        }
        Ok((found, start))
    }
}

/// A kept callback as the timeline tells it (its body is not read here).
fn callback_from_item(item: &Item) -> Result<CallbackReceived, StoreError> {
    let platform = get_s(item, "platform")?
        .parse()
        .map_err(|()| StoreError::Malformed("callback platform".into()))?;
    Ok(CallbackReceived {
        platform,
        kind: get_s(item, "kind")?,
        received_at: get_n(item, "received_at")?,
    })
}

fn entity(item: &Item) -> Option<&str> {
    match item.get("entity") {
        Some(AttributeValue::S(e)) => Some(e),
        _ => None,
    }
}

#[async_trait]
impl AdminStore for DynamoStore {
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        limit: usize,
        cursor: Option<&OrderCursor>,
    ) -> Result<OrderPage, StoreError> {
        let plan = list_plan(filter);
        // One more than asked: finding it tells that another page exists, so the last
        // page says it is the last.
        let wanted = limit + 1;
        let mut read = i32::try_from(wanted).unwrap_or(MAX_READ).min(MAX_READ);
        let mut start = cursor.map(|c| start_key(&plan, c));
        let mut orders = Vec::with_capacity(wanted);
        loop {
            let (items, last) = self.read_index(&plan, Some(read), start).await?;
            for item in &items {
                if orders.len() == wanted {
                    break;
                }
                match order_from_item(item) {
                    Ok(order) => orders.push(order),
                    // One bad item must not hide every order after it.
                    Err(err) => tracing::error!(error = %err, "unreadable order in an index skipped"),
                }
            }
            match last {
                // A filter dropped some: read on, more at a time.
                Some(key) if orders.len() < wanted => {
                    start = Some(key);
                    read = read.saturating_mul(2).min(MAX_READ);
                }
                _ => break,
            }
        }
        let more = orders.len() > limit;
        orders.truncate(limit);
        let next_cursor = if more {
            orders.last().map(OrderCursor::after)
        } else {
            None
        };
        Ok(OrderPage { orders, next_cursor })
    }

    async fn order_with_children(&self, out_order_no: &str) -> Result<Option<OrderWithChildren>, StoreError> {
        let plan = children_plan(out_order_no);
        let (mut order, mut refunds, mut settlements) = (None, Vec::new(), Vec::new());
        let (mut callbacks, mut webhooks) = (Vec::new(), Vec::new());
        let mut start = None;
        loop {
            let (items, last) = self.read_index(&plan, None, start).await?;
            for item in &items {
                let read = match entity(item) {
                    Some("ORDER") => order_from_item(item).map(|o| order = Some(o)),
                    Some("REFUND") => refund_from_item(item).map(|r| refunds.push(r)),
                    Some("SETTLE") => settlement_from_item(item).map(|st| settlements.push(st)),
                    Some("CALLBACK") => callback_from_item(item).map(|c| callbacks.push(c)),
                    Some("WEBHOOK") => webhook_from_item(item).map(|w| webhooks.push(w)),
                    // Whatever comes later is not the back office's to show here.
                    _ => Ok(()),
                };
                if let Err(err) = read {
                    tracing::error!(error = %err, out_order_no, "unreadable item of an order skipped");
                }
            }
            match last {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        // The index follows the table a moment behind: a just-made order is in the table.
        let order = match order {
            Some(order) => order,
            None => match self.get_order(out_order_no).await? {
                Some(order) => order,
                None => return Ok(None),
            },
        };
        Ok(Some(OrderWithChildren {
            order,
            refunds,
            settlements,
            callbacks,
            webhooks,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{OrderStatus, Platform};

    fn filters(plan: &Plan) -> Vec<(&str, &str)> {
        plan.filters.iter().map(|(a, v)| (*a, v.as_str())).collect()
    }

    #[test]
    fn the_most_selective_index_is_read_and_the_rest_filtered() {
        let all = OrderFilter::default();
        let plan = list_plan(&all);
        assert_eq!(
            (plan.index, plan.partition.0, plan.partition.1.as_str()),
            (BY_ENTITY_TIME, "entity", "ORDER")
        );
        assert!(plan.filters.is_empty());
        assert!(!plan.oldest_first);

        let paid_wechat = OrderFilter {
            status: Some(OrderStatus::Paid),
            platform: Some(Platform::Wechat),
            ..OrderFilter::default()
        };
        let plan = list_plan(&paid_wechat);
        assert_eq!((plan.index, plan.partition.1.as_str()), (BY_STATUS_TIME, "PAID"));
        assert_eq!(filters(&plan), [("entity", "ORDER"), ("platform", "wechat")]);

        let users_paid = OrderFilter {
            openid: Some("u1".into()),
            from: Some(10),
            to: Some(20),
            ..paid_wechat
        };
        let plan = list_plan(&users_paid);
        assert_eq!((plan.index, plan.partition.1.as_str()), (BY_OPENID_TIME, "u1"));
        assert_eq!(
            filters(&plan),
            [("entity", "ORDER"), ("status", "PAID"), ("platform", "wechat")]
        );
        assert_eq!((plan.from, plan.to), (Some(10), Some(20)));

        let douyin = OrderFilter {
            platform: Some(Platform::Douyin),
            ..OrderFilter::default()
        };
        assert_eq!(filters(&list_plan(&douyin)), [("platform", "douyin")]);
    }

    #[test]
    fn a_cursor_starts_after_its_order_in_the_plans_partition() {
        let plan = list_plan(&OrderFilter {
            status: Some(OrderStatus::Refunded),
            ..OrderFilter::default()
        });
        let key = start_key(
            &plan,
            &OrderCursor {
                created_at: 7,
                out_order_no: "o1".into(),
            },
        );
        assert_eq!(key["pk"], s("ORDER#o1"));
        assert_eq!(key["sk"], s("ORDER"));
        assert_eq!(key["status"], s("REFUNDED"));
        assert_eq!(key["created_at"], n(7));
        assert_eq!(key.len(), 4);
    }
}
