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
use crate::wechat_v3::V3Platform;
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
    /// WeChat Pay APIv3's keys and certificates; `None` when APIv3 is off.
    pub wechat_v3: Option<V3Platform>,
    /// The trade system's parsed keys; `None` when it is off.
    pub trade_keys: Option<Keyring>,
    pub trade: Mutex<TradeState>,
}

impl State {
    /// # Panics
    /// When the trade keys or the APIv3 keys do not parse (check them first with
    /// [`Keyring::load`] and [`SandboxConfig::check`]).
    pub fn new(config: SandboxConfig) -> SharedState {
        let trade_keys = config
            .trade
            .as_ref()
            .map(|trade| Keyring::load(trade).unwrap_or_else(|e| panic!("{e}")));
        let wechat_v3 = config
            .wechat
            .as_ref()
            .and_then(|wechat| wechat.v3.as_ref())
            .map(|v3| V3Platform::start(v3).unwrap_or_else(|e| panic!("{e}")));
        let http = delivery::Notifier::new(config.tunnel.clone());
        Arc::new(State {
            config,
            http,
            calls: CallLog::default(),
            faults: FaultList::default(),
            douyin: Mutex::new(DouyinState::default()),
            wechat: Mutex::new(WechatState::default()),
            wechat_v3,
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
