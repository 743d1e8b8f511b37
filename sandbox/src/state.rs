//! The state every handler shares: configuration, traffic bookkeeping, and what each
//! simulated platform holds.

use crate::calls::CallLog;
use crate::config::SandboxConfig;
use crate::delivery;
use crate::douyin::DouyinState;
use crate::faults::FaultList;
use crate::trade::TradeState;
use crate::trade::keyring::Keyring;
use crate::wechat::WechatState;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub type SharedState = Arc<State>;

pub struct State {
    pub config: SandboxConfig,
    /// Sends the callbacks and notifies, through the tunnel.
    pub http: delivery::Notifier,
    pub calls: CallLog,
    pub faults: FaultList,
    pub douyin: Mutex<DouyinState>,
    pub wechat: Mutex<WechatState>,
    /// The trade system's parsed keys; `None` when it is off.
    pub trade_keys: Option<Keyring>,
    pub trade: Mutex<TradeState>,
}

impl State {
    /// # Panics
    /// When the trade keys do not parse (check them first with [`Keyring::load`]).
    pub fn new(config: SandboxConfig) -> SharedState {
        let trade_keys = config
            .trade
            .as_ref()
            .map(|trade| Keyring::load(trade).unwrap_or_else(|e| panic!("{e}")));
        let http = delivery::Notifier::new(config.tunnel.clone());
        Arc::new(State {
            config,
            http,
            calls: CallLog::default(),
            faults: FaultList::default(),
            douyin: Mutex::new(DouyinState::default()),
            wechat: Mutex::new(WechatState::default()),
            trade_keys,
            trade: Mutex::new(TradeState::default()),
        })
    }
}

/// Locks a mutex, ignoring poisoning: a panicking handler must not take the whole
/// sandbox down with it, and no critical section leaves the data half-updated.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
