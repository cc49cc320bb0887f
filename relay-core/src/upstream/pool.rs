//! Idle keep-alive connections, per scheme, host and port.

use super::connect::Stream;
use super::{POOL_IDLE_TIMEOUT, POOL_MAX_IDLE_PER_HOST};
use std::time::Instant;

/// Where a pooled connection leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PoolKey {
    pub(super) tls: bool,
    pub(super) host: String,
    pub(super) port: u16,
}

/// Idle keep-alive connections, newest last, at most [`POOL_MAX_IDLE_PER_HOST`] per key.
#[derive(Debug, Default)]
pub(super) struct Pool {
    idle: std::sync::Mutex<std::collections::HashMap<PoolKey, Vec<(Stream, Instant)>>>,
}

impl Pool {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<PoolKey, Vec<(Stream, Instant)>>> {
        crate::sync::lock(&self.idle)
    }

    /// The newest idle connection for `key` that is still usable.
    pub(super) fn take(&self, key: &PoolKey) -> Option<Stream> {
        let mut idle = self.lock();
        let list = idle.get_mut(key)?;
        while let Some((stream, since)) = list.pop() {
            if since.elapsed() < POOL_IDLE_TIMEOUT && stream.idle_and_open() {
                return Some(stream);
            }
        }
        None
    }

    pub(super) fn put(&self, key: PoolKey, stream: Stream) {
        let mut idle = self.lock();
        idle.retain(|_, list| {
            list.retain(|(_, since)| since.elapsed() < POOL_IDLE_TIMEOUT);
            !list.is_empty()
        });
        let list = idle.entry(key).or_default();
        if list.len() >= POOL_MAX_IDLE_PER_HOST {
            list.remove(0);
        }
        list.push((stream, Instant::now()));
    }
}
