//! Crash inputs found by the fuzz targets, replayed without libFuzzer
//! (`cargo test --manifest-path fuzz/Cargo.toml`). Every file under
//! `regressions/<target>/` is replayed through that target's check; libFuzzer also loads
//! those folders as corpus on every `make fuzz` run, so a regression fails the run at once.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("readable folder").path();
        let input = std::fs::read(&path).expect("readable input");
        if let Err(panic) = std::panic::catch_unwind(|| check(&input)) {
            std::panic::resume_unwind(Box::new(format!(
                "{}: {:?}",
                path.display(),
                panic.downcast_ref::<String>()
            )));
        }
    }
}

macro_rules! replays {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target), super::$target);
            }
        )*
    };
}

replays!(
    douyin_callback,
    douyin_callback_signed,
    wechat_notify_xml,
    route_bodies,
    openid_body,
    prepay_body,
    refund_body,
    settle_body,
    query_path,
);
