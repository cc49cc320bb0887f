//! The data plane: how upstream bytes reach viewers.
//!
//! - [`session`]: the stream driver, from a route's decision to bytes on the client's socket, and
//!   the one epilogue (counters, events, log line) of every stream.
//! - [`fanout`]: one upstream per live channel, many viewers, bounded queues.
//! - [`pass`]: one upstream body to one client, with `splice(2)` ([`splice`], Linux) or a copy
//!   loop over [`pool`] buffers.
//! - [`hangup`]: noticing a client that hung up while its stream waits for the upstream.
//! - [`objects`]: upstream objects (HLS playlists, segments, keys) held in memory and shared by
//!   viewers, one fetch at a time.

pub mod fanout;
pub mod hangup;
pub mod objects;
pub mod pass;
pub mod pool;
pub mod session;
#[cfg(target_os = "linux")]
pub mod splice;
