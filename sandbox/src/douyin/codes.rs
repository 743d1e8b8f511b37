//! `err_no` values the platform answers with (douyin.md §1, §2, §3), and the
//! `err_code` values of the order-center push (§6).

pub const OK: i64 = 0;

// Login (`jscode2session`) and the access token (`v2/token`).
/// A required parameter is missing (also used for unknown paths and malformed login
/// bodies); in the order push, any parameter problem.
pub const MISSING_PARAMETER: i64 = 40014;
pub const BAD_APPID: i64 = 40015;
pub const BAD_SECRET: i64 = 40017;
pub const BAD_CODE: i64 = 40018;
pub const BAD_ANONYMOUS_CODE: i64 = 40019;
pub const BAD_GRANT_TYPE: i64 = 40020;

// Order-center push (`err_code`).
pub const BAD_ACCESS_TOKEN: i64 = 40002;
pub const BAD_OPEN_ID: i64 = 40003;
pub const BAD_APP_NAME: i64 = 40016;

// Ecpay.
pub const NO_PAYMENT_RECORD: i64 = 2000;
pub const BAD_SIGN: i64 = 2008;
pub const BAD_PARAMETER: i64 = 2010;
pub const BAD_APP_ID: i64 = 2042;
