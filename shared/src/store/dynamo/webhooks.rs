//! Webhook deliveries in the table: `WEBHOOK#<event id>` / `WEBHOOK` per event, and
//! `WEBHOOKS#<out_order_no>` / `WEBHOOKS`, the order's line: a string set of the
//! `sequence` keys of its deliveries still pending.

use super::*;
use crate::store::dynamo_admin::{BY_ENTITY_TIME, Plan};
use crate::store::webhooks::{Webhook, WebhookCursor, WebhookPage, WebhookStatus, WebhookStore};

pub(super) fn webhook_pk(event_id: &str) -> String {
    format!("WEBHOOK#{event_id}")
}
pub(super) const WEBHOOK_SK: &str = "WEBHOOK";

/// Queries one page of a webhook list may cost: a status the filter finds seldom among
/// many deliveries answers a short (even empty) page with a cursor instead of reading on
/// (each query reads at most 1,000 deliveries, so one page stays well inside the timeout).
const MAX_LIST_REQUESTS: usize = 8;

fn line_pk(out_order_no: &str) -> String {
    format!("WEBHOOKS#{out_order_no}")
}
const LINE_SK: &str = "WEBHOOKS";

pub(crate) fn webhook_from_item(item: &Item) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        event_id: get_s(item, "event_id")?,
        event_type: get_s(item, "event_type")?,
        out_order_no: get_s(item, "out_order_no")?,
        created_at: get_n(item, "created_at")?,
        body: get_s(item, "body")?,
        sequence: get_s(item, "sequence")?,
        status: get_s(item, "delivery_status")?
            .parse()
            .map_err(|_| StoreError::Malformed("webhook status".into()))?,
        attempts: opt_n(item, "attempts").unwrap_or_default(),
        first_attempt_at: opt_n(item, "first_attempt_at"),
        last_attempt_at: opt_n(item, "last_attempt_at"),
        last_error: opt_s(item, "last_error"),
        due_at: opt_n(item, "due_at"),
    })
}

fn webhook_to_item(webhook: &Webhook, due_at: i64) -> Item {
    let mut item = Item::from([
        ("pk".into(), s(webhook_pk(&webhook.event_id))),
        ("sk".into(), s(WEBHOOK_SK)),
        ("entity".into(), s("WEBHOOK")),
        ("event_id".into(), s(&webhook.event_id)),
        ("event_type".into(), s(&webhook.event_type)),
        // With created_at, what the admin timeline reads an order's events by.
        ("out_order_no".into(), s(&webhook.out_order_no)),
        ("created_at".into(), n(webhook.created_at)),
        ("body".into(), s(&webhook.body)),
        ("sequence".into(), s(&webhook.sequence)),
        ("delivery_status".into(), s(webhook.status.as_str())),
        ("attempts".into(), n(webhook.attempts)),
    ]);
    item.extend(open_attributes(due_at));
    item
}

/// One element of a string set, as ADD and DELETE take it.
fn one(value: &str) -> AttributeValue {
    AttributeValue::Ss(vec![value.to_owned()])
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn record_webhook(&self, webhook: &Webhook, due_at: i64) -> Result<bool, StoreError> {
        self.count();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(webhook_to_item(webhook, due_at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Ok(false);
            }
            Err(err) => return Err(unavailable(err)),
        }
        self.count();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(line_pk(&webhook.out_order_no)))
            .key("sk", s(LINE_SK))
            .update_expression("SET entity = :entity, out_order_no = :no ADD waiting :sequence")
            .expression_attribute_values(":entity", s("WEBHOOK_LINE"))
            .expression_attribute_values(":no", s(&webhook.out_order_no))
            .expression_attribute_values(":sequence", one(&webhook.sequence))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(true)
    }

    async fn get_webhook(&self, event_id: &str) -> Result<Option<Webhook>, StoreError> {
        self.get(webhook_pk(event_id), WEBHOOK_SK)
            .await?
            .as_ref()
            .map(webhook_from_item)
            .transpose()
    }

    async fn waiting_webhooks(&self, out_order_no: &str) -> Result<Vec<String>, StoreError> {
        let mut waiting = match self.get(line_pk(out_order_no), LINE_SK).await? {
            Some(item) => match item.get("waiting") {
                Some(AttributeValue::Ss(keys)) => keys.clone(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        waiting.sort();
        Ok(waiting)
    }

    async fn webhook_failed(&self, event_id: &str, error: &str, now: i64) -> Result<(), StoreError> {
        self.count();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(webhook_pk(event_id)))
            .key("sk", s(WEBHOOK_SK))
            .update_expression(
                "SET last_error = :error, last_attempt_at = :now, \
                 first_attempt_at = if_not_exists(first_attempt_at, :now) ADD attempts :one",
            )
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "delivery_status")
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":pending", s(WebhookStatus::Pending.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => condition_failed(err).map(|_| ()),
        }
    }

    async fn end_webhook(
        &self,
        webhook: &Webhook,
        status: WebhookStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let set = "SET #status = :to, last_attempt_at = :now, first_attempt_at = if_not_exists(first_attempt_at, :now)";
        let rest = "ADD attempts :one REMOVE open_shard, due_at";
        let mut end = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(webhook_pk(&webhook.event_id)))
            .key("sk", s(WEBHOOK_SK))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "delivery_status")
            .expression_attribute_values(":to", s(status.as_str()))
            .expression_attribute_values(":pending", s(WebhookStatus::Pending.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1));
        end = match error {
            Some(error) => end
                .update_expression(format!("{set}, last_error = :error {rest}"))
                .expression_attribute_values(":error", s(error)),
            None => end.update_expression(format!("{set}, delivered_at = :now {rest}")),
        };
        self.count();
        let ended = match end.send().await {
            Ok(_) => true,
            Err(err) => condition_failed(err)?,
        };
        // Either way it has ended: it must hold up no later event of its order.
        self.drop_from_line(&webhook.out_order_no, &webhook.sequence).await?;
        Ok(ended)
    }

    async fn drop_from_line(&self, out_order_no: &str, sequence: &str) -> Result<(), StoreError> {
        self.count();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(line_pk(out_order_no)))
            .key("sk", s(LINE_SK))
            .update_expression("DELETE waiting :sequence")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":sequence", one(sequence))
            .send()
            .await
            .map(|_| ())
            .or_else(|err| condition_failed(err).map(|_| ()))
    }

    async fn list_webhooks(
        &self,
        status: WebhookStatus,
        limit: usize,
        cursor: Option<&WebhookCursor>,
    ) -> Result<WebhookPage, StoreError> {
        // Every delivery is in the entity index under WEBHOOK, by its event's time; the
        // status is filtered (UNDELIVERED ones are few, but a page reads on until full).
        let plan = Plan::partition(BY_ENTITY_TIME, "entity", "WEBHOOK".into())
            .filtered("delivery_status", status.as_str().to_owned());
        let start = cursor.map(|c| {
            Item::from([
                ("pk".to_owned(), s(webhook_pk(&c.event_id))),
                ("sk".to_owned(), s(WEBHOOK_SK)),
                ("entity".to_owned(), s("WEBHOOK")),
                ("created_at".to_owned(), n(c.created_at)),
            ])
        });
        let (items, stopped_at) = self.read_filtered(&plan, limit + 1, start, MAX_LIST_REQUESTS).await?;
        let mut webhooks = Vec::with_capacity(items.len());
        for item in &items {
            match webhook_from_item(item) {
                Ok(webhook) => webhooks.push(webhook),
                Err(err) => tracing::error!(error = %err, "unreadable webhook in an index skipped"),
            }
        }
        let more = webhooks.len() > limit;
        webhooks.truncate(limit);
        let next_cursor = if more {
            webhooks.last().map(WebhookCursor::after)
        } else {
            // A page cut short by the read bound goes on from where the reading stopped.
            stopped_at.and_then(|key| {
                let event_id = get_s(&key, "pk").ok()?.strip_prefix("WEBHOOK#")?.to_owned();
                let created_at = get_n(&key, "created_at").ok()?;
                Some(WebhookCursor { created_at, event_id })
            })
        };
        Ok(WebhookPage { webhooks, next_cursor })
    }

    async fn record_redelivery(&self, seen: &Webhook, error: Option<&str>, now: i64) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(webhook_pk(&seen.event_id)))
            .key("sk", s(WEBHOOK_SK))
            // As read: another redelivery recorded meanwhile wins, and this one is told.
            .condition_expression("#status = :undelivered AND attempts = :seen")
            .expression_attribute_names("#status", "delivery_status")
            .expression_attribute_values(":undelivered", s(WebhookStatus::Undelivered.as_str()))
            .expression_attribute_values(":seen", n(seen.attempts))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1));
        update = match error {
            Some(error) => update
                .update_expression("SET last_error = :error, last_attempt_at = :now ADD attempts :one")
                .expression_attribute_values(":error", s(error)),
            None => update
                .update_expression(
                    "SET #status = :delivered, delivered_at = :now, last_attempt_at = :now ADD attempts :one",
                )
                .expression_attribute_values(":delivered", s(WebhookStatus::Delivered.as_str())),
        };
        self.count();
        match update.send().await {
            Ok(_) => Ok(true),
            Err(err) => condition_failed(err),
        }
    }
}
