//! A platform access token shared by every function instance: cached in the table,
//! refreshed ahead of expiry by one instance at a time (a lease taken with a conditional
//! write), because each new token cuts the old one's life to five minutes.

use crate::domain::ids::new_nonce;
use crate::domain::time::now_secs;
use crate::douyin::order_center::FreshToken;
use crate::error::PlatformError;
use crate::secret::Secret;
use crate::store::TokenStore;
use async_trait::async_trait;
use rand::RngExt as _;
use std::time::Duration;
use tokio::sync::RwLock;

/// Where new tokens come from.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn fetch(&self) -> Result<FreshToken, PlatformError>;
}

/// A token in use, with the stored version it came from (to invalidate exactly it).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub version: i64,
}

#[derive(Debug, Clone)]
struct Cached {
    token: AccessToken,
    expires_at: i64,
}

/// Refresh this long before expiry (plus a per-instance jitter so that instances do
/// not all try at once).
const REFRESH_AHEAD_SECS: i64 = 600;
const JITTER_SECS: i64 = 60;
/// How long a refresher may hold the lease: well past one token call's timeout.
const LEASE_SECS: i64 = 10;
/// While another instance refreshes: how often and how long to look for its token.
const WAIT_ROUNDS: usize = 50;

pub struct TokenCache {
    key: String,
    owner: String,
    refresh_ahead: i64,
    memory: RwLock<Option<Cached>>,
}

impl TokenCache {
    /// A cache for the token stored under `key` (one per app).
    pub fn new(key: impl Into<String>) -> Self {
        let jitter = rand::rng().random_range(0..=JITTER_SECS);
        TokenCache {
            key: key.into(),
            owner: new_nonce(),
            refresh_ahead: REFRESH_AHEAD_SECS + jitter,
            memory: RwLock::new(None),
        }
    }

    /// A valid token: from this instance's memory, else the table, else fetched by
    /// whichever instance wins the lease.
    pub async fn get(&self, store: &dyn TokenStore, source: &dyn TokenSource) -> Result<AccessToken, PlatformError> {
        if let Some(cached) = self.memory.read().await.as_ref()
            && cached.expires_at - self.refresh_ahead > now_secs()
        {
            return Ok(cached.token.clone());
        }
        for _ in 0..WAIT_ROUNDS {
            let now = now_secs();
            let stored = store.get_token(&self.key).await.map_err(store_down)?;
            let current = stored.as_ref().and_then(|s| {
                let token = s.token.clone()?;
                Some(Cached {
                    token: AccessToken {
                        token,
                        version: s.version,
                    },
                    expires_at: s.expires_at,
                })
            });
            if let Some(c) = &current
                && c.expires_at - self.refresh_ahead > now
            {
                *self.memory.write().await = Some(c.clone());
                return Ok(c.token.clone());
            }
            // Still valid but due for refresh: usable while another instance refreshes.
            let seen = stored.as_ref().map_or(0, |s| s.version);
            let usable = current.filter(|c| c.expires_at > now + 5);
            if store
                .take_lease(&self.key, &self.owner, seen, now, now + LEASE_SECS)
                .await
                .map_err(store_down)?
            {
                return self.refresh(store, source, usable).await;
            }
            if let Some(c) = usable {
                return Ok(c.token);
            }
            let pause = rand::rng().random_range(50..=150);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        Err(PlatformError::Unavailable(
            "access token refresh did not finish in time".into(),
        ))
    }

    async fn refresh(
        &self,
        store: &dyn TokenStore,
        source: &dyn TokenSource,
        usable: Option<Cached>,
    ) -> Result<AccessToken, PlatformError> {
        let fetched = source.fetch().await;
        let fresh = match fetched {
            Ok(fresh) => fresh,
            Err(err) => {
                let _ = store.release_lease(&self.key, &self.owner).await;
                return usable.map(|c| c.token).ok_or(err);
            }
        };
        let expires_at = now_secs() + fresh.expires_in;
        let saved = store
            .save_token(&self.key, &self.owner, &fresh.token, expires_at)
            .await
            .map_err(store_down)?;
        let Some(version) = saved else {
            // The lease ran out and another instance took over.
            return Err(PlatformError::Unavailable("access token lease lost; retry".into()));
        };
        let token = AccessToken {
            token: fresh.token,
            version,
        };
        *self.memory.write().await = Some(Cached {
            token: token.clone(),
            expires_at,
        });
        Ok(token)
    }

    /// Runs `call` with a valid token. When the platform refuses the token itself
    /// (`refused` says which errors mean that), the token is invalidated for every
    /// instance and `call` runs once more with a fresh one.
    pub async fn with_token<T, F, Fut>(
        &self,
        store: &dyn TokenStore,
        source: &dyn TokenSource,
        refused: impl Fn(&PlatformError) -> bool,
        call: F,
    ) -> Result<T, PlatformError>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, PlatformError>>,
    {
        // Trouble with the token says nothing certain about the call it was for.
        let token = self.get(store, source).await.map_err(PlatformError::into_unclear)?;
        match call(token.token.clone()).await {
            Err(err) if refused(&err) => {
                tracing::warn!(error = %err, "token refused by the platform; refreshing");
                self.invalidate(store, &token).await?;
                let fresh = self.get(store, source).await.map_err(PlatformError::into_unclear)?;
                call(fresh.token)
                    .await
                    .map_err(|err| if refused(&err) { err.into_unclear() } else { err })
            }
            other => other,
        }
    }

    /// The platform refused `token`: forget it, and expire it in the table unless a
    /// newer one replaced it already (so one refusal causes one refresh, not a stampede).
    pub async fn invalidate(&self, store: &dyn TokenStore, token: &AccessToken) -> Result<(), PlatformError> {
        *self.memory.write().await = None;
        store.expire_token(&self.key, token.version).await.map_err(store_down)
    }
}

fn store_down(err: crate::error::StoreError) -> PlatformError {
    tracing::error!(error = %err, "token store unavailable");
    PlatformError::Unavailable("token store unavailable".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct CountingSource {
        fetches: AtomicUsize,
        expires_in: i64,
    }

    #[async_trait]
    impl TokenSource for CountingSource {
        async fn fetch(&self) -> Result<FreshToken, PlatformError> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(FreshToken {
                token: Secret::new(format!("token-{n}")),
                expires_in: self.expires_in,
            })
        }
    }

    #[tokio::test]
    async fn many_cold_instances_fetch_one_token() {
        let store = Arc::new(MemoryStore::new());
        let source = Arc::new(CountingSource {
            fetches: AtomicUsize::new(0),
            expires_in: 7200,
        });
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, source) = (store.clone(), source.clone());
                tokio::spawn(async move { TokenCache::new("app").get(&*store, &*source).await.unwrap() })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().token.expose(), "token-1");
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_token_is_refreshed_once() {
        let store = MemoryStore::new();
        let source = CountingSource {
            fetches: AtomicUsize::new(0),
            expires_in: 7200,
        };
        let a = TokenCache::new("app");
        let b = TokenCache::new("app");
        let first = a.get(&store, &source).await.unwrap();
        assert_eq!(b.get(&store, &source).await.unwrap().token.expose(), "token-1");
        a.invalidate(&store, &first).await.unwrap();
        b.invalidate(&store, &first).await.unwrap();
        assert_eq!(a.get(&store, &source).await.unwrap().token.expose(), "token-2");
        assert_eq!(b.get(&store, &source).await.unwrap().token.expose(), "token-2");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_token_near_expiry_is_replaced_ahead_of_time() {
        let store = MemoryStore::new();
        let short = CountingSource {
            fetches: AtomicUsize::new(0),
            expires_in: 300,
        };
        let cache = TokenCache::new("app");
        assert_eq!(cache.get(&store, &short).await.unwrap().token.expose(), "token-1");
        // 300 s left is inside the refresh-ahead window: the next use refreshes.
        assert_eq!(cache.get(&store, &short).await.unwrap().token.expose(), "token-2");
    }
}
