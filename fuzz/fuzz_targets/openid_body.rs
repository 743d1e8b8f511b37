#![no_main]
//! See `minipay_fuzz::openid_body` for what this target feeds and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| minipay_fuzz::openid_body(data));
