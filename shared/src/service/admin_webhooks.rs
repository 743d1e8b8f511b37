//! The back office's webhook deliveries (issue 11): those of one status newest first,
//! and sending one again now, with the same body and a fresh signature.

use super::admin_query::{DEFAULT_LIMIT, MAX_LIMIT, no_query, params};
use super::webhooks::{self, Attempt};
use crate::app::App;
use crate::domain::webhook_signature::signature_header;
use crate::error::{ApiError, ErrorCode};
use crate::merchant::WebhookTarget;
use crate::store::webhooks::{WebhookCursor, WebhookStatus};
use crate::store::{Store, Webhook};
use serde::Serialize;

/// A delivery as the admin API shows it (never its body: the merchant has it).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WebhookLine {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub out_order_no: String,
    pub status: &'static str,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
}

impl From<&Webhook> for WebhookLine {
    fn from(webhook: &Webhook) -> Self {
        WebhookLine {
            id: webhook.event_id.clone(),
            kind: webhook.event_type.clone(),
            out_order_no: webhook.out_order_no.clone(),
            status: webhook.status.as_str(),
            attempts: webhook.attempts,
            last_error: webhook.last_error.clone(),
            created_at: webhook.created_at,
            last_attempt_at: webhook.last_attempt_at,
        }
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookLine>,
    pub next_cursor: Option<String>,
}

/// An event id as `events` makes them: `evt_` and 24 hex digits.
pub fn valid_event_id(id: &str) -> bool {
    id.strip_prefix("evt_")
        .is_some_and(|hex| hex.len() == 24 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// `GET /admin/webhooks?status=&limit=&cursor=`: one page of deliveries of a status
/// (UNDELIVERED when not given), newest first.
pub async fn list_webhooks<S: Store + ?Sized>(app: &App<S>, query: Option<&str>) -> Result<WebhookList, ApiError> {
    let params = params(query, &["status", "limit", "cursor"])?;
    let status = match params.get("status") {
        None => WebhookStatus::Undelivered,
        Some(text) => text
            .parse::<WebhookStatus>()
            .map_err(|()| ApiError::invalid("status must be one of UNDELIVERED, PENDING, DELIVERED"))?,
    };
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("limit must be a whole number from 1 to {MAX_LIMIT}")))?,
    };
    let cursor = params
        .get("cursor")
        .map(|text| {
            WebhookCursor::decode(text)
                .filter(|c| valid_event_id(&c.event_id))
                .ok_or_else(|| {
                    ApiError::invalid("cursor is not one this API gave; use next_cursor of the previous page as it is")
                })
        })
        .transpose()?;
    let page = app.store.list_webhooks(status, limit, cursor.as_ref()).await?;
    Ok(WebhookList {
        webhooks: page.webhooks.iter().map(WebhookLine::from).collect(),
        next_cursor: page.next_cursor.as_ref().map(WebhookCursor::encode),
    })
}

/// `POST /admin/webhooks/{id}/redeliver`: an UNDELIVERED (or PENDING) delivery posted
/// again at `now`, its body as kept, signed afresh. 200 with the delivery when the
/// receiver took it.
pub async fn redeliver<S: Store + ?Sized>(
    app: &App<S>,
    event_id: &str,
    query: Option<&str>,
    now: i64,
) -> Result<WebhookLine, ApiError> {
    no_query(query)?;
    if !valid_event_id(event_id) {
        return Err(ApiError::invalid("id must be an event id: evt_ and 24 hex digits"));
    }
    let store = app.store.as_ref();
    let webhook = store
        .get_webhook(event_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook delivery {event_id}")))?;
    let Some(target) = app.webhook.as_ref() else {
        return Err(ApiError::conflict(
            "no webhook receiver is configured (MERCHANT_WEBHOOK_URL): there is nowhere to send it",
        ));
    };
    match webhook.status {
        WebhookStatus::Delivered => Err(ApiError::conflict(format!(
            "webhook {event_id} was delivered already; the merchant has it"
        ))),
        WebhookStatus::Undelivered => undelivered_again(store, target, webhook, now).await,
        WebhookStatus::Pending => pending_now(store, target, webhook, now).await,
    }
}

/// The receiver did not take it. 503 `platform_unavailable`, not 502 `platform_error`:
/// in this API 502 is a platform's definite refusal, while a receiver that answers 5xx
/// or nothing is a dependency that is down for now; the request itself was carried out
/// (the attempt is recorded) and may be repeated later, which 503 tells the console and
/// scripts.
fn receiver_failed(error: &str, what_now: &str) -> ApiError {
    let how = if error.starts_with("HTTP ") {
        format!("the merchant's receiver answered {error}")
    } else {
        format!("the merchant's receiver could not be reached ({error})")
    };
    ApiError::new(ErrorCode::PlatformUnavailable, format!("{how}; {what_now}"))
}

async fn undelivered_again<S: Store + ?Sized>(
    store: &S,
    target: &WebhookTarget,
    webhook: Webhook,
    now: i64,
) -> Result<WebhookLine, ApiError> {
    let signature = signature_header(&target.secret, now, &webhook.body);
    let outcome = target.sender.post(&webhook.body, &signature).await;
    let error = outcome.as_ref().err().map(String::as_str);
    let mut seen = webhook;
    // At most twice: a redelivery recorded meanwhile (two operators at once) is read
    // again and this outcome recorded over it, unless it delivered.
    for _ in 0..2 {
        if store.record_redelivery(&seen, error, now).await? {
            let mut done = seen;
            done.attempts += 1;
            done.last_attempt_at = Some(now);
            return match error {
                None => {
                    done.status = WebhookStatus::Delivered;
                    tracing::info!(event_id = %done.event_id, attempts = done.attempts, "webhook redelivered");
                    Ok(WebhookLine::from(&done))
                }
                Some(error) => {
                    tracing::warn!(event_id = %done.event_id, attempts = done.attempts, %error, "webhook redelivery failed");
                    Err(receiver_failed(
                        error,
                        &format!("it stays UNDELIVERED after {} attempts", done.attempts),
                    ))
                }
            };
        }
        seen = store
            .get_webhook(&seen.event_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no webhook delivery {}", seen.event_id)))?;
        if seen.status != WebhookStatus::Undelivered {
            return Ok(WebhookLine::from(&seen));
        }
    }
    Err(ApiError::conflict(
        "the delivery is being redelivered by another request; look again in a moment",
    ))
}

/// A pending delivery tried now, as its sweep would: claimed first, and not ahead of an
/// earlier event of its order.
async fn pending_now<S: Store + ?Sized>(
    store: &S,
    target: &WebhookTarget,
    webhook: Webhook,
    now: i64,
) -> Result<WebhookLine, ApiError> {
    let id = webhook.event_id.clone();
    let seen_due = webhook.due_at.unwrap_or(now);
    let (outcome, _) = webhooks::attempt(store, target, webhook, seen_due, now).await?;
    let current = store
        .get_webhook(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook delivery {id}")))?;
    let error = current.last_error.clone().unwrap_or_default();
    match outcome {
        Attempt::Delivered => Ok(WebhookLine::from(&current)),
        Attempt::Failed => Err(receiver_failed(
            &error,
            "it stays PENDING and is tried again with back-off",
        )),
        Attempt::GaveUp => Err(receiver_failed(
            &error,
            "it is UNDELIVERED now, after 24 hours of attempts",
        )),
        Attempt::Waiting => Err(ApiError::conflict(
            "an earlier event of its order is not delivered yet: this one goes out right after it",
        )),
        Attempt::Taken => Err(ApiError::conflict(
            "the sweep is delivering it right now; look again in a moment",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_evt_and_24_hex_digits() {
        assert!(valid_event_id("evt_0123456789abcdef01234567"));
        for bad in [
            "",
            "evt_",
            "evt_0123456789abcdef0123456",
            "evt_0123456789abcdef012345678",
            "evt_0123456789ABCDEF01234567",
            "EVT_0123456789abcdef01234567",
            "not*an*id",
        ] {
            assert!(!valid_event_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_receivers_failure_says_what_came_back() {
        let err = receiver_failed("HTTP 503", "it stays UNDELIVERED after 11 attempts");
        assert_eq!(err.code, ErrorCode::PlatformUnavailable);
        assert_eq!(
            err.message,
            "the merchant's receiver answered HTTP 503; it stays UNDELIVERED after 11 attempts"
        );
        assert!(
            receiver_failed("timeout", "x")
                .message
                .contains("could not be reached (timeout)")
        );
    }
}
