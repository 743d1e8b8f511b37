//! `err_no` values of the `trade_basic` developer APIs (douyin-trade.md §4, §5), and
//! `error_code` values of `oauth/client_token/`. Only the settlement codes come from
//! a published table; the others are the sandbox's choice where the docs are silent.

pub const OK: i64 = 0;
/// Any parameter problem: a missing field, a wrong type, a limit, an amount too big,
/// an `out_refund_no` reused with other parameters, an order that is not paid.
pub const PARAMETER: i64 = 10000;
/// No order (or refund) with that id: the sandbox's choice, after the 20000 "refund
/// not found" of `refund_audit_callback/`.
pub const NOT_FOUND: i64 = 20000;
/// `settle_create/`: order not found.
pub const SETTLE_ORDER_NOT_FOUND: i64 = 23101;
/// `settle_create/`: order not paid.
pub const SETTLE_ORDER_NOT_PAID: i64 = 23102;
/// `settle_create/`: the order is not ready to settle ("not finished"). The table
/// names fulfilment; the sandbox also answers it before the 7 days after payment and
/// while a refund is in flight (the order has not reached its final state), for which
/// the reference has no code of its own.
pub const SETTLE_NOT_FINISHED: i64 = 23107;
/// `settle_create/`: `out_settle_no` exists (the platform is not idempotent here).
pub const SETTLE_NO_EXISTS: i64 = 23111;
/// `settle_create/`: nothing left to settle (settled already, or refunded in full).
pub const SETTLE_NOTHING_LEFT: i64 = 23112;
/// A missing, unknown or expired `access-token`.
pub const BAD_ACCESS_TOKEN: i64 = 28001003;

/// `oauth/client_token/`: bad `client_key`, `client_secret` or `grant_type`.
pub const BAD_CLIENT_CREDENTIALS: i64 = 10013;
