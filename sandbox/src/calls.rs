//! How many requests each path received, so tests can assert how often the backend
//! called the platform (retries, idempotency, no call at all).

use crate::state::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct CallLog {
    counts: Mutex<BTreeMap<String, usize>>,
}

impl CallLog {
    pub fn record(&self, path: &str) {
        *lock(&self.counts).entry(path.to_owned()).or_default() += 1;
    }

    pub fn count(&self, path: &str) -> usize {
        lock(&self.counts).get(path).copied().unwrap_or(0)
    }

    pub fn snapshot(&self) -> BTreeMap<String, usize> {
        lock(&self.counts).clone()
    }
}
