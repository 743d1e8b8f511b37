//! Concurrency shown, not assumed: a gate holds the first `parties` calls of one store
//! method until all of them have arrived, then lets them go at once, so that a test's
//! concurrent requests provably meet at the write that must decide between them (the
//! conditional write of a refund, an order slot, a payment, a token lease). A test
//! asserts [`Gate::assert_met`] after its requests; a gate whose parties never all
//! arrive fails their calls after [`PATIENCE`] instead of hanging the test.

use crate::hooked::{Hook, HookedStore};
use async_trait::async_trait;
use minipay::error::StoreError;
use minipay::store::DynamoStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Barrier;

/// Generous: it runs out only when the requests did not all arrive, a failed test.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Gate {
    call: &'static str,
    parties: usize,
    barrier: Barrier,
    arrived: AtomicUsize,
    met: AtomicBool,
}

impl Gate {
    pub fn new(call: &'static str, parties: usize) -> Arc<Gate> {
        Arc::new(Gate {
            call,
            parties,
            barrier: Barrier::new(parties),
            arrived: AtomicUsize::new(0),
            met: AtomicBool::new(false),
        })
    }

    /// The real table with this gate in front.
    pub fn around(self: &Arc<Self>, inner: Arc<DynamoStore>) -> HookedStore {
        HookedStore::new(inner, self.clone())
    }

    /// A stack's store wrapper putting this gate in front of the table.
    pub fn in_front(self: &Arc<Self>) -> crate::StoreWrapper {
        let gate = self.clone();
        Box::new(move |inner| Arc::new(gate.around(inner)))
    }

    /// All parties were held at the gate together before any went on.
    pub fn assert_met(&self) {
        assert!(
            self.met.load(Ordering::SeqCst),
            "{} of {} calls of {} arrived at the gate",
            self.arrived.load(Ordering::SeqCst).min(self.parties),
            self.parties,
            self.call
        );
    }
}

#[async_trait]
impl Hook for Gate {
    async fn before(&self, call: &'static str) -> Result<(), StoreError> {
        if call != self.call || self.arrived.fetch_add(1, Ordering::SeqCst) >= self.parties {
            return Ok(());
        }
        match tokio::time::timeout(PATIENCE, self.barrier.wait()).await {
            Ok(_) => {
                self.met.store(true, Ordering::SeqCst);
                Ok(())
            }
            Err(_) => Err(StoreError::Unavailable(format!(
                "gate: not all {} calls of {call} arrived",
                self.parties
            ))),
        }
    }
}
