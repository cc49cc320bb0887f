//! A bounded pool of copy buffers, returned on drop: the copy loop (TLS-free plain bodies when
//! splice is off or unavailable) reuses a few warm buffers instead of allocating per relay.

use std::sync::{Mutex, MutexGuard};

/// Size of one pooled buffer.
pub const BUFFER_BYTES: usize = 64 * 1024;
/// Most idle buffers kept; more are freed on return.
pub const MAX_IDLE_BUFFERS: usize = 16;

/// The pool. Cheap to share by reference.
#[derive(Debug, Default)]
pub struct BufferPool {
    idle: Mutex<Vec<Box<[u8]>>>,
}

impl BufferPool {
    pub const fn new() -> BufferPool {
        BufferPool {
            idle: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Box<[u8]>>> {
        crate::sync::lock(&self.idle)
    }

    /// A buffer of [`BUFFER_BYTES`], warm from the pool when one is idle.
    pub fn get(&self) -> PooledBuffer<'_> {
        let buf = self
            .lock()
            .pop()
            .unwrap_or_else(|| vec![0u8; BUFFER_BYTES].into_boxed_slice());
        PooledBuffer {
            pool: self,
            buf: Some(buf),
        }
    }

    /// Idle buffers now.
    pub fn idle(&self) -> usize {
        self.lock().len()
    }
}

/// A buffer on loan; goes back to the pool (or is freed when the pool is full) on drop.
#[derive(Debug)]
pub struct PooledBuffer<'a> {
    pool: &'a BufferPool,
    buf: Option<Box<[u8]>>,
}

impl std::ops::Deref for PooledBuffer<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.as_deref().unwrap_or_default()
    }
}

impl std::ops::DerefMut for PooledBuffer<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.buf.as_deref_mut().unwrap_or_default()
    }
}

impl Drop for PooledBuffer<'_> {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            let mut idle = self.pool.lock();
            if idle.len() < MAX_IDLE_BUFFERS {
                idle.push(buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_and_the_pool_is_bounded() {
        let pool = BufferPool::new();
        let held: Vec<_> = (0..MAX_IDLE_BUFFERS + 3).map(|_| pool.get()).collect();
        assert!(held.iter().all(|b| b.len() == BUFFER_BYTES));
        assert_eq!(pool.idle(), 0);
        drop(held);
        assert_eq!(pool.idle(), MAX_IDLE_BUFFERS);
        let again = pool.get();
        assert_eq!(pool.idle(), MAX_IDLE_BUFFERS - 1);
        drop(again);
    }
}
