//! The data plane: how upstream bytes reach viewers.
//!
//! - [`ts`]: sans-IO MPEG-TS packet alignment and random-access point detection.
//! - [`fanout`]: one upstream per live channel, many viewers, bounded queues.
//! - [`pass`]: one upstream body to one client, with `splice(2)` ([`splice`], Linux) or a copy
//!   loop over [`pool`] buffers.

pub mod fanout;
pub mod pass;
pub mod pool;
#[cfg(target_os = "linux")]
pub mod splice;
