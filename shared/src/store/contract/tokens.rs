//! The shared access token: one refresher at a time under a lease, versions that tell
//! a refresh done meanwhile, and a refused token expired once.

use super::{Subject, T0, at_once};
use crate::secret::Secret;
use crate::store::StoredToken;

const KEY: &str = "douyin-access-token";

pub async fn a_lease_is_held_by_one_refresher_until_it_runs_out(subject: &dyn Subject) {
    let store = subject.store();
    assert_eq!(store.get_token(KEY).await, Ok(None));
    assert_eq!(store.take_lease(KEY, "a", 0, T0, T0 + 30).await, Ok(true));
    assert_eq!(
        store.get_token(KEY).await,
        Ok(Some(StoredToken {
            token: None,
            expires_at: 0,
            version: 0,
            lease_until: T0 + 30,
        }))
    );
    assert_eq!(store.take_lease(KEY, "b", 0, T0 + 10, T0 + 40).await, Ok(false));
    assert_eq!(
        store.take_lease(KEY, "a", 0, T0 + 10, T0 + 40).await,
        Ok(false),
        "not twice"
    );
    assert_eq!(
        store.take_lease(KEY, "b", 0, T0 + 30, T0 + 60).await,
        Ok(false),
        "live at its end"
    );
    // A refresher that died: its lease runs out and another takes over.
    assert_eq!(store.take_lease(KEY, "b", 0, T0 + 31, T0 + 61).await, Ok(true));
    assert_eq!(store.get_token(KEY).await.unwrap().unwrap().lease_until, T0 + 61);
    // Another key is another lease.
    assert_eq!(store.take_lease("other", "c", 0, T0 + 31, T0 + 61).await, Ok(true));
}

pub async fn concurrent_lease_takers_have_one_winner(subject: &dyn Subject) {
    let store = subject.store();
    let owners = ["a", "b", "c", "d"];
    let taken = at_once(
        owners
            .iter()
            .map(|o| store.take_lease(KEY, o, 0, T0, T0 + 30))
            .collect(),
    )
    .await;
    assert_eq!(taken.iter().filter(|t| **t == Ok(true)).count(), 1, "{taken:?}");
    assert!(taken.iter().all(Result::is_ok));
    let winner = owners[taken.iter().position(|t| *t == Ok(true)).unwrap()];
    let token = Secret::new("token-1");
    for owner in owners {
        let saved = store.save_token(KEY, owner, &token, T0 + 7200).await;
        assert_eq!(saved, Ok((owner == winner).then_some(1)), "{owner}");
    }
}

pub async fn a_saved_token_is_versioned_and_ends_the_lease(subject: &dyn Subject) {
    let store = subject.store();
    store.take_lease(KEY, "a", 0, T0, T0 + 30).await.unwrap();
    let first = Secret::new("token-1");
    assert_eq!(store.save_token(KEY, "a", &first, T0 + 7200).await, Ok(Some(1)));
    assert_eq!(
        store.get_token(KEY).await,
        Ok(Some(StoredToken {
            token: Some(first.clone()),
            expires_at: T0 + 7200,
            version: 1,
            lease_until: 0,
        }))
    );
    // The lease ended with the save: saving again needs a new one.
    assert_eq!(store.save_token(KEY, "a", &first, T0 + 7200).await, Ok(None));

    assert_eq!(store.take_lease(KEY, "b", 1, T0 + 7000, T0 + 7030).await, Ok(true));
    let second = Secret::new("token-2");
    assert_eq!(store.save_token(KEY, "b", &second, T0 + 14_200).await, Ok(Some(2)));
    let stored = store.get_token(KEY).await.unwrap().unwrap();
    assert_eq!(
        (stored.token, stored.expires_at, stored.version),
        (Some(second), T0 + 14_200, 2)
    );
}

pub async fn a_lease_is_not_taken_by_who_looked_before_a_refresh(subject: &dyn Subject) {
    let store = subject.store();
    // Never refreshed: no version stored, so no refresh can have happened meanwhile,
    // whatever version the caller saw.
    assert_eq!(store.take_lease("fresh", "a", 7, T0, T0 + 30).await, Ok(true));
    store.release_lease("fresh", "a").await.unwrap();
    assert_eq!(store.take_lease("fresh", "b", 0, T0, T0 + 30).await, Ok(true));

    store.take_lease(KEY, "a", 0, T0, T0 + 30).await.unwrap();
    store
        .save_token(KEY, "a", &Secret::new("token-1"), T0 + 7200)
        .await
        .unwrap();
    // `b` found no token (version 0) just before `a` saved one: no second refresh.
    assert_eq!(store.take_lease(KEY, "b", 0, T0 + 5, T0 + 35).await, Ok(false));
    assert_eq!(store.take_lease(KEY, "b", 2, T0 + 5, T0 + 35).await, Ok(false));
    let stored = store.get_token(KEY).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.lease_until), (1, 0));
    assert_eq!(store.take_lease(KEY, "b", 1, T0 + 5, T0 + 35).await, Ok(true));
}

pub async fn only_the_lease_holder_saves_or_releases(subject: &dyn Subject) {
    let store = subject.store();
    let token = Secret::new("token-1");
    // No lease at all: nothing is written.
    assert_eq!(store.save_token(KEY, "a", &token, T0 + 7200).await, Ok(None));
    assert_eq!(store.get_token(KEY).await, Ok(None));
    store.release_lease(KEY, "a").await.unwrap();
    assert_eq!(store.get_token(KEY).await, Ok(None));

    store.take_lease(KEY, "a", 0, T0, T0 + 30).await.unwrap();
    assert_eq!(store.save_token(KEY, "b", &token, T0 + 7200).await, Ok(None));
    store.release_lease(KEY, "b").await.unwrap();
    assert_eq!(
        store.take_lease(KEY, "c", 0, T0 + 1, T0 + 31).await,
        Ok(false),
        "a still holds it"
    );

    // A failed refresh gives the lease up at once.
    store.release_lease(KEY, "a").await.unwrap();
    let stored = store.get_token(KEY).await.unwrap().unwrap();
    assert_eq!((stored.token, stored.version, stored.lease_until), (None, 0, 0));
    assert_eq!(
        store.save_token(KEY, "a", &token, T0 + 7200).await,
        Ok(None),
        "released"
    );
    assert_eq!(store.take_lease(KEY, "c", 0, T0 + 1, T0 + 31).await, Ok(true));
    assert_eq!(store.save_token(KEY, "c", &token, T0 + 7200).await, Ok(Some(1)));
}

pub async fn a_refused_token_is_expired_only_at_its_version(subject: &dyn Subject) {
    let store = subject.store();
    store.expire_token(KEY, 1).await.unwrap();
    assert_eq!(store.get_token(KEY).await, Ok(None));

    store.take_lease(KEY, "a", 0, T0, T0 + 30).await.unwrap();
    let first = Secret::new("token-1");
    store.save_token(KEY, "a", &first, T0 + 7200).await.unwrap();
    store.expire_token(KEY, 2).await.unwrap();
    assert_eq!(store.get_token(KEY).await.unwrap().unwrap().expires_at, T0 + 7200);
    store.expire_token(KEY, 1).await.unwrap();
    assert_eq!(
        store.get_token(KEY).await,
        Ok(Some(StoredToken {
            token: Some(first),
            expires_at: 0,
            version: 1,
            lease_until: 0,
        }))
    );

    // A refresh done since: the refusal of the old version leaves the new one alone.
    store.take_lease(KEY, "b", 1, T0 + 10, T0 + 40).await.unwrap();
    store
        .save_token(KEY, "b", &Secret::new("token-2"), T0 + 7300)
        .await
        .unwrap();
    store.expire_token(KEY, 1).await.unwrap();
    let stored = store.get_token(KEY).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.expires_at), (2, T0 + 7300));
}
