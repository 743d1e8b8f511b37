#![no_main]
//! See `minipay_fuzz::wechat_notify_xml` for what this target feeds and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| minipay_fuzz::wechat_notify_xml(data));
