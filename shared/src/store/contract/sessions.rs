//! Sessions and the catalog.

use super::{Subject, T0};
use crate::domain::order::Platform;
use crate::secret::Secret;
use crate::store::{CatalogItem, Session};

fn session(openid: &str, unionid: Option<&str>, expires_at: i64) -> Session {
    Session {
        openid: openid.to_owned(),
        unionid: unionid.map(str::to_owned),
        platform: Platform::Wechat,
        session_key: Secret::new(format!("session-key-of-{openid}")),
        expires_at,
    }
}

pub async fn a_session_reads_back_until_it_expires(subject: &dyn Subject) {
    let store = subject.store();
    let with_unionid = session("openid-1", Some("unionid-1"), T0 + 3600);
    let without = session("openid-2", None, T0 + 60);
    store.put_session("hash-1", &with_unionid).await.unwrap();
    store.put_session("hash-2", &without).await.unwrap();

    assert_eq!(store.get_session("hash-1", T0).await, Ok(Some(with_unionid.clone())));
    assert_eq!(store.get_session("hash-1", T0 + 3599).await, Ok(Some(with_unionid)));
    assert_eq!(
        store.get_session("hash-1", T0 + 3600).await,
        Ok(None),
        "expired at expires_at"
    );
    assert_eq!(store.get_session("hash-2", T0).await, Ok(Some(without)));
    assert_eq!(store.get_session("hash-2", T0 + 61).await, Ok(None));
    assert_eq!(store.get_session("hash-unknown", T0).await, Ok(None));
}

pub async fn a_session_is_never_overwritten(subject: &dyn Subject) {
    let store = subject.store();
    let first = session("openid-1", None, T0 + 3600);
    store.put_session("hash-1", &first).await.unwrap();
    // A token is fresh randomness: the same hash again is a bug to stop, not a login.
    let second = session("openid-2", None, T0 + 7200);
    assert!(store.put_session("hash-1", &second).await.is_err());
    assert_eq!(store.get_session("hash-1", T0).await, Ok(Some(first)));
}

pub async fn catalog_items_read_back_as_loaded(subject: &dyn Subject) {
    let ecpay = CatalogItem {
        sku: "course-basic".to_owned(),
        price: 990,
        subject: "基础课程".to_owned(),
        body: "基础课程 · 课程".to_owned(),
        image: "https://example.com/basic.png".to_owned(),
        goods_type: None,
        tag_group_id: None,
    };
    let trade = CatalogItem {
        sku: "course-pro".to_owned(),
        price: 19_900,
        subject: "进阶课程".to_owned(),
        body: String::new(),
        image: String::new(),
        goods_type: Some(401),
        tag_group_id: Some("tag_group_7272625659888041996".to_owned()),
    };
    subject.add_catalog_item(&ecpay).await;
    subject.add_catalog_item(&trade).await;
    let store = subject.store();
    assert_eq!(store.get_catalog_item("course-basic").await, Ok(Some(ecpay)));
    assert_eq!(store.get_catalog_item("course-pro").await, Ok(Some(trade)));
    assert_eq!(store.get_catalog_item("course-unknown").await, Ok(None));
}

pub async fn a_session_and_a_catalog_item_read_together(subject: &dyn Subject) {
    let item = CatalogItem {
        sku: "course-basic".to_owned(),
        price: 990,
        subject: "基础课程".to_owned(),
        body: "基础课程 · 课程".to_owned(),
        image: "https://example.com/basic.png".to_owned(),
        goods_type: None,
        tag_group_id: None,
    };
    subject.add_catalog_item(&item).await;
    let store = subject.store();
    let live = session("openid-1", None, T0 + 60);
    store.put_session("hash-1", &live).await.unwrap();
    assert_eq!(
        store.session_and_catalog_item("hash-1", T0, "course-basic").await,
        Ok((Some(live.clone()), Some(item.clone())))
    );
    assert_eq!(
        store.session_and_catalog_item("hash-1", T0, "course-unknown").await,
        Ok((Some(live), None))
    );
    assert_eq!(
        store.session_and_catalog_item("hash-1", T0 + 60, "course-basic").await,
        Ok((None, Some(item.clone()))),
        "expired at expires_at"
    );
    assert_eq!(
        store.session_and_catalog_item("hash-unknown", T0, "course-basic").await,
        Ok((None, Some(item)))
    );
}
