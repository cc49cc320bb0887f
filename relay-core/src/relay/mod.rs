//! The data plane: how upstream bytes reach viewers.
//!
//! - [`ts`]: sans-IO MPEG-TS packet alignment and random-access point detection.
//! - [`fanout`]: one upstream per live channel, many viewers, bounded queues.

pub mod fanout;
pub mod ts;
