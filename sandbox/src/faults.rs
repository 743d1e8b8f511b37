//! Injected failures: the next few calls to a platform path misbehave in a chosen way,
//! so that tests can exercise the backend's timeouts, retries and error handling.
//!
//! A fault strikes either before the platform does anything (the request is lost on its
//! way in) or after it did the work (the answer is lost on its way out): only the second
//! leaves the client unsure whether a refund or settlement now exists, which is what a
//! backend that releases money on the platform's certain word must be tested against.

use crate::state::lock;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::Duration;

/// The next `times` requests whose path starts with `path_prefix` fail with `kind`,
/// `when` says whether before or after the platform acted on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub path_prefix: String,
    pub kind: FaultKind,
    pub times: usize,
    pub when: FaultWhen,
}

impl Fault {
    /// A fault that answers instead of the platform: nothing is done.
    pub fn before(path_prefix: impl Into<String>, kind: FaultKind, times: usize) -> Fault {
        Fault {
            path_prefix: path_prefix.into(),
            kind,
            times,
            when: FaultWhen::Before,
        }
    }

    /// A fault that loses the platform's answer after the work was done.
    pub fn after(path_prefix: impl Into<String>, kind: FaultKind, times: usize) -> Fault {
        Fault {
            when: FaultWhen::After,
            ..Fault::before(path_prefix, kind, times)
        }
    }
}

/// When a fault strikes, relative to the platform handling the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultWhen {
    /// Instead of the handler: no state changes (a hang only delays the request, which
    /// then runs unless the client gave up and closed the connection first).
    #[default]
    Before,
    /// After the handler: every state change happens (a refund is created, an order
    /// closed...), then its answer is replaced by the fault's, or held back for a hang.
    After,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// That HTTP status with a short text body (a gateway or load-balancer error).
    Status(u16),
    /// Sleep that long, then answer normally (a slow platform: the client should time out).
    /// Before: the handler runs after the sleep; after: the answer is sent after it.
    Hang(Duration),
    /// HTTP 200 with a body that is not JSON or XML (an error page from a proxy).
    Garbage,
    /// HTTP 200 with the platform's error answer: on Douyin paths
    /// `{"err_no": err_no, "err_tips": err_tips}` (e.g. 1000 "outcome unknown"); on
    /// `/sns/` `{"errcode": err_no, "errmsg": err_tips}` (e.g. -1 "system busy"); on
    /// `/pay/` and `/secapi/` a signed `result_code` FAIL, `err_code` SYSTEMERROR,
    /// `err_code_des` err_tips (`err_no` unused); on `/v3/` HTTP 500 `{"code":
    /// "SYSTEM_ERROR", "message": err_tips}`, signed; on the trade system's developer APIs
    /// `{"err_no", "err_msg", "log_id"}` (e.g. 13000 "retry"); on
    /// `/oauth/client_token/` `data.error_code` err_no, `data.description` err_tips.
    PlatformError { err_no: i64, err_tips: String },
}

/// One use of a fault, for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultUse {
    pub kind: FaultKind,
    pub when: FaultWhen,
}

/// Pending faults, matched in the order they were set.
#[derive(Debug, Default)]
pub struct FaultList {
    pending: Mutex<Vec<Fault>>,
}

impl FaultList {
    /// Adds a fault; one for the same prefix is replaced, so that setting a fault
    /// twice does not double it. `times == 0` just removes it.
    pub fn set(&self, fault: Fault) {
        let mut pending = lock(&self.pending);
        pending.retain(|f| f.path_prefix != fault.path_prefix);
        if fault.times > 0 {
            pending.push(fault);
        }
    }

    pub fn clear(&self) {
        lock(&self.pending).clear();
    }

    /// Consumes one use of the first fault matching `path`.
    pub fn take(&self, path: &str) -> Option<FaultUse> {
        let mut pending = lock(&self.pending);
        let index = pending.iter().position(|f| path.starts_with(&f.path_prefix))?;
        let fault = &mut pending[index];
        let taken = FaultUse {
            kind: fault.kind.clone(),
            when: fault.when,
        };
        fault.times -= 1;
        if fault.times == 0 {
            pending.remove(index);
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(prefix: &str, times: usize) -> Fault {
        Fault::before(prefix, FaultKind::Garbage, times)
    }

    #[test]
    fn faults_are_consumed_one_per_matching_request() {
        let list = FaultList::default();
        list.set(fault("/api/apps/ecpay", 2));
        let garbage = Some(FaultUse {
            kind: FaultKind::Garbage,
            when: FaultWhen::Before,
        });
        assert_eq!(list.take("/api/apps/v2/jscode2session"), None);
        assert_eq!(list.take("/api/apps/ecpay/v1/create_order"), garbage);
        assert_eq!(list.take("/api/apps/ecpay/v1/query_order"), garbage);
        assert_eq!(list.take("/api/apps/ecpay/v1/query_order"), None);
    }

    #[test]
    fn a_fault_keeps_its_timing() {
        let list = FaultList::default();
        list.set(Fault::after("/pay/", FaultKind::Status(502), 1));
        let taken = list.take("/pay/closeorder").unwrap();
        assert_eq!((taken.kind, taken.when), (FaultKind::Status(502), FaultWhen::After));
        assert_eq!(FaultWhen::default(), FaultWhen::Before);
    }

    #[test]
    fn setting_the_same_prefix_replaces_and_clear_removes_all() {
        let list = FaultList::default();
        list.set(fault("/api", 5));
        list.set(fault("/api", 1));
        assert!(list.take("/api/x").is_some());
        assert!(list.take("/api/x").is_none());
        list.set(fault("/api", 3));
        list.clear();
        assert!(list.take("/api/x").is_none());
    }
}
