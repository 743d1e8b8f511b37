//! A table that fails chosen writes once, to test what a failure between two steps of
//! a request leaves behind and whether repeating the request completes it.

use crate::hooked::{Hook, HookedStore};
use async_trait::async_trait;
use minipay::error::StoreError;
use minipay::store::DynamoStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The real table, except that the next `failures` calls of `record_platform_order`
/// fail as if the table were unreachable.
pub fn failing_records(inner: Arc<DynamoStore>, failures: usize) -> HookedStore {
    HookedStore::new(inner, Arc::new(FailingRecords(AtomicUsize::new(failures))))
}

struct FailingRecords(AtomicUsize);

#[async_trait]
impl Hook for FailingRecords {
    async fn before(&self, call: &'static str) -> Result<(), StoreError> {
        let fail = call == "record_platform_order"
            && self
                .0
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if fail {
            return Err(StoreError::Unavailable("injected: table unreachable".into()));
        }
        Ok(())
    }
}
