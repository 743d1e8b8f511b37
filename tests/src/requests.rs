//! The DynamoDB requests a stack sends, counted on the SDK client as each attempt goes
//! on the wire (retries included), by operation: what a route costs in table requests,
//! seen from outside the store's code.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::sync::{Arc, Mutex};

/// The operations sent so far, in order (`GetItem`, `TransactWriteItems`, ...).
#[derive(Debug, Clone, Default)]
pub struct TableRequests(Arc<Mutex<Vec<String>>>);

/// Operations that write.
pub const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
];

impl TableRequests {
    /// Runs `during` and answers what it sent, in order. Only one route may run at a time
    /// on the stack (nothing else of its own, like the stream, touches the table).
    pub async fn of<T>(&self, during: impl Future<Output = T>) -> (T, Vec<String>) {
        let start = self.lock().len();
        let out = during.await;
        let sent = self.lock()[start..].to_vec();
        (out, sent)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How many of `sent` write.
pub fn writes(sent: &[String]) -> usize {
    sent.iter().filter(|op| WRITES.contains(&op.as_str())).count()
}

impl Intercept for TableRequests {
    fn name(&self) -> &'static str {
        "TableRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // The JSON protocol names the operation in a header: `DynamoDB_20120810.GetItem`.
        let target = context.request().headers().get("x-amz-target").unwrap_or("?");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.lock().push(op);
        Ok(())
    }
}
