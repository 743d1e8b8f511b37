//! What `tt.requestOrder` does with `{data, byteAuthorization}` from the backend: the
//! client and the platform check the signature and `data`, then the platform makes
//! the order (douyin-trade.md §2, §3). Idempotent on `outOrderNo` with the same `data`.

use super::{byte_authorization, configured, request_data};
use crate::clock::{now_millis, now_secs};
use crate::error::SandboxError;
use crate::state::{State, lock};

/// The order id `tt.requestOrder` would give the mini-program.
pub fn request_order(state: &State, data: &str, byte_authorization: &str) -> Result<String, SandboxError> {
    let (config, keys) = configured(state)?;
    byte_authorization::verify(byte_authorization, data, &state.config.app_id, config, keys, now_secs())
        .map_err(SandboxError::Invalid)?;
    let order = request_data::parse(data, state.config.notify_url.as_deref())
        .map_err(|problem| SandboxError::Invalid(problem.0))?;
    let mut trade = lock(&state.trade);
    if let Some(existing) = trade.orders.get(&order.out_order_no) {
        if existing.data == data {
            return Ok(existing.order_id.clone());
        }
        return Err(SandboxError::Invalid(format!(
            "outOrderNo {} already has an order with a different data",
            order.out_order_no
        )));
    }
    Ok(trade.orders.create(order, now_millis()).order_id)
}
