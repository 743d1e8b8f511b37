#![no_main]
//! See `minipay_fuzz::douyin_callback` for what this target feeds and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| minipay_fuzz::douyin_callback(data));
