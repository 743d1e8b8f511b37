//! Kept callbacks: the first receipt of each body, for its retention, in the timeline
//! of the order it names.

use super::{CALLBACK_RETENTION_SECS, Subject, T0, at_once, insert, pending_order};
use crate::domain::order::Platform;
use crate::domain::timeline::CallbackReceived;

fn received(platform: Platform, kind: &str, at: i64) -> CallbackReceived {
    CallbackReceived {
        platform,
        kind: kind.to_owned(),
        received_at: at,
    }
}

pub async fn a_callback_is_kept_once_as_first_received(subject: &dyn Subject) {
    let store = subject.store();
    insert(store, &pending_order("o-1", 990)).await;
    insert(store, &pending_order("o-2", 990)).await;
    let payment = br#"{"msg":"{\"cp_orderno\":\"o-1\"}","type":"payment"}"#;
    let refund = br#"{"msg":"{\"cp_orderno\":\"o-1\"}","type":"refund"}"#;
    let unnamed = b"<xml><return_code>SUCCESS</return_code></xml>";
    let binary: &[u8] = &[0xff, 0xfe, 0x00, 0x80];

    store
        .keep_callback(Platform::Douyin, "payment", payment, Some("o-1"), T0 + 10)
        .await
        .unwrap();
    // A redelivery of the same bytes, even read as something else, adds nothing and
    // keeps the first receipt's time and retention.
    store
        .keep_callback(Platform::Douyin, "refund", payment, Some("o-2"), T0 + 20)
        .await
        .unwrap();
    store
        .keep_callback(Platform::Douyin, "refund", refund, Some("o-1"), T0 + 30)
        .await
        .unwrap();
    store
        .keep_callback(Platform::Wechat, "refund", unnamed, None, T0 + 40)
        .await
        .unwrap();
    store
        .keep_callback(Platform::Wechat, "payment", binary, Some("o-2"), T0 + 50)
        .await
        .unwrap();

    let timeline = |no: &'static str| async move {
        let mut callbacks = store.order_with_children(no).await.unwrap().unwrap().callbacks;
        callbacks.sort_by_key(|c| c.received_at);
        callbacks
    };
    assert_eq!(
        timeline("o-1").await,
        [
            received(Platform::Douyin, "payment", T0 + 10),
            received(Platform::Douyin, "refund", T0 + 30)
        ]
    );
    assert_eq!(timeline("o-2").await, [received(Platform::Wechat, "payment", T0 + 50)]);
    let kept: [(&[u8], i64); 4] = [
        (payment, T0 + 10),
        (refund, T0 + 30),
        (unnamed, T0 + 40),
        (binary, T0 + 50),
    ];
    for (body, at) in kept {
        assert_eq!(
            subject.callback_expires_at(body).await,
            Some(at + CALLBACK_RETENTION_SECS),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(subject.callback_expires_at(b"never received").await, None);
}

pub async fn concurrent_deliveries_of_one_callback_keep_one(subject: &dyn Subject) {
    let store = subject.store();
    insert(store, &pending_order("o-1", 990)).await;
    let body = br#"{"msg":"{\"cp_orderno\":\"o-1\"}","type":"payment"}"#;
    let outcomes = at_once(
        (0..3)
            .map(|_| store.keep_callback(Platform::Douyin, "payment", body, Some("o-1"), T0 + 10))
            .collect(),
    )
    .await;
    assert_eq!(outcomes, [Ok(()), Ok(()), Ok(())]);
    let kept = store.order_with_children("o-1").await.unwrap().unwrap().callbacks;
    assert_eq!(kept, [received(Platform::Douyin, "payment", T0 + 10)]);
    assert_eq!(
        subject.callback_expires_at(body).await,
        Some(T0 + 10 + CALLBACK_RETENTION_SECS)
    );
}
