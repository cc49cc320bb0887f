//! Upstream objects held in memory and shared between viewers: HLS playlists, segments, keys and
//! maps today, logos next.
//!
//! One fetch per key at a time: concurrent requests for an object being fetched wait for that
//! fetch, which runs as its own task so a viewer leaving does not fail the others. A finished
//! object is kept for the time its fetcher says, within a memory budget (entries expiring first
//! go first when room is needed).

use crate::proto::uri::Uri;
use crate::stats::Stats;
use crate::sync::lock;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Most derived forms kept per object (an HLS playlist rewritten for each public base URL and
/// token period in use; more than a few bases means the oldest is made again when asked).
pub const MAX_DERIVED: usize = 4;

/// An upstream object held in memory.
#[derive(Debug)]
pub struct Object {
    /// The whole body.
    pub body: Bytes,
    /// The URL that answered, after redirects (playlists resolve relative URIs against it).
    pub url: Uri,
    /// The upstream's `Content-Type`, if it sent one.
    pub content_type: Option<String>,
    /// The upstream says it will not change (an HLS playlist with `#EXT-X-ENDLIST`): clients may
    /// keep it.
    pub finished: bool,
    /// Forms made from the body for a key (a playlist rewritten for a public base and token
    /// period), made once and shared while the object is: at most [`MAX_DERIVED`], newest last.
    derived: Mutex<Vec<(String, Bytes)>>,
}

impl Object {
    /// An object from an upstream answer.
    pub fn new(body: Bytes, url: Uri, content_type: Option<String>) -> Object {
        Object {
            body,
            url,
            content_type,
            finished: false,
            derived: Mutex::default(),
        }
    }

    /// The form of this object for `key`: made by `make` the first time (or again once pushed
    /// out by newer keys), then shared. `make` runs outside any lock; two requests racing on a
    /// new key may both make it, and either result is kept.
    pub fn derived<E>(
        &self,
        key: &str,
        make: impl FnOnce(&Object) -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        if let Some((_, bytes)) = lock(&self.derived).iter().find(|(k, _)| k == key) {
            return Ok(bytes.clone());
        }
        let bytes = make(self)?;
        let mut derived = lock(&self.derived);
        if !derived.iter().any(|(k, _)| k == key) {
            if derived.len() >= MAX_DERIVED {
                derived.remove(0);
            }
            derived.push((key.to_string(), bytes.clone()));
        }
        Ok(bytes)
    }
}

/// Why a shared fetch gave no object.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The object is too large to share: relay it directly instead.
    TooLarge,
    /// The answer for the client: status (502/504) and reason.
    Upstream {
        /// 502 or 504.
        status: u16,
        /// One line, without upstream URLs.
        reason: String,
    },
}

/// A fetch's result as every waiter sees it.
pub type Outcome = Result<Arc<Object>, Failure>;

/// Which counters of [`Stats`] a cache reports to.
#[derive(Debug, Clone, Copy)]
pub struct Meters {
    /// Upstream fetches started (shared and direct).
    pub fetches: fn(&Stats) -> &AtomicU64,
    /// Bytes of objects held now.
    pub held: fn(&Stats) -> &AtomicU64,
}

enum Entry {
    /// A fetch is running; its outcome arrives here.
    Pending(watch::Receiver<Option<Outcome>>),
    Ready {
        object: Arc<Object>,
        expires: Instant,
    },
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    /// Bytes of the `Ready` objects in `map`.
    held: usize,
}

/// The shared objects of one kind, within a byte budget.
pub struct Cache {
    /// Most bytes held (changed on reconfiguration; held objects over a new, lower budget go
    /// as they expire or make room).
    budget: std::sync::atomic::AtomicUsize,
    entries: Mutex<Entries>,
    stats: Arc<Stats>,
    meters: Meters,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("budget", &self.budget())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache holding at most `budget` bytes of objects (`0`: nothing is kept after a fetch,
    /// concurrent requests still share one), counting into `stats` as `meters` say.
    pub fn new(budget: usize, stats: Arc<Stats>, meters: Meters) -> Cache {
        Cache {
            budget: budget.into(),
            entries: Mutex::default(),
            stats,
            meters,
        }
    }

    /// The byte budget.
    pub fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    /// A new byte budget, for objects kept from now on.
    pub fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
    }

    /// Counts an upstream fetch made outside the cache (a direct relay of a large object).
    pub fn count_fetch(&self) {
        (self.meters.fetches)(&self.stats).fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes of objects held now.
    pub fn held_bytes(&self) -> usize {
        lock(&self.entries).held
    }

    fn publish_held(&self, held: usize) {
        (self.meters.held)(&self.stats).store(held as u64, Ordering::Relaxed);
    }

    /// The object held for `key` if it is still fresh.
    pub fn peek(&self, key: &str) -> Option<Arc<Object>> {
        match lock(&self.entries).map.get(key) {
            Some(Entry::Ready { object, expires }) if *expires > Instant::now() => {
                Some(object.clone())
            }
            _ => None,
        }
    }

    /// The object for `key`: held, being fetched by another request (wait for it), or fetched
    /// now by `fetch`, which runs as its own task so a viewer leaving does not fail the others.
    /// `fetch` returns the object and how long it may be shared.
    pub async fn get<F>(self: &Arc<Self>, key: &str, fetch: F) -> Outcome
    where
        F: Future<Output = Result<(Object, Duration), Failure>> + Send + 'static,
    {
        let mut fetch = Some(fetch);
        loop {
            let mut rx = {
                let mut entries = lock(&self.entries);
                match entries.map.get(key) {
                    Some(Entry::Ready { object, expires }) if *expires > Instant::now() => {
                        return Ok(object.clone());
                    }
                    Some(Entry::Pending(rx)) => rx.clone(),
                    _ => {
                        let Some(fetch) = fetch.take() else {
                            // Our own fetch task vanished (runtime shutting down).
                            return Err(Failure::Upstream {
                                status: 502,
                                reason: "fetch abandoned".into(),
                            });
                        };
                        self.count_fetch();
                        let (tx, rx) = watch::channel(None);
                        if let Some(Entry::Ready { object, .. }) = entries
                            .map
                            .insert(key.to_string(), Entry::Pending(rx.clone()))
                        {
                            entries.held -= object.body.len();
                        }
                        let cache = self.clone();
                        let key = key.to_string();
                        let mine = rx.clone();
                        tokio::spawn(async move {
                            let outcome = fetch.await.map(|(o, ttl)| (Arc::new(o), ttl));
                            cache.finish(&key, &mine, &outcome);
                            let _ = tx.send(Some(outcome.map(|(object, _)| object)));
                        });
                        rx
                    }
                }
            };
            match rx.wait_for(Option::is_some).await {
                Ok(outcome) => return outcome.clone().expect("waited for Some"),
                // The fetching task died without an outcome: try again.
                Err(_) => continue,
            }
        }
    }

    /// Records a finished fetch: keeps the object if it may be shared and fits the budget,
    /// else forgets the key. Only the fetch that owns the entry may change it.
    fn finish(
        &self,
        key: &str,
        mine: &watch::Receiver<Option<Outcome>>,
        outcome: &Result<(Arc<Object>, Duration), Failure>,
    ) {
        let mut guard = lock(&self.entries);
        let entries = &mut *guard;
        let owned =
            matches!(entries.map.get(key), Some(Entry::Pending(rx)) if rx.same_channel(mine));
        if !owned {
            return;
        }
        entries.map.remove(key);
        let now = Instant::now();
        let budget = self.budget();
        if let Ok((object, ttl)) = outcome
            && !ttl.is_zero()
            && object.body.len() <= budget
        {
            // Make room: drop expired entries, then the ones expiring first.
            let mut freed = 0;
            entries.map.retain(|_, e| match e {
                Entry::Ready { expires, object } if *expires <= now => {
                    freed += object.body.len();
                    false
                }
                _ => true,
            });
            entries.held -= freed;
            while entries.held + object.body.len() > budget {
                let oldest = entries
                    .map
                    .iter()
                    .filter_map(|(k, e)| match e {
                        Entry::Ready { expires, object } => {
                            Some((k.clone(), *expires, object.body.len()))
                        }
                        Entry::Pending(_) => None,
                    })
                    .min_by_key(|(_, expires, _)| *expires);
                let Some((k, _, n)) = oldest else { break };
                entries.map.remove(&k);
                entries.held -= n;
            }
            entries.held += object.body.len();
            entries.map.insert(
                key.to_string(),
                Entry::Ready {
                    object: object.clone(),
                    expires: now + *ttl,
                },
            );
        }
        self.publish_held(entries.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meters() -> Meters {
        Meters {
            fetches: |s| &s.hls_upstream_fetches,
            held: |s| &s.hls_cache_bytes,
        }
    }

    fn object(n: usize) -> Object {
        Object::new(
            Bytes::from(vec![0; n]),
            Uri::parse("http://h/x").unwrap(),
            None,
        )
    }

    #[tokio::test]
    async fn one_fetch_for_concurrent_requests_and_the_budget_holds() {
        let stats = Arc::new(Stats::default());
        let cache = Arc::new(Cache::new(100, stats.clone(), meters()));
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get("a", async move {
                        let _ = wait.await;
                        Ok((object(60), Duration::from_secs(60)))
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        let second = {
            let cache = cache.clone();
            tokio::spawn(async move {
                // A second fetch would fail: the answer shows it was not made.
                cache.get("a", async { Err(Failure::TooLarge) }).await
            })
        };
        tokio::task::yield_now().await;
        go.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().body.len(), 60);
        assert_eq!(second.await.unwrap().unwrap().body.len(), 60);
        assert_eq!(stats.hls_upstream_fetches.load(Ordering::Relaxed), 1);
        assert_eq!(cache.held_bytes(), 60);
        // A second object that does not fit with the first pushes it out.
        let b = cache
            .get("b", async { Ok((object(50), Duration::from_secs(90))) })
            .await
            .unwrap();
        assert_eq!(b.body.len(), 50);
        assert!(cache.peek("a").is_none());
        assert_eq!(stats.hls_cache_bytes.load(Ordering::Relaxed), 50);
        // Too large for the budget, or not to be shared: answered, not kept.
        cache
            .get("c", async { Ok((object(101), Duration::from_secs(60))) })
            .await
            .unwrap();
        cache
            .get("d", async { Ok((object(1), Duration::ZERO)) })
            .await
            .unwrap();
        assert!(cache.peek("c").is_none() && cache.peek("d").is_none());
        assert_eq!(cache.held_bytes(), 50);
    }

    #[test]
    fn derived_forms_are_made_once_per_key_and_bounded() {
        let o = object(3);
        let made = std::cell::Cell::new(0);
        let make = |k: &str| {
            o.derived(k, |obj| {
                made.set(made.get() + 1);
                Ok::<_, ()>(Bytes::from(format!("{k}:{}", obj.body.len())))
            })
            .unwrap()
        };
        assert_eq!(make("a"), "a:3");
        assert_eq!(make("a"), "a:3");
        assert_eq!(made.get(), 1);
        for k in ["b", "c", "d", "e"] {
            make(k);
        }
        assert_eq!(made.get(), 5);
        make("a");
        assert_eq!(made.get(), 6, "the oldest key was pushed out");
        assert!(o.derived("x", |_| Err::<Bytes, _>("refused")).is_err());
    }
}
