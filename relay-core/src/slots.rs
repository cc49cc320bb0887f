//! Provider connection slots: how many upstream connections each source (catalog) may hold at
//! once. A [`Slot`] is an RAII token for one upstream connection; a shared channel holds one slot
//! however many watch it.
//!
//! When a source is full, [`Slots::acquire`] reclaims before it refuses: a slot nobody watches
//! (a shared upstream lingering after its last viewer left) is released at once, and so is a
//! slot whose only viewer is the asking client (same address and `User-Agent`): that is a player
//! changing channel, which must be able to zap on a one-connection account. Only as many slots as
//! needed are taken back, unwatched ones first. The old upstream is
//! closed before the new one is opened (the provider never sees two), waiting at most
//! [`ZAP_RELEASE_WAIT`] for it to go.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// Longest wait for a reclaimed slot's upstream to close before the new request is refused.
pub const ZAP_RELEASE_WAIT: Duration = Duration::from_secs(3);
/// Poll interval while waiting for a reclaimed slot.
const RELEASE_POLL: Duration = Duration::from_millis(10);
/// `Retry-After` seconds sent with a 503 when a source has no free slot.
pub const NO_SLOT_RETRY_AFTER_SECS: u32 = 10;

/// Who is watching: the client address and a hash of its `User-Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    ip: IpAddr,
    agent: u64,
}

impl ClientKey {
    pub fn new(ip: IpAddr, user_agent: Option<&[u8]>) -> ClientKey {
        let mut h = std::hash::DefaultHasher::new();
        user_agent.unwrap_or_default().hash(&mut h);
        ClientKey {
            ip,
            agent: h.finish(),
        }
    }
}

/// No slot could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSlot {
    /// The source's limit.
    pub limit: usize,
}

impl std::fmt::Display for NoSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "all {} provider connections of this source are in use",
            self.limit
        )
    }
}

/// The slot table of all sources.
#[derive(Debug, Default)]
pub struct Slots {
    limits: Mutex<Limits>,
    held: Mutex<HashMap<usize, Vec<Arc<Holder>>>>,
}

/// The caps, changed on reconfiguration.
#[derive(Debug, Default)]
struct Limits {
    /// Limit per source number (`None`: use `default`).
    own: HashMap<usize, Option<usize>>,
    /// Limit of sources without their own; `None` = unlimited.
    default: Option<usize>,
}

/// One held slot's shared record.
#[derive(Debug)]
struct Holder {
    channel: String,
    /// Viewers by client (a shared channel has many).
    clients: Mutex<HashMap<ClientKey, usize>>,
    revoke: watch::Sender<bool>,
}

impl Holder {
    fn clients(&self) -> MutexGuard<'_, HashMap<ClientKey, usize>> {
        crate::sync::lock(&self.clients)
    }
}

impl Slots {
    /// `limits[i]` for source `i` (from `--catalog …|max-connections=N`), `default` for the rest
    /// (`None` = unlimited).
    pub fn new(limits: Vec<Option<usize>>, default: Option<usize>) -> Slots {
        let slots = Slots::default();
        slots.set_limits(limits.into_iter().enumerate(), default);
        slots
    }

    /// New caps: `(source number, cap)` pairs and the default for the rest. Slots already held
    /// stay held; a lower cap only refuses new upstreams until enough have ended.
    pub fn set_limits(
        &self,
        limits: impl IntoIterator<Item = (usize, Option<usize>)>,
        default: Option<usize>,
    ) {
        let mut l = crate::sync::lock(&self.limits);
        l.own = limits.into_iter().collect();
        l.default = default;
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<usize, Vec<Arc<Holder>>>> {
        crate::sync::lock(&self.held)
    }

    /// The limit of a source, `None` = unlimited.
    pub fn limit(&self, source: usize) -> Option<usize> {
        let l = crate::sync::lock(&self.limits);
        l.own.get(&source).copied().flatten().or(l.default)
    }

    /// Slots in use by a source.
    pub fn in_use(&self, source: usize) -> usize {
        self.lock().get(&source).map_or(0, Vec::len)
    }

    /// Takes a slot of `source` for `channel`, watched by `client`; reclaims an unwatched slot or
    /// this client's previous one when the source is full (see the module text).
    pub async fn acquire(
        self: &Arc<Self>,
        source: usize,
        channel: &str,
        client: ClientKey,
    ) -> Result<Slot, NoSlot> {
        self.take(source, channel, client, true).await
    }

    /// Takes a free slot, reclaiming nothing (a `HEAD` must not end anyone's stream).
    pub async fn try_acquire(
        self: &Arc<Self>,
        source: usize,
        channel: &str,
        client: ClientKey,
    ) -> Result<Slot, NoSlot> {
        self.take(source, channel, client, false).await
    }

    async fn take(
        self: &Arc<Self>,
        source: usize,
        channel: &str,
        client: ClientKey,
        reclaim: bool,
    ) -> Result<Slot, NoSlot> {
        let deadline = tokio::time::Instant::now() + ZAP_RELEASE_WAIT;
        loop {
            {
                let mut held = self.lock();
                let holders = held.entry(source).or_default();
                let limit = self.limit(source);
                if limit.is_none_or(|l| holders.len() < l) {
                    let holder = Arc::new(Holder {
                        channel: channel.to_string(),
                        clients: Mutex::new(HashMap::from([(client, 1)])),
                        revoke: watch::channel(false).0,
                    });
                    holders.push(holder.clone());
                    return Ok(Slot {
                        slots: self.clone(),
                        source,
                        holder,
                    });
                }
                let limit = limit.unwrap_or(0);
                if !reclaim {
                    return Err(NoSlot { limit });
                }
                // Free as many slots as needed (one, unless the limit shrank), unwatched ones
                // first, then this client's own; slots already being released count.
                let needed = holders.len() + 1 - limit;
                let mut pending = holders.iter().filter(|h| *h.revoke.borrow()).count();
                for unwatched_only in [true, false] {
                    for h in holders.iter() {
                        if pending >= needed {
                            break;
                        }
                        if *h.revoke.borrow() {
                            continue;
                        }
                        let reclaim = {
                            let clients = h.clients();
                            clients.is_empty()
                                || (!unwatched_only
                                    && clients.len() == 1
                                    && clients.contains_key(&client))
                        };
                        if reclaim {
                            crate::log!(
                                Info,
                                "slot of channel {} released for {} (source {source} full)",
                                h.channel,
                                channel
                            );
                            h.revoke.send_replace(true);
                            pending += 1;
                        }
                    }
                }
                if pending == 0 {
                    return Err(NoSlot { limit });
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(NoSlot {
                    limit: self.limit(source).unwrap_or(0),
                });
            }
            tokio::time::sleep(RELEASE_POLL).await;
        }
    }
}

/// One upstream connection's right to exist; released on drop.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    source: usize,
    holder: Arc<Holder>,
}

impl Slot {
    /// Another viewer from `client` uses this slot.
    pub fn join(&self, client: ClientKey) {
        *self.holder.clients().entry(client).or_default() += 1;
    }

    /// A viewer from `client` left.
    pub fn leave(&self, client: ClientKey) {
        let mut clients = self.holder.clients();
        if let Some(n) = clients.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                clients.remove(&client);
            }
        }
    }

    /// Resolves once the slot was reclaimed for another channel: close the upstream now.
    pub async fn revoked(&self) {
        let mut rx = self.holder.revoke.subscribe();
        let _ = rx.wait_for(|&r| r).await;
    }

    /// Whether the slot was reclaimed.
    pub fn is_revoked(&self) -> bool {
        *self.holder.revoke.borrow()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        if let Some(holders) = held.get_mut(&self.source) {
            holders.retain(|h| !Arc::ptr_eq(h, &self.holder));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ua: &str) -> ClientKey {
        ClientKey::new("127.0.0.1".parse().unwrap(), Some(ua.as_bytes()))
    }

    #[tokio::test]
    async fn limits_reclaim_and_release() {
        let slots = Arc::new(Slots::new(vec![Some(1)], None));
        assert_eq!(slots.limit(0), Some(1));
        assert_eq!(slots.limit(5), None);
        let a = slots.acquire(0, "a", key("tv")).await.unwrap();
        // Another client: refused at once (the holder is watched by someone else).
        assert_eq!(
            slots.acquire(0, "b", key("phone")).await.unwrap_err(),
            NoSlot { limit: 1 }
        );
        // Unlimited sources never refuse.
        let _x = slots.acquire(3, "x", key("phone")).await.unwrap();
        let _y = slots.acquire(3, "y", key("phone")).await.unwrap();
        // The same client zapping: the old slot is revoked, and granted once it is dropped.
        let zap = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(0, "b", key("tv")).await })
        };
        a.revoked().await;
        assert!(a.is_revoked());
        drop(a);
        let b = zap.await.unwrap().unwrap();
        assert_eq!(slots.in_use(0), 1);
        // An unwatched slot (lingering) goes to anyone.
        b.leave(key("tv"));
        let reclaim = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(0, "c", key("phone")).await })
        };
        b.revoked().await;
        drop(b);
        let c = reclaim.await.unwrap().unwrap();
        c.join(key("tv"));
        // Two clients on one slot: nobody can take it.
        assert!(slots.acquire(0, "d", key("tv")).await.is_err());
    }

    #[tokio::test]
    async fn only_as_many_slots_as_needed_are_reclaimed_unwatched_first() {
        let slots = Arc::new(Slots::new(vec![], Some(2)));
        let mine = slots.acquire(0, "a", key("tv")).await.unwrap();
        let idle = slots.acquire(0, "b", key("tv")).await.unwrap();
        idle.leave(key("tv"));
        let next = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(0, "c", key("tv")).await })
        };
        idle.revoked().await;
        assert!(!mine.is_revoked(), "the unwatched slot goes first");
        drop(idle);
        let _c = next.await.unwrap().unwrap();
        assert!(!mine.is_revoked());
        assert_eq!(slots.in_use(0), 2);
    }
}
