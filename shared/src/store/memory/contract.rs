//! The store contract suite on the in-memory store.

use super::MemoryStore;
use crate::store::contract::{CALLBACK_RETENTION_SECS, Subject};
use crate::store::{CatalogItem, Store};
use async_trait::async_trait;

struct MemorySubject(MemoryStore);

async fn fresh_memory() -> MemorySubject {
    MemorySubject(MemoryStore::new().with_callback_retention(CALLBACK_RETENTION_SECS))
}

#[async_trait]
impl Subject for MemorySubject {
    fn store(&self) -> &dyn Store {
        &self.0
    }

    async fn add_catalog_item(&self, item: &CatalogItem) {
        self.0.add_catalog_item(item.clone());
    }

    async fn callback_expires_at(&self, raw_body: &[u8]) -> Option<i64> {
        self.0.kept_callback_expiry(raw_body)
    }

    async fn put_in_line(&self, out_order_no: &str, sequence: &str) {
        self.0.requeue_for_test(out_order_no, sequence);
    }
}

crate::store_contract_tests!(fresh_memory);
