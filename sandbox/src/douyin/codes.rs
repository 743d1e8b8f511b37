//! `err_no` values the platform answers with (douyin.md §1, §3).

pub const OK: i64 = 0;

// Login (`jscode2session`).
/// A required parameter is missing (also used for unknown paths and malformed login bodies).
pub const MISSING_PARAMETER: i64 = 40014;
pub const BAD_APPID: i64 = 40015;
pub const BAD_SECRET: i64 = 40017;
pub const BAD_CODE: i64 = 40018;
pub const BAD_ANONYMOUS_CODE: i64 = 40019;

// Ecpay.
pub const NO_PAYMENT_RECORD: i64 = 2000;
pub const BAD_SIGN: i64 = 2008;
pub const BAD_PARAMETER: i64 = 2010;
pub const BAD_APP_ID: i64 = 2042;
